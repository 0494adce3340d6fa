//! The harness of the idiom chart tests (`tests/data/idioms/<name>`): a chart and its recipe
//! in a temp repository, plans, helm renders before and after `apply`, and convergence.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::common::{self, Repo, Run, copy_dir};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/idioms")
        .join(name)
}

/// The chart of `tests/data/idioms/<name>` in a temp repository, with `recipe` (a file of
/// that directory) as its only recipe file.
pub fn chart_repo(name: &str, recipe: &str) -> Repo {
    let text = std::fs::read_to_string(data(name).join(recipe)).expect("recipe");
    let repo = Repo::new(&[("recipes/r.kdl", &text)]);
    copy_dir(&data(name).join("chart"), &repo.root().join("chart"));
    repo
}

pub fn plan(repo: &Repo) -> Run {
    repo.run(&["plan", "--render", "never"])
}

/// `patcher <args>` with render verification by the helm shim (`--render always`).
pub fn run_rendering(repo: &Repo, args: &[&str]) -> Run {
    let out = Command::new(common::bin())
        .args(args)
        .args(["--render", "always", "--root"])
        .arg(repo.root())
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .env("PATCHER_HELM", common::helm_shim())
        .output()
        .expect("run patcher");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr)
            .replace(&repo.root().display().to_string(), "<root>"),
    }
}

/// `helm template` of the repository's chart, as `Kind name` → object.
pub fn rendered(repo: &Repo) -> BTreeMap<String, Value> {
    rendered_with(repo, &[])
}

/// `helm template -f <values>…` of the repository's chart (values files relative to it).
pub fn rendered_with(repo: &Repo, values: &[&str]) -> BTreeMap<String, Value> {
    let mut cmd = Command::new(common::helm_shim());
    cmd.args(["template", "rel"]).arg(repo.root().join("chart"));
    for v in values {
        cmd.arg("-f").arg(repo.root().join("chart").join(v));
    }
    let out = common::helm_output(&mut cmd);
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut objects = BTreeMap::new();
    for doc in text.split("\n---") {
        let Ok(v) = yaml_serde::from_str::<Value>(doc) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let key = format!(
            "{} {}",
            v["kind"].as_str().unwrap_or(""),
            v["metadata"]["name"].as_str().unwrap_or("")
        );
        objects.insert(key, v);
    }
    objects
}

/// Applies the plan and returns the rendered differences, one `Kind name /pointer: a -> b`
/// line each (objects that appear or vanish included).
pub fn apply_and_render_differences(repo: &Repo) -> Vec<String> {
    let before = rendered(repo);
    let out = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = rendered(repo);
    differences(&before, &after)
}

/// The rendered differences between two renders, one `Kind name /pointer: a -> b` line each.
pub fn differences(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut lines = Vec::new();
    for k in keys {
        let mut diffs = Vec::new();
        common::leaf_diff(before.get(k), after.get(k), "", &mut diffs);
        lines.extend(
            diffs
                .into_iter()
                .map(|(p, a, b)| format!("{k} {p}: {a} -> {b}")),
        );
    }
    lines
}

/// After apply the plan holds: nothing left to do.
pub fn assert_converged(repo: &Repo) {
    let again = plan(repo);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
