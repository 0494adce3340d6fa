//! The HTTP plumbing both GitHub clients share: one `ureq` agent configured the same way
//! (rustls with the platform's trust store, statuses as answers rather than errors, a
//! `patcher/VERSION` user agent), the headers every API request carries, and the answer as
//! status, headers and body. It never retries, waits or explains: each client has its own
//! policy for that ([`super::pulls`] writes, briefly; [`super::actions_api`] reads, and may
//! wait out a rate limit).

use std::time::Duration;

use serde_json::Value;

use crate::git::redact;

/// An HTTP answer: status, headers (as sent), body.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header named `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An agent with patcher's TLS and status handling; `timeout` bounds each request.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        // rustls, not the system OpenSSL (the release binaries link none); the platform
        // verifier still trusts the system's CAs (a GitHub Enterprise's internal CA).
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(format!("patcher/{}", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build();
    ureq::Agent::new_with_config(config)
}

/// A duration in milliseconds from the environment variable `var`, else `default`.
pub(crate) fn env_millis(var: &str, default: Duration) -> Duration {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, Duration::from_millis)
}

/// Sends one API request (`GET`, or `POST`/`PATCH` with a JSON body) with the token in the
/// `Authorization` header, and reads at most `limit` bytes of the answer. A transport error
/// comes back redacted.
pub(crate) fn send(
    agent: &ureq::Agent,
    token: &str,
    method: &str,
    url: &str,
    body: Option<&Value>,
    limit: u64,
) -> Result<Answer, String> {
    let auth = format!("Bearer {token}");
    let result = match method {
        "GET" => with_headers(agent.get(url), &auth).call(),
        "POST" | "PATCH" => {
            let text = body.map(Value::to_string).unwrap_or_else(|| "{}".into());
            let req = if method == "POST" {
                agent.post(url)
            } else {
                agent.patch(url)
            };
            with_headers(req, &auth)
                .header("Content-Type", "application/json")
                .send(text.as_bytes())
        }
        other => return Err(format!("unsupported method {other}")),
    };
    let mut resp = result.map_err(|e| redact(&e.to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| redact(&e.to_string()))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn with_headers<B>(req: ureq::RequestBuilder<B>, auth: &str) -> ureq::RequestBuilder<B> {
    req.header("Authorization", auth)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
}
