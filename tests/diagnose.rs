//! `patcher diagnose`: every shipped signature against a failing log of its own and against
//! every passing log (no false positive), the timestamped and zip formats, unmatched
//! failures, repository signatures, the output formats, and the sample's done-when: the
//! recipes named for seed-like failures are the sample's own, and hold after `apply`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use patcher::causes::{log, scan, signature};
use serde_json::Value;

fn data(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/logs")
        .join(dir)
}

fn logs_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn diagnose(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(common::bin());
    cmd.arg("diagnose").args(args).arg("--root").arg(root);
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run patcher");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn causes(v: &Value) -> Vec<String> {
    v["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["signature"].as_str().expect("signature").to_string())
        .collect()
}

#[test]
fn every_shipped_signature_matches_its_own_failing_log() {
    let sigs = signature::builtin().expect("shipped signatures parse");
    let failing = logs_in("failing");
    for sig in &sigs {
        let file = data("failing").join(format!("{}.log", sig.name));
        assert!(
            failing.contains(&file),
            "signature {} has no failing log {}",
            sig.name,
            file.display()
        );
        let logs = log::read_path(&file).expect("read");
        let (hits, _) = scan::scan(std::slice::from_ref(sig), &logs);
        assert_eq!(hits.len(), 1, "{} does not match its log", sig.name);
        assert!(hits[0].line >= 1);
        if let Some(msg) = &hits[0].message {
            assert!(!msg.contains('{'), "{}: unfilled message {msg}", sig.name);
        }
    }
    // And no failing log is left without its signature.
    for file in &failing {
        let stem = file.file_stem().and_then(|s| s.to_str()).expect("name");
        assert!(
            sigs.iter().any(|s| s.name == stem),
            "{} names no signature",
            file.display()
        );
    }
}

#[test]
fn no_signature_fires_on_any_passing_log() {
    let sigs = signature::builtin().expect("shipped signatures parse");
    let passing = logs_in("passing");
    assert!(passing.len() >= 3);
    for file in passing {
        let logs = log::read_path(&file).expect("read");
        let (hits, unmatched) = scan::scan(&sigs, &logs);
        let names: Vec<&str> = hits.iter().map(|h| h.signature.as_str()).collect();
        assert!(
            names.is_empty(),
            "{}: false positives {names:?}",
            file.display()
        );
        assert!(
            unmatched.is_empty(),
            "{}: a green log read as a failure: {unmatched:?}",
            file.display()
        );
    }
}

#[test]
fn signatures_name_only_catalogue_recipes() {
    const CATALOGUE: [&str; 12] = [
        "job-retries",
        "wait-for-service",
        "probe-delays",
        "startup-probe",
        "hpa-off-in-ci",
        "helm-upgrade-wait",
        "helm-upgrade-retry",
        "k3d-metrics-server",
        "metrics-server-insecure-tls",
        "job-timeout-minutes",
        "deploy-concurrency",
        "pin-image-tag",
    ];
    for sig in signature::builtin().expect("parse") {
        for fix in &sig.fixes {
            assert!(
                CATALOGUE.contains(&fix.as_str()),
                "{} names {fix}, not a catalogue recipe",
                sig.name
            );
        }
        assert!(
            !sig.fixes.is_empty() || sig.fix_hint.is_some(),
            "{} says nothing about how to fix it",
            sig.name
        );
    }
}

#[test]
fn a_passing_log_exits_0_with_no_cause() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = data("passing").join("helm-deploy-green.log");
    let out = diagnose(dir.path(), &[file.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("0 known causes in 1 log"),
        "{}",
        out.stdout
    );
}

#[test]
fn timestamped_lines_report_the_original_line_and_step_without_timestamps() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = data("failing").join("helm-timeout-atomic.log");
    let out = diagnose(
        dir.path(),
        &[file.to_str().expect("utf-8"), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = json(&out);
    let cause = &v["causes"][0];
    assert_eq!(cause["signature"], "helm-timeout-atomic");
    // Of the four matching lines, the one nearest the failure (the `##[error]` on line 6).
    assert_eq!(cause["line"], 5);
    assert_eq!(
        cause["text"],
        "Error: UPGRADE FAILED: release threads failed, and has been rolled back due to atomic being set: context deadline exceeded"
    );
    assert_eq!(cause["count"], 3);
}

fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in entries {
            z.start_file(*name, opts).expect("entry");
            z.write_all(text.as_bytes()).expect("write");
        }
        z.finish().expect("finish");
    }
    buf.into_inner()
}

#[test]
fn a_zip_archive_of_run_logs_names_job_and_step_and_skips_the_repeated_job_log() {
    let step = "2024-05-01T10:00:00.0000000Z ##[group]Run helm upgrade --install threads ./chart\n\
                2024-05-01T10:00:00.1000000Z ##[endgroup]\n\
                2024-05-01T10:00:01.0000000Z \x1b[31mError:\x1b[0m INSTALLATION FAILED: failed pre-install: 1 error occurred:\n\
                2024-05-01T10:00:01.1000000Z \t* job threads-migrations failed: BackoffLimitExceeded\n\
                2024-05-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n";
    let setup = "2024-05-01T09:59:00.0000000Z Current runner version: '2.316.0'\n";
    let lint = "2024-05-01T09:59:00.0000000Z ##[group]Run ruff check .\n2024-05-01T09:59:01.0000000Z Error: ruff found 3 problems\n2024-05-01T09:59:02.0000000Z ##[error]Process completed with exit code 1.\n";
    let archive = zip_of(&[
        ("deploy/1_Set up job.txt", setup),
        ("deploy/4_Helm upgrade (dev cluster).txt", step),
        ("deploy/system.txt", "runner internals"),
        ("0_deploy.txt", &format!("{setup}{step}")),
        ("1_lint.txt", lint),
    ]);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("logs_42.zip");
    std::fs::write(&path, archive).expect("write zip");
    let out = diagnose(
        dir.path(),
        &[path.to_str().expect("utf-8"), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = json(&out);
    assert_eq!(causes(&v), ["job-backoff-exceeded"]);
    let c = &v["causes"][0];
    assert_eq!(c["source"], "deploy/Helm upgrade (dev cluster)");
    assert_eq!(c["job"], "deploy");
    assert_eq!(c["line"], 4);
    assert_eq!(
        c["text"],
        "* job threads-migrations failed: BackoffLimitExceeded"
    );
    assert_eq!(
        c["count"], 1,
        "the top-level job log repeats the step: counted once"
    );
    assert_eq!(
        c["message"],
        "Job threads-migrations ran out of retries (BackoffLimitExceeded)"
    );
    // The lint job failed for a reason no signature knows.
    let unmatched = v["unmatched"].as_array().expect("unmatched");
    assert_eq!(unmatched.len(), 1, "{unmatched:?}");
    assert_eq!(unmatched[0]["source"], "lint");
    assert_eq!(
        unmatched[0]["last_lines"],
        serde_json::json!([
            "Error: ruff found 3 problems",
            "Process completed with exit code 1."
        ])
    );
}

#[test]
fn an_unknown_failure_is_listed_with_its_last_error_lines_and_exits_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("odd.log");
    std::fs::write(
        &path,
        "building\nError: the flux capacitor is out of sync\ndone\n",
    )
    .expect("write");
    let out = diagnose(dir.path(), &[path.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("no known cause: "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("    Error: the flux capacitor is out of sync"),
        "{}",
        out.stdout
    );
}

#[test]
fn standard_input_is_read_for_a_dash() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(common::bin())
        .args(["diagnose", "-", "--root"])
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            b"Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n",
        )
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cause: helm-operation-in-progress"), "{text}");
    assert!(text.contains("at (stdin):1"), "{text}");
}

#[test]
fn a_repository_signature_with_a_bad_regex_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let sigs = dir.path().join(".patcher/signatures");
    std::fs::create_dir_all(&sigs).expect("mkdir");
    std::fs::write(
        sigs.join("ours.kdl"),
        "signature \"ours\" {\n    description \"ours\"\n    line \"job (?P<job>[a-z\"\n}\n",
    )
    .expect("write");
    let log = dir.path().join("a.log");
    std::fs::write(&log, "x\n").expect("write");
    let out = diagnose(dir.path(), &[log.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("ours.kdl:3: bad regex"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unclosed character class"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_repository_signature_is_used_and_names_a_repository_recipe() {
    let repo = common::Repo::new(&[
        (
            ".patcher/signatures/app.kdl",
            "signature \"flux-out-of-sync\" {\n    description \"The flux capacitor lost sync\"\n    line #\"flux capacitor is out of sync at (?P<speed>\\d+) mph\"#\n    message \"out of sync at {speed} mph\"\n    fixes \"flux-sync\"\n}\n",
        ),
        (
            "recipes/flux.kdl",
            "recipe \"flux-sync\" {\n    file \"conf.yaml\" {\n        set \"/sync\" #true\n    }\n}\n",
        ),
        ("conf.yaml", "sync: false\n"),
        ("a.log", "Error: flux capacitor is out of sync at 88 mph\n"),
    ]);
    let log = repo.root().join("a.log");
    let out = diagnose(
        repo.root(),
        &[log.to_str().expect("utf-8"), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = json(&out);
    let c = &v["causes"][0];
    assert_eq!(c["message"], "out of sync at 88 mph");
    assert_eq!(
        c["recipes"][0],
        serde_json::json!({"name": "flux-sync", "origin": "recipes/flux.kdl:1", "implements": null, "holds": false, "status": "drifted", "hint": "`patcher apply` makes it hold"})
    );
}

#[test]
fn no_logs_is_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = diagnose(dir.path(), &[], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no logs: pass log files"),
        "{}",
        out.stderr
    );
    let out = diagnose(dir.path(), &["/nonexistent/x.log"], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("/nonexistent/x.log: cannot read the log"),
        "{}",
        out.stderr
    );
}

/// A log like the seed's: the dev-ci deploy that failed on migrations, metrics and the index.
const SEED_LIKE: &str = "\
2024-04-28T14:02:10.0000000Z ##[group]Run helm upgrade --install threads ./chart \\
2024-04-28T14:02:10.0000001Z ##[endgroup]
2024-04-28T14:02:11.0000000Z E0428 14:02:11.118 memcache.go:287] couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request
2024-04-28T14:02:12.0000000Z no custom metrics API (custom.metrics.k8s.io) registered
2024-04-28T14:04:40.0000000Z psycopg2.errors.InvalidObjectDefinition: functions in index predicate must be marked IMMUTABLE
2024-04-28T14:07:12.0000000Z Error: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:
2024-04-28T14:07:12.0000001Z \t* job threads-migrations failed: BackoffLimitExceeded
2024-04-28T14:07:12.0000002Z ##[error]Process completed with exit code 1.
";

fn recipes_of<'v>(v: &'v Value, signature: &str) -> Vec<&'v Value> {
    v["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .find(|c| c["signature"] == signature)
        .unwrap_or_else(|| panic!("no {signature} in {v}"))["recipes"]
        .as_array()
        .expect("recipes")
        .iter()
        .collect()
}

fn recipe<'v>(recipes: &[&'v Value], name: &str) -> &'v Value {
    recipes
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no recipe {name} in {recipes:?}"))
}

#[test]
fn seed_like_failures_name_the_samples_recipes_which_hold_after_apply() {
    let repo = common::sample_repo();
    repo.write("ci.log", SEED_LIKE);
    let log = repo.root().join("ci.log");
    let args = [log.to_str().expect("utf-8"), "--format", "json"];
    let env: [(&str, &str); 0] = [];

    let before = diagnose(repo.root(), &args, &[]);
    assert_eq!(before.code, 2, "{}", before.stderr);
    let v = json(&before);
    assert_eq!(v["schema"], "patcher.diagnose/v1");
    // Nearest the failure first: the hook Job that failed the upgrade is the primary cause.
    assert_eq!(
        causes(&v),
        [
            "job-backoff-exceeded",
            "immutable-index-predicate",
            "metrics-api-unavailable"
        ]
    );
    assert_eq!(v["causes"][0]["primary"], true);
    assert_eq!(v["causes"][1]["primary"], false);
    let backoff = recipes_of(&v, "job-backoff-exceeded");
    let job = recipe(&backoff, "migration-job");
    assert_eq!(job["origin"], "recipes/migration-job.kdl:3");
    assert_eq!(job["implements"], "job-retries");
    assert_eq!(job["holds"], false);
    assert_eq!(
        backoff.len(),
        1,
        "migration-job does both job-retries and wait-for-service"
    );
    let metrics = recipes_of(&v, "metrics-api-unavailable");
    for name in ["k3d-metrics-server", "ci-no-hpa"] {
        assert_eq!(recipe(&metrics, name)["holds"], false, "{name}");
    }
    let index = &v["causes"][1];
    assert!(
        index["fix_hint"]
            .as_str()
            .expect("hint")
            .contains("migration-immutable-index")
    );

    let apply = Command::new(common::bin())
        .args(["apply", "--in-place", "--render", "never", "--root"])
        .arg(repo.root())
        .output()
        .expect("apply");
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );

    let after = diagnose(repo.root(), &args, &env);
    assert_eq!(after.code, 2, "the log still shows the causes");
    let v = json(&after);
    assert_eq!(
        recipe(&recipes_of(&v, "job-backoff-exceeded"), "migration-job")["holds"],
        true
    );
    let metrics = recipes_of(&v, "metrics-api-unavailable");
    for name in ["k3d-metrics-server", "ci-no-hpa"] {
        assert_eq!(recipe(&metrics, name)["holds"], true, "{name}");
    }

    let text = diagnose(repo.root(), &[args[0]], &env);
    assert!(
        text.stdout
            .contains("    migration-job (recipes/migration-job.kdl:3, does job-retries): holds\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn outside_a_repository_fixes_are_catalogue_recipes_init_proposes() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = data("failing").join("job-backoff-exceeded.log");
    let out = diagnose(dir.path(), &[file.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains(
            "    job-retries (catalog): not in your recipes — `patcher init` proposes it\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn the_github_format_annotates_each_cause_and_writes_the_step_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let summary = dir.path().join("summary.md");
    let file = data("failing").join("k3d-port-allocated.log");
    let out = diagnose(
        dir.path(),
        &[file.to_str().expect("utf-8"), "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8"))],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("::error title=patcher diagnose%3A k3d-port-allocated::port 6550 is already allocated%0A"),
        "{}",
        out.stdout
    );
    let md = std::fs::read_to_string(&summary).expect("summary");
    assert!(md.contains("## patcher diagnose"), "{md}");
    assert!(md.contains("| `k3d-port-allocated` |"), "{md}");
}

#[test]
fn every_signature_file_is_compiled_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    for entry in std::fs::read_dir(dir).expect("signatures/").flatten() {
        let rel = format!("signatures/{}", entry.file_name().to_string_lossy());
        assert!(
            signature::BUILTIN.iter().any(|(name, _)| *name == rel),
            "{rel} is not in signature::BUILTIN"
        );
    }
}

#[test]
fn a_recipe_declares_the_catalogue_recipes_it_implements() {
    let file = Path::new("recipes/r.kdl");
    let recipes = patcher::recipe::parse_str(
        file,
        "recipe \"migration-job\" {\n    implements \"job-retries\" \"wait-for-service\"\n    file \"a.yaml\" { set \"/a\" 1; }\n}\n",
    )
    .expect("parses");
    assert_eq!(recipes[0].implements, ["job-retries", "wait-for-service"]);
    assert_eq!(recipes[0].instance_of, None);

    let err = patcher::recipe::parse_str(
        file,
        "recipe \"x\" {\n    implements 3\n    file \"a.yaml\" { set \"/a\" 1; }\n}\n",
    )
    .expect_err("a number is no recipe name");
    let d = &err.diagnostics()[0];
    assert_eq!(d.line(), Some(2));
    assert!(
        d.message()
            .contains("a catalogue recipe name must be a string"),
        "{}",
        d.message()
    );

    let err = patcher::recipe::parse_str(
        file,
        "recipe \"x\" {\n    implements\n    file \"a.yaml\" { set \"/a\" 1; }\n}\n",
    )
    .expect_err("implements needs a name");
    assert_eq!(err.diagnostics()[0].line(), Some(2));
}

#[test]
fn readme_signature_examples_parse() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let blocks: Vec<&str> = readme
        .split("```kdl\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .filter(|b| b.starts_with("signature "))
        .collect();
    assert!(!blocks.is_empty(), "README shows a signature");
    for block in blocks {
        let sigs = signature::parse_str(Path::new("README.md"), block)
            .unwrap_or_else(|e| panic!("README signature does not parse: {e}"));
        assert!(!sigs.is_empty());
    }
}
