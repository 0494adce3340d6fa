//! `patcher init`: what it proposes for the sample app and for corpus charts, that
//! `--write` never overwrites, and the done-when of issue 11: on the sample app without its
//! recipes, `init --write` then `plan` shows the seed's fixes.

mod common;

use std::collections::BTreeSet;

use common::{Repo, Run, copy_dir, sample_repo};

/// `patcher init ARGS --root REPO` (init has no --color: its output is plain text).
fn run_init(repo: &Repo, args: &[&str]) -> Run {
    let out = std::process::Command::new(common::bin())
        .arg("init")
        .args(args)
        .arg("--root")
        .arg(repo.root())
        .output()
        .expect("run patcher init");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The sample app without its own recipes: what a new user starts from.
fn sample_without_recipes() -> Repo {
    let repo = sample_repo();
    std::fs::remove_dir_all(repo.root().join("recipes")).expect("rm recipes");
    repo
}

/// `diff --git a/X b/X` lines of a plan: the files it changes.
fn changed_files(diff: &str) -> BTreeSet<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .filter_map(|l| l.split(" b/").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn init_on_the_sample_app_proposes_the_seed_fixes() {
    let repo = sample_without_recipes();
    let run = run_init(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    assert!(
        !repo.root().join("recipes").exists(),
        "init without --write writes nothing"
    );
}

#[test]
fn init_write_then_plan_shows_the_seed_fixes() {
    let repo = sample_without_recipes();
    let init = run_init(&repo, &["--write"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert!(
        init.stdout.contains("wrote recipes/patcher.kdl"),
        "{}",
        init.stdout
    );
    insta::assert_snapshot!("sample_patcher_kdl", repo.read("recipes/patcher.kdl"));

    let plan = repo.run(&["plan", "--render", "never"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    insta::assert_snapshot!("sample_init_plan", plan.stdout);

    // The sample's own recipes: every YAML file they fix, init's recipes fix too. (The one
    // they have and the catalogue lacks is the app-specific SQL fix, a `text` recipe.)
    let own = sample_repo();
    let own_plan = own.run(&["plan", "--render", "never"]);
    assert_eq!(own_plan.code, 2, "{}", own_plan.stderr);
    let mut expected = changed_files(&own_plan.stdout);
    expected.retain(|f| !f.starts_with("services/"));
    let got = changed_files(&plan.stdout);
    assert!(
        expected.is_subset(&got),
        "sample recipes fix {expected:?}, init's {got:?}"
    );

    // Applied, every proposal holds: init has nothing left to propose.
    let apply = repo.run(&["apply", "--in-place", "--render", "never"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let again = run_init(&repo, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("No catalogue recipe would change this repository."),
        "{}",
        again.stdout
    );
}

#[test]
fn init_write_never_overwrites_an_existing_recipe_file() {
    let repo = sample_without_recipes();
    repo.write("recipes/patcher.kdl", "// mine\n");
    let run = run_init(&repo, &["--write"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(repo.read("recipes/patcher.kdl"), "// mine\n");
    assert!(
        run.stdout.contains(
            "recipes/patcher.kdl exists and was not changed; add what you want of this to it:"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("use \"catalog:job-retries\""),
        "{}",
        run.stdout
    );
}

#[test]
fn beside_the_repositorys_own_recipes_init_names_its_instances_apart() {
    // The sample's recipes/ has its own `probe-delays` and `k3d-metrics-server`.
    let repo = sample_repo();
    let init = run_init(&repo, &["--write"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let written = repo.read("recipes/patcher.kdl");
    assert!(
        written.contains(r#"use "catalog:probe-delays" name="probe-delays-catalog""#),
        "{written}"
    );
    let plan = repo.run(&["plan", "--render", "never"]);
    assert_eq!(plan.code, 2, "plan loads both files: {}", plan.stderr);
}

#[test]
fn init_on_a_missing_root_is_an_error() {
    let repo = Repo::new(&[]);
    let missing = repo.root().join("nope");
    let out = std::process::Command::new(common::bin())
        .args(["init", "--root"])
        .arg(&missing)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn init_on_a_repository_without_charts_or_workflows_says_so() {
    let repo = Repo::new(&[("README.md", "hello\n")]);
    let run = run_init(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

/// A corpus chart copied to `dir/` of an otherwise empty repository, with corpus workflows
/// (file names in ../shared/corpus/workflows) under `.github/workflows/`.
fn corpus_repo(chart: &str, dir: &str, workflows: &[(&str, &str)]) -> Repo {
    let repo = Repo::new(&[]);
    let corpus = common::corpus();
    copy_dir(&corpus.join("charts").join(chart), &repo.root().join(dir));
    for (from, to) in workflows {
        let text = std::fs::read_to_string(corpus.join("workflows").join(from)).expect("workflow");
        repo.write(&format!(".github/workflows/{to}"), &text);
    }
    repo
}

fn init_snapshot(snapshot: &str, repo: &Repo) {
    let run = run_init(repo, &[]);
    assert_eq!(run.code, 0, "{snapshot}: {}", run.stderr);
    insta::assert_snapshot!(snapshot, run.stdout);
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn init_on_corpus_jupyterhub_chart_with_its_test_workflow() {
    let repo = corpus_repo(
        "jupyterhub__zero-to-jupyterhub-k8s__jupyterhub",
        "jupyterhub",
        &[(
            "jupyterhub__zero-to-jupyterhub-k8s__test-chart.yaml",
            "test-chart.yaml",
        )],
    );
    init_snapshot("corpus_jupyterhub", &repo);
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn init_on_corpus_keda_chart() {
    let repo = corpus_repo("kedacore__charts__keda", "chart", &[]);
    init_snapshot("corpus_keda", &repo);
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn init_on_corpus_tempo_distributed_chart() {
    let repo = corpus_repo("grafana__helm-charts__tempo-distributed", "chart", &[]);
    init_snapshot("corpus_tempo_distributed", &repo);
}
