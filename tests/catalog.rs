//! Every catalogue recipe (`catalog/*.kdl`) on two fixture repositories of its own
//! (`tests/data/catalog/<name>/`): `applies/`, where it plans a change (exit 2, diff
//! snapshot), applies in place and then holds; and `holds/`, already fixed (exit 0). Each
//! fixture's `recipe.kdl` is the `use "catalog:<name>" ...` a repository would write.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{Repo, copy_dir};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/catalog")
        .join(name)
}

/// A temp repository holding `case/` of the fixture and its `use` as recipes/catalog.kdl.
fn repo(name: &str, case: &str) -> Repo {
    let repo = Repo::new(&[]);
    let dir = fixture(name);
    assert!(
        dir.join(case).is_dir(),
        "{} is missing",
        dir.join(case).display()
    );
    copy_dir(&dir.join(case), repo.root());
    let use_line = std::fs::read_to_string(dir.join("recipe.kdl")).expect("recipe.kdl");
    repo.write("recipes/catalog.kdl", &use_line);
    repo
}

fn plans_then_applies_then_holds(name: &str) {
    let repo = repo(name, "applies");
    let plan = repo.run(&["plan", "--render", "never"]);
    assert_eq!(
        plan.code, 2,
        "{name}: plan should change something: {}",
        plan.stderr
    );
    insta::assert_snapshot!(format!("{name}_applies"), plan.stdout);
    let apply = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(apply.code, 0, "{name}: apply: {}", apply.stderr);
    let again = repo.run(&["plan", "--render", "never"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{name}: plan after apply: {}",
        again.stderr
    );
}

fn already_holds(name: &str) {
    let repo = repo(name, "holds");
    let plan = repo.run(&["plan", "--render", "never"]);
    assert_eq!(
        (plan.code, plan.stdout.as_str()),
        (0, ""),
        "{name}: an already fixed repository: {}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains(&format!("recipe {name}: holds")),
        "{}",
        plan.stderr
    );
}

/// One module per catalogue recipe; `TESTED` lists them for the completeness test.
macro_rules! catalogue_tests {
    ($($module:ident => $name:literal),* $(,)?) => {
        const TESTED: &[&str] = &[$($name),*];
        $(
            mod $module {
                #[test]
                fn plans_a_change_applies_it_and_then_holds() {
                    super::plans_then_applies_then_holds($name);
                }

                #[test]
                fn plans_nothing_where_it_already_holds() {
                    super::already_holds($name);
                }
            }
        )*
    };
}

catalogue_tests! {
    job_retries => "job-retries",
    wait_for_service => "wait-for-service",
    probe_delays => "probe-delays",
    startup_probe => "startup-probe",
    hpa_off_in_ci => "hpa-off-in-ci",
    helm_upgrade_wait => "helm-upgrade-wait",
    helm_upgrade_retry => "helm-upgrade-retry",
    k3d_metrics_server => "k3d-metrics-server",
    metrics_server_insecure_tls => "metrics-server-insecure-tls",
    job_timeout_minutes => "job-timeout-minutes",
    deploy_concurrency => "deploy-concurrency",
    pin_image_tag => "pin-image-tag",
}

fn stems(dir: &Path, want_dirs: bool) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .filter(|e| e.path().is_dir() == want_dirs)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if want_dirs {
                Some(name)
            } else {
                name.strip_suffix(".kdl").map(str::to_string)
            }
        })
        .collect()
}

#[test]
fn every_catalogue_recipe_has_fixtures_and_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = stems(&root.join("catalog"), false);
    let fixtures = stems(&root.join("tests/data/catalog"), true);
    let tested: BTreeSet<String> = TESTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(tested, files, "catalog/*.kdl vs the recipes tested here");
    assert_eq!(fixtures, files, "catalog/*.kdl vs tests/data/catalog/*/");
    assert!(
        files.len() >= 12,
        "the catalogue has {} recipes",
        files.len()
    );

    // And the binary lists exactly those as its catalogue.
    let empty = Repo::new(&[]);
    let out = std::process::Command::new(common::bin())
        .args(["recipes", "list", "--format", "json", "--root"])
        .arg(empty.root())
        .output()
        .expect("run patcher recipes list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let listed: BTreeSet<String> = json["recipes"]
        .as_array()
        .expect("recipes")
        .iter()
        .filter(|r| r["kind"] == "catalog")
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(listed, files, "`patcher recipes list` vs catalog/*.kdl");
}
