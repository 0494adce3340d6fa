//! Which documents of a chart template are viewed with the chart's values before a `match`
//! reads them: a document whose matched field the values (or an `if`) decide is matched as
//! it renders; one whose field is a plain literal is matched as written, without computing
//! its template reads, and says the same in the nearest-miss warnings.

mod common;

use common::Repo;

const CHART: &str = "apiVersion: v2\nname: reach\nversion: 0.1.0\n";
const VALUES: &str = "kind: Deployment\nsts: false\n";
const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: {{ .Values.kind }}
metadata:
  name: from-values
spec:
  replicas: 1
---
apiVersion: apps/v1
{{- if .Values.sts }}
kind: StatefulSet
{{- else }}
kind: Deployment
{{- end }}
metadata:
  name: from-else
spec:
  replicas: 1
---
apiVersion: v1
kind: Service
metadata:
  name: literal
spec:
  replicas: 1
";

fn repo(recipe: &str) -> Repo {
    Repo::new(&[
        ("chart/Chart.yaml", CHART),
        ("chart/values.yaml", VALUES),
        ("chart/templates/all.yaml", TEMPLATE),
        ("recipes/r.kdl", recipe),
    ])
}

#[test]
fn documents_whose_kind_the_values_decide_are_matched_as_they_render() {
    let r = repo(
        r#"recipe "replicas" {
    file "chart/templates/*.yaml" {
        match "/kind" "Deployment"
        at-least "/spec/replicas" 2
    }
}"#,
    );
    let plan = r.run(&["plan", "--render", "never", "--format", "json"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json");
    let file = v["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["path"] == "chart/templates/all.yaml"))
        .expect("the template changes");
    let docs: Vec<u64> = file["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter_map(|d| d["index"].as_u64().or(d["document"].as_u64()))
        .collect();
    // The values-fed kind and the `else` kind render as Deployment; the Service does not.
    assert_eq!(docs, vec![0, 1], "{}", plan.stdout);
}

#[test]
fn a_match_that_misses_names_the_kinds_as_they_render() {
    let r = repo(
        r#"recipe "daemons" {
    file "chart/templates/*.yaml" {
        match "/kind" "DaemonSet"
        at-least "/spec/replicas" 2
    }
}"#,
    );
    let plan = r.run(&["plan", "--render", "never"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    // Rendered kinds (not the `{{ .Values.kind }}` placeholder), the literal one included.
    assert!(
        plan.stderr.contains("kinds seen: Deployment, Service")
            || plan.stderr.contains("kinds seen: Service, Deployment"),
        "{}",
        plan.stderr
    );
}
