//! Issue 22, item 8 (scenarios): a chart's templates are planned in every chart-testing
//! scenario (`ci/*.yaml` deep-merged over `values.yaml`), not only with the defaults. A
//! probe that renders only in a scenario gets its floor in the layer that owns the value:
//! `values.yaml` when the key is there (argo-workflows), the scenario's own file when that
//! file sets the key or the mapping the key is added to (alertmanager). A `values.yaml` edit
//! that another scenario renders at a place no op planned is refused naming the scenario;
//! a scenario where the object does not render plans nothing; floors that differ between
//! scenarios take the larger; a ci file that is not YAML is an error; a subchart's own `ci/`
//! files are not scenarios. Each chart (`tests/data/idioms/scenarios-*`, each template
//! saying which public chart its shape comes from) has a snapshot of its plan; with the helm
//! shim, every scenario is rendered before and after `apply --render always` and the
//! objects differ only at the asked fields.

mod common;

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use common::Repo;
use idiom_chart::{assert_converged, chart_repo, plan, run_rendering, scenario_differences};

/// Renders the chart in the defaults and each of `scenarios`, applies the plan with render
/// verification (helm shim), renders again, and returns the differences, one
/// `[scenario] Kind name /pointer: a -> b` line each.
fn apply_and_render_scenarios(repo: &Repo, scenarios: &[&str]) -> Vec<String> {
    let per_scenario = scenario_differences(repo, scenarios, || {
        let out = run_rendering(repo, &["apply", "--in-place"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr.contains("as planned")
                && !out.stderr.contains("changes where no planned op does"),
            "{}",
            out.stderr
        );
    });
    let mut lines = Vec::new();
    for (set, diffs) in per_scenario {
        let name = set.first().copied().unwrap_or("defaults");
        lines.extend(diffs.into_iter().map(|d| format!("[{name}] {d}")));
    }
    lines
}

// --- argo-workflows: the scenario turns the probe on; values.yaml has the key ------------

#[test]
fn a_probe_only_a_ci_scenario_renders_gets_its_floor_in_values_yaml_and_the_plan_names_the_scenario()
 {
    let repo = chart_repo("scenarios-ci-enables-probe", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("(in the ci/enable-server-liveness-probe-values.yaml scenario)"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("enables_probe_plan_diff", out.stdout);
    insta::assert_snapshot!("enables_probe_plan_summary", out.stderr);
}

with_helm!(
    a_scenario_only_probe_renders_with_the_floor_there_and_the_defaults_render_is_unchanged,
    {
        let repo = chart_repo("scenarios-ci-enables-probe", "recipe.kdl");
        let diffs =
            apply_and_render_scenarios(&repo, &["ci/enable-server-liveness-probe-values.yaml"]);
        assert!(
            diffs.iter().all(|d| !d.starts_with("[defaults]")),
            "{diffs:?}"
        );
        insta::assert_snapshot!("enables_probe_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- alertmanager: the scenario sets the probe's mapping; values.yaml has `{}` -----------

#[test]
fn a_probe_mapping_a_ci_file_sets_gets_its_floor_in_that_file_not_in_values_yaml() {
    let repo = chart_repo("scenarios-ci-sets-probe-mapping", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // values.yaml's `livenessProbe: {}` stays empty: filling it would make the `with` true
    // for a user who enables the sidecar without a probe.
    assert!(
        !out.stdout.contains("b/chart/values.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("b/chart/ci/config-reload-values.yaml"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!("sets_probe_mapping_plan_diff", out.stdout);
    insta::assert_snapshot!("sets_probe_mapping_plan_summary", out.stderr);
}

with_helm!(
    a_ci_file_probe_mapping_renders_with_the_floor_in_its_scenario_only,
    {
        let repo = chart_repo("scenarios-ci-sets-probe-mapping", "recipe.kdl");
        let diffs = apply_and_render_scenarios(&repo, &["ci/config-reload-values.yaml"]);
        insta::assert_snapshot!("sets_probe_mapping_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- a ci file that sets the field itself below the floor -------------------------------

#[test]
fn a_ci_file_that_sets_the_field_below_the_floor_is_edited_itself() {
    let repo = chart_repo("scenarios-ci-sets-field-below-floor", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        !out.stdout.contains("b/chart/values.yaml"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!("field_below_floor_plan_diff", out.stdout);
    insta::assert_snapshot!("field_below_floor_plan_summary", out.stderr);
}

with_helm!(
    a_ci_file_field_below_the_floor_renders_the_floor_in_its_scenario,
    {
        let repo = chart_repo("scenarios-ci-sets-field-below-floor", "recipe.kdl");
        let diffs = apply_and_render_scenarios(&repo, &["ci/fast-probe-values.yaml"]);
        insta::assert_snapshot!("field_below_floor_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- a scenario where the object does not render ----------------------------------------

#[test]
fn a_scenario_where_the_object_does_not_render_plans_nothing() {
    let repo = chart_repo("scenarios-object-not-rendered", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // ci/disabled-values.yaml sets a delay below the floor, but turns the Deployment off.
    assert!(
        !out.stdout.contains("ci/disabled-values.yaml"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!("object_not_rendered_plan_diff", out.stdout);
    insta::assert_snapshot!("object_not_rendered_plan_summary", out.stderr);
}

with_helm!(
    a_scenario_without_the_object_renders_the_same_after_the_defaults_edit,
    {
        let repo = chart_repo("scenarios-object-not-rendered", "recipe.kdl");
        let diffs = apply_and_render_scenarios(&repo, &["ci/disabled-values.yaml"]);
        assert!(
            diffs
                .iter()
                .all(|d| !d.starts_with("[ci/disabled-values.yaml]")),
            "{diffs:?}"
        );
        insta::assert_snapshot!("object_not_rendered_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- two scenarios ask different floors of one values.yaml key --------------------------

#[test]
fn floors_two_scenarios_ask_of_one_key_take_the_larger_and_the_plan_says_so() {
    let repo = chart_repo("scenarios-floors-differ", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("at least 30 for the default values and at least 45 for the ci/statefulset-values.yaml scenario: the larger, 45, holds in both"),
        "{}",
        out.stderr
    );
    // The StatefulSet recipe matched in its scenario: it is not "not applicable".
    assert!(
        out.stderr
            .contains("recipe statefulset-liveness: 2 changes"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("floors_differ_plan_diff", out.stdout);
    insta::assert_snapshot!("floors_differ_plan_summary", out.stderr);
}

with_helm!(
    the_larger_floor_renders_in_both_scenarios_and_both_recipes_hold_after,
    {
        let repo = chart_repo("scenarios-floors-differ", "recipe.kdl");
        let diffs = apply_and_render_scenarios(&repo, &["ci/statefulset-values.yaml"]);
        insta::assert_snapshot!("floors_differ_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- a values.yaml edit another scenario renders in the workload `kind` chooses ------------

/// The DaemonSet that `kind` chooses instead of the Deployment renders the same pod spec from
/// the same values (blackbox-exporter's shape): it cannot render together with the
/// Deployment, so it is not another use (issue 22, item 5). The edit is planned, the plan
/// names where the value also renders, and render verification expects it there in the
/// `ci/daemonset-values.yml` scenario (tests/helm_idioms_scenarios_refusal.rs renders it).
#[test]
fn a_values_edit_the_workload_kind_chooses_also_renders_is_planned_naming_that_reader() {
    let repo = chart_repo("scenarios-other-scenario-use-expected", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("also rendered by templates/daemonset.yaml (DaemonSet) as /spec/template/spec/containers/0/livenessProbe/initialDelaySeconds when `{{- if eq .Values.kind \"DaemonSet\" }}` holds"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("other_scenario_use_plan_summary", out.stderr);
    let applied = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(plan(&repo).code, 0, "a re-plan after apply is empty");
}

// --- a ci file that is not YAML ---------------------------------------------------------

#[test]
fn a_ci_file_that_is_not_yaml_is_an_error_naming_it_and_nothing_is_written() {
    let repo = chart_repo("scenarios-invalid-ci-yaml", "recipe.kdl");
    let before = repo.read("chart/values.yaml");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "chart-testing scenario chart/ci/broken-values.yaml: chart/ci/broken-values.yaml:4:4: invalid YAML"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
    let applied = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert_eq!(repo.read("chart/values.yaml"), before);
}

// --- a subchart's own ci/ files are not the parent's scenarios --------------------------

#[test]
fn a_subcharts_own_ci_files_are_not_scenarios_of_the_parent() {
    // chart/charts/sub/ci/enable-values.yaml is not YAML, and is never read: helm renders the
    // subchart with what the parent passes, and chart-testing does not read it either.
    let repo = chart_repo("scenarios-subchart", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("enable-values.yaml"), "{}", out.stderr);
    assert!(!out.stdout.contains("charts/sub"), "{}", out.stdout);
    insta::assert_snapshot!("subchart_plan_summary", out.stderr);
}

// --- a refusal met only in a scenario ---------------------------------------------------

#[test]
fn a_field_refused_only_in_a_scenario_is_an_error_naming_the_scenario() {
    let repo = chart_repo("scenarios-refused-in-scenario-only", "recipe.kdl");
    let before = repo.read("chart/values.yaml");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("in the ci/enable-server-liveness-probe-values.yaml scenario: "),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("refused_in_scenario_plan_summary", out.stderr);
    let applied = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert_eq!(repo.read("chart/values.yaml"), before);
}
