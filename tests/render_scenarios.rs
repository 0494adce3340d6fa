//! Issue 22 item 8: every chart that can be rendered is, and the plan says which could not.
//! A missing dependency is taken from a chart of that name in the same repository (a
//! `file://` path, else by Chart.yaml `name`); each `ci/*.yaml` values file is a scenario of
//! its own; a values schema that loads a URL offline is rendered with schema validation
//! skipped, and said; the plan closes with `rendered N of M charts` and the others' reasons.
//! The helm is the shim in `../shared/tools/helm` (the tests are ignored without it).

mod common;

use std::process::Command;

use common::Repo;
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plan(repo: &Repo, extra: &[&str]) -> Run {
    let out = Command::new(common::bin())
        .args(["plan", "--render", "always"])
        .args(extra)
        .arg("--root")
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

const DEADLINE: &str = r#"recipe "deadline" {
    file "charts/*/templates/*.yaml" { match "/kind" "Deployment"; at-least "/spec/progressDeadlineSeconds" 600; }
}
"#;

/// A Deployment whose apiVersion comes from a library chart's define, as bitnami's
/// `common.capabilities.deployment.apiVersion` does.
const APP_DEPLOYMENT: &str = r#"apiVersion: {{ include "lib.deployment.apiVersion" . }}
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: app
          image: nginx
"#;

const LIB_HELPERS: &str = r#"{{- define "lib.deployment.apiVersion" -}}
apps/v1
{{- end -}}
"#;

fn library(repo_path: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("{repo_path}/Chart.yaml"),
            "apiVersion: v2\nname: lib\nversion: 2.31.10\ntype: library\n".into(),
        ),
        (
            format!("{repo_path}/templates/_capabilities.tpl"),
            LIB_HELPERS.into(),
        ),
    ]
}

fn repo_with(files: Vec<(String, String)>) -> Repo {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    Repo::new(&files)
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_dependency_missing_from_charts_is_rendered_from_the_sibling_chart_of_that_name() {
    // bitnami's layout: the dependency names an OCI registry; the chart sits beside it.
    let mut files = library("charts/lib");
    files.extend([
        ("recipes/r.kdl".to_string(), DEADLINE.to_string()),
        (
            "charts/app/Chart.yaml".into(),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  repository: oci://registry-1.docker.io/bitnamicharts\n  version: 2.x.x\n".into(),
        ),
        ("charts/app/values.yaml".into(), "replicas: 1\n".into()),
        ("charts/app/templates/deployment.yaml".into(), APP_DEPLOYMENT.into()),
    ]);
    let repo = repo_with(files);
    let run = plan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "rendered charts/app/ (dependency lib from charts/lib/): 1 object, 1 field changed, as planned"
        ),
        "{}",
        run.stderr
    );
    // The library chart itself changes nothing, so it is not among the charts rendered.
    assert!(
        run.stderr
            .ends_with("rendered 1 of 1 chart (1 of 1 values scenario)\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("+  progressDeadlineSeconds: 600"),
        "{}",
        run.stdout
    );
    // Nothing was written into the repository to render it.
    assert!(!repo.root().join("charts/app/charts").exists());
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_file_url_dependency_is_followed_and_one_found_nowhere_skips_the_render_naming_it() {
    // `file://../../library/lib/`, as bjw-s-labs/helm-charts' app-template names its common.
    let mut files = library("charts/library/lib");
    let deployment = APP_DEPLOYMENT.replace("-app", "-other");
    files.extend([
        (
            "recipes/r.kdl".to_string(),
            DEADLINE.replace("charts/*/templates", "charts/**/templates"),
        ),
        (
            "charts/other/app/Chart.yaml".into(),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  repository: file://../../library/lib/\n  version: 2.31.10\n".into(),
        ),
        ("charts/other/app/values.yaml".into(), "replicas: 1\n".into()),
        ("charts/other/app/templates/deployment.yaml".into(), APP_DEPLOYMENT.into()),
        (
            "charts/cd/Chart.yaml".into(),
            "apiVersion: v2\nname: cd\nversion: 1.0.0\ndependencies:\n- name: redis-ha\n  version: 4.38.0\n  repository: https://dandydeveloper.github.io/charts/\n  condition: redis-ha.enabled\n".into(),
        ),
        ("charts/cd/values.yaml".into(), "replicas: 1\n".into()),
        (
            "charts/cd/templates/deployment.yaml".into(),
            deployment.replace("{{ include \"lib.deployment.apiVersion\" . }}", "apps/v1"),
        ),
    ]);
    // argo-cd's shape: the missing redis-ha is disabled by `redis-ha.enabled: false`, so it
    // renders nothing and an empty stand-in renders the same; its ci file that enables it
    // cannot render.
    for (path, text) in [
        ("charts/ha/Chart.yaml", "apiVersion: v2\nname: ha\nversion: 1.0.0\ndependencies:\n- name: redis-ha\n  version: 4.38.0\n  repository: https://dandydeveloper.github.io/charts/\n  condition: redis-ha.enabled\n".to_string()),
        ("charts/ha/values.yaml", "replicas: 1\nredis-ha:\n  enabled: false\n".to_string()),
        ("charts/ha/ci/ha-values.yaml", "redis-ha:\n  enabled: true\n".to_string()),
        ("charts/ha/templates/deployment.yaml", deployment.replace("{{ include \"lib.deployment.apiVersion\" . }}", "apps/v1").replace("-other", "-ha")),
    ] {
        files.push((path.to_string(), text));
    }
    let repo = repo_with(files);
    let run = plan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "rendered charts/other/app/ (dependency lib from charts/library/lib/): 1 object, 1 field changed, as planned"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "rendered charts/ha/ (dependency redis-ha left out: redis-ha.enabled is false): 1 object, 1 field changed, as planned; with -f ci/ha-values.yaml: not verified: does not render before the edit (it enables dependency redis-ha (redis-ha.enabled), which is not in charts/ and no chart under the root is named redis-ha)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "rendered 1 of 3 charts (2 of 3 values scenarios)\n  not rendered charts/cd/: dependency redis-ha (https://dandydeveloper.github.io/charts/) is not in charts/ and no chart under the root is named redis-ha\n  not rendered charts/ha/: with -f ci/ha-values.yaml: it enables dependency redis-ha (redis-ha.enabled), which is not in charts/ and no chart under the root is named redis-ha\n"
        ),
        "{}",
        run.stderr
    );
    // The change of the chart that could not be rendered is planned, not verified.
    assert!(
        run.stdout.contains("charts/cd/templates/deployment.yaml"),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn each_ci_values_file_is_a_scenario_rendered_before_and_after() {
    // chart-testing's convention: ci/*.yaml, each installed on its own over values.yaml.
    let template = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: web
          image: nginx
{{- if .Values.worker.enabled }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-worker
spec:
  template:
    spec:
      containers:
        - name: worker
          image: nginx
{{- end }}
"#;
    let repo = Repo::new(&[
        ("recipes/r.kdl", DEADLINE),
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        (
            "charts/web/values.yaml",
            "replicas: 1\nworker:\n  enabled: false\n",
        ),
        (
            "charts/web/ci/worker-values.yaml",
            "worker:\n  enabled: true\n",
        ),
        ("charts/web/ci/three-replicas.yml", "replicas: 3\n"),
        ("charts/web/ci/notes.txt", "not a values file\n"),
        // It does not render at all: listed with its reason, the others still verified. (Valid
        // YAML that the template cannot render with: a ci file that is not YAML is a plan
        // error, tests/helm_idioms_scenarios.rs.)
        ("charts/web/ci/broken-values.yaml", "worker: on-demand\n"),
        ("charts/web/templates/app.yaml", template),
    ]);
    let run = plan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("rendered charts/web/"))
        .unwrap_or_else(|| panic!("no render line:\n{}", run.stderr));
    assert!(line.starts_with("rendered charts/web/: 1 object, 1 field changed, as planned; with -f ci/broken-values.yaml: not verified: does not render before the edit ("), "{line}");
    assert!(line.ends_with("; with -f ci/three-replicas.yml: 1 object, 1 field changed, as planned; with -f ci/worker-values.yaml: 2 objects, 2 fields changed, as planned"), "{line}");
    let tail: Vec<&str> = run.stderr.lines().rev().take(2).collect();
    assert_eq!(tail[1], "rendered 0 of 1 chart (3 of 4 values scenarios)");
    assert!(
        tail[0].starts_with("  not rendered charts/web/: with -f ci/broken-values.yaml: "),
        "{}",
        tail[0]
    );

    let json = plan(&repo, &["--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).expect("json");
    let s = &v["render_summary"];
    assert_eq!(
        (s["rendered"].as_u64(), s["charts"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(s["scenarios_rendered"], 3);
    assert_eq!(s["not_rendered"][0]["chart"], "charts/web");
    let sets: Vec<&str> = v["renders"][0]["sets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| s["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        sets,
        [
            "as-planned",
            "not-renderable-before",
            "as-planned",
            "as-planned"
        ]
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_values_schema_that_cannot_load_its_url_is_skipped_and_the_plan_says_so() {
    // A `$ref` to a published Kubernetes schema, as apache/airflow's chart had (#20539); the
    // `.invalid` domain never resolves (RFC 2606), so the test is offline anywhere.
    let schema = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
 "properties": {"resources": {"$ref": "https://schemas.invalid/resourcerequirements-v1.json"}}}
"#;
    let repo = Repo::new(&[
        ("recipes/r.kdl", DEADLINE),
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("charts/web/values.yaml", "replicas: 1\nresources: {}\n"),
        ("charts/web/values.schema.json", schema),
        (
            "charts/web/templates/app.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.replicas }}\n",
        ),
    ]);
    let run = plan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rendered charts/web/: 1 object, 1 field changed, as planned (values schema not validated: it loads https://schemas.invalid/resourcerequirements-v1.json, which could not be fetched)"), "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("rendered 1 of 1 chart (1 of 1 values scenario)\n"),
        "{}",
        run.stderr
    );
    let json = plan(&repo, &["--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        v["renders"][0]["sets"][0]["schema_validation_skipped"],
        "https://schemas.invalid/resourcerequirements-v1.json"
    );

    // A schema the values break is the chart's problem, not the network's: not skipped.
    repo.write(
        "charts/web/values.schema.json",
        r#"{"type": "object", "required": ["policy"]}"#,
    );
    let run = plan(&repo, &[]);
    assert!(
        run.stderr.contains("rendered charts/web/: not verified: does not render before the edit (Error: values don't meet the specifications"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("schema not validated"),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
#[cfg_attr(
    all(has_corpus, not(has_helm_shim)),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn the_corpus_bitnami_nginx_renders_with_the_corpus_common() {
    let corpus = common::corpus();
    let repo = Repo::new(&[("recipes/r.kdl", DEADLINE)]);
    for dir in ["bitnami__charts__nginx", "bitnami__charts__common"] {
        common::copy_dir(
            &corpus.join("charts").join(dir),
            &repo.root().join("charts").join(dir),
        );
    }
    let run = plan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rendered charts/bitnami__charts__nginx/ (dependency common from charts/bitnami__charts__common/): 1 object, 1 field changed, as planned"), "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("rendered 1 of 1 chart (1 of 1 values scenario)\n"),
        "{}",
        run.stderr
    );
}
