//! Issue 22, items 5, 6 and 8: values scenarios, narrow refusals and mid-line choices
//! (`tests/data/idioms/{scenarios-*,masking-midline-choice}/`, each template saying where its
//! shape comes from).
//!
//! - A values edit read by a Deployment and by a DaemonSet that `kind` excludes carries the
//!   DaemonSet's rendered pointers: the plan names it, and the `ci/daemonset-values.yaml`
//!   scenario verifies with the DaemonSet's probe changed there and nowhere else.
//! - A difference no reader explains refuses only the edits it comes from (by recipe, then by
//!   values edit), naming the scenario and the difference; the chart's other edits are kept,
//!   verified and applied.
//! - An `if`/`else` in the middle of a line that chooses a key or a word is masked as one
//!   placeholder: a key chosen so is unknown (an add beside it is refused by name), a kind
//!   chosen so is unchecked for a kind it may be and rules out the others.

mod common;

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use common::Repo;
use idiom_chart::{chart_repo, plan, run_rendering, scenario_differences};

/// Renders the chart with its defaults and with each values file before and after `apply
/// args`, and lists the differences per scenario.
fn apply_and_render_scenarios(repo: &Repo, args: &[&str], scenarios: &[&str]) -> String {
    let per_scenario = scenario_differences(repo, scenarios, || {
        let out = run_rendering(repo, args);
        assert!(
            out.code == 0 || args.contains(&"--keep-going"),
            "{}",
            out.stderr
        );
    });
    let mut lines = Vec::new();
    for (s, diffs) in per_scenario {
        let name = if s.is_empty() {
            "defaults".to_string()
        } else {
            format!("-f {}", s.join(" -f "))
        };
        lines.push(format!("[{name}]"));
        lines.extend(diffs);
    }
    lines.join("\n")
}

/// A masking placeholder (`_` and base-36 digits, padded with `_`) must never reach a user.
fn assert_no_placeholder(text: &str) {
    let leaked = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| {
            w.len() >= 12
                && w.starts_with('_')
                && w[1..]
                    .trim_end_matches('_')
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
                && w[1..].bytes().any(|c| c.is_ascii_digit())
        });
    assert!(leaked.is_none(), "placeholder {leaked:?} in:\n{text}");
}

// --- a reader another scenario renders ---------------------------------------------------

#[test]
fn a_values_edit_names_the_daemonset_that_reads_it_when_kind_is_daemonset() {
    let repo = chart_repo("scenarios-kind-shared-podspec", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("shared_podspec_plan_diff", out.stdout);
    insta::assert_snapshot!("shared_podspec_plan_summary", out.stderr);
    assert!(
        out.stderr.contains("also rendered by templates/daemonset.yaml (DaemonSet) as /spec/template/spec/containers/0/livenessProbe/failureThreshold when `{{- if (eq .Values.kind \"DaemonSet\") }}` holds"),
        "{}",
        out.stderr
    );
}

with_helm!(
    the_daemonset_scenario_verifies_with_its_probe_changed_as_planned,
    {
        let repo = chart_repo("scenarios-kind-shared-podspec", "recipe.kdl");
        let out = run_rendering(&repo, &["plan"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
        out.stderr.contains(
            "rendered chart/: 1 object, 3 fields changed, as planned; with -f ci/daemonset-values.yaml: 1 object, 2 fields changed, as planned"
        ),
        "{}",
        out.stderr
    );
        let diffs = apply_and_render_scenarios(
            &repo,
            &["apply", "--in-place"],
            &["ci/daemonset-values.yaml"],
        );
        insta::assert_snapshot!("shared_podspec_rendered_differences", diffs);
    }
);

// --- a difference no reader explains ------------------------------------------------------

with_helm!(
    an_unexplained_difference_refuses_only_the_edits_it_comes_from,
    {
        let repo = chart_repo("scenarios-unexplained-reader-narrowed", "recipe.kdl");
        let values = repo.read("chart/values.yaml");
        let out = run_rendering(&repo, &["plan"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        // The progress deadline stays; both probe values edits are refused, each by name.
        insta::assert_snapshot!("narrowed_plan_diff", out.stdout);
        insta::assert_snapshot!("narrowed_plan_summary", out.stderr);
        assert!(
        out.stderr.contains("render verification refused a values edit of chart/values.yaml (/livenessProbe/failureThreshold): without it every values scenario renders as planned"),
        "{}",
        out.stderr
    );
        assert!(
        out.stderr
            .contains("(`helm template -f ci/daemonset-values.yaml`) changes where no planned op does: ConfigMap patcher/patcher-probe: /data/probe.json"),
        "{}",
        out.stderr
    );
        let diffs = apply_and_render_scenarios(
            &repo,
            &["apply", "--in-place", "--keep-going"],
            &["ci/daemonset-values.yaml"],
        );
        insta::assert_snapshot!("narrowed_rendered_differences", diffs);
        // Nothing unverified was written.
        assert_eq!(repo.read("chart/values.yaml"), values);
    }
);

// --- an if/else in the middle of a line ---------------------------------------------------

#[test]
fn a_key_chosen_mid_line_is_unknown_and_an_add_beside_it_is_refused_by_name() {
    let repo = chart_repo("masking-midline-choice", "recipe-key.kdl");
    let before = repo.read("chart/templates/configmap.yaml");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("chart/templates/configmap.yaml: /stringData cannot be planned: `{{ if .Values.secretConfig -}} stringData: {{- else -}} data...` at line 9 prints a key of it (the document)"),
        "{}",
        out.stderr
    );
    assert_no_placeholder(&out.stderr);
    assert_eq!(repo.read("chart/templates/configmap.yaml"), before);
}

#[test]
fn a_kind_chosen_mid_line_is_unchecked_for_a_kind_it_may_be() {
    let repo = chart_repo("masking-midline-choice", "recipe-kind.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("midline_kind_plan_diff", out.stdout);
    insta::assert_snapshot!("midline_kind_plan_summary", out.stderr);
    assert!(
        out.stderr.contains("chart/templates/configmap.yaml: `/kind` is unchecked: `{{ if .Values.secretConfig -}} Secret {{- else -}} ConfigMap...` at line 6 prints it"),
        "{}",
        out.stderr
    );
    assert_no_placeholder(&out.stderr);
}

#[test]
fn a_kind_chosen_mid_line_rules_out_the_kinds_it_cannot_be() {
    let repo = chart_repo("masking-midline-choice", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("unchecked"), "{}", out.stderr);
    assert_no_placeholder(&out.stderr);
}

#[test]
fn a_value_chosen_mid_line_is_refused_naming_the_action() {
    let repo = chart_repo("masking-midline-choice", "recipe-level.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("chart/templates/traefik-configmap.yaml: /data/log/level is printed by `{{ if .Values.debug.enabled -}}"),
        "{}",
        out.stderr
    );
    assert_no_placeholder(&out.stderr);
}

with_helm!(
    beside_mid_line_choices_only_the_deployment_deadline_renders_differently,
    {
        let repo = chart_repo("masking-midline-choice", "recipe.kdl");
        let diffs = apply_and_render_scenarios(&repo, &["apply", "--in-place"], &[]);
        insta::assert_snapshot!("midline_rendered_differences", diffs);
    }
);
