//! The harness of the idiom chart tests (`tests/data/idioms/<name>`): a chart and its recipe
//! in a temp repository, plans, helm renders before and after `apply`, and convergence.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::common::{self, Repo, Run, copy_dir};

/// A test that needs the helm shim: ignored, with the reason `tests/probe.rs` checks, where
/// build.rs did not find it.
macro_rules! with_helm {
    ($name:ident, $body:block) => {
        #[test]
        #[cfg_attr(
            not(has_helm_shim),
            ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
        )]
        fn $name() $body
    };
}

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

/// Renders the chart with its defaults and with each of `scenarios` (values files relative
/// to the chart), runs `act`, renders again, and gives each scenario's values files and its
/// rendered differences.
pub fn scenario_differences<'s>(
    repo: &Repo,
    scenarios: &[&'s str],
    act: impl FnOnce(),
) -> Vec<(Vec<&'s str>, Vec<String>)> {
    let sets: Vec<Vec<&str>> = std::iter::once(Vec::new())
        .chain(scenarios.iter().map(|s| vec![*s]))
        .collect();
    let before: Vec<_> = sets.iter().map(|s| rendered_with(repo, s)).collect();
    act();
    sets.into_iter()
        .zip(before)
        .map(|(set, before)| {
            let after = rendered_with(repo, &set);
            let diffs = differences(&before, &after);
            (set, diffs)
        })
        .collect()
}

/// After apply the plan holds: nothing left to do.
pub fn assert_converged(repo: &Repo) {
    let again = plan(repo);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
