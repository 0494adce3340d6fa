//! A workflow's runs from the Actions API: listed by `created` window (a list query returns
//! at most 1,000 results, so a window holding more is split in two until each fits),
//! deduplicated, and for re-run runs the first attempt's conclusion from the run-attempts
//! endpoint.

use jiff::Timestamp;
use serde_json::Value;

use crate::github::actions_api::{Actions, encode};

/// The API's cap on the results of one list query.
pub const RESULT_CAP: u64 = 1000;
/// The earliest a query window starts when no `--since` is given (before GitHub Actions).
pub const EPOCH: i64 = 1_546_300_800; // 2019-01-01T00:00:00Z

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: u64,
    pub head_sha: String,
    /// Unix seconds.
    pub created_at: i64,
    pub status: String,
    pub conclusion: Option<String>,
    pub run_attempt: u64,
    /// Attempt 1's conclusion (the run's own when it was never re-run).
    pub first_attempt: Option<String>,
}

fn ts(s: &str) -> Option<i64> {
    s.parse::<Timestamp>().ok().map(|t| t.as_second())
}

fn rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

fn run_of(v: &Value) -> Option<Run> {
    let conclusion = v
        .get("conclusion")
        .and_then(Value::as_str)
        .map(str::to_string);
    let run_attempt = v.get("run_attempt").and_then(Value::as_u64).unwrap_or(1);
    Some(Run {
        id: v.get("id")?.as_u64()?,
        head_sha: v.get("head_sha")?.as_str()?.to_string(),
        created_at: ts(v.get("created_at")?.as_str()?)?,
        status: v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        first_attempt: if run_attempt <= 1 {
            conclusion.clone()
        } else {
            None
        },
        conclusion,
        run_attempt,
    })
}

/// The repository's default branch.
pub fn default_branch(client: &Actions) -> Result<String, String> {
    let repo = client.json(&client.repo_path(""))?;
    repo.get("default_branch")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "error: GET /repos/{}: no default_branch in the answer",
                client.slug()
            )
        })
}

/// Every run of `workflow` on `branch` created in `[since, until]`, oldest first, with first
/// attempts resolved. `windows` counts the list queries' windows (for tests and the report).
pub fn list(
    client: &Actions,
    workflow: &str,
    branch: &str,
    since: i64,
    until: i64,
    windows: &mut usize,
) -> Result<Vec<Run>, String> {
    let mut values = Vec::new();
    collect(client, workflow, branch, since, until, &mut values, windows)?;
    let mut runs: Vec<Run> = Vec::new();
    for v in &values {
        let Some(run) = run_of(v) else {
            return Err(format!(
                "error: a run of {workflow} lacks id, head_sha or created_at: {}",
                v.to_string().chars().take(200).collect::<String>()
            ));
        };
        if !runs.iter().any(|r| r.id == run.id) {
            runs.push(run);
        }
    }
    runs.sort_by_key(|r| (r.created_at, r.id));
    for run in runs.iter_mut().filter(|r| r.run_attempt > 1) {
        let attempt =
            client.json(&client.repo_path(&format!("/actions/runs/{}/attempts/1", run.id)))?;
        run.first_attempt = attempt
            .get("conclusion")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(runs)
}

fn query(workflow: &str, branch: &str, since: i64, until: i64, per_page: u32) -> String {
    format!(
        "/actions/workflows/{}/runs?branch={}&created={}&per_page={per_page}",
        encode(workflow),
        encode(branch),
        encode(&format!("{}..{}", rfc3339(since), rfc3339(until)))
    )
}

fn collect(
    client: &Actions,
    workflow: &str,
    branch: &str,
    since: i64,
    until: i64,
    out: &mut Vec<Value>,
    windows: &mut usize,
) -> Result<(), String> {
    let probe = client.json(&client.repo_path(&query(workflow, branch, since, until, 1)))?;
    let total = probe
        .get("total_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if total == 0 {
        return Ok(());
    }
    if total > RESULT_CAP && until > since {
        let mid = since + (until - since) / 2;
        collect(client, workflow, branch, since, mid, out, windows)?;
        return collect(client, workflow, branch, mid + 1, until, out, windows);
    }
    *windows += 1;
    let (items, _) = client.pages(
        &client.repo_path(&query(workflow, branch, since, until, 100)),
        "workflow_runs",
    )?;
    out.extend(items);
    Ok(())
}
