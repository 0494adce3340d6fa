//! Issue 22, items 1 and 3 together: a template variable that holds `omit`/`pick` of one
//! values path, printed by `toYaml $x` beside literal keys (`tests/data/idioms/variables-*/`,
//! each template saying where its shape comes from). The rendered mapping is the union of
//! both parts: keys the values part prints (or would, once set) land in values, literal keys
//! in the template. The pushgateway shape adds an `if` that tests what another define
//! prints (decided from the values when that define is one values path or a literal) with
//! the same read under `with` in its `else`, in a define that a Deployment and a StatefulSet
//! include under guards that exclude each other. Each chart's plan diff is a snapshot; with
//! the helm shim, the chart is rendered before and after apply and the objects differ only
//! at the asked fields.

mod common;

#[macro_use]
#[path = "support/idiom_chart.rs"]
mod idiom_chart;

use idiom_chart::{apply_and_render_differences, assert_converged, chart_repo, plan};

// --- pushgateway: omit through a variable, an include guard, with in the else ----------

#[test]
fn an_omit_variable_under_an_include_guard_lands_in_values_for_both_exclusive_includers() {
    let repo = chart_repo("variables-omit-include-guard", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The `else` branch renders (no existing Secret): its read, under `with`, is the one.
    assert!(
        out.stderr
            .contains("read by templates/_helpers.tpl:31 in define \"pg.podSpec\""),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("omit_include_guard_plan_diff", out.stdout);
    insta::assert_snapshot!("omit_include_guard_plan_summary", out.stderr);
}

#[test]
fn with_the_include_guard_true_the_first_branch_read_takes_the_edit() {
    let repo = chart_repo("variables-omit-include-guard", "recipe.kdl");
    let values = repo.read("chart/values.yaml").replace(
        "webConfiguration: {}\n  # existingSecret:\n  #   name: web-config\n",
        "webConfiguration:\n  existingSecret:\n    name: web-config\n",
    );
    repo.write("chart/values.yaml", &values);
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("/liveness/probe/initialDelaySeconds = 30 (read by templates/_helpers.tpl:24 in define \"pg.podSpec\""),
        "{}",
        out.stderr
    );
}

#[test]
fn an_include_guard_whose_define_is_not_provable_leaves_its_nodes_unchecked_naming_the_define() {
    let repo = chart_repo("variables-omit-include-guard", "recipe.kdl");
    // Without `default ""`, a value like `false` prints text: whether the output is empty
    // depends on the kind of value. A node under a guard that is not provable is unchecked
    // by itself (nothing is planned for it, the plan does not fail).
    let helpers = repo.read("chart/templates/_helpers.tpl").replace(
        "{{- get $existingSecret \"name\" | default \"\" -}}",
        "{{- get $existingSecret \"name\" -}}",
    );
    repo.write("chart/templates/_helpers.tpl", &helpers);
    let out = plan(&repo);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !out.stderr.contains(" = "),
        "nothing planned: {}",
        out.stderr
    );
    for file in ["deployment", "statefulset"] {
        let unchecked = format!(
            "chart/templates/{file}.yaml: /spec/template/spec/containers/0/livenessProbe/initialDelaySeconds is printed by `{{{{- toYaml $livenessCommon | nindent 6 }}}}` at chart/templates/_helpers.tpl:24, inside `{{{{- if (include \"pg.existingSecretName\" $) }}}}` at line 21, which is not provable from the values (it tests what define \"pg.existingSecretName\" (at chart/templates/_helpers.tpl:8) prints: it prints `.Values.webConfiguration.existingSecret.name` without `default \"\"`"
        );
        assert!(
            out.stderr.contains(&unchecked),
            "{unchecked}\n{}",
            out.stderr
        );
    }
}

with_helm!(
    rendered_omit_include_guard_differs_only_at_the_asked_probe_fields,
    {
        let repo = chart_repo("variables-omit-include-guard", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("omit_include_guard_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- metrics-governor: the variable declared inside the probe's mapping ---------------

#[test]
fn an_omit_variable_declared_inside_the_mapping_prints_it_and_takes_the_edits() {
    let repo = chart_repo("variables-omit-in-mapping", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("unchecked"), "{}", out.stderr);
    insta::assert_snapshot!("omit_in_mapping_plan_diff", out.stdout);
    insta::assert_snapshot!("omit_in_mapping_plan_summary", out.stderr);
}

with_helm!(
    rendered_omit_in_mapping_differs_only_at_the_asked_probe_fields,
    {
        let repo = chart_repo("variables-omit-in-mapping", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("omit_in_mapping_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);

// --- common.defineProbes: values after literal lines, through with and pick -----------

#[test]
fn values_printed_after_literal_lines_take_the_keys_they_print_or_would() {
    let repo = chart_repo("variables-with-after-literal", "recipe.kdl");
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("unchecked"), "{}", out.stderr);
    insta::assert_snapshot!("with_after_literal_plan_diff", out.stdout);
    insta::assert_snapshot!("with_after_literal_plan_summary", out.stderr);
}

#[test]
fn a_key_that_pick_leaves_out_lands_in_the_literal_lines() {
    let repo = chart_repo("variables-with-after-literal", "recipe.kdl");
    let t = repo.read("chart/templates/deployment.yaml").replace(
        " \"periodSeconds\" \"failureThreshold\" }}",
        " \"periodSeconds\" }}",
    );
    repo.write("chart/templates/deployment.yaml", &t);
    let out = plan(&repo);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The values part cannot print `failureThreshold`: it is written beside the literal lines.
    assert!(
        out.stdout.contains("+            failureThreshold: 10"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("/probes/readiness/initialDelaySeconds = 20"),
        "{}",
        out.stderr
    );
}

with_helm!(
    rendered_with_after_literal_differs_only_at_the_asked_probe_fields,
    {
        let repo = chart_repo("variables-with-after-literal", "recipe.kdl");
        let diffs = apply_and_render_differences(&repo);
        insta::assert_snapshot!("with_after_literal_rendered_differences", diffs.join("\n"));
        assert_converged(&repo);
    }
);
