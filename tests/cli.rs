//! The command line end to end: the sample app, exit codes, output formats, bad input.

mod common;

use std::process::Command;

use common::{Repo, sample_repo};

fn snapshot_tree(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![repo.root().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sample_plan_shows_the_seed_fixes_then_apply_converges() {
    let repo = sample_repo();
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    for needle in [
        "+  backoffLimit: 6",
        "+  activeDeadlineSeconds: 600",
        "+      restartPolicy: OnFailure",
        "name: wait-for-postgres",
        "until nc -z {{ .Release.Name }}-postgresql 5432; do",
        "+    enabled: false",
        "+            initialDelaySeconds: 30",
        "+            failureThreshold: 6",
        "+            initialDelaySeconds: 20",
        "+            failureThreshold: 10",
        // Fix 3: k3d without its metrics-server, an explicit install, helm flags, retry.
        "+            --k3s-arg --disable=metrics-server@server:0",
        "+      - name: Install metrics-server",
        "-            --atomic \\",
        "+                --timeout 600s \\",
        "+                --wait",
        "+          # patcher: retry 3x, 30s apart",
        "+        continue-on-error: true",
        // Fix 4: an index on an immutable expression.
        "+        [text(\"(updated_at AT TIME ZONE 'UTC')\")],",
    ] {
        assert!(
            plan.stdout.contains(needle),
            "missing `{needle}` in:\n{}",
            plan.stdout
        );
    }
    // The human's 45 s liveness delay in viral-metrics is already above 30 and must stay.
    assert!(
        !plan.stdout.contains("-          initialDelaySeconds: 45"),
        "{}",
        plan.stdout
    );

    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply
            .stderr
            .contains("wrote chart/templates/migrations.yaml"),
        "{}",
        apply.stderr
    );
    let after = repo.run(&["plan"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert!(after.stdout.is_empty());

    let before_second = snapshot_tree(&repo);
    let again = repo.run(&["apply", "--in-place"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    assert_eq!(
        before_second,
        snapshot_tree(&repo),
        "a second apply must change nothing"
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn plan_diff_applies_with_git_apply() {
    let repo = sample_repo();
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 2);
    let patch = repo.root().join("plan.patch");
    std::fs::write(&patch, &plan.stdout).expect("write patch");
    let git = Command::new("git")
        .arg("apply")
        .arg("--check")
        .arg("-v")
        .arg(&patch)
        .current_dir(repo.root())
        .output();
    let out =
        git.expect("build.rs found git but it does not run now (`touch build.rs` to re-probe)");
    assert!(
        out.status.success(),
        "git apply --check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_format_lists_rfc6902_ops_with_their_recipe() {
    let repo = sample_repo();
    let run = repo.run(&["plan", "--format", "json", "--only", "migration-job"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["path"], "chart/templates/migrations.yaml");
    let patch = files[0]["documents"][0]["patch"].as_array().expect("patch");
    let ops: Vec<(&str, &str)> = patch
        .iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap_or(""),
                o["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            ("replace", "/spec/backoffLimit"),
            ("add", "/spec/activeDeadlineSeconds"),
            ("replace", "/spec/template/spec/restartPolicy"),
            ("add", "/spec/template/spec/initContainers"),
        ]
    );
    assert!(patch.iter().all(|o| o["recipe"] == "migration-job"));
    assert!(v["warnings"].as_array().is_some_and(|w| w.is_empty()));
}

#[test]
fn nothing_to_do_exits_zero_never_two() {
    let repo = Repo::new(&[
        ("a.yaml", "a: 1\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  file \"a.yaml\" {\n    set \"/a\" 1\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("recipe r: holds"), "{}", run.stderr);
}

#[test]
fn selector_that_matches_nothing_warns_with_nearest_misses() {
    let repo = Repo::new(&[
        ("a.yaml", "kind: Deployment\n---\nkind: Service\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  file \"a.yaml\" {\n    match \"/kind\" \"Deploymnet\"\n    set \"/x\" 1\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no document with /kind == Deploymnet; kinds seen: Deployment, Service"),
        "{}",
        run.stderr
    );
}

#[test]
fn optional_rules_are_silent_when_nothing_matches() {
    let repo = Repo::new(&[
        ("a.yaml", "kind: Service\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  file \"a.yaml\" \"nope/*.yaml\" optional=#true {\n    match \"/kind\" \"Job\"\n    set \"/x\" 1\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn create_true_creates_a_missing_file() {
    let repo = Repo::new(&[(
        "recipes/r.kdl",
        "recipe \"r\" {\n  file \"chart/values-ci.yaml\" create=#true {\n    set \"/hpa/enabled\" #false\n  }\n}\n",
    )]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("--- /dev/null"), "{}", run.stdout);
    assert_eq!(repo.run(&["apply", "--in-place"]).code, 0);
    assert_eq!(
        repo.read("chart/values-ci.yaml"),
        "hpa:\n  enabled: false\n"
    );
    assert_eq!(repo.run(&["plan"]).code, 0);
}

#[test]
fn a_file_matched_by_two_globs_is_edited_once() {
    let repo = Repo::new(&[
        ("a.yaml", "a: 1\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  file \"a.yaml\" \"*.yaml\" {\n    set \"/b\" 2\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout.matches("+b: 2").count(), 1, "{}", run.stdout);
}

#[test]
fn bad_kdl_is_a_diagnostic_with_file_line_and_exit_one() {
    let repo = Repo::new(&[(
        "recipes/r.kdl",
        "recipe \"r\" {\n  file \"a.yaml\" {\n    sett \"/a\" 1\n  }\n}\n",
    )]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("r.kdl:3:5"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `set`"), "{}", run.stderr);
}

#[test]
fn invalid_yaml_target_is_an_error_with_position_and_other_files_are_still_planned() {
    let repo = Repo::new(&[
        ("bad.yaml", "a: [1\nb: 2\n"),
        ("good.yaml", "a: 1\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  file \"*.yaml\" {\n    set \"/a\" 5\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid YAML"), "{}", run.stderr);
    assert!(
        run.stdout.contains("+a: 5"),
        "good.yaml must still be planned:\n{}",
        run.stdout
    );
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 1);
    assert_eq!(repo.read("good.yaml"), "a: 1\n", "apply writes all or none");
}

#[test]
fn binary_and_non_utf8_targets_are_clear_errors() {
    let repo = Repo::new(&[(
        "recipes/r.kdl",
        "recipe \"r\" {\n  file \"*.yaml\" {\n    set \"/a\" 5\n  }\n}\n",
    )]);
    std::fs::write(repo.root().join("latin1.yaml"), b"a: caf\xe9\n").expect("write");
    std::fs::write(repo.root().join("bin.yaml"), b"a: 1\n\x00\x01").expect("write");
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("latin1.yaml") && run.stderr.contains("not UTF-8"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("bin.yaml") && run.stderr.contains("binary"),
        "{}",
        run.stderr
    );
}

#[test]
fn paths_that_leave_the_root_are_refused() {
    let repo = Repo::new(&[(
        "recipes/r.kdl",
        "recipe \"r\" {\n  file \"../outside.yaml\" {\n    set \"/a\" 5\n  }\n}\n",
    )]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("root"), "{}", run.stderr);
}

/// `plan` exits 1 and its errors say `needle`.
#[cfg(unix)]
fn plan_is_refused(repo: &Repo, needle: &str) {
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(needle), "{}", run.stderr);
}

/// A directory outside every test repository, holding `x.yaml` (`a: 1`).
#[cfg(unix)]
fn outside_file() -> tempfile::TempDir {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("x.yaml"), "a: 1\n").expect("write");
    outside
}

/// A recipe setting `/a` in the files `glob` names.
#[cfg(unix)]
fn set_a_in(glob: &str) -> String {
    format!("recipe \"r\" {{\n  file \"{glob}\" {{\n    set \"/a\" 5\n  }}\n}}\n")
}

#[cfg(unix)]
#[test]
fn symlinks_that_leave_the_root_are_refused() {
    let outside = outside_file();
    let repo = Repo::new(&[("recipes/r.kdl", set_a_in("link.yaml").as_str())]);
    std::os::unix::fs::symlink(outside.path().join("x.yaml"), repo.root().join("link.yaml"))
        .expect("symlink");
    plan_is_refused(&repo, "outside the repository root");
    assert_eq!(
        std::fs::read_to_string(outside.path().join("x.yaml")).expect("read"),
        "a: 1\n"
    );
}

/// A glob's matches are only `realpath`ed where they could leave the root: symlinks, and
/// everything under a base directory that itself resolves elsewhere.
#[cfg(unix)]
#[test]
fn glob_matches_through_symlinks_are_refused_only_where_they_leave_the_root() {
    let outside = outside_file();
    // A symlinked file among the matches.
    let repo = Repo::new(&[
        ("recipes/r.kdl", set_a_in("conf/*.yaml").as_str()),
        ("conf/real.yaml", "a: 1\n"),
    ]);
    std::os::unix::fs::symlink(
        outside.path().join("x.yaml"),
        repo.root().join("conf/x.yaml"),
    )
    .expect("symlink");
    plan_is_refused(&repo, "`conf/x.yaml` resolves to");
    // The glob's base directory is a symlink out of the root.
    let repo = Repo::new(&[("recipes/r.kdl", set_a_in("out/*.yaml").as_str())]);
    std::os::unix::fs::symlink(outside.path(), repo.root().join("out")).expect("symlink");
    plan_is_refused(&repo, "outside the repository root");
    // A base directory linked to another directory inside the root is followed.
    let repo = Repo::new(&[
        ("recipes/r.kdl", set_a_in("alias/*.yaml").as_str()),
        ("conf/real.yaml", "a: 1\n"),
    ]);
    std::os::unix::fs::symlink(repo.root().join("conf"), repo.root().join("alias"))
        .expect("symlink");
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("+a: 5"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("x.yaml")).expect("read"),
        "a: 1\n"
    );
}

#[test]
fn only_selects_recipes_and_rejects_unknown_names() {
    let repo = sample_repo();
    let run = repo.run(&["plan", "--only", "ci-no-hpa"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("values-ci.yaml") && !run.stdout.contains("migrations.yaml"));
    let run = repo.run(&["plan", "--only", "nope"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no such recipe"), "{}", run.stderr);
}

#[test]
fn color_always_colors_the_diff_and_never_does_not() {
    let repo = sample_repo();
    let mut cmd = Command::new(common::bin());
    let out = cmd
        .args(["plan", "--color", "always", "--root"])
        .arg(repo.root())
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[32m+"));
    let plain = repo.run(&["plan"]);
    assert!(!plain.stdout.contains('\x1b'));
}

#[test]
fn existing_seed_shell_bugs_in_a_workflow_are_warnings() {
    let workflow = r#"on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - name: Create k3d cluster
        uses: AbsaOSS/k3d-action@v2
        with:
          args: >-
            --agents 1
            --k3s-arg "--disable=metrics-server@server:0"  # Disable built-in
      - name: Helm upgrade
        run: |
          helm upgrade --install threads ./chart \
            --atomic=false \  # Don't rollback on failure
            --debug
"#;
    let recipe = "recipe \"r\" {\n  file \".github/workflows/ci.yml\" {\n    set \"/jobs/deploy/timeout-minutes\" 30\n  }\n}\n";
    let repo = Repo::new(&[
        (".github/workflows/ci.yml", workflow),
        ("recipes/r.kdl", recipe),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("line 11: `#` in a folded"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 15: comment after `\\`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_command_edit_that_would_not_parse_is_refused() {
    // The seed's own broken continuation: patcher will not edit (or write) such a script.
    let workflow = "on: workflow_dispatch\njobs:\n  d:\n    runs-on: x\n    steps:\n      - name: Deploy\n        run: |\n          helm upgrade --install t ./chart \\\n            --atomic=false \\  # no rollback\n            --debug\n";
    let recipe = "recipe \"r\" {\n  file \".github/workflows/ci.yml\" {\n    step \"Deploy\" {\n      command \"helm upgrade\" {\n        flag \"--wait\"\n      }\n    }\n  }\n}\n";
    let repo = Repo::new(&[
        (".github/workflows/ci.yml", workflow),
        ("recipes/r.kdl", recipe),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("continuation"), "{}", run.stderr);
}

#[test]
fn step_selector_that_matches_nothing_names_the_steps_seen_closest_first() {
    let workflow = "on: push\njobs:\n  build:\n    runs-on: x\n    steps:\n      - name: Checkout\n        uses: actions/checkout@v4\n      - name: Test\n        run: make test\n";
    let recipe = "recipe \"r\" {\n  file \".github/workflows/ci.yml\" {\n    step \"Tset\" {\n      set \"timeout-minutes\" 5\n    }\n  }\n}\n";
    let repo = Repo::new(&[
        (".github/workflows/ci.yml", workflow),
        ("recipes/r.kdl", recipe),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("step `Tset` matched nothing; nearest: build: Test, build: Checkout"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_replace_reports_the_occurrence_count_when_not_unique() {
    let repo = Repo::new(&[
        ("m.py", "x = now()\ny = now()\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n  text \"m.py\" {\n    replace \"now()\" \"utc()\"\n  }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("found 2 occurrences"), "{}", run.stderr);
    assert!(run.stderr.contains("m.py"), "{}", run.stderr);
}
