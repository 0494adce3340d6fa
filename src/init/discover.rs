//! What `patcher init` learns about a repository before it fills in catalogue parameters:
//! its charts (a `Chart.yaml`, the CI values file, Jobs that connect to a service, probes,
//! autoscaling switches, `latest` tags) and its workflows (the steps that run `helm upgrade`
//! on one of those charts, create a k3d/kind cluster, or install metrics-server).
//!
//! Plain data, read with [`crate::doc`] (YAML) and [`crate::shell`] (scripts); it decides
//! nothing about recipes.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::doc::{Document, FileKind};
use crate::select::rel_string;

/// Everything discovered, sorted by path so output is stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub charts: Vec<ChartFacts>,
    pub workflows: Vec<WorkflowFacts>,
    /// Files that could not be read or parsed (path: why); discovery goes on without them.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartFacts {
    /// The chart's directory relative to the root, `/`-separated ("" for the root itself).
    pub dir: String,
    pub app_version: Option<String>,
    /// The values file CI deploys with: a `-f` of a workflow's `helm upgrade` of this chart,
    /// else `values-ci.yaml`, `ci-values.yaml` or `ci/ci-values.yaml` in the chart.
    pub ci_values: Option<String>,
    /// Pointers (in values.yaml) of `autoscaling/enabled` switches that are on for CI.
    pub autoscaling_keys: Vec<String>,
    /// Pointers of image `tag`s whose value for CI is `latest`.
    pub latest_tags: Vec<String>,
    /// Templates with a Job: (template path, the service its containers' env connects to).
    pub job_templates: Vec<String>,
    pub services: Vec<ServiceWait>,
    /// Workload kinds (Deployment, StatefulSet, ...) whose containers have probes.
    pub probed_kinds: BTreeSet<String>,
    /// Per workload kind: the httpGet handlers of the containers' liveness probes.
    pub liveness_http: Vec<(String, HttpHandler)>,
}

/// A `scheme://user@host:port/...` connection string in a Job's container env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceWait {
    pub template: String,
    /// `postgres`, `mysql`, ... (from the URL scheme), for the init container's name.
    pub service: String,
    /// As written in the template (Helm actions kept: `{{ .Release.Name }}-postgresql`).
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHandler {
    pub path: String,
    /// A port name (`http`) or number, as written.
    pub port: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkflowFacts {
    /// Relative path of the workflow file.
    pub path: String,
    /// Steps that run `helm upgrade`/`helm install` on a chart of this repository (any
    /// chart when the repository has none).
    pub deploy_steps: Vec<StepRef>,
    /// Steps that create a k3d or kind cluster.
    pub cluster_steps: Vec<ClusterStep>,
    /// Steps that install metrics-server, with whether they pass --kubelet-insecure-tls.
    pub metrics_server_steps: Vec<(StepRef, bool)>,
    pub has_concurrency: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRef {
    pub job: String,
    /// The step's `name`, if it has one (recipes select steps by name).
    pub name: Option<String>,
    /// The step's `uses`, if any.
    pub uses: Option<String>,
}

impl StepRef {
    /// What an `insert-step` anchor or a `step` selector can name it by: its name, else its
    /// `uses`.
    pub fn label(&self) -> Option<&str> {
        self.name.as_deref().or(self.uses.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStep {
    pub step: StepRef,
    pub tool: ClusterTool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterTool {
    K3d,
    Kind,
}

/// Reads the repository at `root`: charts first, then workflows (which refine each chart's
/// CI values file from the `-f` its deploy step passes).
pub fn discover(root: &Path) -> Facts {
    let files = list_files(root);
    let mut facts = Facts::default();
    let chart_dirs: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let p = Path::new(f);
            (p.file_name()? == "Chart.yaml").then(|| p.parent().map(rel_string).unwrap_or_default())
        })
        .filter(|d| !is_fixture_dir(d))
        .collect::<Vec<_>>();
    // A chart inside another chart is a vendored subchart (`charts/<dep>`), not one to edit.
    let chart_dirs: Vec<String> = chart_dirs
        .iter()
        .filter(|d| {
            !chart_dirs
                .iter()
                .any(|o| o != *d && (o.is_empty() || d.starts_with(&format!("{o}/"))))
        })
        .cloned()
        .collect();
    for f in files.iter().filter(|f| is_workflow(f)) {
        match load(root, f, FileKind::Yaml) {
            Ok(doc) => facts.workflows.push(workflow_facts(f, &doc, &chart_dirs)),
            Err(e) => facts.skipped.push(e),
        }
    }
    for dir in &chart_dirs {
        let deploy_values = deploy_values_files(root, &facts.workflows, dir);
        facts.charts.push(chart_facts(
            root,
            dir,
            &files,
            deploy_values,
            &mut facts.skipped,
        ));
    }
    facts
}

/// Every file under the root the way recipe globs see them (.gitignore respected).
fn list_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "target")
        .build();
    for entry in walker.flatten() {
        if entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(rel) = entry.path().strip_prefix(root)
        {
            out.push(rel_string(rel));
        }
    }
    out.sort();
    out
}

/// Test data and examples hold charts too; they are not what the repository deploys.
fn is_fixture_dir(dir: &str) -> bool {
    dir.split('/')
        .any(|c| matches!(c, "tests" | "test" | "testdata" | "fixtures" | "examples"))
}

fn is_workflow(f: &str) -> bool {
    f.starts_with(".github/workflows/") && (f.ends_with(".yml") || f.ends_with(".yaml"))
}

fn load(root: &Path, rel: &str, kind: FileKind) -> Result<Document, String> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    Document::parse(rel, text, kind).map_err(|e| e.to_string())
}

fn workflow_facts(path: &str, doc: &Document, chart_dirs: &[String]) -> WorkflowFacts {
    let mut w = WorkflowFacts {
        path: path.to_string(),
        ..WorkflowFacts::default()
    };
    let Some(model) = doc.docs.first().map(|d| &d.model) else {
        return w;
    };
    w.has_concurrency = model.get("concurrency").is_some();
    let Some(Value::Object(jobs)) = model.get("jobs") else {
        return w;
    };
    for (job, j) in jobs {
        let Some(Value::Array(steps)) = j.get("steps") else {
            continue;
        };
        for s in steps {
            let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
            let step = StepRef {
                job: job.clone(),
                name: text("name"),
                uses: text("uses"),
            };
            let uses = step.uses.clone().unwrap_or_default();
            let run = text("run").unwrap_or_default();
            let heads = crate::shell::command_heads(&run, 64).unwrap_or_default();
            let runs = |words: &[&str]| heads.iter().any(|h| h.starts_with_words(words));
            let tool = if uses.starts_with("AbsaOSS/k3d-action")
                || runs(&["k3d", "cluster", "create"])
            {
                Some(ClusterTool::K3d)
            } else if uses.starts_with("helm/kind-action") || runs(&["kind", "create", "cluster"]) {
                Some(ClusterTool::Kind)
            } else {
                None
            };
            if let Some(tool) = tool {
                w.cluster_steps.push(ClusterStep {
                    step: step.clone(),
                    tool,
                });
            }
            if heads.iter().any(|h| deploys_chart(h, chart_dirs)) {
                w.deploy_steps.push(step.clone());
            }
            if run.contains("metrics-server") && installs(&heads) {
                w.metrics_server_steps
                    .push((step, run.contains("--kubelet-insecure-tls")));
            }
        }
    }
    w
}

trait Words {
    fn starts_with_words(&self, words: &[&str]) -> bool;
}

impl Words for Vec<String> {
    fn starts_with_words(&self, words: &[&str]) -> bool {
        self.len() >= words.len() && self.iter().zip(words).all(|(a, b)| a == b)
    }
}

/// `kubectl apply`/`kubectl create`/`helm upgrade`/`helm install`: a step that installs.
fn installs(heads: &[Vec<String>]) -> bool {
    heads.iter().any(|h| {
        [
            ["kubectl", "apply"],
            ["kubectl", "create"],
            ["helm", "upgrade"],
            ["helm", "install"],
        ]
        .iter()
        .any(|w| h.starts_with_words(w))
    })
}

/// A `helm upgrade`/`helm install` whose arguments name one of the repository's charts
/// (`./chart`, `chart/`); any chart when the repository has none.
fn deploys_chart(head: &[String], chart_dirs: &[String]) -> bool {
    let is_helm =
        head.len() >= 2 && head[0] == "helm" && (head[1] == "upgrade" || head[1] == "install");
    if !is_helm {
        return false;
    }
    if chart_dirs.is_empty() {
        return true;
    }
    head[2..]
        .iter()
        .any(|a| chart_dirs.iter().any(|d| same_dir(a, d)))
}

fn same_dir(arg: &str, dir: &str) -> bool {
    let a = arg.trim_start_matches("./").trim_end_matches('/');
    let a = if a == "." { "" } else { a };
    !dir.is_empty() && a == dir
}

/// The `-f`/`--values` files of the deploy steps that install `dir`.
fn deploy_values_files(root: &Path, workflows: &[WorkflowFacts], dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in workflows {
        let Ok(doc) = load(root, &w.path, FileKind::Yaml) else {
            continue;
        };
        let Some(Value::Object(jobs)) = doc.docs.first().and_then(|d| d.model.get("jobs")) else {
            continue;
        };
        let scripts = jobs
            .values()
            .filter_map(|j| j.get("steps").and_then(Value::as_array))
            .flatten()
            .filter_map(|s| s.get("run").and_then(Value::as_str));
        for run in scripts {
            for head in crate::shell::command_heads(run, 64).unwrap_or_default() {
                if !deploys_chart(&head, std::slice::from_ref(&dir.to_string())) {
                    continue;
                }
                out.extend(values_flags(&head));
            }
        }
    }
    out
}

fn values_flags(head: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = head.iter();
    while let Some(a) = it.next() {
        if a == "-f" || a == "--values" {
            if let Some(v) = it.next() {
                out.push(v.trim_start_matches("./").to_string());
            }
        } else if let Some(v) = a
            .strip_prefix("--values=")
            .or_else(|| a.strip_prefix("-f="))
        {
            out.push(v.trim_start_matches("./").to_string());
        }
    }
    out
}

fn chart_facts(
    root: &Path,
    dir: &str,
    files: &[String],
    deploy_values: Vec<String>,
    skipped: &mut Vec<String>,
) -> ChartFacts {
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    let mut c = ChartFacts {
        dir: dir.to_string(),
        ..ChartFacts::default()
    };
    if let Ok(doc) = load(root, &join("Chart.yaml"), FileKind::HelmValues) {
        c.app_version = doc
            .docs
            .first()
            .and_then(|d| d.model.get("appVersion"))
            .and_then(scalar_text);
    }
    let exists = |rel: &String| files.iter().any(|f| f == rel);
    c.ci_values = deploy_values
        .iter()
        .find(|v| exists(v) && v.starts_with(&join("")))
        .cloned()
        .or_else(|| {
            [
                "values-ci.yaml",
                "values.ci.yaml",
                "ci-values.yaml",
                "ci/ci-values.yaml",
            ]
            .iter()
            .map(|n| join(n))
            .find(|p| exists(p))
        });
    let model_of =
        |rel: &str, skipped: &mut Vec<String>| match load(root, rel, FileKind::HelmValues) {
            Ok(d) => d.docs.first().map(|d| d.model.clone()),
            Err(e) => {
                skipped.push(e);
                None
            }
        };
    let base = exists(&join("values.yaml"))
        .then(|| model_of(&join("values.yaml"), skipped))
        .flatten()
        .unwrap_or(Value::Null);
    let ci = c
        .ci_values
        .clone()
        .and_then(|p| model_of(&p, skipped))
        .unwrap_or(Value::Null);
    let mut keys = Vec::new();
    walk(&base, &mut Vec::new(), &mut keys);
    for (ptr, leaf) in keys {
        let for_ci = ci.pointer(&ptr).unwrap_or(leaf);
        if ptr.ends_with("/autoscaling/enabled") && for_ci == &Value::Bool(true) {
            c.autoscaling_keys.push(ptr);
        } else if ptr.ends_with("/tag") && for_ci.as_str() == Some("latest") {
            c.latest_tags.push(ptr);
        }
    }
    let templates = join("templates/");
    for t in files
        .iter()
        .filter(|f| f.starts_with(&templates) && (f.ends_with(".yaml") || f.ends_with(".yml")))
    {
        match load(root, t, FileKind::HelmTemplate) {
            Ok(doc) => template_facts(t, &doc, &mut c),
            Err(e) => skipped.push(e),
        }
    }
    c
}

/// Every scalar of a values tree with its pointer.
fn walk<'a>(v: &'a Value, at: &mut Vec<String>, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(k.replace('~', "~0").replace('/', "~1"));
                walk(child, at, out);
                at.pop();
            }
        }
        Value::Array(_) => {}
        leaf => out.push((format!("/{}", at.join("/")), leaf)),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const WORKLOADS: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "Job"];

fn template_facts(path: &str, doc: &Document, c: &mut ChartFacts) {
    for d in &doc.docs {
        let Some(kind) = d.model.get("kind").and_then(Value::as_str) else {
            continue;
        };
        if !WORKLOADS.contains(&kind) {
            continue;
        }
        let containers = d
            .model
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if kind == "Job" {
            if !c.job_templates.iter().any(|t| t == path) {
                c.job_templates.push(path.to_string());
            }
            let text = &doc.text[d.start..d.end];
            for s in connection_strings(text) {
                let s = ServiceWait {
                    template: path.to_string(),
                    ..s
                };
                if !c.services.contains(&s) {
                    c.services.push(s);
                }
            }
            continue;
        }
        for ctr in &containers {
            if ["livenessProbe", "readinessProbe", "startupProbe"]
                .iter()
                .any(|p| ctr.get(p).is_some())
            {
                c.probed_kinds.insert(kind.to_string());
            }
            let Some(http) = ctr.pointer("/livenessProbe/httpGet") else {
                continue;
            };
            // A handler made by a template action is a placeholder in the model: not literal
            // text of the file, so not something to copy.
            let literal = |v: &Value| match v {
                Value::String(s) => doc.text.contains(s.as_str()),
                Value::Number(_) => true,
                _ => false,
            };
            if let (Some(p), Some(port)) = (http.get("path"), http.get("port"))
                && literal(p)
                && literal(port)
                && let Some(p) = p.as_str()
            {
                c.liveness_http.push((
                    kind.to_string(),
                    HttpHandler {
                        path: p.to_string(),
                        port: port.clone(),
                    },
                ));
            }
        }
    }
}

/// `scheme://[user[:pass]@]host:port` in `text`, with the host as written (Helm actions
/// kept). Only hosts with an explicit port count: without one the port is a guess.
fn connection_strings(text: &str) -> Vec<ServiceWait> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let scheme: String = rest[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '+')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after = &rest[i + 3..];
        rest = after;
        // The authority ends at the first `/`, `?`, quote or blank outside `{{ }}`.
        let end = authority_end(after);
        let authority = &after[..end];
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let Some((host, port)) = host_port.rsplit_once(':') else {
            continue;
        };
        let (Ok(port), false) = (port.parse::<u16>(), host.is_empty()) else {
            continue;
        };
        if scheme.is_empty() || matches!(scheme.as_str(), "http" | "https") {
            continue;
        }
        out.push(ServiceWait {
            template: String::new(),
            service: service_name(&scheme),
            host: host.to_string(),
            port,
        });
    }
    out
}

fn authority_end(s: &str) -> usize {
    let mut depth = 0usize;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            depth += 1;
            i += 2;
            continue;
        }
        if b[i..].starts_with(b"}}") {
            depth = depth.saturating_sub(1);
            i += 2;
            continue;
        }
        if depth == 0 && matches!(b[i], b'/' | b'?' | b'"' | b'\'' | b' ' | b'\n' | b'\t') {
            return i;
        }
        i += 1;
    }
    b.len()
}

fn service_name(scheme: &str) -> String {
    let base = scheme.split('+').next().unwrap_or(scheme);
    match base {
        "postgresql" | "postgres" => "postgres",
        "amqp" | "amqps" => "rabbitmq",
        "mongodb" => "mongodb",
        "rediss" => "redis",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, t) in files {
            let full = dir.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, t).unwrap();
        }
        dir
    }

    const JOB: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
spec:
  template:
    spec:
      containers:
      - name: migrate
        env:
        - name: DATABASE_URL
          value: "postgresql://{{ .Values.db.user }}:{{ .Values.db.password }}@{{ .Release.Name }}-postgresql:5432/app?sslmode=disable"
"#;

    const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
        - name: side
          livenessProbe:
            httpGet:
              path: {{ .Values.side.path }}
              port: 9000
"#;

    const WORKFLOW: &str = r#"on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: AbsaOSS/k3d-action@v2
        with:
          cluster-name: ci
      - name: Install metrics-server
        run: kubectl apply -f https://example.com/metrics-server/components.yaml
      - name: Install PostgreSQL
        run: helm upgrade --install db bitnami/postgresql
      - name: Deploy
        run: |
          helm upgrade --install app ./deploy/app \
            -f deploy/app/values-ci.yaml --wait
"#;

    #[test]
    fn finds_the_chart_its_ci_values_file_and_what_ci_sees_in_it() {
        let dir = repo(&[
            (
                "deploy/app/Chart.yaml",
                "name: app\nappVersion: \"1.4.2\"\n",
            ),
            (
                "deploy/app/values.yaml",
                "image:\n  tag: latest\nworker:\n  autoscaling:\n    enabled: true\napi:\n  autoscaling:\n    enabled: true\n",
            ),
            (
                "deploy/app/values-ci.yaml",
                "api:\n  autoscaling:\n    enabled: false\n",
            ),
            ("deploy/app/templates/job.yaml", JOB),
            ("deploy/app/templates/web.yaml", DEPLOYMENT),
            (".github/workflows/ci.yml", WORKFLOW),
        ]);
        let facts = discover(dir.path());
        assert_eq!(facts.skipped, Vec::<String>::new());
        let [chart] = &facts.charts[..] else {
            panic!("one chart: {:?}", facts.charts)
        };
        assert_eq!(chart.dir, "deploy/app");
        assert_eq!(chart.app_version.as_deref(), Some("1.4.2"));
        assert_eq!(
            chart.ci_values.as_deref(),
            Some("deploy/app/values-ci.yaml")
        );
        // api's HPA is already off in CI.
        assert_eq!(chart.autoscaling_keys, vec!["/worker/autoscaling/enabled"]);
        assert_eq!(chart.latest_tags, vec!["/image/tag"]);
        assert_eq!(chart.job_templates, vec!["deploy/app/templates/job.yaml"]);
        assert_eq!(
            chart.services,
            vec![ServiceWait {
                template: "deploy/app/templates/job.yaml".into(),
                service: "postgres".into(),
                host: "{{ .Release.Name }}-postgresql".into(),
                port: 5432,
            }]
        );
        assert_eq!(
            chart.probed_kinds,
            BTreeSet::from(["Deployment".to_string()])
        );
        // The templated handler is not copied.
        assert_eq!(
            chart.liveness_http,
            vec![(
                "Deployment".to_string(),
                HttpHandler {
                    path: "/healthz".into(),
                    port: Value::String("http".into()),
                }
            )]
        );
    }

    #[test]
    fn finds_the_deploy_step_of_the_repositorys_chart_not_other_helm_installs() {
        let dir = repo(&[
            ("deploy/app/Chart.yaml", "name: app\n"),
            (".github/workflows/ci.yml", WORKFLOW),
        ]);
        let facts = discover(dir.path());
        let [w] = &facts.workflows[..] else {
            panic!("one workflow")
        };
        assert_eq!(w.path, ".github/workflows/ci.yml");
        let names: Vec<_> = w.deploy_steps.iter().map(|s| s.label()).collect();
        assert_eq!(names, vec![Some("Deploy")]);
        assert_eq!(w.cluster_steps.len(), 1);
        assert_eq!(w.cluster_steps[0].tool, ClusterTool::K3d);
        assert_eq!(
            w.cluster_steps[0].step.label(),
            Some("AbsaOSS/k3d-action@v2")
        );
        assert_eq!(w.metrics_server_steps.len(), 1);
        assert!(!w.metrics_server_steps[0].1, "no insecure-tls flag yet");
        assert!(!w.has_concurrency);
    }

    #[test]
    fn subcharts_and_test_data_charts_are_not_the_repositorys_charts() {
        let dir = repo(&[
            ("chart/Chart.yaml", "name: app\n"),
            ("chart/charts/postgresql/Chart.yaml", "name: postgresql\n"),
            ("tests/data/demo/Chart.yaml", "name: demo\n"),
        ]);
        let dirs: Vec<_> = discover(dir.path())
            .charts
            .into_iter()
            .map(|c| c.dir)
            .collect();
        assert_eq!(dirs, vec!["chart"]);
    }

    #[test]
    fn a_cluster_created_by_a_run_script_is_found_too() {
        let dir = repo(&[(
            ".github/workflows/e2e.yaml",
            "jobs:\n  e2e:\n    steps:\n      - name: Cluster\n        run: kind create cluster --wait 60s\n",
        )]);
        let facts = discover(dir.path());
        assert_eq!(facts.workflows[0].cluster_steps[0].tool, ClusterTool::Kind);
    }

    #[test]
    fn connection_strings_keep_helm_actions_in_the_host_and_need_a_port() {
        let found = connection_strings(
            "redis://{{ .Values.redis.host }}:6379/0 mysql://db/x http://svc:8080/ amqp://u:p@mq:5672",
        );
        let got: Vec<_> = found
            .iter()
            .map(|s| (s.service.as_str(), s.host.as_str(), s.port))
            .collect();
        assert_eq!(
            got,
            vec![
                ("redis", "{{ .Values.redis.host }}", 6379),
                ("rabbitmq", "mq", 5672)
            ]
        );
    }

    #[test]
    fn an_unparsable_file_is_skipped_with_its_reason() {
        let dir = repo(&[(".github/workflows/bad.yml", "jobs: [\n")]);
        let facts = discover(dir.path());
        assert_eq!(facts.skipped.len(), 1, "{:?}", facts.skipped);
        assert!(facts.skipped[0].contains("bad.yml"), "{:?}", facts.skipped);
    }
}
