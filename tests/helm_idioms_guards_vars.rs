//! Issue 22, items 4 and 7: guards on what a helper prints, and a refusal that is per node.
//! A condition on `include "NAME" $` of a simple define (a values path or literal under
//! `if`/`else` on simple conditions, `typeOf`, `ternary`), directly or through a variable set
//! to `tpl (include …) $`, is evaluated with the values (`tests/data/idioms/guards-define-*`);
//! a node whose guard is not provable is unchecked by name while the recipe's other nodes get
//! their edits (`guards-unprovable-sidecar-unchecked`); a probe printed by `tpl (toYaml .) $`
//! is edited in values unless a template string of it is edited or may read the edit
//! (`values-tpl-toyaml-probe`). Each chart's plan is a snapshot; with the helm shim the chart
//! is rendered before and after apply and the objects differ only at the asked fields.

mod common;

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use idiom_chart::{apply_and_render_differences, assert_converged, chart_repo, plan};

// --- a variable set to a helper's output (external-dns's webhook sidecar) ---------------

#[test]
fn a_sidecar_guarded_by_a_helpers_provider_name_is_left_out_and_the_main_container_edited() {
    let repo = chart_repo("guards-define-provider-webhook", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("provider_webhook_plan_diff", out.stdout);
    insta::assert_snapshot!("provider_webhook_plan_summary", out.stderr);
    // The webhook's probe values are not touched: its container does not render.
    assert!(!out.stdout.contains("webhook:\n"), "{}", out.stdout);
}

with_helm!(
    a_provider_named_sidecar_chart_renders_with_the_floors_on_the_main_container_only,
    {
        let repo = chart_repo("guards-define-provider-webhook", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("provider_webhook_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- an include compared in the guard (selenium's `useKEDA` ternary) --------------------

#[test]
fn a_sidecar_guarded_by_a_ternary_helper_that_prints_true_is_edited_like_the_main_container() {
    let repo = chart_repo("guards-define-ternary-keda", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("ternary_keda_plan_diff", out.stdout);
    insta::assert_snapshot!("ternary_keda_plan_summary", out.stderr);
}

with_helm!(
    a_ternary_guarded_sidecar_renders_with_the_floors_and_nothing_else_changes,
    {
        let repo = chart_repo("guards-define-ternary-keda", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("ternary_keda_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- a guard patcher cannot prove: that node unchecked, the others edited --------------

#[test]
fn a_node_under_an_unprovable_guard_is_unchecked_by_name_and_the_other_nodes_are_edited() {
    let repo = chart_repo("guards-unprovable-sidecar-unchecked", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("unprovable_sidecar_plan_diff", out.stdout);
    insta::assert_snapshot!("unprovable_sidecar_plan_summary", out.stderr);
    assert!(
        out.stderr.starts_with(
            "recipe probe-floors: 2 changes in 1 file; 1 file unchecked (see below)\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("inside `{{- if eq $mode \"sidecar\" }}` at line 24, which is not provable from the values"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("holds"), "{}", out.stderr);
}

with_helm!(
    an_unprovably_guarded_sidecar_chart_renders_changed_only_at_the_main_container,
    {
        let repo = chart_repo("guards-unprovable-sidecar-unchecked", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("unprovable_sidecar_rendered_differences", diffs.join("\n"));
        // Still unchecked after apply: the agent's probe was never seen.
        let again = plan(&repo);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(again.stderr.contains("unchecked"), "{}", again.stderr);
    }
);

// --- `tpl (toYaml .) $` (promtail's probes) --------------------------------------------

#[test]
fn a_probe_printed_through_tpl_of_to_yaml_is_edited_in_values_beside_its_template_string() {
    let repo = chart_repo("values-tpl-toyaml-probe", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("tpl_toyaml_plan_diff", out.stdout);
    insta::assert_snapshot!("tpl_toyaml_plan_summary", out.stderr);
}

with_helm!(
    a_tpl_printed_probe_renders_with_the_floors_and_its_template_string_as_before,
    {
        let repo = chart_repo("values-tpl-toyaml-probe", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("tpl_toyaml_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

#[test]
fn a_tpl_printed_probe_whose_template_string_reads_the_edited_key_is_refused_naming_it() {
    let repo = chart_repo("values-tpl-toyaml-probe", "refused.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("livenessProbe.exec.command.2 holds `sleep {{ .Values.livenessProbe.initialDelaySeconds }}; test -f /tmp/ok`, which `tpl` renders as a template, and it may read the edited value"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("tpl_toyaml_refused_summary", out.stderr);
}
