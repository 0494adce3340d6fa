//! Template-safe placement, proved by rendering: small charts with each trap (guarded last
//! siblings in `{{- if }}`/`{{- with }}`, `{{- end -}}` trimming the next line break,
//! trailing `{{- include … | nindent 8 }}`/`toYaml` lines that still print items of the
//! previous sibling's list) are patched by patcher, then rendered before and after with the
//! guards off and on. The patched chart must render, and the only difference in the rendered
//! manifests must be the new keys, present whatever the values.
//!
//! Uses the helm shim in `../shared/tools/helm`; without it (build.rs probes for it) the
//! render tests are ignored with the reason.

mod common;

use std::path::Path;
use std::process::Command;

use common::Repo;
use serde::Deserialize;
use serde_json::{Value, json};

/// `helm template` of `chart` with `--set`s, as parsed documents.
fn render(helm: &Path, chart: &Path, sets: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", "rel"]).arg(chart);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = common::helm_output(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "helm template {} {sets:?} failed:\n{stdout}\n{}",
        chart.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_serde::Deserializer::from_str(&stdout)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{e}:\n{stdout}")))
        .filter(|v| !v.is_null())
        .collect()
}

const CHART: &str = "apiVersion: v2\nname: t\nversion: 0.1.0\n";

/// Patches `template` with `recipe_body` in a fresh chart, then checks, for each set of
/// values, that the patched render equals the original one plus exactly `new_keys`
/// (pointers and values) in the Deployment.
fn check_trap(
    template: &str,
    helpers: &str,
    recipe_body: &str,
    new_keys: &[(&str, Value)],
    value_sets: &[&[&str]],
) {
    let helm = common::helm_shim();
    let recipe = format!(
        "recipe \"r\" {{\n    description \"t\"\n    file \"chart/templates/deployment.yaml\" {{\n        match \"/kind\" \"Deployment\"\n{recipe_body}\n    }}\n}}\n"
    );
    let files = [
        ("chart/Chart.yaml", CHART),
        ("chart/values.yaml", "{}\n"),
        ("chart/templates/_helpers.tpl", helpers),
        ("chart/templates/deployment.yaml", template),
    ];
    let before = Repo::new(&files);
    let mut patched_files = files.to_vec();
    patched_files.push(("recipes/r.kdl", &recipe));
    let after = Repo::new(&patched_files);
    let run = after.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 0, "apply: {}\n{}", run.stdout, run.stderr);
    let patched = after.read("chart/templates/deployment.yaml");
    assert_ne!(patched, template, "nothing was written");
    for sets in value_sets {
        let old = render(helm, &before.root().join("chart"), sets);
        let mut new = render(helm, &after.root().join("chart"), sets);
        assert_eq!(old.len(), new.len(), "{sets:?}: documents differ in number");
        for (o, n) in old.iter().zip(new.iter_mut()) {
            if n["kind"] == "Deployment" {
                for (pointer, want) in new_keys {
                    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
                    let got = n
                        .pointer_mut(parent)
                        .and_then(Value::as_object_mut)
                        .and_then(|m| m.remove(key));
                    assert_eq!(
                        got.as_ref(),
                        Some(want),
                        "{sets:?}: {pointer} not rendered as {want}:\n{patched}"
                    );
                }
            }
            assert_eq!(
                o, n,
                "{sets:?}: the render changed beyond the new keys:\n{patched}"
            );
        }
    }
}

const HEAD: &str =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n";

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn new_keys_render_unconditionally_when_the_last_siblings_are_guarded() {
    let template = format!(
        "{HEAD}spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: app
          image: nginx
      {{{{- with .Values.nodeSelector }}}}
      nodeSelector:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
      {{{{- if .Values.priorityClassName }}}}
      priorityClassName: {{{{ .Values.priorityClassName }}}}
      {{{{- end }}}}
  {{{{- if .Values.strategy }}}}
  strategy:
    type: {{{{ .Values.strategy }}}}
  {{{{- end }}}}
"
    );
    check_trap(
        &template,
        "",
        "        set \"/spec/template/spec/terminationGracePeriodSeconds\" 30\n        set \"/spec/minReadySeconds\" 5",
        &[
            (
                "/spec/template/spec/terminationGracePeriodSeconds",
                json!(30),
            ),
            ("/spec/minReadySeconds", json!(5)),
        ],
        &[
            &[],
            &[
                "nodeSelector.disk=ssd",
                "priorityClassName=high",
                "strategy=Recreate",
            ],
        ],
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn new_key_is_not_glued_by_end_trim_nor_steals_a_trailing_include_of_list_items() {
    let template = format!(
        "{HEAD}spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
      volumes:
        - name: data
          emptyDir: {{}}
        {{{{- if .Values.cache }}}}
        - name: cache
          emptyDir: {{}}
        {{{{- end -}}}}
        {{{{- include \"t.extraVolumes\" . | nindent 8 }}}}
      {{{{- if .Values.priorityClassName }}}}
      priorityClassName: {{{{ .Values.priorityClassName }}}}
      {{{{- end -}}}}
"
    );
    let helpers = "{{- define \"t.extraVolumes\" -}}\n{{- with .Values.extraVolumes }}{{ toYaml . }}{{- end }}\n{{- end }}\n";
    check_trap(
        &template,
        helpers,
        "        set \"/spec/template/spec/terminationGracePeriodSeconds\" 30",
        &[(
            "/spec/template/spec/terminationGracePeriodSeconds",
            json!(30),
        )],
        &[
            &[],
            &[
                "cache=true",
                "extraVolumes[0].name=extra",
                "priorityClassName=high",
            ],
        ],
    );
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn new_key_goes_after_with_blocks_whose_to_yaml_prints_items_of_the_list_before() {
    // `volumes` is indented, `extra` is flush with its key: toYaml lines at the key's column
    // (nindent 6) or deeper (nindent 8) still print their items.
    let template = format!(
        "{HEAD}spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
      volumes:
        - name: data
          emptyDir: {{}}
      {{{{- with .Values.extraVolumes }}}}
      {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
      initContainers:
      - name: init
        image: busybox
      {{{{- with .Values.extraInit }}}}
        {{{{- toYaml . | nindent 6 }}}}
      {{{{- end }}}}
"
    );
    check_trap(
        &template,
        "",
        "        set \"/spec/template/spec/terminationGracePeriodSeconds\" 30\n        set \"/spec/template/spec/hostname\" \"h\" after=\"volumes\"",
        &[
            (
                "/spec/template/spec/terminationGracePeriodSeconds",
                json!(30),
            ),
            ("/spec/template/spec/hostname", json!("h")),
        ],
        &[
            &[],
            &[
                "extraVolumes[0].name=extra",
                "extraInit[0].name=more",
                "extraInit[0].image=busybox",
            ],
        ],
    );
}

#[test]
fn no_safe_place_is_refused_with_the_reason() {
    // The only keys sit inside a block the mapping does not share.
    let template = format!(
        "{HEAD}spec:
  template:
    spec:
      {{{{- if .Values.a }}}}
      hostname: a
      {{{{- else }}}}
      hostname: b
      {{{{- end -}}}}
"
    );
    let repo = Repo::new(&[
        ("chart/Chart.yaml", CHART),
        ("chart/templates/deployment.yaml", &template),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n    description \"t\"\n    file \"chart/templates/deployment.yaml\" {\n        set \"/spec/template/spec/subdomain\" \"s\"\n    }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("chart/templates/deployment.yaml:")
            && run
                .stderr
                .contains("no template-safe place to insert `subdomain`"),
        "{}",
        run.stderr
    );
}
