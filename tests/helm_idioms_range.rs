//! Issue 22: edits inside a `range` around whole documents (`tests/data/idioms/range-*/`,
//! one chart per shape, each template saying where its shape comes from). When the body is
//! whole documents (one StatefulSet per zone or per shard) and the printed values path does
//! not depend on the item (`.Values.x` after `with $`, `$.Values.x`), every copy renders the
//! same node the same way: the edit lands in values once and every copy shows it, and a
//! Deployment the same recipe fixes to the same value is not another use. A literal of such
//! a body is edited in the template. A read of the item (`.probe`, `$shard.probe`) and a
//! `range` inside the document (containers from a list) are refused naming the action. Each
//! chart's plan diff is a snapshot; with the helm shim, the chart is rendered before and
//! after apply (one object per item) and the objects differ only at the asked fields.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, Run, copy_dir};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/idioms")
        .join(name)
}

/// The chart of `tests/data/idioms/<name>` in a temp repository, with `recipe` (a file of
/// that directory) as its only recipe file.
fn chart_repo(name: &str, recipe: &str) -> Repo {
    let text = std::fs::read_to_string(data(name).join(recipe)).expect("recipe");
    let repo = Repo::new(&[("recipes/r.kdl", &text)]);
    copy_dir(&data(name).join("chart"), &repo.root().join("chart"));
    repo
}

fn plan(repo: &Repo) -> Run {
    repo.run(&["plan", "--render", "never"])
}

/// `helm template` of the repository's chart, as `Kind name` → object.
fn rendered(repo: &Repo) -> BTreeMap<String, Value> {
    let mut cmd = Command::new(common::helm_shim());
    cmd.args(["template", "rel"]).arg(repo.root().join("chart"));
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
fn apply_and_render_differences(repo: &Repo) -> Vec<String> {
    let before = rendered(repo);
    let out = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = rendered(repo);
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
fn assert_converged(repo: &Repo) {
    let again = plan(repo);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

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

// --- the zone-aware ingester: `range $zone` + `with $` + `.Values.probe` ----------------

#[test]
fn a_values_probe_printed_in_every_zone_copy_is_edited_once_in_values() {
    let repo = chart_repo("range-document-values-probe", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("error:"), "{}", out.stderr);
    insta::assert_snapshot!("range_zones_plan_diff", out.stdout);
    insta::assert_snapshot!("range_zones_plan_summary", out.stderr);
}

with_helm!(
    every_zone_statefulset_and_the_deployment_render_with_the_floors_and_nothing_else,
    {
        let repo = chart_repo("range-document-values-probe", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        // Both zones' StatefulSets and the Deployment: 2 fields each.
        assert_eq!(diffs.len(), 6, "{diffs:#?}");
        insta::assert_snapshot!("range_zones_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- one StatefulSet per shard: `range until` + `$.Values.probe` + a literal probe --------

#[test]
fn a_root_probe_and_a_literal_in_a_per_shard_document_are_edited_once() {
    let repo = chart_repo("range-until-root-probe", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("error:"), "{}", out.stderr);
    insta::assert_snapshot!("range_until_plan_diff", out.stdout);
    insta::assert_snapshot!("range_until_plan_summary", out.stderr);
}

with_helm!(
    every_shard_renders_the_values_and_the_literal_edit_and_nothing_else,
    {
        let repo = chart_repo("range-until-root-probe", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        // Three shards, 4 fields each (2 from values, 2 from the template's literal probe).
        assert_eq!(diffs.len(), 12, "{diffs:#?}");
        insta::assert_snapshot!("range_until_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- refused: the item decides the node --------------------------------------------------

#[test]
fn a_probe_read_from_the_range_item_or_its_variable_is_refused_naming_the_action() {
    let repo = chart_repo("range-reads-item-refused", "recipe.kdl");
    let before = std::fs::read_to_string(repo.root().join("chart/values.yaml")).unwrap();
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(
        "chart/templates/by-dot.yaml: /spec/template/spec/containers/0/readinessProbe/failureThreshold is printed by `{{- toYaml .probe | nindent 12 }}` at chart/templates/by-dot.yaml:21, and it is inside a `range` body (line 2): rendered once per item; change it by hand"
    ), "{}", out.stderr);
    assert!(out.stderr.contains(
        "is printed by `{{- toYaml $shard.probe | nindent 12 }}` at chart/templates/by-variable.yaml:22, and it reads `$shard`, set at line 3 by `{{- range $name, $shard := .Values.shards }}`, which is not one values path"
    ), "{}", out.stderr);
    insta::assert_snapshot!("range_item_refused_summary", out.stderr);
    let after = std::fs::read_to_string(repo.root().join("chart/values.yaml")).unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_root_probe_in_a_range_inside_the_document_is_refused() {
    let repo = chart_repo("range-in-document-refused", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(
        "/spec/template/spec/containers/0/readinessProbe is printed by `{{- toYaml $.Values.probe | nindent 12 }}` at chart/templates/statefulset.yaml:22, and it is inside a `range` body (line 18): rendered once per item; change it by hand"
    ), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
