//! What a new user meets on a repository patcher was not built on: some files are always
//! refused (`--keep-going` writes the rest and says what it left), globs read the shell way,
//! and a wrong `--root` or an empty recipe directory is named as such.

mod common;

use common::Repo;

/// Two values files the recipe can fix and one it must refuse (its key comes from a template
/// action, so there is nothing in the file to change).
fn mixed_repo() -> Repo {
    Repo::new(&[
        ("a/values.yaml", "replicas: 1\n"),
        ("b/values.yaml", "# b\nreplicas: 1 # one\n"),
        ("c/values.yaml", "replicas: [unclosed\n"),
        (
            "recipes/r.kdl",
            r#"recipe "two-replicas" {
    file "*/values.yaml" { set "/replicas" 2; }
}
"#,
        ),
    ])
}

#[test]
fn without_keep_going_one_refusal_writes_nothing() {
    let repo = mixed_repo();
    let run = repo.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("c/values.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(run.stderr.contains("--keep-going"), "{}", run.stderr);
    assert_eq!(repo.read("a/values.yaml"), "replicas: 1\n");
    assert_eq!(repo.read("b/values.yaml"), "# b\nreplicas: 1 # one\n");
}

#[test]
fn keep_going_in_place_writes_every_file_that_verified_and_lists_the_refused_ones() {
    let repo = mixed_repo();
    let run = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(run.code, 1, "refusals still fail the run: {}", run.stderr);
    assert_eq!(repo.read("a/values.yaml"), "replicas: 2\n");
    assert_eq!(repo.read("b/values.yaml"), "# b\nreplicas: 2 # one\n");
    assert_eq!(repo.read("c/values.yaml"), "replicas: [unclosed\n");
    assert!(run.stderr.contains("wrote a/values.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("wrote b/values.yaml"), "{}", run.stderr);
    let last = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert_eq!(last, "kept going: 2 files written, 1 refused (see above)");
    // The refusal itself is above, with the file and line.
    assert!(run.stderr.contains("c/values.yaml"), "{}", run.stderr);

    // A second run only has the refused file left: nothing written, still exit 1.
    let again = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("kept going: 0 files written, 1 refused (see above)"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_file_written_in_part_is_counted_once_and_its_other_recipe_is_not_called_unplanned() {
    // `bad` is refused in f.yaml; `good`'s change there still verifies and is written.
    let repo = Repo::new(&[
        ("f.yaml", "a:\n  b: 1\nc: x\n"),
        (
            "recipes/r.kdl",
            "recipe \"good\" {\n    file \"f.yaml\" { set \"/a/b\" 2; }\n}\nrecipe \"bad\" {\n    file \"f.yaml\" { set \"/c/d\" 3; }\n}\n",
        ),
    ]);
    let run = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(repo.read("f.yaml"), "a:\n  b: 2\nc: x\n");
    assert!(
        run.stderr.contains("recipe good: 1 change in 1 file\n"),
        "good was planned and written in f.yaml: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("f.yaml: cannot set /c/d: /c is a string (x), not a mapping"),
        "{}",
        run.stderr
    );
    let last = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "kept going: 1 file written (1 in part), 0 refused (see above)"
    );
}

#[test]
fn plan_and_check_exit_codes_stay_documented_when_some_files_are_refused() {
    let repo = mixed_repo();
    // An error wins over pending changes: 1, but the other files' diffs are still shown.
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("+++ b/a/values.yaml"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+++ b/b/values.yaml"),
        "{}",
        plan.stdout
    );
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    // Once the broken file is fixed by hand: drift (2), then after apply, clean (0).
    repo.write("c/values.yaml", "replicas: 1\n");
    assert_eq!(repo.run(&["plan"]).code, 2);
    assert_eq!(repo.run(&["check"]).code, 2);
    assert_eq!(repo.run(&["apply", "--in-place", "--keep-going"]).code, 0);
    assert_eq!(repo.run(&["plan"]).code, 0);
    assert_eq!(repo.run(&["check"]).code, 0);
}

fn nested_values_repo(glob: &str) -> Repo {
    Repo::new(&[
        ("charts/api/values.yaml", "replicas: 1\n"),
        ("charts/api/examples/big/values.yaml", "replicas: 1\n"),
        ("charts/values.yaml", "replicas: 1\n"),
        (
            "recipes/r.kdl",
            &format!("recipe \"two\" {{\n    file \"{glob}\" {{ set \"/replicas\" 2; }}\n}}\n"),
        ),
    ])
}

#[test]
fn a_star_in_a_glob_does_not_reach_into_subdirectories() {
    let repo = nested_values_repo("charts/*/values.yaml");
    let run = repo.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(repo.read("charts/api/values.yaml"), "replicas: 2\n");
    assert_eq!(
        repo.read("charts/api/examples/big/values.yaml"),
        "replicas: 1\n"
    );
    assert_eq!(repo.read("charts/values.yaml"), "replicas: 1\n");
}

#[test]
fn a_double_star_matches_zero_or_more_directories() {
    let repo = nested_values_repo("charts/**/values.yaml");
    let run = repo.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(repo.read("charts/api/values.yaml"), "replicas: 2\n");
    assert_eq!(
        repo.read("charts/api/examples/big/values.yaml"),
        "replicas: 2\n"
    );
    assert_eq!(repo.read("charts/values.yaml"), "replicas: 2\n");
}

#[test]
fn alternation_and_question_marks_select_like_a_shell() {
    let repo = Repo::new(&[
        ("chart/values.yaml", "replicas: 1\n"),
        ("chart/values-ci.yaml", "replicas: 1\n"),
        ("chart/values-dev.yaml", "replicas: 1\n"),
        ("w/a1.yml", "replicas: 1\n"),
        ("w/a10.yml", "replicas: 1\n"),
        (
            "recipes/r.kdl",
            r#"recipe "two" {
    file "chart/values{,-ci}.yaml" "w/a?.yml" { set "/replicas" 2; }
}
"#,
        ),
    ]);
    let run = repo.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(repo.read("chart/values.yaml"), "replicas: 2\n");
    assert_eq!(repo.read("chart/values-ci.yaml"), "replicas: 2\n");
    assert_eq!(repo.read("chart/values-dev.yaml"), "replicas: 1\n");
    assert_eq!(repo.read("w/a1.yml"), "replicas: 2\n");
    assert_eq!(repo.read("w/a10.yml"), "replicas: 1\n");
}

#[test]
fn a_missing_root_is_named_as_the_root() {
    let repo = Repo::new(&[]);
    let missing = repo.root().join("nope");
    for cmd in ["plan", "check", "apply"] {
        let out = std::process::Command::new(common::bin())
            .args([cmd, "--root"])
            .arg(&missing)
            .output()
            .expect("run patcher");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {stderr}");
        let said = format!("{stdout}{stderr}");
        assert!(
            said.contains(&format!("--root {}: no such directory", missing.display())),
            "{cmd}: {said}"
        );
        assert!(
            !said.contains("recipes"),
            "{cmd} blames the recipes: {said}"
        );
    }
}

#[test]
fn an_empty_recipes_directory_is_an_error_not_a_clean_run() {
    let repo = Repo::new(&[("chart/values.yaml", "replicas: 1\n")]);
    std::fs::create_dir_all(repo.root().join("recipes")).expect("mkdir");
    for cmd in ["plan", "check"] {
        let run = repo.run(&[cmd]);
        assert_eq!(run.code, 1, "{cmd}: {}{}", run.stdout, run.stderr);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("no recipes in <root>/recipes"),
            "{cmd}: {said}"
        );
    }
}

#[test]
fn every_recipe_naming_an_unreadable_file_says_it_could_not_be_planned_there() {
    let repo = Repo::new(&[
        ("a.yaml", "x: 1\n"),
        ("b.yaml", "x: [unclosed\n"),
        (
            "recipes/r.kdl",
            r#"recipe "first" {
    file "*.yaml" { set "/x" 2; }
}
recipe "second" {
    file "*.yaml" { set "/y" 3; }
}
recipe "third" {
    file "b.yaml" { set "/x" 1; }
}
"#,
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The load error is reported once, under the first recipe that names the file.
    assert_eq!(run.stderr.matches("b.yaml").count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("recipe first: error (1 problem"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "recipe second: 1 change in 1 file; 1 file could not be planned (see the errors below)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "recipe third: unchecked (1 of 1 file could not be planned; see the errors below)"
        ),
        "{}",
        run.stderr
    );
}

/// One values file, two recipes: `replicas-into-a-scalar` cannot be planned there (it asks
/// for a key inside a number), `two-replicas` can.
fn one_file_two_recipes_repo() -> Repo {
    Repo::new(&[
        ("a/values.yaml", "# a\nreplicas: 1 # one\nimage: app\n"),
        (
            "recipes/r.kdl",
            "recipe \"replicas-into-a-scalar\" {\n    file \"a/values.yaml\" { set \"/image/tag\" \"v1\"; }\n}\nrecipe \"two-replicas\" {\n    file \"a/values.yaml\" { set \"/replicas\" 2; }\n}\n",
        ),
    ])
}

#[test]
fn a_recipe_refused_in_a_file_leaves_the_other_recipes_edits_of_that_file_to_keep_going() {
    let repo = one_file_two_recipes_repo();
    // Without --keep-going one refusal still writes nothing; the plan shows the other edit.
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("+replicas: 2 # one"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("replicas-into-a-scalar"),
        "{}",
        plan.stderr
    );
    let run = repo.run(&["apply", "--in-place"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        repo.read("a/values.yaml"),
        "# a\nreplicas: 1 # one\nimage: app\n"
    );

    // With it, the file gets the edit that verified, and the refusal is named.
    let run = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(run.code, 1, "refusals still fail the run: {}", run.stderr);
    assert_eq!(
        repo.read("a/values.yaml"),
        "# a\nreplicas: 2 # one\nimage: app\n"
    );
    assert!(run.stderr.contains("wrote a/values.yaml"), "{}", run.stderr);
    assert!(
        run.stderr.contains("replicas-into-a-scalar"),
        "{}",
        run.stderr
    );
    // What is left is only the refused recipe: a re-run writes nothing.
    let again = repo.run(&["apply", "--in-place", "--keep-going"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("kept going: 0 files written"),
        "{}",
        again.stderr
    );
    assert_eq!(
        repo.read("a/values.yaml"),
        "# a\nreplicas: 2 # one\nimage: app\n"
    );
}
