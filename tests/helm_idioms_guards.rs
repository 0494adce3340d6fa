//! Issue 22, items 4 and 5: guards and shared readers of a values key
//! (`tests/data/idioms/guards-*/`, one chart per idiom, each template saying where its shape
//! comes from). A guard that is the value itself, or a comparison, `and`/`or`/`not`,
//! `empty` or `hasKey` that decides the same branch after the edit, is not another use; a
//! `0` that disables a field is raised and the plan names the `if` it turns true; a reader
//! that cannot render (a DaemonSet while `kind` picks the Deployment) and a reader that
//! another instance of the recipe fixes to the same value are not other uses. A different
//! consumer, a different value, and a guard that would render more than the field are
//! refused naming both sites. Each chart's plan diff is a snapshot; with the helm shim, the
//! chart is rendered before and after apply and the objects differ only at the asked fields.

mod common;

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use common::{Repo, copy_dir};
use idiom_chart::{apply_and_render_differences, assert_converged, chart_repo, plan};

// --- a guard that is the value itself ------------------------------------------------

#[test]
fn a_guard_that_is_the_value_itself_is_kept_true_and_is_not_another_use() {
    let repo = chart_repo("guards-value-guard", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("value_guard_plan_diff", out.stdout);
    insta::assert_snapshot!("value_guard_plan_summary", out.stderr);
}

with_helm!(
    a_value_guarded_field_renders_with_the_floor_and_nothing_else_changes,
    {
        let repo = chart_repo("guards-value-guard", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("value_guard_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- a 0 that disables a field -------------------------------------------------------

#[test]
fn a_zero_that_disables_a_field_is_raised_and_the_plan_names_the_guard_it_turns_true() {
    let repo = chart_repo("guards-gt-zero-disabled-field-enabled", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("gt_zero_plan_diff", out.stdout);
    // The plan line names the guard and its line.
    assert!(
        out.stderr.contains("with the new value `{{- if gt (int .Values.probe.initialDelaySeconds) 0 }}` at templates/deployment.yaml:23 holds, so the field renders"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("gt_zero_plan_summary", out.stderr);
}

with_helm!(
    a_field_a_zero_disabled_renders_after_apply_and_only_it_appears,
    {
        let repo = chart_repo("guards-gt-zero-disabled-field-enabled", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("gt_zero_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- comparisons, and/or/not, empty, hasKey --------------------------------------------

#[test]
fn comparisons_connectives_empty_and_has_key_that_keep_their_branch_allow_the_edit() {
    let repo = chart_repo("guards-comparisons", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("comparisons_plan_diff", out.stdout);
    insta::assert_snapshot!("comparisons_plan_summary", out.stderr);
    // The startup probe under `ne .Values.mode "ci"` does not render, so it is not seen.
    assert!(!out.stderr.contains("startupProbe"), "{}", out.stderr);
}

with_helm!(
    guarded_probe_fields_render_with_their_floors_and_nothing_else,
    {
        let repo = chart_repo("guards-comparisons", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("comparisons_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- readers that cannot render together -----------------------------------------------

#[test]
fn a_daemonset_reader_is_not_another_use_while_kind_picks_the_deployment() {
    let repo = chart_repo("guards-exclusive-kind-deployment-daemonset", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("exclusive_kind_plan_diff", out.stdout);
    insta::assert_snapshot!("exclusive_kind_plan_summary", out.stderr);
}

#[test]
fn with_kind_both_the_daemonset_renders_too_and_is_refused_by_name() {
    let repo = chart_repo("guards-exclusive-kind-deployment-daemonset", "recipe.kdl");
    let values = repo.read("chart/values.yaml");
    repo.write(
        "chart/values.yaml",
        &values.replace("kind: Deployment", "kind: Both"),
    );
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds is fed by `controller.livenessProbe.initialDelaySeconds` in chart/values.yaml (read at chart/templates/controller-deployment.yaml:21), and that value is also read by chart/templates/controller-daemonset.yaml:21 (`{{- toYaml .Values.controller.livenessProbe | nindent 12 }}`)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        repo.read("chart/values.yaml"),
        values.replace("kind: Deployment", "kind: Both")
    );
}

with_helm!(only_the_deployment_renders_and_only_its_probe_changes, {
    let repo = chart_repo("guards-exclusive-kind-deployment-daemonset", "recipe.kdl");
    let diffs = apply_and_render_differences(&repo);
    insta::assert_snapshot!("exclusive_kind_rendered_differences", diffs.join("\n"));
    assert_converged(&repo);
});

// --- two instances of one recipe, one value --------------------------------------------

#[test]
fn two_instances_of_a_recipe_fixing_one_shared_value_both_report_the_change() {
    let repo = chart_repo("guards-same-recipe-two-readers", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("two_readers_plan_diff", out.stdout);
    // Each instance reports the change it makes for its own template.
    insta::assert_snapshot!("two_readers_plan_summary", out.stderr);
    let apply = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_converged(&repo);
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

with_helm!(both_readers_render_the_floor_and_nothing_else_changes, {
    let repo = chart_repo("guards-same-recipe-two-readers", "recipe.kdl");
    let diffs = apply_and_render_differences(&repo);
    insta::assert_snapshot!("two_readers_rendered_differences", diffs.join("\n"));
});

// --- genuine second uses -----------------------------------------------------------------

/// The plan refuses: exit 1, nothing on stdout, every error line (sorted).
fn refusals(repo: &Repo) -> String {
    let out = plan(repo);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "");
    let mut lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn a_value_a_configmap_also_prints_is_refused_naming_both_reads() {
    let repo = chart_repo(
        "guards-genuine-second-use-refused",
        "recipe-other-consumer.kdl",
    );
    let errors = refusals(&repo);
    assert!(errors.contains("(read at chart/templates/web.yaml:19), and that value is also read by chart/templates/configmap.yaml:6 (`{{ .Values.probe.initialDelaySeconds | quote }}`)"), "{errors}");
    insta::assert_snapshot!("genuine_other_consumer_refusals", errors);
}

#[test]
fn two_recipes_wanting_different_values_of_one_key_are_both_refused_naming_each_other() {
    let repo = chart_repo(
        "guards-genuine-second-use-refused",
        "recipe-different-value.kdl",
    );
    let errors = refusals(&repo);
    assert!(
        errors.contains("also read by chart/templates/worker.yaml:19 (`{{- toYaml .Values.shared.livenessProbe | nindent 12 }}`) (recipe `probe-delays-sts` sets it to 45 for chart/templates/worker.yaml)"),
        "{errors}"
    );
    assert!(
        errors.contains("also read by chart/templates/api.yaml:19 (`{{- toYaml .Values.shared.livenessProbe | nindent 12 }}`) (recipe `probe-delays` sets it to 30 for chart/templates/api.yaml)"),
        "{errors}"
    );
    insta::assert_snapshot!("genuine_different_value_refusals", errors);
}

#[test]
fn a_guard_that_would_render_more_than_the_field_is_refused_naming_its_lines() {
    let repo = chart_repo("guards-genuine-second-use-refused", "recipe-gated.kdl");
    let errors = refusals(&repo);
    assert!(
        errors.contains("also read by chart/templates/gated.yaml:21 (`{{- if gt (int .Values.ready.initialDelaySeconds) 0 }}`, whose branch the new value changes: lines 22-23 render, not only this field)"),
        "{errors}"
    );
    insta::assert_snapshot!("genuine_gated_refusals", errors);
}

// --- the corpus -----------------------------------------------------------------------------

/// argo-cd's application controller is a StatefulSet, or a Deployment when
/// `controller.dynamicClusterDistribution` is true (false in its values): both print
/// `.Values.controller.readinessProbe.*`. The StatefulSet's probe is raised through values;
/// the Deployment's read, in an `if` that is false before and after, is not another use.
/// Its `ci/dynamic-sharding-values.yaml` scenario renders the Deployment: there the same
/// recipe for Deployments asks the same value, so that read is planned too, not another use
/// (with the StatefulSet recipe alone it is refused, naming that scenario).
#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn argo_cd_statefulset_probe_is_raised_while_its_deployment_twin_does_not_render() {
    let repo = Repo::new(&[(
        "recipes/r.kdl",
        "use \"catalog:probe-delays\" files=\"chart/templates/argocd-application-controller/*.yaml\" kind=\"StatefulSet\"\n\
         use \"catalog:probe-delays\" name=\"probe-delays-deployments\" files=\"chart/templates/argocd-application-controller/*.yaml\" kind=\"Deployment\"\n",
    )]);
    copy_dir(
        &common::corpus().join("charts/argoproj__argo-helm__argo-cd"),
        &repo.root().join("chart"),
    );
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("chart/values.yaml: /controller/readinessProbe/initialDelaySeconds = 20 (read by templates/argocd-application-controller/statefulset.yaml:376"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("also read by"), "{}", out.stderr);
}
