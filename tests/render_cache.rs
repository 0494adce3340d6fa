//! Issue 23 item 4: render once per input. The render of a chart before the edit is cached by
//! the hash of the chart's files and values (`PATCHER_RENDER_CACHE` points it at a temp dir
//! here), so a second `plan` of the sample runs helm once per values scenario — the render
//! after the edit — instead of two or three times, and says the same. Helm runs are counted
//! by a wrapper script around the shim.

mod common;

use std::path::Path;
use std::process::Command;

struct Counted {
    dir: tempfile::TempDir,
}

impl Counted {
    /// A `helm` that appends a line to `runs` and runs the shim.
    fn new() -> Counted {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            dir.path().join("runs").display(),
            common::helm_shim().display()
        );
        let helm = dir.path().join("helm");
        std::fs::write(&helm, script).expect("write wrapper");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Counted { dir }
    }

    fn helm(&self) -> std::path::PathBuf {
        self.dir.path().join("helm")
    }

    /// How many times helm ran since the last call.
    fn take(&self) -> usize {
        let runs = self.dir.path().join("runs");
        let n = std::fs::read_to_string(&runs)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        let _ = std::fs::remove_file(runs);
        n
    }
}

fn plan(root: &Path, helm: &Path, cache: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::bin())
        .arg("plan")
        .args(extra)
        .arg("--root")
        .arg(root)
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .env("PATCHER_HELM", helm)
        .env("PATCHER_RENDER_CACHE", cache)
        .output()
        .expect("run patcher");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn a_second_plan_of_the_sample_renders_only_after_the_edit() {
    let repo = common::sample_repo();
    let helm = Counted::new();
    let cache = tempfile::tempdir().expect("tempdir");
    let first = plan(repo.root(), &helm.helm(), cache.path(), &[]);
    let cold = helm.take();
    let second = plan(repo.root(), &helm.helm(), cache.path(), &[]);
    let warm = helm.take();
    assert_eq!(first.0, 2, "{}", first.2);
    assert_eq!(first, second, "a cached plan says exactly the same");
    let scenarios = first
        .2
        .lines()
        .find_map(|l| l.strip_prefix("rendered 1 of 1 chart ("))
        .and_then(|r| r.split(' ').nth(2))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no render summary:\n{}", first.2));
    // Cold: before and after per scenario, and a second before where the first comparison
    // is not clean (a values file the recipes edit directly). Warm: the after renders only.
    assert!(
        cold >= 2 * scenarios,
        "{cold} helm runs for {scenarios} scenarios"
    );
    assert_eq!(warm, scenarios, "{warm} helm runs on the second plan");

    // Off: every render runs again.
    let off = plan(repo.root(), &helm.helm(), Path::new("off"), &[]);
    assert_eq!(off, first);
    assert_eq!(helm.take(), cold);

    // A changed chart file is another key: its before render runs again.
    let values = repo.read("chart/values.yaml");
    repo.write("chart/values.yaml", &format!("{values}\n# a comment\n"));
    plan(repo.root(), &helm.helm(), cache.path(), &[]);
    assert_eq!(helm.take(), cold);
}

#[test]
#[cfg_attr(
    not(has_helm_shim),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn only_the_charts_a_recipe_changes_are_rendered() {
    let chart = |name: &str| format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n");
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  progressDeadlineSeconds: {{ .Values.deadline }}\n";
    let repo = common::Repo::new(&[
        (
            "recipes/r.kdl",
            "recipe \"deadline\" {\n    file \"charts/*/templates/*.yaml\" { match \"/kind\" \"Deployment\"; at-least \"/spec/progressDeadlineSeconds\" 600; }\n}\n",
        ),
        ("charts/short/Chart.yaml", &chart("short")),
        ("charts/short/values.yaml", "deadline: 60\n"),
        ("charts/short/templates/d.yaml", deploy),
        ("charts/long/Chart.yaml", &chart("long")),
        ("charts/long/values.yaml", "deadline: 900\n"),
        ("charts/long/templates/d.yaml", deploy),
    ]);
    let helm = Counted::new();
    let (code, _, stderr) = plan(repo.root(), &helm.helm(), Path::new("off"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("rendered charts/short/"), "{stderr}");
    assert!(!stderr.contains("rendered charts/long/"), "{stderr}");
    assert!(
        stderr.ends_with("rendered 1 of 1 chart (1 of 1 values scenario)\n"),
        "{stderr}"
    );
    assert_eq!(helm.take(), 2, "before and after of the one chart changed");
}
