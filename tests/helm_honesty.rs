//! Issue 22, item 7: a recipe "holds" in a template only when every node its selectors reach
//! was seen as it renders. Each chart of `tests/data/idioms/honesty-*/` prints what the recipe
//! asks about through template output patcher cannot follow; before this, `plan` and `check`
//! said "holds" (or "no document matched") there. Now the file is "unchecked … because" the
//! action at file:line, in plan (text, JSON), check (text, JSON, SARIF) and apply, and the
//! helm shim shows that what renders there is indeed below the recipe's floor (so "holds"
//! would have been false) and that apply changes nothing.
//!
//! The recipe: every Deployment container with a liveness probe waits at least 30 s.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, copy_dir};
use serde_json::Value;

fn data(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/idioms")
        .join(case)
}

fn repo(case: &str) -> Repo {
    let repo = Repo::new(&[]);
    copy_dir(&data(case), repo.root());
    repo
}

/// The four honesty charts, each with the action that hides the probe and where it is.
const CASES: &[(&str, &str)] = &[
    // A container list whose items an include adds beside a literal container (the shape of
    // grafana/loki-distributed's ingester, argo-cd's `extraContainers`).
    (
        "honesty-sidecar-include",
        r#"`{{- include "honesty.sidecars" . | nindent 8 }}` at line 22 prints items of it (/spec/template/spec/containers)"#,
    ),
    // Probe entries printed into the container mapping from values (loki-distributed's
    // `{{- include "loki.ingester.livenessProbe" . | nindent 10 }}`), through a `merge` of two
    // values paths here (not one path): a plain `toYaml` of one values path beside literal
    // keys is followed now (the union rule), and so is `tpl (toYaml V) $`. The action is
    // named shortened, as the output prints it.
    (
        "honesty-probe-toyaml",
        "`{{- toYaml (merge .Values.probes .Values.defaultProbes) | ni...` at line 17 prints entries of it (/spec/template/spec/containers/0)",
    ),
    // The whole manifest is a file rendered with `tpl`.
    (
        "honesty-tpl-document",
        r#"`{{ tpl (.Files.Get "files/deployment.yaml") . }}` at line 1 prints it (the document)"#,
    ),
    // The pod template is a values string rendered with `tpl`.
    (
        "honesty-tpl-pod-template",
        "`{{- tpl .Values.podTemplate . | nindent 4 }}` at line 10 prints it (/spec/template)",
    ),
];

#[test]
fn plan_says_unchecked_because_of_the_action_instead_of_holds() {
    for (case, because) in CASES {
        let r = repo(case);
        let out = r.run(&["plan", "--render", "never"]);
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{case}: {}", out.stdout);
        assert!(
            out.stderr.starts_with(
                "recipe liveness-delay: unchecked (1 of 1 file with template output patcher cannot follow; see below)\n"
            ),
            "{case}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("unchecked: recipe `liveness-delay`")
                    && l.contains("chart/templates/deployment.yaml: `")
                    && l.contains(because)),
            "{case}: {}",
            out.stderr
        );
        for never in [
            "holds",
            "matched nothing",
            "no document matched",
            "held for no node",
        ] {
            assert!(
                !out.stderr.contains(never),
                "{case}: {never}\n{}",
                out.stderr
            );
        }
        insta::assert_snapshot!(format!("{case}_plan"), out.stderr);
    }
}

#[test]
fn plan_json_lists_the_unchecked_file_with_the_action() {
    for (case, because) in CASES {
        let out = repo(case).run(&["plan", "--render", "never", "--format", "json"]);
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        let v: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v["recipes"][0]["unchecked_files"], 1, "{case}: {v}");
        let u = v["unchecked"].as_array().expect("unchecked");
        assert!(!u.is_empty(), "{case}: {v}");
        for f in u {
            assert_eq!(f["file"], "chart/templates/deployment.yaml", "{case}");
            assert_eq!(f["recipe"], "liveness-delay", "{case}");
        }
        assert!(
            u.iter()
                .any(|f| f["message"].as_str().unwrap().contains(because)),
            "{case}: {v}"
        );
        assert_eq!(v["warnings"], Value::Array(vec![]), "{case}: {v}");
    }
}

#[test]
fn check_reports_unchecked_with_the_action_in_text_json_and_sarif() {
    for (case, because) in CASES {
        let r = repo(case);
        let text = r.run(&["check", "--render", "never"]);
        assert_eq!(text.code, 0, "{case}: {}\n{}", text.stdout, text.stderr);
        assert!(
            text.stdout.starts_with(
                "recipe liveness-delay: unchecked (1 file with template output patcher cannot follow)\n"
            ),
            "{case}: {}",
            text.stdout
        );
        assert!(
            text.stdout.lines().any(|l| l
                .starts_with("  unchecked: chart/templates/deployment.yaml: `")
                && l.contains(because)),
            "{case}: {}",
            text.stdout
        );
        assert!(!text.stdout.contains("holds"), "{case}: {}", text.stdout);
        assert!(
            text.stderr.contains("1 unchecked"),
            "{case}: {}",
            text.stderr
        );

        let json = r.run(&["check", "--render", "never", "--format", "json"]);
        let v: Value = serde_json::from_str(&json.stdout).expect("json");
        assert_eq!(v["recipes"][0]["status"], "unchecked", "{case}: {v}");
        assert_eq!(v["summary"]["holds"], 0, "{case}: {v}");
        assert_eq!(v["summary"]["unchecked"], 1, "{case}: {v}");
        let reasons = v["recipes"][0]["unchecked"].as_array().expect("reasons");
        assert!(
            reasons
                .iter()
                .any(|m| m.as_str().unwrap().contains(because)),
            "{case}: {v}"
        );

        let sarif = r.run(&["check", "--render", "never", "--format", "sarif"]);
        let s: Value = serde_json::from_str(&sarif.stdout).expect("sarif");
        let run = &s["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["status"],
            "unchecked"
        );
        let notes = run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .expect("notifications");
        assert!(
            notes.iter().any(|n| n["level"] == "warning"
                && n["message"]["text"].as_str().unwrap().contains(because)),
            "{case}: {s}"
        );
    }
}

#[test]
fn apply_changes_nothing_and_says_unchecked() {
    for (case, because) in CASES {
        let r = repo(case);
        let before = common::tree(r.root());
        let out = r.run(&["apply", "--in-place", "--render", "never"]);
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        assert!(
            out.stderr.contains("recipe liveness-delay: unchecked"),
            "{case}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(because), "{case}: {}", out.stderr);
        assert_eq!(common::tree(r.root()), before, "{case}: files changed");
    }
}

// --- rendered with the helm shim -------------------------------------------------------

/// The rendered Deployment's containers.
fn rendered_containers(helm: &Path, chart: &Path) -> Vec<Value> {
    let out = common::helm_output(Command::new(helm).args(["template", "rel"]).arg(chart));
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split("\n---")
        .filter_map(|d| yaml_serde::from_str::<Value>(d).ok())
        .filter(|v| v["kind"] == "Deployment")
        .flat_map(|v| {
            v["spec"]["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn what_renders_unseen_is_below_the_floor_and_apply_leaves_the_render_alone() {
    let helm = common::helm_shim();
    for (case, _) in CASES {
        let r = repo(case);
        let chart = r.root().join("chart");
        let before = rendered_containers(helm, &chart);
        // "holds" would have been false: a rendered liveness probe waits less than 30 s.
        assert!(
            before
                .iter()
                .any(|c| c["livenessProbe"]["initialDelaySeconds"].as_i64() == Some(5)),
            "{case}: {before:?}"
        );
        let out = Command::new(common::bin())
            .args(["apply", "--in-place", "--render", "always"])
            .arg("--root")
            .arg(r.root())
            .args(["--color", "never"])
            .env("PATCHER_HELM", helm)
            .output()
            .expect("patcher");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(rendered_containers(helm, &chart), before, "{case}");
    }
}
