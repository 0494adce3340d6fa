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

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use idiom_chart::{apply_and_render_differences, assert_converged, chart_repo, plan};

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
