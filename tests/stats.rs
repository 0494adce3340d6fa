//! `patcher stats` and `patcher diagnose --run` against a local Actions API stand-in:
//! before/after a merged pull request (ancestry in a real clone, attempts, exclusions) in all
//! three formats, pagination and the 1,000-result window split, a 403, rate-limit headers.

mod common;
#[path = "git_support/fake_actions.rs"]
mod fake_actions;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_actions::{FakeActions, run};
use serde_json::{Value, json};

const TOKEN: &str = "ghs_test_token";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn patcher(fake: &FakeActions, root: &Path, args: &[&str]) -> Out {
    let mut cmd = Command::new(common::bin());
    cmd.args(args).arg("--root").arg(root);
    cmd.env_remove("GH_TOKEN")
        .env("PATCHER_HTTP_RETRY_DELAY_MS", "10");
    for (k, v) in fake.env(TOKEN) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run patcher");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A clone with three commits: `old` (before the fix), `merge` (the fix's merge), `new`.
fn clone_with_history() -> (tempfile::TempDir, [String; 3]) {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = git2::Repository::init(dir.path()).expect("init");
    let sig = git2::Signature::new("t", "t@example.com", &git2::Time::new(1_714_000_000, 0))
        .expect("sig");
    let mut parent: Option<git2::Oid> = None;
    let mut ids = Vec::new();
    for (i, name) in ["old", "merge", "new"].iter().enumerate() {
        std::fs::write(dir.path().join("f.txt"), format!("{i}\n")).expect("write");
        let mut index = repo.index().expect("index");
        index.add_path(Path::new("f.txt")).expect("add");
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let parents: Vec<git2::Commit<'_>> = parent
            .iter()
            .map(|p| repo.find_commit(*p).expect("parent"))
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = repo
            .commit(Some("HEAD"), &sig, &sig, name, &tree, &refs)
            .expect("commit");
        parent = Some(id);
        ids.push(id.to_string());
    }
    (dir, [ids[0].clone(), ids[1].clone(), ids[2].clone()])
}

/// 10 counted runs before the merge (4 green), 4 excluded, 10 after (9 green, 2 of them only
/// on a re-run), and one old-commit run re-created after the merge (ancestry, not time,
/// places it before).
fn seed_runs(fake: &FakeActions, shas: &[String; 3]) {
    fake.with(|st| {
        let mut id = 1000;
        for i in 0..10 {
            id += 1;
            let c = if i < 4 { "success" } else { "failure" };
            st.runs.push(run(id, &shas[0], &format!("2024-05-0{}T10:00:00Z", 1 + i % 7), c, 1));
        }
        for c in ["cancelled", "cancelled", "skipped", "in_progress"] {
            id += 1;
            st.runs.push(run(id, &shas[0], "2024-05-03T12:00:00Z", c, 1));
        }
        for i in 0..10 {
            id += 1;
            let c = if i < 9 { "success" } else { "failure" };
            let attempt = if i < 2 { 2 } else { 1 };
            if attempt == 2 {
                st.first_attempts.insert(id, "failure".into());
            }
            let sha = if i % 2 == 0 { &shas[1] } else { &shas[2] };
            st.runs.push(run(id, sha, &format!("2024-05-2{}T10:00:00Z", i % 8), c, attempt));
        }
        // A run of the old commit created after the merge: still "before".
        st.runs[4]["created_at"] = json!("2024-05-25T09:00:00Z");
        // Another branch's run never counts.
        let mut other = run(9999, &shas[2], "2024-05-22T10:00:00Z", "failure", 1);
        other["head_branch"] = json!("feature");
        st.runs.push(other);
        st.pulls.insert(
            7,
            json!({"number": 7, "state": "closed", "merged_at": "2024-05-15T00:00:00Z", "merge_commit_sha": shas[1], "head": {"ref": "patcher/migration-job"}}),
        );
    });
}

#[test]
fn stats_pr_prints_before_and_after_with_intervals_and_p_in_all_three_formats() {
    let fake = FakeActions::start(TOKEN);
    let (clone, shas) = clone_with_history();
    seed_runs(&fake, &shas);

    let out = patcher(
        &fake,
        clone.path(),
        &["stats", "dev-ci.yml", "--pr", "7", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["schema"], "patcher.stats/v1");
    assert_eq!(v["repository"], "acme/demo");
    assert_eq!(v["workflow"], "dev-ci.yml");
    assert_eq!(v["branch"], "main");
    assert_eq!(v["split"]["pr"], 7);
    assert_eq!(v["split"]["merge_commit"], shas[1].as_str());
    assert_eq!(v["split"]["placed_by_time"], 0);
    let before = &v["periods"][0];
    assert_eq!(before["name"], "before");
    assert_eq!(before["runs"], 10);
    assert_eq!(
        before["excluded"],
        json!({"cancelled": 2, "in_progress": 1, "skipped": 1})
    );
    assert_eq!(before["eventual"]["successes"], 4);
    assert_eq!(before["eventual"]["total"], 10);
    let lo = before["eventual"]["wilson95"][0].as_f64().expect("lo");
    let hi = before["eventual"]["wilson95"][1].as_f64().expect("hi");
    assert!(
        (lo - 0.1682).abs() < 1e-4 && (hi - 0.6873).abs() < 1e-4,
        "{lo} {hi}"
    );
    let after = &v["periods"][1];
    assert_eq!(after["eventual"]["successes"], 9);
    assert_eq!(
        after["first_attempt"]["successes"], 7,
        "two greens needed a re-run"
    );
    let p = v["fisher_p"]["eventual"].as_f64().expect("p");
    assert!((p - 0.0573).abs() < 1e-3, "{p}");
    let p1 = v["fisher_p"]["first_attempt"].as_f64().expect("p");
    assert!((p1 - 0.3698).abs() < 1e-3, "{p1}");
    // Attempt 1 is asked for the re-run runs only.
    let attempts = fake
        .requests()
        .iter()
        .filter(|r| r.contains("/attempts/1"))
        .count();
    assert_eq!(attempts, 2);

    let text = patcher(&fake, clone.path(), &["stats", "dev-ci.yml", "--pr", "7"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("acme/demo · dev-ci.yml on main · split at pull request #7"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("before: 10 runs (excluded: cancelled 2, in_progress 1, skipped 1)\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  eventual:      40.0% (4/10) [16.8%, 68.7%]\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  eventual:      90.0% (9/10) [59.6%, 98.2%]\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("first attempt p = 0.3698, eventual p = 0.0573"),
        "{}",
        text.stdout
    );

    let md = patcher(
        &fake,
        clone.path(),
        &["stats", "dev-ci.yml", "--pr", "7", "--format", "markdown"],
    );
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains(
            "| before | 10 | 40.0% (4/10) [16.8%, 68.7%] | 40.0% (4/10) [16.8%, 68.7%] |"
        ),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("```mermaid\nxychart-beta\n"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("x-axis [\"2024-04-29\", \"2024-05-06\", \"2024-05-20\", \"2024-05-27\"]"),
        "{}",
        md.stdout
    );
}

#[test]
fn stats_after_a_commit_splits_by_ancestry_and_by_time_for_unknown_commits() {
    let fake = FakeActions::start(TOKEN);
    let (clone, shas) = clone_with_history();
    seed_runs(&fake, &shas);
    fake.with(|st| {
        // A commit the clone lacks, created after the split commit's time: placed by time.
        st.runs.push(run(
            5000,
            &"e".repeat(40),
            "2024-05-28T10:00:00Z",
            "success",
            1,
        ));
    });
    let out = patcher(
        &fake,
        clone.path(),
        &[
            "stats",
            "dev-ci.yml",
            "--after",
            &shas[1],
            "--format",
            "json",
            "--branch",
            "main",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["split"]["pr"], Value::Null);
    assert_eq!(v["split"]["placed_by_time"], 1);
    assert_eq!(v["periods"][1]["eventual"]["total"], 11);
    // No split: one period of everything.
    let all = patcher(
        &fake,
        clone.path(),
        &["stats", "dev-ci.yml", "--format", "json"],
    );
    let v: Value = serde_json::from_str(&all.stdout).expect("json");
    assert_eq!(v["periods"][0]["name"], "all");
    assert_eq!(v["periods"][0]["runs"], 21);
    assert_eq!(v["fisher_p"], Value::Null);
}

#[test]
fn stats_splits_queries_by_created_window_under_the_1000_result_cap() {
    let fake = FakeActions::start(TOKEN);
    fake.with(|st| {
        // 1,500 runs over 2024, one every ~5.8 hours.
        for i in 0..1500u64 {
            let secs = 1_704_067_200 + i * 21_000;
            let at = jiff::Timestamp::from_second(secs as i64)
                .expect("ts")
                .to_string();
            let c = if i % 3 == 0 { "failure" } else { "success" };
            st.runs.push(run(i + 1, &"a".repeat(40), &at, c, 1));
        }
    });
    let dir = tempfile::tempdir().expect("tmp");
    let out = patcher(
        &fake,
        dir.path(),
        &[
            "stats",
            "dev-ci.yml",
            "--since",
            "2024-01-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["periods"][0]["runs"], 1500, "every run once");
    assert_eq!(v["periods"][0]["eventual"]["successes"], 1000);
    let reqs = fake.requests();
    let listed: Vec<&String> = reqs
        .iter()
        .filter(|r| r.contains("/runs?") && r.contains("per_page=100"))
        .collect();
    let windows: std::collections::BTreeSet<String> = listed
        .iter()
        .filter_map(|r| r.split("created=").nth(1))
        .map(|c| c.split('&').next().unwrap_or("").to_string())
        .collect();
    assert!(
        windows.len() >= 2,
        "one window for 1,500 results: {windows:?}"
    );
    // Pagination followed the Link header, never past the cap.
    assert!(listed.iter().any(|r| r.contains("page=2")), "{listed:?}");
    assert!(!listed.iter().any(|r| r.contains("page=11")), "{listed:?}");
}

#[test]
fn a_403_is_a_clear_error() {
    let fake = FakeActions::start(TOKEN);
    fake.with(|st| {
        st.script.push_back((
            403,
            vec![],
            json!({"message": "Resource not accessible by integration"}),
        ))
    });
    let dir = tempfile::tempdir().expect("tmp");
    let out = patcher(&fake, dir.path(), &["stats", "dev-ci.yml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("GET /repos/acme/demo: 403 Forbidden (GitHub says: Resource not accessible by integration); the token may not read the Actions of acme/demo: it needs `actions: read`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn rate_limit_headers_are_honoured() {
    let fake = FakeActions::start(TOKEN);
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        + 1)
    .to_string();
    fake.with(|st| {
        st.script.push_back((
            403,
            vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), reset),
            ],
            json!({"message": "API rate limit exceeded"}),
        ));
        st.script.push_back((
            429,
            vec![("Retry-After".into(), "1".into())],
            json!({"message": "You have exceeded a secondary rate limit"}),
        ));
        st.runs.push(run(
            1,
            &"a".repeat(40),
            "2024-05-01T10:00:00Z",
            "success",
            1,
        ));
    });
    let dir = tempfile::tempdir().expect("tmp");
    let started = Instant::now();
    let out = patcher(
        &fake,
        dir.path(),
        &["stats", "dev-ci.yml", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["periods"][0]["runs"], 1);
    // A reset too far away is not waited for.
    fake.with(|st| {
        st.script.push_back((
            403,
            vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), "99999999999".into()),
            ],
            json!({"message": "API rate limit exceeded"}),
        ))
    });
    let out = patcher(&fake, dir.path(), &["stats", "dev-ci.yml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("rate limit exhausted; it resets at 99999999999"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unmerged_pull_request_is_refused() {
    let fake = FakeActions::start(TOKEN);
    fake.with(|st| {
        st.pulls.insert(
            8,
            json!({"number": 8, "state": "open", "merged_at": null, "merge_commit_sha": null}),
        );
    });
    let dir = tempfile::tempdir().expect("tmp");
    let out = patcher(&fake, dir.path(), &["stats", "dev-ci.yml", "--pr", "8"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("pull request #8 of acme/demo is not merged"),
        "{}",
        out.stderr
    );
}

#[test]
fn diagnose_run_fetches_the_failed_jobs_logs_only() {
    let fake = FakeActions::start(TOKEN);
    fake.with(|st| {
        st.jobs.insert(
            42,
            vec![
                json!({"id": 1, "name": "lint", "status": "completed", "conclusion": "success"}),
                json!({"id": 2, "name": "deploy", "status": "completed", "conclusion": "failure"}),
            ],
        );
        st.job_logs.insert(1, "never fetched\n".into());
        st.job_logs.insert(
            2,
            "2024-05-01T10:00:00.0000000Z ##[group]Run helm upgrade --install threads ./chart\n\
             2024-05-01T10:00:00.1000000Z ##[endgroup]\n\
             2024-05-01T10:00:01.0000000Z \t* job threads-migrations failed: BackoffLimitExceeded\n"
                .into(),
        );
    });
    let dir = tempfile::tempdir().expect("tmp");
    let out = patcher(
        &fake,
        dir.path(),
        &[
            "diagnose",
            "--run",
            "https://github.com/acme/demo/actions/runs/42",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let c = &v["causes"][0];
    assert_eq!(c["signature"], "job-backoff-exceeded");
    assert_eq!(c["source"], "deploy");
    assert_eq!(c["step"], "helm upgrade --install threads ./chart");
    assert_eq!(c["line"], 3);
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .any(|r| r == "/repos/acme/demo/actions/jobs/2/logs"),
        "{reqs:?}"
    );
    assert!(!reqs.iter().any(|r| r.contains("/jobs/1/logs")), "{reqs:?}");

    // A run with no failed job says so.
    fake.with(|st| {
        st.jobs.insert(
            43,
            vec![json!({"id": 3, "name": "lint", "status": "completed", "conclusion": "success"})],
        );
    });
    let out = patcher(&fake, dir.path(), &["diagnose", "--run", "43"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("run 43 of acme/demo has no failed job"),
        "{}",
        out.stderr
    );
}

#[test]
fn stats_diagnose_lists_each_periods_most_frequent_causes() {
    let fake = FakeActions::start(TOKEN);
    let (clone, shas) = clone_with_history();
    seed_runs(&fake, &shas);
    fake.with(|st| {
        let failed: Vec<(u64, bool)> = st
            .runs
            .iter()
            .filter(|r| r["conclusion"] == "failure")
            .map(|r| (r["id"].as_u64().expect("id"), r["head_sha"] == json!(shas[0])))
            .collect();
        for (id, before) in failed {
            st.jobs.insert(
                id,
                vec![json!({"id": id, "name": "deploy", "status": "completed", "conclusion": "failure"})],
            );
            let log = if before {
                "\t* job threads-migrations failed: BackoffLimitExceeded\n"
            } else {
                "couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request\n"
            };
            st.job_logs.insert(id, log.into());
        }
    });
    let out = patcher(
        &fake,
        clone.path(),
        &[
            "stats",
            "dev-ci.yml",
            "--pr",
            "7",
            "--diagnose",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        v["periods"][0]["causes"],
        json!({"diagnosed_runs": 2, "signatures": [{"signature": "job-backoff-exceeded", "runs": 2}]})
    );
    assert_eq!(
        v["periods"][1]["causes"],
        json!({"diagnosed_runs": 1, "signatures": [{"signature": "metrics-api-unavailable", "runs": 1}]})
    );
    let logs = fake
        .requests()
        .iter()
        .filter(|r| r.ends_with("/logs"))
        .count();
    assert_eq!(logs, 3, "two failed runs before, the one after");

    let text = patcher(
        &fake,
        clone.path(),
        &["stats", "dev-ci.yml", "--pr", "7", "--diagnose", "2"],
    );
    assert!(
        text.stdout
            .contains("  causes (2 failed runs diagnosed): job-backoff-exceeded 2\n"),
        "{}",
        text.stdout
    );
}

fn stats_comment(fake: &FakeActions, root: &Path, min_runs: &str) -> Out {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stats-comment.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .args(["dev-ci.yml", min_runs])
        .current_dir(root);
    cmd.env("PATCHER", common::bin());
    for (k, v) in fake.env(TOKEN) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the script");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
#[cfg_attr(not(has_jq), ignore = "needs jq")]
fn the_stats_comment_script_comments_on_the_merged_fix_once_after_enough_runs() {
    let fake = FakeActions::start(TOKEN);
    let (clone, shas) = clone_with_history();
    seed_runs(&fake, &shas);
    fake.with(|st| {
        // A merged pull request that is not patcher's is never commented on.
        st.pulls.insert(
            9,
            json!({"number": 9, "state": "closed", "merged_at": "2024-05-16T00:00:00Z", "merge_commit_sha": shas[2], "head": {"ref": "feature/x"}}),
        );
    });

    let early = stats_comment(&fake, clone.path(), "20");
    assert_eq!(early.code, 0, "{}{}", early.stdout, early.stderr);
    assert!(
        early
            .stdout
            .contains("pull request #7: 10 run(s) of dev-ci.yml since the merge; commenting at 20"),
        "{}",
        early.stdout
    );
    assert!(fake.with(|st| st.comments.is_empty()));

    let out = stats_comment(&fake, clone.path(), "10");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let body = fake.with(|st| {
        st.comments[&7][0]["body"]
            .as_str()
            .expect("body")
            .to_string()
    });
    assert!(
        body.starts_with("<!-- patcher-stats: dev-ci.yml -->\n## patcher stats: acme/demo"),
        "{body}"
    );
    assert!(body.contains("| after | 10 | 70.0% (7/10)"), "{body}");
    assert!(body.contains("eventual p = 0.0573"), "{body}");

    let again = stats_comment(&fake, clone.path(), "10");
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("already has the stats comment"),
        "{}",
        again.stdout
    );
    assert_eq!(fake.with(|st| st.comments[&7].len()), 1);
}
