//! Values-fed fields: recipes speak about rendered objects, and an op on a node a template
//! prints from one values path lands in the values file (`tests/data/values-chart/`, one
//! template shape per field), byte-minimally, tagged `via` its template line. Shapes that are
//! not provably one path, or a path read elsewhere too, are refused by name. With the helm
//! shim, the rendered objects are compared before and after: only the asked fields change.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, copy_dir};
use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/values-chart")
}

/// The values test chart in a temp repository, with `recipe` as its only recipe file.
fn chart_repo(recipe: &str) -> Repo {
    let repo = Repo::new(&[("recipes/r.kdl", recipe)]);
    copy_dir(&data().join("chart"), &repo.root().join("chart"));
    repo
}

fn stock_recipes() -> String {
    std::fs::read_to_string(data().join("recipes/values.kdl")).expect("recipes")
}

#[test]
fn values_fed_fields_are_edited_in_values_yaml_and_templates_keep_their_actions() {
    let repo = chart_repo(&stock_recipes());
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    insta::assert_snapshot!("values_chart_plan_diff", plan.stdout);
    insta::assert_snapshot!("values_chart_plan_summary", plan.stderr);
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    // The templates' values-fed lines are untouched: only literal additions happened there.
    let api = repo.read("chart/templates/api.yaml");
    assert!(
        api.contains("progressDeadlineSeconds: {{ .Values.api.progressDeadlineSeconds | int }}")
    );
    assert!(api.contains("{{- toYaml .Values.api.probe | nindent 12 }}"));
    let again = repo.run(&["plan"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

#[test]
fn json_ops_on_values_carry_via_template_line_and_rendered_pointer() {
    let repo = chart_repo(&stock_recipes());
    let out = repo.run(&["plan", "--format", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let files = v["files"].as_array().expect("files");
    let values = files
        .iter()
        .find(|f| f["path"] == "chart/values.yaml")
        .expect("values.yaml changes");
    let ops = values["documents"][0]["patch"].as_array().expect("ops");
    let deadline = ops
        .iter()
        .find(|o| o["path"] == "/api/progressDeadlineSeconds")
        .expect("deadline op");
    assert_eq!(deadline["value"], 600);
    assert_eq!(
        deadline["via"],
        serde_json::json!({"template": "chart/templates/api.yaml", "line": 8, "document": 0, "pointer": "/spec/progressDeadlineSeconds"})
    );
    assert!(ops.iter().all(|o| o.get("via").is_some()));
    // Template ops have no via.
    let api = files
        .iter()
        .find(|f| f["path"] == "chart/templates/api.yaml")
        .expect("api changes");
    assert!(api["documents"][0]["patch"][0].get("via").is_none());
}

#[test]
fn check_reports_values_fed_drift_at_the_values_line() {
    let repo = chart_repo(&stock_recipes());
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains(
            "chart/values.yaml:5:3: /api/progressDeadlineSeconds: expected 600, found 120 (read by chart/templates/api.yaml:8 as /spec/progressDeadlineSeconds)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_value_also_read_by_a_configmap_is_refused_naming_that_read() {
    let repo = chart_repo(
        r#"recipe "grace" {
    file "chart/templates/worker.yaml" {
        set "/spec/template/spec/terminationGracePeriodSeconds" 60
    }
}"#,
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "nothing is planned: {}", out.stdout);
    assert!(
        out.stderr.contains("fed by `shared.timeout` in chart/values.yaml (read at chart/templates/worker.yaml:10), and that value is also read by chart/templates/configmap.yaml:6 (`{{ .Values.shared.timeout | quote }}`)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_recipe_refused_for_a_shared_value_leaves_another_recipes_edit_of_the_template() {
    // The corpus shape: loki-distributed's and tempo-distributed's Deployments print probes
    // from one shared `loki.` / `tempo.` value (refused), next to a progress deadline the
    // template itself lacks (planned).
    let repo = chart_repo(
        r#"recipe "grace" {
    file "chart/templates/worker.yaml" {
        set "/spec/template/spec/terminationGracePeriodSeconds" 60
    }
}
recipe "ready" {
    file "chart/templates/worker.yaml" {
        at-least "/spec/minReadySeconds" 5
    }
}"#,
    );
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("fed by `shared.timeout` in chart/values.yaml"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("+  minReadySeconds: 5"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("values.yaml"), "{}", out.stdout);
    let out = repo.run(&["apply", "--in-place", "--keep-going", "--render", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        repo.read("chart/templates/worker.yaml")
            .contains("minReadySeconds: 5")
    );
    assert_eq!(
        repo.read("chart/values.yaml"),
        std::fs::read_to_string(data().join("chart/values.yaml")).expect("values")
    );
}

#[test]
fn a_root_value_in_a_range_of_whole_documents_is_edited_once_in_values() {
    // One Job per item of `.Values.jobs`, each printing `$.Values.worker.limit`: every copy
    // renders the same node, so the edit is one values edit.
    let repo = chart_repo(
        r#"recipe "job-retries" {
    file "chart/templates/jobs.yaml" {
        match "/kind" "Job"
        set "/spec/backoffLimit" 4
    }
}"#,
    );
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("chart/values.yaml: /worker/limit = 4 (read by templates/jobs.yaml:8 as /spec/backoffLimit)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("-  limit: 0\n+  limit: 4"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_read_of_the_range_item_is_refused_by_name() {
    let repo = chart_repo(
        r#"recipe "job-names" {
    file "chart/templates/jobs.yaml" {
        match "/kind" "Job"
        set "/metadata/name" "x"
    }
}"#,
    );
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("/metadata/name is printed by `{{ .name }}` at chart/templates/jobs.yaml:6, and it is inside a `range` body (line 1)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_quoted_field_takes_a_string_through_values_and_refuses_a_number() {
    let set = |v: &str| {
        format!(
            r#"recipe "env" {{
    file "chart/templates/scaled.yaml" {{
        set "/spec/template/spec/containers/0/env/0/value" {v}
    }}
}}"#
        )
    };
    let repo = chart_repo(&set("\"20\""));
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        repo.read("chart/values.yaml")
            .contains("  envTimeout: \"20\"\n")
    );
    let repo = chart_repo(&set("20"));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("that always renders a string, but the recipe wants 20"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_else_branch_that_renders_is_the_one_edited() {
    let repo = chart_repo(
        r#"recipe "ready" {
    file "chart/templates/scaled.yaml" {
        at-least "/spec/minReadySeconds" 40
        set "/spec/replicas" 3
    }
}"#,
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // mode is "slow": the `else` branch (slowReady) renders, not fastReady.
    assert!(
        out.stdout.contains("-  slowReady: 30\n+  slowReady: 40\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("-  replicas: 1\n+  replicas: 3\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("fastReady: 40"));
    assert!(
        out.stderr.contains(
            "chart/values.yaml: /scaled/slowReady = 40 (read by templates/scaled.yaml:12 as /spec/minReadySeconds)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_when_reads_the_field_as_the_chart_renders_it() {
    // api.minReady is missing: `default 5` renders 5, so `equals 5` holds.
    let repo = chart_repo(
        r#"recipe "r" {
    file "chart/templates/api.yaml" {
        when "/spec/minReadySeconds" equals 5
        when "/spec/template/spec/containers/0/livenessProbe/httpGet/path" equals "/health"
        set "/spec/replicas" 4
    }
}"#,
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.contains("-  replicas: 2\n+  replicas: 4\n"),
        "{}",
        out.stdout
    );
}

const CI_RECIPE: &str = r#"recipe "ci-deadlines" {
    file "chart/templates/api.yaml" values="chart/values-ci.yaml" {
        match "/kind" "Deployment"
        at-least "/spec/progressDeadlineSeconds" 900
        at-least "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds" 30
    }
}"#;

#[test]
fn an_override_file_is_created_and_values_yaml_is_left_alone() {
    let repo = chart_repo(CI_RECIPE);
    let before = repo.read("chart/values.yaml");
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(repo.read("chart/values.yaml"), before);
    insta::assert_snapshot!(
        "values_chart_override_created",
        repo.read("chart/values-ci.yaml")
    );
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

#[test]
fn an_override_file_merges_by_key_and_keeps_a_raised_value() {
    let repo = chart_repo(CI_RECIPE);
    repo.write(
        "chart/values-ci.yaml",
        "api:\n  probe:\n    initialDelaySeconds: 40  # CI is slow\n",
    );
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(
        "values_chart_override_merged",
        repo.read("chart/values-ci.yaml")
    );
}

#[test]
fn a_values_file_outside_the_root_is_refused() {
    let repo = chart_repo(&CI_RECIPE.replace("chart/values-ci.yaml", "../values-ci.yaml"));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("must be a path inside the root"),
        "{}",
        out.stderr
    );
}

#[test]
fn sample_chart_field_fed_by_values_goes_through_values_yaml() {
    let repo = common::sample_repo();
    repo.write(
        "recipes/zz-replicas.kdl",
        r#"recipe "orchestrator-replicas" {
    file "chart/templates/deployment.yaml" {
        match "/kind" "Deployment"
        set "/spec/replicas" 3
    }
}"#,
    );
    let out = repo.run(&["plan", "--only", "orchestrator-replicas"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("-  replicaCount: 2\n+  replicaCount: 3\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("templates/deployment.yaml"));
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

#[test]
fn sample_chart_check_after_a_revert_names_the_values_line_and_the_template_reading_it() {
    let repo = common::sample_repo();
    repo.write(
        "recipes/zz-replicas.kdl",
        r#"recipe "orchestrator-replicas" {
    file "chart/templates/deployment.yaml" {
        match "/kind" "Deployment"
        set "/spec/replicas" 3
    }
}"#,
    );
    let only = ["--only", "orchestrator-replicas"];
    let apply = repo.run(&[&["apply", "--in-place"][..], &only].concat());
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let values = repo.read("chart/values.yaml");
    repo.write(
        "chart/values.yaml",
        &values.replacen("replicaCount: 3", "replicaCount: 2", 1),
    );
    let text = repo.run(&[&["check"][..], &only].concat());
    assert_eq!(text.code, 2, "{}", text.stderr);
    insta::assert_snapshot!("sample_chart_values_drift_check_text", text.stdout);
    let github = repo.run(&[&["check", "--format", "github"][..], &only].concat());
    assert_eq!(github.code, 2, "{}", github.stderr);
    insta::assert_snapshot!("sample_chart_values_drift_check_github", github.stdout);
}

// --- rendered with the helm shim -------------------------------------------------------

fn helm() -> PathBuf {
    let dir = common::shared().join("tools/helm");
    let setup = Command::new(dir.join("setup"))
        .output()
        .expect("helm setup");
    assert!(
        setup.status.success(),
        "build.rs found the helm shim, but its setup fails now: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    dir.join("helm")
}

/// `helm template` of the chart, as (source, kind, name) → object.
fn rendered(chart: &Path, values: Option<&Path>) -> std::collections::BTreeMap<String, Value> {
    let mut cmd = Command::new(helm());
    cmd.args(["template", "rel"]).arg(chart);
    if let Some(v) = values {
        cmd.arg("-f").arg(v);
    }
    let out = common::helm_output(&mut cmd);
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut objects = std::collections::BTreeMap::new();
    for (i, doc) in text.split("\n---").enumerate() {
        let v: Value = match yaml_serde::from_str(doc) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if v.is_null() {
            continue;
        }
        let key = format!("{} {} #{i}", v["kind"], v["metadata"]["name"]);
        objects.insert(key, v);
    }
    objects
}

/// The pointers at which two JSON values differ (leaves, or where one side is missing).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let n = Value::Null;
                differences(
                    x.get(k).unwrap_or(&n),
                    y.get(k).unwrap_or(&n),
                    format!("{at}/{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} -> {b}")),
        _ => {}
    }
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_objects_get_the_asked_fields_and_nothing_else() {
    let repo = chart_repo(&stock_recipes());
    let chart = repo.root().join("chart");
    let before = rendered(&chart, None);
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = rendered(&chart, None);
    let mut diffs = Vec::new();
    for (k, v) in &before {
        differences(v, &after[k], k.clone(), &mut diffs);
    }
    insta::assert_snapshot!("values_chart_rendered_differences", diffs.join("\n"));
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn an_override_file_changes_only_the_ci_render() {
    let repo = chart_repo(CI_RECIPE);
    let chart = repo.root().join("chart");
    let ci = chart.join("values-ci.yaml");
    let before = rendered(&chart, None);
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rendered(&chart, None),
        before,
        "the default render is unchanged"
    );
    let after = rendered(&chart, Some(&ci));
    let mut diffs = Vec::new();
    for (k, v) in &before {
        differences(v, &after[k], k.clone(), &mut diffs);
    }
    insta::assert_snapshot!(
        "values_chart_override_rendered_differences",
        diffs.join("\n")
    );
}

#[test]
fn a_whole_document_if_still_takes_values_edits_but_a_false_inner_if_is_absent() {
    let repo = chart_repo(&stock_recipes());
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // `{{- if .Values.optional.enabled }}` around the manifest decides whether it exists, not
    // its fields: the deadline goes to values (it renders once enabled).
    assert!(
        out.stdout.contains("-  deadline: 60\n+  deadline: 600\n"),
        "{}",
        out.stdout
    );
    // The livenessProbe sits in a false `if`: it does not render, so `when livenessProbe
    // exists` does not hold and its delay is left alone.
    assert!(out.stdout.contains("    delay: 1\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("+    delay"), "{}", out.stdout);
}

#[test]
fn a_template_whose_own_edit_is_refused_leaves_its_values_alone() {
    let repo = Repo::new(&[
        ("c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
        ("c/values.yaml", "replicas: 1\n"),
        (
            "c/templates/d.yaml",
            // `/metadata/name` is copied by the alias `*meta`: its edit is refused.
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: &meta\n  name: d\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    metadata: *meta\n",
        ),
        (
            "recipes/r.kdl",
            r#"recipe "r" {
    file "c/templates/d.yaml" {
        set "/spec/replicas" 3
        set "/metadata/name" "e"
    }
}"#,
        ),
    ]);
    let out = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("c/templates/d.yaml"), "{}", out.stderr);
    assert_eq!(repo.read("c/values.yaml"), "replicas: 1\n");
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn corpus_probe_delays_go_through_values_or_are_refused_by_name() {
    let corpus = common::corpus();
    let recipes = tempfile::tempdir().expect("tempdir");
    let recipe = recipes.path().join("r.kdl");
    std::fs::write(
        &recipe,
        r#"recipe "probe-delay" {
    file "charts/*/templates/**/*.yaml" optional=#true {
        match "/kind" "Deployment"
        each "/spec/template/spec/containers/*" {
            when "livenessProbe" exists
            at-least "livenessProbe/initialDelaySeconds" 30
        }
    }
}"#,
    )
    .expect("write recipe");
    let out = Command::new(common::bin())
        .args(["plan", "--format", "json", "--root"])
        .arg(&corpus)
        .arg("--recipes")
        .arg(&recipe)
        .output()
        .expect("patcher");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ops: Vec<&Value> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| f["documents"].as_array().into_iter().flatten())
        .flat_map(|d| d["patch"].as_array().into_iter().flatten())
        .collect();
    let via = ops.iter().filter(|o| o.get("via").is_some()).count();
    let errors = v["errors"].as_array().expect("errors");
    eprintln!(
        "corpus probe delays: {via} through values, {} in templates, {} refused",
        ops.len() - via,
        errors.len()
    );
    for e in errors {
        eprintln!("  refused: {}", e["message"]);
    }
    assert!(via >= 9, "{via} values edits");
    // 2 of them are load errors of files that do not mask (as before this change).
    assert!(errors.len() <= 5, "{errors:?}");
    for e in errors {
        let m = e["message"].as_str().unwrap_or("");
        assert!(
            m.contains(" at line ") || m.contains(".yaml:") || m.contains(".tpl:"),
            "{m}"
        );
    }
}

#[test]
fn a_values_file_with_rules_of_its_own_takes_both_in_one_verified_edit() {
    let recipe = format!(
        "{CI_RECIPE}\nrecipe \"ci-replicas\" {{\n    file \"chart/values-ci.yaml\" create=#true {{\n        set \"/api/replicas\" 1\n    }}\n}}\n"
    );
    let repo = chart_repo(&recipe);
    let out = repo.run(&["apply", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ci = repo.read("chart/values-ci.yaml");
    assert!(ci.contains("replicas: 1"), "{ci}");
    assert!(ci.contains("progressDeadlineSeconds: 900"), "{ci}");
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

/// kube-state-metrics' shape: `kind` chosen by an if/else on the values.
const KIND_BY_VALUES: &str = r#"apiVersion: apps/v1
{{- if .Values.sharded }}
kind: StatefulSet
{{- else }}
kind: Deployment
{{- end }}
metadata:
  name: {{ .Release.Name }}-ksm
spec:
  {{- if .Values.fast }}
  minReadySeconds: 1
  {{- else }}
  minReadySeconds: 20
  {{- end }}
  template:
    spec:
      containers:
        - name: ksm
          image: ksm
"#;

fn kind_by_values_repo(recipe: &str) -> Repo {
    Repo::new(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: ksm\nversion: 0.1.0\n",
        ),
        ("chart/values.yaml", "sharded: false\nfast: false\n"),
        ("chart/templates/deployment.yaml", KIND_BY_VALUES),
        ("recipes/r.kdl", recipe),
    ])
}

#[test]
fn a_kind_chosen_by_if_else_is_matched_as_it_renders() {
    let repo = kind_by_values_repo(
        r#"recipe "deadline" {
    file "chart/templates/*.yaml" {
        match "/kind" "Deployment"
        at-least "/spec/progressDeadlineSeconds" 600
    }
}"#,
    );
    let out = repo.run(&["plan"]);
    assert_eq!(
        out.code, 2,
        "`sharded: false` renders a Deployment: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("+  progressDeadlineSeconds: 600\n"),
        "{}",
        out.stdout
    );
    // With `sharded: true` it is a StatefulSet: nothing to do, and the miss is reported.
    repo.write("chart/values.yaml", "sharded: true\nfast: false\n");
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("kinds seen: StatefulSet"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_edit_of_a_literal_the_else_branch_renders_is_refused_by_name() {
    let repo = kind_by_values_repo(
        r#"recipe "ready" {
    file "chart/templates/*.yaml" {
        match "/kind" "Deployment"
        at-least "/spec/minReadySeconds" 30
    }
}"#,
    );
    // The rendered value is the else branch's 20; the editor only sees the first branch.
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "/spec/minReadySeconds renders from the `else` branch at line 12 (the `if` at line 10 is false with these values); patcher does not edit inside `else` branches yet"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing planned: {}", out.stdout);
    // Where the first branch renders, it holds as written (1 < 30 is raised there).
    repo.write("chart/values.yaml", "sharded: false\nfast: true\n");
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("-  minReadySeconds: 1\n+  minReadySeconds: 30\n"),
        "{}",
        out.stdout
    );
}
