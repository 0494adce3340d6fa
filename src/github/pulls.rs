//! Pull requests through the GitHub REST API: find the one pull request whose head is the
//! patcher branch and update it, or open it — never a second one. `GITHUB_API_URL` and
//! `GITHUB_REPOSITORY` are honoured (GitHub Enterprise, Actions); otherwise both come from the
//! remote's URL. The token (`GITHUB_TOKEN`, else `GH_TOKEN`) is sent only in the
//! `Authorization` header, never printed; every message that leaves this module is redacted.
//! 5xx answers, transport errors and secondary rate limits are retried a bounded number of
//! times; 401/403/404/422 and an exhausted rate limit are explained.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::client::{self, Answer};
use crate::git::{env_token, redact, url_host};
use crate::pacer::Pacer;

/// How many times one request is sent at most.
pub const ATTEMPTS: u32 = 3;
/// The longest wait patcher honours from a `Retry-After` answer.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

pub struct Forge {
    /// API root without a trailing slash, e.g. `https://api.github.com`.
    pub api: String,
    pub owner: String,
    pub repo: String,
    token: String,
    agent: ureq::Agent,
    retry_delay: Duration,
    /// Shared with the other repositories of a fleet run; `None`: unpaced.
    pacer: Option<Arc<Pacer>>,
}

/// A pull request as the API describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub number: u64,
    pub url: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub open: bool,
    pub merged: bool,
}

/// What the pull request should say.
pub struct PrSpec<'a> {
    /// The branch (in this repository) the pull request merges.
    pub head: &'a str,
    /// The branch it merges into; `None`: the repository's default branch.
    pub base: Option<&'a str>,
    pub title: &'a str,
    pub body: &'a str,
    /// Labels to add (labels a person added are kept).
    pub labels: &'a [String],
}

/// What [`Forge::ensure_pr`] did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub enum PrResult {
    Created(PullRequest),
    /// Updated the open pull request; the fields that changed.
    Updated(PullRequest, Vec<&'static str>),
    UpToDate(PullRequest),
    /// The last pull request for this head was closed without merging: a person decided
    /// against it, so patcher does not open another.
    ClosedUnmerged(PullRequest),
    WouldCreate,
    WouldUpdate(PullRequest, Vec<&'static str>),
}

/// The API base URL: `GITHUB_API_URL`, else the remote's host (`https://HOST/api/v3` for
/// GitHub Enterprise, api.github.com for github.com). Refused unless https (plain http only to
/// a loopback stand-in): the token must not travel in clear text.
pub fn api_url(remote_host: Option<&str>) -> Result<String, String> {
    let api = match std::env::var("GITHUB_API_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
        _ => match remote_host {
            Some(host) if host != "github.com" && !is_loopback(host) => {
                format!("https://{host}/api/v3")
            }
            _ => "https://api.github.com".to_string(),
        },
    };
    let host = url_host(&api).unwrap_or_default();
    let loopback_http = api.starts_with("http://") && is_loopback(&host);
    if !api.starts_with("https://") && !loopback_http {
        return Err(format!(
            "GITHUB_API_URL={api} is not https: patcher does not send the token in clear text"
        ));
    }
    Ok(api)
}

/// `owner`/`repo` (and host) from a remote URL: `https://host/o/r(.git)`, `ssh://git@host/o/r`,
/// `git@host:o/r.git`.
pub fn parse_remote_url(url: &str) -> Option<(String, String, String)> {
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?.split(':').next()?.to_string();
        (host, path.to_string())
    } else if let Some((left, path)) = url.split_once(':') {
        // scp-like syntax: [user@]host:owner/repo
        if left.contains('/') || left.is_empty() {
            return None;
        }
        let host = left.rsplit('@').next()?.to_string();
        (host, path.to_string())
    } else {
        return None;
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut parts = path.rsplit('/');
    let repo = parts.next()?.to_string();
    let owner = parts.next()?.to_string();
    if owner.is_empty() || repo.is_empty() || host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), owner, repo))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Forge {
    /// The API, repository and token from the environment, else from `remote_url`.
    pub fn from_env(remote_url: Option<&str>) -> Result<Forge, String> {
        Forge::from_env_for(remote_url, None)
    }

    /// Like [`Forge::from_env`], but `github` (`owner/name`), when given, names the
    /// repository instead of `GITHUB_REPOSITORY`: a fleet run serves many.
    pub fn from_env_for(remote_url: Option<&str>, github: Option<&str>) -> Result<Forge, String> {
        let parsed = remote_url.and_then(parse_remote_url);
        let named = github
            .map(str::to_string)
            .or_else(|| std::env::var("GITHUB_REPOSITORY").ok());
        let (owner, repo) = match named {
            Some(r) if !r.trim().is_empty() => {
                let (o, n) = r
                    .trim()
                    .split_once('/')
                    .ok_or_else(|| format!("GITHUB_REPOSITORY={r:?} is not OWNER/REPO"))?;
                (o.to_string(), n.to_string())
            }
            _ => match &parsed {
                Some((_, o, n)) => (o.clone(), n.clone()),
                None => {
                    return Err(format!(
                        "--pr: cannot tell the GitHub repository from the remote URL {}; set GITHUB_REPOSITORY=OWNER/REPO",
                        redact(remote_url.unwrap_or("(none)"))
                    ));
                }
            },
        };
        let api = api_url(parsed.as_ref().map(|(host, _, _)| host.as_str()))?;
        let token = env_token().ok_or_else(|| {
            "--pr needs a GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token that may push and open pull requests".to_string()
        })?;
        let retry_delay = client::env_millis("PATCHER_HTTP_RETRY_DELAY_MS", Duration::from_secs(1))
            .min(MAX_RETRY_AFTER);
        Ok(Forge {
            api,
            owner,
            repo,
            token,
            agent: client::agent(Duration::from_secs(60)),
            retry_delay,
            pacer: None,
        })
    }

    /// Sends every request through `pacer` (see [`crate::pacer`]).
    pub fn with_pacer(mut self, pacer: Option<Arc<Pacer>>) -> Forge {
        self.pacer = pacer;
        self
    }

    /// `owner/repo`
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// Opens the pull request for `spec.head`, or brings the open one up to date.
    pub fn ensure_pr(&self, spec: &PrSpec<'_>, dry_run: bool) -> Result<PrResult, String> {
        let repo_path = format!("/repos/{}/{}", self.owner, self.repo);
        let list = self.call(
            "GET",
            &format!(
                "{repo_path}/pulls?head={}&state=all&per_page=100",
                encode(&format!("{}:{}", self.owner, spec.head))
            ),
            None,
        )?;
        let prs: Vec<PullRequest> = list
            .as_array()
            .map(|a| a.iter().filter_map(pull_request).collect())
            .unwrap_or_default();
        if let Some(pr) = prs.iter().find(|p| p.open) {
            let mut patch = serde_json::Map::new();
            let mut changed = Vec::new();
            if pr.title != spec.title {
                patch.insert("title".into(), json!(spec.title));
                changed.push("title");
            }
            if pr.body.replace("\r\n", "\n").trim_end() != spec.body.trim_end() {
                patch.insert("body".into(), json!(spec.body));
                changed.push("body");
            }
            let missing: Vec<&String> = spec
                .labels
                .iter()
                .filter(|l| !pr.labels.contains(l))
                .collect();
            if !missing.is_empty() {
                changed.push("labels");
            }
            if changed.is_empty() {
                return Ok(PrResult::UpToDate(pr.clone()));
            }
            if dry_run {
                return Ok(PrResult::WouldUpdate(pr.clone(), changed));
            }
            let mut updated = pr.clone();
            if !patch.is_empty() {
                let v = self.call(
                    "PATCH",
                    &format!("{repo_path}/pulls/{}", pr.number),
                    Some(&Value::Object(patch)),
                )?;
                if let Some(p) = pull_request(&v) {
                    updated = p;
                }
            }
            if !missing.is_empty() {
                self.call(
                    "POST",
                    &format!("{repo_path}/issues/{}/labels", pr.number),
                    Some(&json!({ "labels": missing })),
                )?;
                for l in missing {
                    updated.labels.push(l.clone());
                }
            }
            return Ok(PrResult::Updated(updated, changed));
        }
        if let Some(pr) = prs.first()
            && !pr.merged
        {
            return Ok(PrResult::ClosedUnmerged(pr.clone()));
        }
        if dry_run {
            return Ok(PrResult::WouldCreate);
        }
        if let Some(p) = &self.pacer {
            p.reserve_pr()?;
        }
        let base = match spec.base {
            Some(b) => b.to_string(),
            None => {
                let info = self.call("GET", &repo_path, None)?;
                info.get("default_branch")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!("GitHub API: {repo_path} has no default_branch; pass --base BRANCH")
                    })?
            }
        };
        let v = self.call(
            "POST",
            &format!("{repo_path}/pulls"),
            Some(&json!({
                "title": spec.title,
                "head": spec.head,
                "base": base,
                "body": spec.body,
            })),
        )?;
        let mut pr = pull_request(&v)
            .ok_or_else(|| "GitHub API: the new pull request's answer has no number".to_string())?;
        if !spec.labels.is_empty() {
            self.call(
                "POST",
                &format!("{repo_path}/issues/{}/labels", pr.number),
                Some(&json!({ "labels": spec.labels })),
            )?;
            pr.labels = spec.labels.to_vec();
        }
        Ok(PrResult::Created(pr))
    }

    /// One API call with bounded retries; the answer's JSON on 2xx, a worded error otherwise.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.api, path);
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut turn = match &self.pacer {
                Some(p) => Some(p.turn(method != "GET")?),
                None => None,
            };
            let answer = self.send(method, &url, body);
            if let (Some(t), Ok(a)) = (turn.as_mut(), &answer) {
                t.answered(a.status, &a.headers);
            }
            drop(turn);
            let wait = match answer {
                Err(transport) => {
                    last = format!("{what}: cannot reach {}: {transport}", self.api);
                    None
                }
                Ok(answer) => {
                    let status = answer.status;
                    let header = |n: &str| answer.header(n);
                    let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                    let message = json
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if (200..300).contains(&status) {
                        return Ok(json);
                    }
                    let retry_after = header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let exhausted = header("x-ratelimit-remaining") == Some("0");
                    let secondary = (status == 403 || status == 429)
                        && !exhausted
                        && (retry_after.is_some()
                            || message
                                .to_ascii_lowercase()
                                .contains("secondary rate limit"));
                    if status >= 500 || secondary {
                        last = if secondary {
                            format!("{what}: GitHub's secondary rate limit ({status}: {message})")
                        } else {
                            format!("{what}: GitHub answered {status} {}", reason(status))
                        };
                        retry_after
                    } else {
                        return Err(redact(&self.explain(
                            status,
                            &what,
                            &message,
                            &json,
                            exhausted.then(|| header("x-ratelimit-reset").unwrap_or("?")),
                        )));
                    }
                }
            };
            if attempt < ATTEMPTS {
                let backoff = self
                    .retry_delay
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(MAX_RETRY_AFTER);
                std::thread::sleep(wait.unwrap_or(backoff));
            }
        }
        Err(redact(&format!(
            "{last} — gave up after {ATTEMPTS} attempts; run patcher again later"
        )))
    }

    fn explain(
        &self,
        status: u16,
        what: &str,
        message: &str,
        json: &Value,
        reset: Option<&str>,
    ) -> String {
        let said = if message.is_empty() {
            String::new()
        } else {
            format!(" (GitHub says: {message})")
        };
        if let Some(reset) = reset {
            return format!(
                "{what}: GitHub API rate limit exhausted ({status}){said}; it resets at {reset} (unix time) — run patcher again after that"
            );
        }
        match status {
            401 => format!(
                "{what}: GitHub rejected the token: 401 Unauthorized{said}; check that GITHUB_TOKEN/GH_TOKEN holds a valid, unexpired token"
            ),
            403 => format!(
                "{what}: 403 Forbidden{said}; the token lacks permission for {} (it needs contents: write and pull-requests: write) or needs SSO authorization",
                self.slug()
            ),
            404 => format!(
                "{what}: 404 Not Found{said}; repository {} does not exist at {} or the token cannot see it",
                self.slug(),
                self.api
            ),
            422 => {
                let details: Vec<String> = json
                    .get("errors")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|e| {
                                e.get("message")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                                    .unwrap_or_else(|| e.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{what}: 422 Unprocessable Entity{said}{}",
                    if details.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", details.join("; "))
                    }
                )
            }
            _ => format!("{what}: GitHub answered {status} {}{said}", reason(status)),
        }
    }

    /// Sends one request: the answer, or a transport error.
    fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Answer, String> {
        // Pull request answers are small; 10 MB is ureq's own default bound.
        client::send(
            &self.agent,
            &self.token,
            method,
            url,
            body,
            10 * 1024 * 1024,
        )
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        429 => "Too Many Requests",
        _ => "",
    }
}

fn pull_request(v: &Value) -> Option<PullRequest> {
    Some(PullRequest {
        number: v.get("number")?.as_u64()?,
        url: v
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        title: v
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        body: v
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        labels: v
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.get("name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        open: v.get("state").and_then(Value::as_str) != Some("closed"),
        merged: v.get("merged_at").is_some_and(|m| !m.is_null())
            || v.get("merged").and_then(Value::as_bool) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_name_the_repository() {
        let want = |h: &str| Some((h.to_string(), "acme".to_string(), "threads".to_string()));
        assert_eq!(
            parse_remote_url("https://github.com/acme/threads.git"),
            want("github.com")
        );
        assert_eq!(
            parse_remote_url("https://x:tok@github.com/acme/threads"),
            want("github.com")
        );
        assert_eq!(
            parse_remote_url("git@github.com:acme/threads.git"),
            want("github.com")
        );
        assert_eq!(
            parse_remote_url("ssh://git@ghe.corp:22/acme/threads/"),
            want("ghe.corp")
        );
        assert_eq!(parse_remote_url("/srv/git/threads.git"), None);
        assert_eq!(parse_remote_url("threads"), None);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("acme:patcher/x y"), "acme%3Apatcher%2Fx%20y");
    }
}
