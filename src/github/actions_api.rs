//! A small read-only GitHub Actions API client: `GITHUB_API_URL`, `GITHUB_REPOSITORY` and
//! `GITHUB_TOKEN`/`GH_TOKEN` as for `apply` (the token goes only into the `Authorization`
//! header and every message is redacted), pagination by the `Link` header, rate limits
//! honoured (`x-ratelimit-remaining`/`x-ratelimit-reset`, `Retry-After`), bounded retries of
//! 5xx answers, and 403/404 explained.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::client::{self, Answer};
use crate::git::{env_token, redact};
use crate::github::pulls::parse_remote_url;

/// Requests per call at most (rate-limit waits and 5xx retries included).
const ATTEMPTS: u32 = 5;

pub struct Actions {
    pub api: String,
    pub owner: String,
    pub repo: String,
    token: String,
    agent: ureq::Agent,
    /// The longest wait for a rate limit to reset before giving up.
    max_wait: Duration,
    retry_delay: Duration,
    /// Set when an answer said the quota is used up: wait before the next request.
    resume_at: Cell<Option<u64>>,
    /// How long this client slept for rate limits (for reports and tests).
    pub waited: Cell<Duration>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub use crate::github::pulls::encode;

impl Actions {
    /// The API and repository from the environment; the repository else from `owner_repo`
    /// (a run URL), else from the `origin` remote of the repository at `root`.
    pub fn from_env(owner_repo: Option<(String, String)>, root: &Path) -> Result<Actions, String> {
        let remote = git2::Repository::discover(root).ok().and_then(|r| {
            r.find_remote("origin")
                .ok()
                .and_then(|o| o.url().ok().map(str::to_string))
        });
        let parsed = remote.as_deref().and_then(parse_remote_url);
        let (owner, repo) = match (owner_repo, std::env::var("GITHUB_REPOSITORY")) {
            (Some(or), _) => or,
            (None, Ok(r)) if !r.trim().is_empty() => {
                let (o, n) = r
                    .trim()
                    .split_once('/')
                    .ok_or_else(|| format!("error: GITHUB_REPOSITORY={r:?} is not OWNER/REPO"))?;
                (o.to_string(), n.to_string())
            }
            _ => match &parsed {
                Some((_, o, n)) => (o.clone(), n.clone()),
                None => {
                    return Err("error: cannot tell the GitHub repository: set GITHUB_REPOSITORY=OWNER/REPO (or run inside a clone whose `origin` is on GitHub)".into());
                }
            },
        };
        let api = crate::github::pulls::api_url(parsed.as_ref().map(|(host, _, _)| host.as_str()))
            .map_err(|e| format!("error: {e}"))?;
        let token = env_token().ok_or_else(|| {
            "error: reading Actions runs and logs needs a GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token with `actions: read`".to_string()
        })?;
        Ok(Actions {
            api,
            owner,
            repo,
            token,
            agent: client::agent(Duration::from_secs(120)),
            max_wait: client::env_millis(
                "PATCHER_RATE_LIMIT_MAX_WAIT_MS",
                Duration::from_secs(15 * 60),
            ),
            retry_delay: client::env_millis("PATCHER_HTTP_RETRY_DELAY_MS", Duration::from_secs(1)),
            resume_at: Cell::new(None),
            waited: Cell::new(Duration::ZERO),
        })
    }

    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// `/repos/OWNER/REPO` + `rest`.
    pub fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}{rest}",
            encode(&self.owner),
            encode(&self.repo)
        )
    }

    fn sleep(&self, d: Duration) {
        self.waited.set(self.waited.get() + d);
        std::thread::sleep(d);
    }

    /// Waits for a rate limit to reset at `reset` (unix seconds), or explains why not.
    fn wait_for_reset(&self, what: &str, reset: u64) -> Result<(), String> {
        let wait = Duration::from_secs(reset.saturating_sub(now_secs()) + 1);
        if wait > self.max_wait {
            return Err(format!(
                "error: {what}: GitHub API rate limit exhausted; it resets at {reset} (unix time), in {}s — run patcher again after that",
                wait.as_secs()
            ));
        }
        self.sleep(wait);
        Ok(())
    }

    /// One GET with rate limits honoured and 5xx retried; the answer on 2xx.
    fn get(&self, url: &str) -> Result<Answer, String> {
        let what = format!(
            "GET {}",
            url.strip_prefix(&self.api)
                .unwrap_or(url)
                .split('?')
                .next()
                .unwrap_or(url)
        );
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if let Some(reset) = self.resume_at.take() {
                self.wait_for_reset(&what, reset)?;
            }
            let answer = match self.send(url) {
                Ok(a) => a,
                Err(e) => {
                    last = format!("{what}: cannot reach {}: {e}", self.api);
                    self.sleep(self.retry_delay);
                    continue;
                }
            };
            let remaining = answer.header("x-ratelimit-remaining").map(str::trim);
            let reset = answer
                .header("x-ratelimit-reset")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if (200..300).contains(&answer.status) {
                if remaining == Some("0") {
                    self.resume_at.set(reset);
                }
                return Ok(answer);
            }
            let retry_after = answer
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok());
            let limited = answer.status == 403 || answer.status == 429;
            if limited && let Some(secs) = retry_after {
                let wait = Duration::from_secs(secs);
                if wait > self.max_wait {
                    return Err(redact(&format!(
                        "error: {what}: GitHub asks to retry after {secs}s (secondary rate limit); run patcher again later"
                    )));
                }
                last = format!("{what}: GitHub's secondary rate limit");
                self.sleep(wait);
                continue;
            }
            if limited && remaining == Some("0") {
                self.wait_for_reset(&what, reset.unwrap_or_else(now_secs))?;
                last = format!("{what}: GitHub API rate limit");
                continue;
            }
            if answer.status >= 500 {
                last = format!("{what}: GitHub answered {}", answer.status);
                self.sleep(self.retry_delay.saturating_mul(attempt));
                continue;
            }
            return Err(redact(&self.explain(&what, &answer)));
        }
        Err(redact(&format!(
            "error: {last} — gave up after {ATTEMPTS} attempts; run patcher again later"
        )))
    }

    fn explain(&self, what: &str, answer: &Answer) -> String {
        let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let said = json
            .get("message")
            .and_then(Value::as_str)
            .map(|m| format!(" (GitHub says: {m})"))
            .unwrap_or_default();
        match answer.status {
            401 => format!(
                "error: {what}: 401 Unauthorized{said}; check that GITHUB_TOKEN/GH_TOKEN holds a valid, unexpired token"
            ),
            403 => format!(
                "error: {what}: 403 Forbidden{said}; the token may not read the Actions of {}: it needs `actions: read` (a fine-grained token) or the `repo` scope, or SSO authorization",
                self.slug()
            ),
            404 => format!(
                "error: {what}: 404 Not Found{said}; check the run, workflow or pull request exists in {} at {} and that the token can see it",
                self.slug(),
                self.api
            ),
            s => format!("error: {what}: GitHub answered {s}{said}"),
        }
    }

    fn send(&self, url: &str) -> Result<Answer, String> {
        // Job logs can be large; bounded all the same.
        client::send(
            &self.agent,
            &self.token,
            "GET",
            url,
            None,
            512 * 1024 * 1024,
        )
    }

    /// A JSON GET of an API path (with query).
    pub fn json(&self, path: &str) -> Result<Value, String> {
        let answer = self.get(&format!("{}{path}", self.api))?;
        serde_json::from_slice(&answer.body)
            .map_err(|e| format!("error: GET {path}: GitHub's answer is not JSON ({e})"))
    }

    /// Every item of a paginated list (`key` in each page's object, e.g. `workflow_runs`),
    /// following `Link: <…>; rel="next"` (only to the same API), and the first page's
    /// `total_count`.
    pub fn pages(&self, path: &str, key: &str) -> Result<(Vec<Value>, u64), String> {
        let mut url = format!("{}{path}", self.api);
        let mut items = Vec::new();
        let mut total = None;
        loop {
            let answer = self.get(&url)?;
            let page: Value = serde_json::from_slice(&answer.body)
                .map_err(|e| format!("error: GET {path}: GitHub's answer is not JSON ({e})"))?;
            total.get_or_insert(page.get("total_count").and_then(Value::as_u64).unwrap_or(0));
            match page.get(key).and_then(Value::as_array) {
                Some(list) => items.extend(list.iter().cloned()),
                None => {
                    return Err(format!(
                        "error: GET {path}: GitHub's answer has no `{key}` list"
                    ));
                }
            }
            match answer.header("link").and_then(next_link) {
                Some(next) if next.starts_with(&self.api) => url = next,
                _ => break,
            }
        }
        Ok((items, total.unwrap_or(0)))
    }

    /// The first page only (for `total_count`).
    pub fn first_page(&self, path: &str) -> Result<Value, String> {
        self.json(path)
    }

    /// Raw bytes of an API path (job logs).
    pub fn bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        Ok(self.get(&format!("{}{path}", self.api))?.body)
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == r#"rel="next""#)
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// `123`, or `https://github.com/OWNER/REPO/actions/runs/123[/…]` (which also names the
/// repository).
pub fn parse_run(run: &str) -> Result<(u64, Option<(String, String)>), String> {
    if let Ok(id) = run.trim().parse::<u64>() {
        return Ok((id, None));
    }
    let bad = || {
        format!(
            "error: --run {run}: not a run id or URL; pass the number or https://github.com/OWNER/REPO/actions/runs/ID"
        )
    };
    let rest = run.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split(['/', '?', '#']).collect();
    match parts.as_slice() {
        [_host, owner, repo, "actions", "runs", id, ..] => {
            let id = id.parse::<u64>().map_err(|_| bad())?;
            Ok((id, Some((owner.to_string(), repo.to_string()))))
        }
        _ => Err(bad()),
    }
}

impl Actions {
    /// The logs of run `id`'s failed jobs (latest attempt) as `(job name, text)`; none when
    /// no job failed.
    pub fn failed_jobs(&self, id: u64) -> Result<Vec<(String, String)>, String> {
        let (jobs, _) = self.pages(
            &self.repo_path(&format!(
                "/actions/runs/{id}/jobs?filter=latest&per_page=100"
            )),
            "jobs",
        )?;
        let mut logs = Vec::new();
        for job in jobs.iter().filter(|j| {
            matches!(
                j.get("conclusion").and_then(Value::as_str),
                Some("failure" | "timed_out" | "startup_failure")
            )
        }) {
            let job_id = job.get("id").and_then(Value::as_u64).unwrap_or(0);
            let name = job
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("job")
                .to_string();
            let bytes = self.bytes(&self.repo_path(&format!("/actions/jobs/{job_id}/logs")))?;
            logs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
        Ok(logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_others() {
        let h = r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="last""#), None);
    }

    #[test]
    fn runs_are_ids_or_urls() {
        assert_eq!(parse_run("42").unwrap(), (42, None));
        assert_eq!(
            parse_run("https://github.com/acme/demo/actions/runs/42/job/7").unwrap(),
            (42, Some(("acme".into(), "demo".into())))
        );
        assert!(parse_run("https://github.com/acme/demo/pull/3").is_err());
    }
}
