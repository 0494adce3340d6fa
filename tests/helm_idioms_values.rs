//! Issue 22, items 1–3: the values-aware editor follows values through the idioms public
//! charts use. One chart per idiom under `tests/data/idioms/values-*/` (each says where its
//! shape comes from), planned with the catalogue's `probe-delays`: a snapshot of the plan, and,
//! with the helm shim, a render before and after `apply` that differs only at the asked
//! pointers. The bitnami nginx chart of the corpus is planned and rendered with its `common`
//! library chart from the corpus.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, copy_dir};
use serde_json::Value;

fn idioms() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/idioms")
}

fn catalog(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("catalog/{name}.kdl")),
    )
    .expect("catalogue recipe")
}

/// The idiom chart `values-NAME` as `chart/` of a temp repository, with `recipe` as its only
/// recipe file.
fn idiom_repo(name: &str, recipe: &str) -> Repo {
    let repo = Repo::new(&[("recipes/r.kdl", recipe)]);
    copy_dir(
        &idioms().join(format!("values-{name}")),
        &repo.root().join("chart"),
    );
    repo
}

/// `plan --render never` (the snapshot must not depend on a helm being there): its diff and
/// summary together.
fn plan_text(repo: &Repo) -> (i32, String) {
    let out = repo.run(&["plan", "--render", "never"]);
    (
        out.code,
        format!("{}\n--- stderr\n{}", out.stdout, out.stderr),
    )
}

/// `helm template` of a chart: `kind name` → object.
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

/// Renders `chart` (under `root`), applies the recipes in place with render verification,
/// renders again, and returns every rendered leaf that changed: (object, pointer, before,
/// after). Leaves that differ between two renders of the unchanged chart (certificates a
/// chart generates with `genCA`) are not the edit's.
fn apply_and_diff(root: &Path, chart: &Path) -> Vec<(String, String, Value, Value)> {
    let helm = common::helm_shim();
    let before = rendered(helm, chart);
    let mut unstable = Vec::new();
    let again = rendered(helm, chart);
    for (k, v) in &before {
        common::leaf_diff(Some(v), again.get(k), "", &mut unstable);
    }
    let unstable: BTreeSet<String> = unstable.into_iter().map(|(p, _, _)| p).collect();
    let out = Command::new(common::bin())
        .args(["apply", "--in-place", "--render", "always"])
        .arg("--root")
        .arg(root)
        .args(["--color", "never"])
        .env("PATCHER_HELM", helm)
        .output()
        .expect("patcher");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = rendered(helm, chart);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let mut diffs = Vec::new();
    let mut out = Vec::new();
    for (k, v) in &before {
        common::leaf_diff(Some(v), after.get(k), "", &mut diffs);
        out.extend(
            diffs
                .drain(..)
                .filter(|(p, _, _)| !unstable.contains(p))
                .map(|(p, was, now)| (k.clone(), p, was, now)),
        );
    }
    out
}

/// The changed leaves as `object pointer: before -> after` lines, sorted.
fn changes(diffs: &[(String, String, Value, Value)]) -> BTreeSet<String> {
    diffs
        .iter()
        .map(|(k, p, was, now)| format!("{k} {p}: {was} -> {now}"))
        .collect()
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

const WEB: &str = "\"Deployment\" \"rel-web\" /spec/template/spec/containers/0";

// --- 1. an include that prints a values subtree, with literal siblings --------------------

#[test]
fn tplvalues_with_omit_edits_the_values_part_and_keys_the_values_would_print() {
    let repo = idiom_repo("tplvalues-omit", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_tplvalues_omit_plan", text);
}

#[test]
fn a_literal_line_of_a_hidden_branch_and_an_omitted_key_are_refused_by_name() {
    let recipe = r#"recipe "handler" {
    file "chart/templates/*.yaml" {
        match "/kind" "Deployment"
        set "/spec/template/spec/containers/0/livenessProbe/tcpSocket/port" 8080
        set "/spec/template/spec/containers/0/livenessProbe/enabled" #false
    }
}
"#;
    let repo = idiom_repo("tplvalues-omit", recipe);
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("`tcpSocket` is written in the template's lines at line 23, in a branch that is not the first"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "`enabled` is left out by `omit` and the template writes no literal lines beside it"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "nothing is planned");
}

#[test]
fn a_custom_probe_in_the_first_branch_takes_the_edit_when_it_is_set() {
    let repo = idiom_repo("tplvalues-omit", &catalog("probe-delays"));
    let values = repo.read("chart/values.yaml").replace(
        "customReadinessProbe: {}",
        "customReadinessProbe:\n  exec:\n    command: [\"true\"]\n  initialDelaySeconds: 1",
    );
    repo.write("chart/values.yaml", &values);
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "/customReadinessProbe/initialDelaySeconds = 20 (read by templates/deployment.yaml:27"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("/customReadinessProbe/failureThreshold = 10"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("chart/values.yaml: /readinessProbe/"),
        "{}",
        out.stderr
    );
}

#[test]
fn tplvalues_with_pick_keeps_unpicked_keys_in_the_template() {
    let repo = idiom_repo("tplvalues-pick", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_tplvalues_pick_plan", text);
}

#[test]
fn to_yaml_with_literal_siblings_puts_each_key_where_it_renders_from() {
    let repo = idiom_repo("toyaml-with-literal-siblings", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_toyaml_with_literal_siblings_plan", text);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_tplvalues_omit_differs_only_at_the_asked_probe_fields() {
    let repo = idiom_repo("tplvalues-omit", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{WEB}/livenessProbe/initialDelaySeconds: 10 -> 30"),
            &format!("{WEB}/readinessProbe/failureThreshold: null -> 10"),
            &format!("{WEB}/readinessProbe/initialDelaySeconds: 5 -> 20"),
        ])
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_pick_and_literal_sibling_charts_differ_only_at_the_asked_probe_fields() {
    let c = |name: &str| format!("\"Deployment\" \"rel-{name}\" /spec/template/spec/containers/0");
    let repo = idiom_repo("tplvalues-pick", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let api = c("api");
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{api}/livenessProbe/failureThreshold: 2 -> 6"),
            &format!("{api}/livenessProbe/initialDelaySeconds: 3 -> 30"),
            &format!("{api}/readinessProbe/failureThreshold: 3 -> 10"),
            &format!("{api}/readinessProbe/initialDelaySeconds: 2 -> 20"),
        ])
    );
    let repo = idiom_repo("toyaml-with-literal-siblings", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let server = c("server");
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{server}/livenessProbe/failureThreshold: 3 -> 6"),
            &format!("{server}/livenessProbe/initialDelaySeconds: 10 -> 30"),
            &format!("{server}/readinessProbe/failureThreshold: 3 -> 10"),
            &format!("{server}/readinessProbe/initialDelaySeconds: 5 -> 20"),
        ])
    );
}

// --- 2. includes at a value position, with pipes and `dict` arguments ------------------

#[test]
fn a_define_given_a_dict_reads_the_values_the_include_passes() {
    let repo = idiom_repo("include-dict-args", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_include_dict_args_plan", text);
}

#[test]
fn a_dict_key_that_passes_a_literal_is_refused_by_name() {
    let recipe = r#"recipe "tag" {
    file "chart/templates/web.yaml" {
        match "/kind" "Deployment"
        set "/spec/template/spec/containers/0/name" "api"
    }
}
"#;
    let repo = idiom_repo("include-dict-args", recipe);
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("it reads `.name`, which the include passes as `\"web\"`, not a values path"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pod_template_define_printed_through_from_yaml_to_yaml_is_followed() {
    let repo = idiom_repo("podtemplate-fromyaml", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_podtemplate_fromyaml_plan", text);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_include_charts_differ_only_at_the_asked_probe_fields() {
    let c = |name: &str| format!("\"Deployment\" \"rel-{name}\" /spec/template/spec/containers/0");
    let repo = idiom_repo("include-dict-args", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let (web, worker) = (c("web"), c("worker"));
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{web}/livenessProbe/failureThreshold: null -> 6"),
            &format!("{web}/livenessProbe/initialDelaySeconds: 5 -> 30"),
            &format!("{web}/readinessProbe/failureThreshold: null -> 10"),
            &format!("{web}/readinessProbe/initialDelaySeconds: null -> 20"),
            &format!("{worker}/readinessProbe/failureThreshold: 2 -> 10"),
            &format!("{worker}/readinessProbe/initialDelaySeconds: null -> 20"),
        ])
    );
    let repo = idiom_repo("podtemplate-fromyaml", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let app = c("app");
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{app}/livenessProbe/failureThreshold: 3 -> 6"),
            &format!("{app}/livenessProbe/initialDelaySeconds: 5 -> 30"),
            &format!("{app}/readinessProbe/failureThreshold: null -> 10"),
        ])
    );
}

// --- 3. template variables ------------------------------------------------------------

#[test]
fn a_variable_that_holds_one_values_path_is_followed_to_it() {
    let repo = idiom_repo("template-variable", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_template_variable_plan", text);
}

#[test]
fn a_variable_that_merges_two_values_is_refused_naming_it_and_an_empty_merge_is_followed() {
    let repo = idiom_repo("variable-merge-refused", &catalog("probe-delays"));
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!("idioms_values_variable_merge_refused_plan", text);
    assert!(
        text.contains("it reads `$probe`, set at line 4 by `{{- $probe := merge .Values.server.readinessProbe .Values.defaults.readinessProbe }}`, which is not one values path: `merge` of 2 values"),
        "{text}"
    );
    // The liveness probe alone: `merge (dict) .Values.server.livenessProbe` is that path.
    let liveness = r#"recipe "liveness" {
    file "chart/templates/*.yaml" {
        match "/kind" "Deployment"
        at-least "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds" 30
    }
}
"#;
    repo.write("recipes/r.kdl", liveness);
    let out = repo.run(&["plan", "--render", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("chart/values.yaml: /server/livenessProbe/initialDelaySeconds = 30 (read by templates/deployment.yaml:23"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_second_use_of_a_variable_is_another_read_of_its_path() {
    let repo = idiom_repo("template-variable", &catalog("probe-delays"));
    let t = repo.read("chart/templates/deployment.yaml");
    repo.write(
        "chart/templates/deployment.yaml",
        &t.replace(
            "          livenessProbe:\n",
            "        - name: sidecar\n          image: busybox:1.36\n          env:\n            - name: READY\n              value: {{ $probe | toJson | quote }}\n          livenessProbe:\n",
        ),
    );
    let out = repo.run(&["plan", "--render", "never"]);
    assert!(
        out.stderr
            .contains("that value is also read by chart/templates/deployment.yaml:"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_variable_charts_differ_only_at_the_asked_probe_fields() {
    let server = "\"Deployment\" \"rel-server\" /spec/template/spec/containers/0";
    let repo = idiom_repo("template-variable", &catalog("probe-delays"));
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    assert_eq!(
        changes(&diffs),
        set(&[
            &format!("{server}/livenessProbe/failureThreshold: 3 -> 6"),
            &format!("{server}/livenessProbe/initialDelaySeconds: 10 -> 30"),
            &format!("{server}/readinessProbe/failureThreshold: null -> 10"),
            &format!("{server}/readinessProbe/initialDelaySeconds: 5 -> 20"),
        ])
    );
}

// --- the bitnami nginx chart of the corpus, with its `common` from the corpus -------------

// --- the `with A … else with B` fallback, printed by an include of entries ---------------

/// probe-delays on Deployments and, as a second instance, on StatefulSets.
const PROBES_BOTH_KINDS: &str = r#"use "catalog:probe-delays" files="chart/templates/*.yaml"
use "catalog:probe-delays" files="chart/templates/*.yaml" kind="StatefulSet" name="probe-delays-sts"
"#;

#[test]
fn a_with_else_with_fallback_is_followed_to_the_values_path_that_renders() {
    let repo = idiom_repo("with-else-fallback", PROBES_BOTH_KINDS);
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    // One values key, set once: the Deployment's direct read and the StatefulSets' reads
    // through the fallback are the same edit of two instances of one recipe.
    assert_eq!(
        text.matches("+    failureThreshold: 10").count(),
        1,
        "{text}"
    );
    assert!(!text.contains("error:"), "{text}");
    insta::assert_snapshot!("idioms_values_with_else_fallback_plan", text);
}

#[test]
fn a_with_else_with_fallback_edits_the_first_values_path_when_it_is_set() {
    let repo = idiom_repo("with-else-fallback", PROBES_BOTH_KINDS);
    let values = repo.read("chart/values.yaml");
    repo.write(
        "chart/values.yaml",
        &values.replace(
            "ingester:\n  readinessProbe: {}",
            "ingester:\n  readinessProbe:\n    tcpSocket:\n      port: http\n    initialDelaySeconds: 5",
        ),
    );
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    assert!(!text.contains("error:"), "{text}");
    for keys in [
        "/ingester/readinessProbe/initialDelaySeconds = 20",
        "/ingester/readinessProbe/failureThreshold = 10",
        "/app/readinessProbe/failureThreshold = 10",
    ] {
        assert!(text.contains(keys), "{keys}: {text}");
    }
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_with_else_fallback_differs_only_at_the_asked_probe_fields() {
    let repo = idiom_repo("with-else-fallback", PROBES_BOTH_KINDS);
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let c = |kind: &str, name: &str| {
        format!(
            "\"{kind}\" \"rel-{name}\" /spec/template/spec/containers/0/readinessProbe/failureThreshold: null -> 10"
        )
    };
    assert_eq!(
        changes(&diffs),
        set(&[
            &c("Deployment", "web"),
            &c("StatefulSet", "ingester"),
            &c("StatefulSet", "inline"),
        ])
    );
}

/// `bitnami__charts__nginx` as `chart/`, with `bitnami__charts__common` as its
/// `charts/common` (what `helm dependency update` would fetch; offline, the corpus has it).
fn bitnami_nginx(recipe: &str) -> Repo {
    let corpus = common::corpus().join("charts");
    let repo = Repo::new(&[("recipes/r.kdl", recipe)]);
    copy_dir(
        &corpus.join("bitnami__charts__nginx"),
        &repo.root().join("chart"),
    );
    copy_dir(
        &corpus.join("bitnami__charts__common"),
        &repo.root().join("chart/charts/common"),
    );
    repo
}

/// probe-delays, for the nginx container and the metrics exporter (enabled, so that its
/// probes render too).
fn enable_metrics(repo: &Repo) {
    let values = repo.read("chart/values.yaml");
    let enabled = values.replacen("metrics:\n  ## @param metrics.enabled Start a Prometheus exporter sidecar container\n  ##\n  enabled: false", "metrics:\n  ## @param metrics.enabled Start a Prometheus exporter sidecar container\n  ##\n  enabled: true", 1);
    assert_ne!(values, enabled, "the metrics switch moved in values.yaml");
    repo.write("chart/values.yaml", &enabled);
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn bitnami_nginx_probe_fields_are_reached_through_tplvalues_omit() {
    let repo = bitnami_nginx(&catalog("probe-delays"));
    enable_metrics(&repo);
    let (code, text) = plan_text(&repo);
    assert_eq!(code, 2, "{text}");
    insta::assert_snapshot!("idioms_values_bitnami_nginx_plan", text);
}

#[test]
#[cfg_attr(
    any(not(has_corpus), not(has_helm_shim)),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn rendered_bitnami_nginx_differs_only_at_the_asked_probe_fields() {
    let repo = bitnami_nginx(&catalog("probe-delays"));
    enable_metrics(&repo);
    let diffs = apply_and_diff(repo.root(), &repo.root().join("chart"));
    let changed: BTreeSet<String> = diffs.iter().map(|(_, p, _, _)| p.clone()).collect();
    let asked: BTreeSet<String> = diffs
        .iter()
        .map(|(_, p, _, _)| p.clone())
        .filter(|p| {
            p.ends_with("Probe/initialDelaySeconds") || p.ends_with("Probe/failureThreshold")
        })
        .collect();
    assert_eq!(changed, asked, "{diffs:?}");
    assert!(!diffs.is_empty());
    // Every rendered probe field of every container meets the floors afterwards.
    let after = rendered(common::helm_shim(), &repo.root().join("chart"));
    let deployment = after
        .iter()
        .find(|(k, _)| k.starts_with("\"Deployment\""))
        .map(|(_, v)| v)
        .expect("a Deployment");
    let containers = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .expect("containers");
    assert_eq!(containers.len(), 2, "nginx and the metrics exporter");
    for c in containers {
        for (probe, delay, failures) in [("livenessProbe", 30, 6), ("readinessProbe", 20, 10)] {
            let p = &c[probe];
            assert!(p.is_object(), "{probe} of {}", c["name"]);
            assert!(p["initialDelaySeconds"].as_i64() >= Some(delay), "{c}");
            assert!(p["failureThreshold"].as_i64() >= Some(failures), "{c}");
        }
    }
}
