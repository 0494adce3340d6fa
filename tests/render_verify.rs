//! Render verification (issue 9, item 5): every chart a plan touches is rendered with
//! `helm template` before and after, and only the planned rendered pointers may change.
//! The helm is the shim in `../shared/tools/helm`, passed as `PATCHER_HELM` (or, for the
//! library calls, as `RunOptions::helm`); without it the tests that render are ignored with
//! the reason. The no-helm tests need nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::Repo;
use patcher::change::FileChange;
use patcher::engine::{self, RunOptions};
use patcher::recipe;
use patcher::render::{self, RenderMode};

fn helm() -> &'static Path {
    common::helm_shim()
}

struct Run {
    code: i32,
    stderr: String,
    stdout: String,
}

/// Runs patcher on `repo` with `helm` as PATCHER_HELM, or with no helm anywhere (`None`).
fn patcher(repo: &Repo, args: &[&str], helm: Option<&Path>) -> Run {
    let mut cmd = Command::new(common::bin());
    cmd.args(args)
        .arg("--root")
        .arg(repo.root())
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        // These tests count helm runs: no render may come from the render cache.
        .env("PATCHER_RENDER_CACHE", "off");
    match helm {
        Some(h) => cmd.env("PATCHER_HELM", h),
        // An empty PATH: no `helm` to find.
        None => cmd.env_remove("PATCHER_HELM").env("PATH", ""),
    };
    let out = cmd.output().expect("run patcher");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";
const VALUES: &str = "replicas: 1\nport: 80\n";
/// Two objects from one template: a Deployment and a Service.
const TEMPLATE: &str = r#"apiVersion: apps/v1
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
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  ports:
    - port: {{ .Values.port }}
"#;
const DEADLINE: &str = r#"recipe "deadline" {
    file "*/templates/app.yaml" {
        match "/kind" "Deployment"
        set "/spec/progressDeadlineSeconds" 600
    }
}
"#;

fn web_chart(dir: &str) -> Vec<(String, String)> {
    vec![
        (format!("{dir}/Chart.yaml"), CHART.to_string()),
        (format!("{dir}/values.yaml"), VALUES.to_string()),
        (format!("{dir}/templates/app.yaml"), TEMPLATE.to_string()),
    ]
}

fn repo(files: Vec<(String, String)>, recipes: &str) -> Repo {
    let repo = Repo::new(&[("recipes/r.kdl", recipes)]);
    for (p, t) in files {
        repo.write(&p, &t);
    }
    repo
}

/// The verified changes of `repo` (render verification off), for tampering with.
fn changes(repo: &Repo) -> Vec<FileChange> {
    let set = recipe::load(&[repo.root().join("recipes")]).expect("recipes load");
    let opts = RunOptions {
        render: RenderMode::Never,
        helm: None,
    };
    let out = engine::run_with(repo.root(), &set, &opts);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    out.changes
}

/// Render verification of `changes` with the shim; the refusal messages.
fn refusals(repo: &Repo, changes: &[FileChange]) -> Vec<String> {
    let root = repo.root().canonicalize().expect("root");
    let v = render::verify(
        &root,
        changes,
        &BTreeSet::new(),
        RenderMode::Always,
        Some(helm()),
    );
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    v.refused.into_iter().map(|f| f.message).collect()
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn correct_template_edit_renders_as_planned() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rendered chart/: 1 object, 1 field changed, as planned\n"),
        "{}",
        run.stderr
    );
    let json = patcher(&repo, &["plan", "--format", "json"], Some(helm()));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["renders"][0]["chart"], "chart");
    assert_eq!(v["renders"][0]["sets"][0]["state"], "as-planned");
    assert_eq!(v["renders"][0]["sets"][0]["fields"], 1);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn edit_that_also_changes_another_field_is_refused_naming_object_and_field() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let mut changes = changes(&repo);
    // The text verifier passed this file; now it also changes a field no op plans.
    changes[0].new_text = changes[0].new_text.replace(
        "image: nginx",
        "image: nginx\n          imagePullPolicy: Always",
    );
    let refused = refusals(&repo, &changes);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let m = &refused[0];
    assert!(m.contains("chart/"), "{m}");
    assert!(
        m.contains("Deployment patcher/patcher-web: /spec/template/spec/containers/0/imagePullPolicy changed from (absent) to \"Always\""),
        "{m}"
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn edit_that_changes_another_object_of_the_template_is_refused() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let mut changes = changes(&repo);
    changes[0].new_text = changes[0]
        .new_text
        .replace("- port: {{ .Values.port }}", "- port: 8080");
    let refused = refusals(&repo, &changes);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .contains("Service patcher/patcher-web: /spec/ports/0/port changed from 80 to 8080"),
        "{}",
        refused[0]
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn edit_that_breaks_rendering_is_refused() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let mut changes = changes(&repo);
    // A key glued to the action before it: valid-looking text, but not what Helm renders.
    changes[0].new_text = changes[0].new_text.replace(
        "replicas: {{ .Values.replicas }}",
        "replicas: {{ .Values.replicas -}}\n  paused: true",
    );
    let refused = refusals(&repo, &changes);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains(
            "`helm template` of chart/ fails after the edit (it rendered before): Error: YAML parse error on web/templates/app.yaml"
        ),
        "{}",
        refused[0]
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn random_and_generated_values_are_tolerated() {
    let mut files = web_chart("chart");
    files[2].1 = files[2].1.replace(
        "  template:\n",
        "  template:\n    metadata:\n      annotations:\n        rollme: {{ randAlphaNum 5 | quote }}\n",
    );
    files.push((
        "chart/templates/tls.yaml".into(),
        r#"{{- $ca := genCA "patcher-ca" 365 }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-ca
data:
  tls.crt: {{ $ca.Cert | b64enc }}
  token: {{ randAlphaNum 16 | b64enc }}
"#
        .into(),
    ));
    let repo = repo(files, DEADLINE);
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rendered chart/: 1 object, 1 field changed, as planned\n"),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn chart_that_does_not_render_before_is_reported_not_refused() {
    let mut files = web_chart("chart");
    files.push((
        "chart/templates/needs.yaml".into(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"dbHost is required\" .Values.dbHost }}\n".into(),
    ));
    let repo = repo(files, DEADLINE);
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rendered chart/: not verified: does not render before the edit"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("dbHost is required"), "{}", run.stderr);
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
}

#[test]
fn render_always_without_helm_is_an_error() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let run = patcher(&repo, &["plan", "--render", "always"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: --render always: no helm (set PATCHER_HELM or put helm on PATH)"),
        "{}",
        run.stderr
    );
    let apply = patcher(&repo, &["apply", "--in-place", "--render", "always"], None);
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert_eq!(repo.read("chart/templates/app.yaml"), TEMPLATE);
}

#[test]
fn auto_without_helm_says_rendering_was_skipped_once() {
    let mut files = web_chart("a");
    files.extend(web_chart("b"));
    let repo = repo(files, DEADLINE);
    let run = patcher(&repo, &["plan"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let skipped = "render verification skipped: no helm (set PATCHER_HELM or put helm on PATH)";
    assert_eq!(run.stderr.matches(skipped).count(), 1, "{}", run.stderr);
    // `never` says nothing about rendering.
    let never = patcher(&repo, &["plan", "--render", "never"], None);
    assert!(!never.stderr.contains("render"), "{}", never.stderr);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn sample_chart_plans_as_planned() {
    let repo = common::sample_repo();
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("rendered chart/: "))
        .unwrap_or_else(|| panic!("no render line:\n{}", run.stderr));
    // The chart's own values: every template change as planned; values-ci.yaml is edited
    // directly, so its render's differences are reported, not restricted.
    assert!(
        line.contains("changed, as planned; with -f values-ci.yaml: "),
        "{line}"
    );
    assert!(line.ends_with("changed by direct values edits"), "{line}");
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn keep_going_writes_what_renders_and_refuses_only_the_edit_that_breaks_the_render() {
    let mut files = web_chart("good");
    files.extend(web_chart("bad"));
    // `bad`'s values must keep an integer replica count: a direct values edit that breaks
    // the schema no longer renders.
    files.push((
        "bad/values.schema.json".into(),
        r#"{"type": "object", "properties": {"replicas": {"type": "integer"}}}"#.into(),
    ));
    let recipes = format!(
        "{DEADLINE}\nrecipe \"replicas\" {{\n    file \"bad/values.yaml\" {{\n        set \"/replicas\" \"three\"\n    }}\n}}\n"
    );
    let repo = repo(files, &recipes);
    let run = patcher(
        &repo,
        &["apply", "--in-place", "--keep-going"],
        Some(helm()),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("render verification refused its edits of bad/values.yaml (/replicas): without them every values scenario renders as planned"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("fails after the edit"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("wrote good/templates/app.yaml"),
        "{}",
        run.stderr
    );
    assert!(
        repo.read("good/templates/app.yaml")
            .contains("progressDeadlineSeconds: 600")
    );
    // The refusal is narrowed to the values edit: `bad`'s deadline verified without it and
    // is written; the values file is left alone.
    assert!(
        repo.read("bad/templates/app.yaml")
            .contains("progressDeadlineSeconds: 600")
    );
    assert_eq!(repo.read("bad/values.yaml"), VALUES);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_values_aware_edit_renders_as_planned_not_as_a_direct_values_edit() {
    // `replicas` is printed from `.Values.replicas`: the edit lands in values.yaml, and
    // stands for /spec/replicas of the Deployment, which is all that may change.
    let recipe = r#"recipe "replicas" {
    file "*/templates/app.yaml" {
        match "/kind" "Deployment"
        set "/spec/replicas" 3
    }
}
"#;
    let repo = repo(web_chart("chart"), recipe);
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains("+++ b/chart/values.yaml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("rendered chart/: 1 object, 1 field changed, as planned\n"),
        "{}",
        run.stderr
    );
    // The same values edit, had it also moved the Service's port, is refused.
    let mut changes = changes(&repo);
    changes[0].new_text = changes[0].new_text.replace("port: 80", "port: 81");
    let refused = refusals(&repo, &changes);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .contains("Service patcher/patcher-web: /spec/ports/0/port changed from 80 to 81"),
        "{}",
        refused[0]
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn an_edit_of_an_object_whose_kind_an_if_chooses_renders_as_planned() {
    // The masked text shows `kind: StatefulSet` (the first branch); the chart renders the
    // `else` branch's Deployment, and that object is the one the op is for.
    let template = TEMPLATE.replacen(
        "kind: Deployment",
        "{{- if .Values.sharded }}\nkind: StatefulSet\n{{- else }}\nkind: Deployment\n{{- end }}",
        1,
    );
    let mut files = web_chart("chart");
    files[2].1 = template;
    let repo = repo(files, DEADLINE);
    let run = patcher(&repo, &["plan"], Some(helm()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rendered chart/: 1 object, 1 field changed, as planned\n"),
        "{}",
        run.stderr
    );
}

/// The error the helm shim printed once in CI when its in-memory API server dropped a
/// connection in the middle of an install.
const LOST: &str = r#"Error: Post "http://127.0.0.1:39591/apis/apps/v1/namespaces/default/deployments?fieldManager=python3": read tcp 127.0.0.1:40758->127.0.0.1:39591: read: connection reset by peer"#;

/// A `helm` script in `repo` that logs each run to `runs.log`, fails its first `fail_first`
/// runs with `error` (every run when `None`), and otherwise runs `then`.
fn scripted_helm(
    repo: &Repo,
    error: &str,
    fail_first: Option<usize>,
    then: Option<&Path>,
) -> std::path::PathBuf {
    let dir = repo.root().join("bin");
    std::fs::create_dir_all(&dir).expect("bin dir");
    let log = dir.join("runs.log");
    let failing = match fail_first {
        Some(n) => format!("[ \"$(wc -l < '{}')\" -le {n} ]", log.display()),
        None => "true".to_string(),
    };
    let otherwise = match then {
        Some(helm) => format!("exec '{}' \"$@\"", helm.display()),
        None => "exit 1".to_string(),
    };
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\nif {failing}; then\n  echo '{}' >&2\n  exit 1\nfi\n{otherwise}\n",
        log.display(),
        error.replace('\'', r"'\''"),
    );
    let helm = dir.join("helm");
    std::fs::write(&helm, script).expect("write helm");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    helm
}

fn runs(helm: &Path) -> usize {
    std::fs::read_to_string(helm.with_file_name("runs.log")).map_or(0, |log| log.lines().count())
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_helm_that_drops_a_connection_once_runs_again_and_the_edit_is_verified() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let flaky = scripted_helm(&repo, LOST, Some(1), Some(helm()));
    let plan = patcher(&repo, &["plan", "--format", "json"], Some(&flaky));
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json");
    assert_eq!(v["renders"][0]["sets"][0]["state"], "as-planned", "{v}");
    // Before (lost, then again), after: three runs, and the JSON counts each.
    assert_eq!(runs(&flaky), 3);
    assert_eq!(v["renders"][0]["helm_runs"], 3, "{v}");

    std::fs::remove_file(flaky.with_file_name("runs.log")).expect("reset the log");
    let apply = patcher(
        &repo,
        &["apply", "--in-place", "--render", "always"],
        Some(&flaky),
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        repo.read("chart/templates/app.yaml")
            .contains("progressDeadlineSeconds: 600"),
        "{}",
        apply.stderr
    );
}

#[test]
fn a_helm_that_keeps_dropping_connections_runs_three_times_and_the_chart_is_not_verified() {
    let repo = repo(web_chart("chart"), DEADLINE);
    let broken = scripted_helm(&repo, LOST, None, None);
    let run = patcher(&repo, &["plan"], Some(&broken));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(runs(&broken), 3, "one run and two more");
    assert!(
        run.stderr.contains(
            "rendered chart/: not verified: does not render before the edit (Error: Post \"http://127.0.0.1:39591/"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_helm_that_fails_on_the_chart_runs_once() {
    let repo = repo(web_chart("chart"), DEADLINE);
    // Names a connection error, but as the chart's own message, not a request of helm's.
    let error = "Error: execution error at (web/templates/app.yaml:2:9): the database said: connection refused";
    let broken = scripted_helm(&repo, error, None, None);
    let run = patcher(&repo, &["plan"], Some(&broken));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(runs(&broken), 1);
    assert!(
        run.stderr.contains("the database said: connection refused"),
        "{}",
        run.stderr
    );
}
