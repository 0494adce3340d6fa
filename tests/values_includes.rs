//! Values-fed fields inside named templates (`tests/data/include-chart/`): a Deployment whose
//! pod spec is `{{- include "inc.podSpec" . | nindent 6 }}` gets its probe through the values
//! the define reads; a define shared with a Job, a literal inside a define and a define that
//! does not mask are refused by name, never skipped; a container in a false `if` is not seen.
//! With the helm shim, the rendered objects differ only in the asked field.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, copy_dir};
use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/include-chart")
}

fn liveness_recipe() -> String {
    std::fs::read_to_string(data().join("recipes/liveness.kdl")).expect("recipe")
}

/// The include test chart in a temp repository, with `recipe` as its only recipe file.
fn chart_repo(recipe: &str) -> Repo {
    let repo = Repo::new(&[("recipes/r.kdl", recipe)]);
    copy_dir(&data().join("chart"), &repo.root().join("chart"));
    repo
}

/// The liveness recipe, narrowed to one template of the chart.
fn liveness_for(template: &str) -> String {
    liveness_recipe().replace(
        "chart/templates/*.yaml",
        &format!("chart/templates/{template}"),
    )
}

#[test]
fn a_probe_a_define_prints_from_values_is_edited_in_values_yaml() {
    let repo = chart_repo(&liveness_for("app.yaml"));
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    insta::assert_snapshot!("include_chart_plan_diff", plan.stdout);
    insta::assert_snapshot!("include_chart_plan_summary", plan.stderr);
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    // The define and the template keep their text: only the values changed.
    let original = |p: &str| std::fs::read_to_string(data().join(p)).expect("fixture");
    for f in ["chart/templates/_helpers.tpl", "chart/templates/app.yaml"] {
        assert_eq!(repo.read(f), original(f), "{f}");
    }
    let again = repo.run(&["plan"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

#[test]
fn json_ops_through_a_define_carry_the_define_read_and_the_include_line() {
    let repo = chart_repo(&liveness_for("app.yaml"));
    let out = repo.run(&["plan", "--format", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let op = &v["files"][0]["documents"][0]["patch"][0];
    assert_eq!(v["files"][0]["path"], "chart/values.yaml");
    assert_eq!(op["path"], "/app/livenessProbe/initialDelaySeconds");
    assert_eq!(
        op["via"],
        serde_json::json!({
            "template": "chart/templates/app.yaml",
            "line": 14,
            "document": 0,
            "pointer": "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds",
            "define": {"name": "inc.podSpec", "file": "chart/templates/_helpers.tpl", "line": 14},
            // The DaemonSet that `kind` chooses instead renders the same value.
            "also": [{
                "template": "chart/templates/daemonset.yaml",
                "document": 0,
                "kind": "DaemonSet",
                "pointer": "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds",
                "when": ["{{- if eq .Values.kind \"DaemonSet\" }}"]
            }]
        })
    );
}

#[test]
fn check_reports_drift_through_a_define_at_the_values_line_in_every_format() {
    let repo = chart_repo(&liveness_for("app.yaml"));
    let text = repo.run(&["check"]);
    assert_eq!(text.code, 2, "{}", text.stderr);
    insta::assert_snapshot!("include_chart_check_text", text.stdout);
    let github = repo.run(&["check", "--format", "github"]);
    assert_eq!(github.code, 2, "{}", github.stderr);
    insta::assert_snapshot!("include_chart_check_github", github.stdout);
    let sarif = repo.run(&["check", "--format", "sarif"]);
    let v: Value = serde_json::from_str(&sarif.stdout).expect("sarif");
    let result = &v["runs"][0]["results"][0];
    insta::assert_snapshot!(
        "include_chart_check_sarif_result",
        serde_json::to_string_pretty(&serde_json::json!({
            "message": result["message"],
            "locations": result["locations"],
            "relatedLocations": result["relatedLocations"],
            "via": result["properties"]["via"],
        }))
        .expect("json")
    );
}

#[test]
fn a_define_shared_by_a_deployment_and_a_job_is_refused_naming_the_other_include() {
    let repo = chart_repo(&liveness_for("worker.yaml"));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is fed by `worker.livenessProbe.initialDelaySeconds` in chart/values.yaml (read at chart/templates/_helpers.tpl:27 in define \"inc.workerSpec\", included at chart/templates/worker.yaml:14), and that value is also read by chart/templates/migrate.yaml:9 (`{{- include \"inc.workerSpec\" . | nindent 6 }}`)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "nothing is planned");
}

#[test]
fn an_include_whose_if_renders_is_another_use_and_one_whose_if_is_false_is_not() {
    // With kind DaemonSet, the DaemonSet renders the same define: the value feeds it too.
    let repo = chart_repo(&liveness_for("app.yaml"));
    let values = repo.read("chart/values.yaml");
    repo.write(
        "chart/values.yaml",
        &values.replace("kind: Deployment", "kind: DaemonSet"),
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "also read by chart/templates/daemonset.yaml:15 (`{{- include \"inc.podSpec\" . | nindent 6 }}`)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_literal_inside_a_define_is_refused_naming_the_define() {
    let repo = chart_repo(
        r#"recipe "readiness" {
    file "chart/templates/app.yaml" {
        each "/spec/template/spec/containers/*" {
            when "readinessProbe" exists
            at-least "readinessProbe/periodSeconds" 10
        }
    }
}"#,
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("chart/templates/app.yaml: /spec/template/spec/containers/0/readinessProbe/periodSeconds is printed by define \"inc.podSpec\" at chart/templates/_helpers.tpl:2, which 2 templates include, not from one values read; edit it by hand or through values"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_key_a_define_chooses_mid_line_is_unchecked_naming_the_define_not_holds() {
    // `{{ if .x -}} livenessProbe: {{- else -}} readinessProbe: {{- end }}` in a define: masked
    // as one key patcher does not know, so `when livenessProbe exists` cannot be decided.
    let repo = chart_repo(&liveness_for("legacy.yaml"));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("recipe liveness-delay: unchecked"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("chart/templates/legacy.yaml: `when livenessProbe exists` is unchecked: `{{ if .Values.legacy.probed -}} livenessProbe: {{- else -}} ...` at chart/templates/_helpers.tpl:35 (in define \"inc.legacySpec\") prints a key of it (/spec/template/spec/containers/0)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_container_in_a_false_if_is_not_in_the_view_and_counts_when_enabled() {
    // Disabled (the fixture): the app container is the first rendered one, and the sidecar's
    // literal probe is not asked about.
    let repo = chart_repo(&liveness_for("app.yaml"));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("sidecar") && !out.stderr.contains("error"));
    // Enabled: the sidecar renders first, its literal probe is refused by name, and the app
    // container's probe is containers/1.
    let values = repo.read("chart/values.yaml");
    repo.write(
        "chart/values.yaml",
        &values.replace("sidecar:\n  enabled: false", "sidecar:\n  enabled: true"),
    );
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds is printed by define \"inc.podSpec\""
        ),
        "{}",
        out.stderr
    );
    let only_app = liveness_for("app.yaml").replace(
        "when \"livenessProbe\" exists",
        "when \"name\" equals \"app\"",
    );
    repo.write("recipes/r.kdl", &only_app);
    let out = repo.run(&["plan", "--format", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let op = &v["files"][0]["documents"][0]["patch"][0];
    assert_eq!(
        op["via"]["pointer"],
        "/spec/template/spec/containers/1/livenessProbe/initialDelaySeconds"
    );
}

// --- rendered with the helm shim -------------------------------------------------------

/// `helm template` of the chart: `kind name` → object.
fn rendered(helm: &Path, chart: &Path) -> BTreeMap<String, Value> {
    let out = common::helm_output(Command::new(helm).args(["template", "rel"]).arg(chart));
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
        objects.insert(format!("{} {}", v["kind"], v["metadata"]["name"]), v);
    }
    objects
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_objects_differ_only_in_the_probe_the_define_prints_from_values() {
    let helm = common::helm_shim();
    let repo = chart_repo(&liveness_recipe());
    let chart = repo.root().join("chart");
    let before = rendered(helm, &chart);
    let out = Command::new(common::bin())
        .args(["apply", "--in-place", "--keep-going", "--render", "always"])
        .arg("--root")
        .arg(repo.root())
        .args(["--color", "never"])
        .env("PATCHER_HELM", helm)
        .output()
        .expect("patcher");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The worker (shared with the Job) and the legacy define are refused; the app is written.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("chart/templates/worker.yaml"), "{stderr}");
    assert!(stderr.contains("chart/templates/legacy.yaml"), "{stderr}");
    let after = rendered(helm, &chart);
    let mut diffs = Vec::new();
    for (k, v) in &before {
        common::leaf_diff(Some(v), after.get(k), "", &mut diffs);
        for (p, was, now) in diffs.drain(..) {
            eprintln!("{k} {p}: {was} -> {now}");
            assert_eq!(
                (k.as_str(), p.as_str(), was, now),
                (
                    "\"Deployment\" \"app\"",
                    "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds",
                    Value::from(5),
                    Value::from(30)
                )
            );
        }
    }
    assert_eq!(
        after["\"Deployment\" \"app\""]
            .pointer("/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds"),
        Some(&Value::from(30))
    );
    assert_eq!(before.len(), after.len());
}
