//! Step selectors for recipes that do not know the workflow: `*`/`?` globs in `name`, `id`,
//! `job` (and `uses`), `step { ... }` with no selector, `command` directly inside `file`, and
//! the warnings for selectors that never applied. Run through the binary on fixtures; every
//! write is applied in place and a re-plan must be empty (common::apply_one).

mod common;

use common::{Repo, apply_one, plan_one};

const WF: &str = ".github/workflows/ci.yml";

fn recipe(file: &str, props: &str, body: &str) -> String {
    format!("recipe \"r\" {{\n    file \"{file}\"{props} {{\n{body}\n    }}\n}}\n")
}

/// Applies `body` to the one workflow `text` and returns the new text (idempotence checked).
fn applied(text: &str, body: &str) -> String {
    let (run, after) = apply_one(WF, text, &recipe(WF, "", body));
    assert_eq!(
        run.code, 2,
        "expected changes:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    after
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

const DEPLOYS: &str = "\
on: push
jobs:
  deploy-dev:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Deploy dev
        id: helm-dev
        run: helm upgrade --install app ./chart
      - name: Smoke test
        run: curl -f http://localhost
  deploy-prod:
    runs-on: ubuntu-latest
    steps:
      - name: Deploy prod
        id: helm-prod
        run: helm upgrade --install app ./chart
  lint:
    runs-on: ubuntu-latest
    steps:
      - name: Deploy docs
        run: mkdocs gh-deploy
";

#[test]
fn name_glob_selects_every_step_whose_whole_name_matches() {
    let after = applied(
        DEPLOYS,
        "        step \"Deploy *\" {\n            set \"timeout-minutes\" 10\n        }",
    );
    assert_eq!(after.matches("timeout-minutes: 10").count(), 3, "{after}");
    // `Smoke test` does not match, and nothing matches only a prefix of a name.
    assert!(
        after.contains("        run: curl -f http://localhost\n  deploy-prod:"),
        "{after}"
    );
}

#[test]
fn job_glob_narrows_a_name_glob_to_matching_jobs() {
    let after = applied(
        DEPLOYS,
        "        step \"Deploy *\" job=\"deploy-*\" {\n            set \"timeout-minutes\" 10\n        }",
    );
    assert_eq!(after.matches("timeout-minutes: 10").count(), 2, "{after}");
    assert!(
        after.ends_with("        run: mkdocs gh-deploy\n"),
        "{after}"
    );
}

#[test]
fn id_glob_with_question_mark_matches_one_character() {
    let text = DEPLOYS.replace("id: helm-prod", "id: helm-prd");
    let after = applied(
        &text,
        "        step id=\"helm-?ev\" {\n            set \"continue-on-error\" #true\n        }\n        step id=\"helm-p?d\" {\n            set \"timeout-minutes\" 5\n        }",
    );
    assert_eq!(
        after.matches("continue-on-error: true").count(),
        1,
        "{after}"
    );
    assert_eq!(after.matches("timeout-minutes: 5").count(), 1, "{after}");
    assert!(
        after.contains("id: helm-dev\n        run: helm upgrade --install app ./chart\n        continue-on-error: true\n"),
        "{after}"
    );
}

#[test]
fn wildcard_insert_step_anchor_and_job_glob_insert_once_per_job() {
    let after = applied(
        DEPLOYS,
        "        insert-step before=\"Deploy *\" job=\"deploy-*\" (yaml)\"\"\"\n            name: Show context\n            run: kubectl config current-context\n            \"\"\"",
    );
    assert_eq!(after.matches("name: Show context").count(), 2, "{after}");
    assert!(
        after.contains("      - name: Show context\n        run: kubectl config current-context\n      - name: Deploy prod\n"),
        "{after}"
    );
}

const MIXED: &str = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Apply manifests
        run: |
          kubectl apply -f k8s/
          cat <<EOF > note.txt
          kubectl apply -f ignored.yaml
          EOF
          kubectl get pods && kubectl apply \\
            -f extra.yaml
      - name: PowerShell
        shell: pwsh
        run: kubectl apply -f win.yaml
      - name: No kubectl here
        run: echo hello
  other:
    runs-on: ubuntu-latest
    defaults:
      run:
        shell: pwsh
    steps:
      - run: kubectl apply -f other.yaml
  windows:
    runs-on: windows-latest
    steps:
      - run: kubectl apply -f windows.yaml
  sh:
    runs-on: ubuntu-latest
    steps:
      - shell: sh
        run: kubectl apply -f sh.yaml
";

const SERVER_SIDE_EXPECTED: &str = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Apply manifests
        run: |
          kubectl apply -f k8s/ --server-side
          cat <<EOF > note.txt
          kubectl apply -f ignored.yaml
          EOF
          kubectl get pods && kubectl apply \\
            -f extra.yaml \\
            --server-side
      - name: PowerShell
        shell: pwsh
        run: kubectl apply -f win.yaml
      - name: No kubectl here
        run: echo hello
  other:
    runs-on: ubuntu-latest
    defaults:
      run:
        shell: pwsh
    steps:
      - run: kubectl apply -f other.yaml
  windows:
    runs-on: windows-latest
    steps:
      - run: kubectl apply -f windows.yaml
  sh:
    runs-on: ubuntu-latest
    steps:
      - shell: sh
        run: kubectl apply -f sh.yaml --server-side
";

#[test]
fn step_without_selector_edits_every_bash_and_sh_script_and_nothing_else() {
    let after = applied(
        MIXED,
        "        step {\n            command \"kubectl apply\" {\n                flag \"--server-side\"\n            }\n        }",
    );
    // Heredoc bodies, pwsh steps, pwsh job defaults and Windows runners stay as they were.
    assert_eq!(after, SERVER_SIDE_EXPECTED);
}

#[test]
fn file_level_command_is_the_same_as_a_command_in_a_selector_less_step() {
    let after = applied(
        MIXED,
        "        command \"kubectl apply\" {\n            flag \"--server-side\"\n        }",
    );
    assert_eq!(after, SERVER_SIDE_EXPECTED);
}

#[test]
fn step_without_selector_sets_a_key_on_every_step_of_every_job() {
    let text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - run: make\n  b:\n    runs-on: x\n    steps:\n      - run: make test\n        timeout-minutes: 5\n";
    let after = applied(
        text,
        "        step {\n            at-most \"timeout-minutes\" 15\n        }",
    );
    assert_eq!(
        after,
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n        timeout-minutes: 15\n      - run: make\n        timeout-minutes: 15\n  b:\n    runs-on: x\n    steps:\n      - run: make test\n        timeout-minutes: 5\n"
    );
}

#[test]
fn file_level_command_ignores_a_script_it_cannot_parse_unless_the_script_names_the_command() {
    // `if` without `fi`: bash rejects it, but it holds no `helm`, so it is not this rule's business.
    let text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          if true; then\n            echo broken\n      - run: helm upgrade app ./chart\n";
    let after = applied(
        text,
        "        command \"helm upgrade\" {\n            flag \"--wait\"\n        }",
    );
    assert!(
        after.ends_with("      - run: helm upgrade app ./chart --wait\n"),
        "{after}"
    );

    let broken = text.replace("echo broken", "helm upgrade other ./chart");
    let run = plan_one(
        WF,
        &broken,
        &recipe(
            WF,
            "",
            "        command \"helm upgrade\" {\n            flag \"--wait\"\n        }",
        ),
    );
    assert_eq!(
        run.code, 1,
        "a script holding the command must parse:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("/jobs/a/steps/0/run"), "{}", run.stderr);
}

#[test]
fn file_level_command_on_a_workflow_that_already_holds_changes_nothing_and_warns_nothing() {
    let run = plan_one(
        WF,
        SERVER_SIDE_EXPECTED,
        &recipe(
            WF,
            "",
            "        command \"kubectl apply\" {\n            flag \"--server-side\"\n        }",
        ),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);
}

/// Three workflows, none of which runs `kubectl apply`.
fn three_workflows_without_kubectl(recipe_text: &str) -> Repo {
    let wf = |name: &str| {
        format!(
            "on: push\njobs:\n  {name}:\n    runs-on: x\n    steps:\n      - name: Build {name}\n        run: kubectl get pods\n"
        )
    };
    Repo::new(&[
        (".github/workflows/a.yml", &wf("a")),
        (".github/workflows/b.yml", &wf("b")),
        (".github/workflows/c.yml", &wf("c")),
        ("recipes/r.kdl", recipe_text),
    ])
}

#[test]
fn optional_command_that_matched_in_no_file_warns_once_per_recipe() {
    let repo = three_workflows_without_kubectl(&recipe(
        ".github/workflows/*.yml",
        " optional=#true",
        "        command \"kubectl apply\" {\n            flag \"--server-side\"\n        }",
    ));
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        warnings(&run.stderr),
        vec![
            "warning: recipe `r` (<root>/recipes/r.kdl:3:9): command `kubectl apply` matched nothing; nearest: kubectl get"
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn optional_step_selector_that_matched_in_no_file_warns_once_per_recipe() {
    let repo = three_workflows_without_kubectl(&recipe(
        ".github/workflows/*.yml",
        " optional=#true",
        "        step \"Deploy*\" {\n            set \"timeout-minutes\" 5\n        }",
    ));
    let run = repo.run(&["plan"]);
    let found = warnings(&run.stderr);
    assert_eq!(found.len(), 1, "{}", run.stderr);
    assert!(
        found[0].contains(
            "step `Deploy*` matched nothing; nearest: a: Build a, b: Build b, c: Build c"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn optional_rule_that_applied_in_one_file_is_silent_about_the_others() {
    let repo = three_workflows_without_kubectl(&recipe(
        ".github/workflows/*.yml",
        " optional=#true",
        "        command \"kubectl apply\" {\n            flag \"--server-side\"\n        }",
    ));
    repo.write(
        ".github/workflows/b.yml",
        "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: kubectl apply -f k8s/\n",
    );
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);
}

#[test]
fn optional_still_silences_files_and_documents_that_are_not_there() {
    // No workflow at all, and a `match` no document passes: the rule just has nothing to do.
    let repo = Repo::new(&[
        ("a.yaml", "kind: Service\n"),
        (
            "recipes/r.kdl",
            "recipe \"r\" {\n    file \".github/workflows/*.yml\" optional=#true {\n        command \"kubectl apply\" {\n            flag \"--server-side\"\n        }\n    }\n    file \"a.yaml\" optional=#true {\n        match \"/kind\" \"Job\"\n        step \"x\" {\n            set \"y\" 1\n        }\n    }\n}\n",
        ),
    ]);
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);
}

#[test]
fn non_optional_command_miss_is_one_warning_for_all_scripts_and_files() {
    let repo = three_workflows_without_kubectl(&recipe(
        ".github/workflows/*.yml",
        "",
        "        step {\n            command \"kubectl apply\" {\n                flag \"--server-side\"\n            }\n        }",
    ));
    let run = repo.run(&["plan"]);
    assert_eq!(warnings(&run.stderr).len(), 1, "{}", run.stderr);
}

#[test]
fn nearest_misses_are_at_most_five_closest_first_then_a_count() {
    let names = [
        "Lint",
        "Test unit",
        "Deploy",
        "Build docs",
        "Publish",
        "Depoly dev",
        "Cache",
        "Deploy-x",
        "Notify",
    ];
    let steps: String = names
        .iter()
        .map(|n| format!("      - name: {n}\n        run: echo {}\n", n.len()))
        .collect();
    let text = format!("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n{steps}");
    let run = plan_one(
        WF,
        &text,
        &recipe(
            WF,
            "",
            "        step \"Deploy dev\" {\n            set \"timeout-minutes\" 5\n        }",
        ),
    );
    assert_eq!(
        warnings(&run.stderr),
        vec![
            "warning: recipe `r` (<root>/recipes/r.kdl:3:9): step `Deploy dev` matched nothing; nearest: j: Depoly dev, j: Deploy, j: Deploy-x, j: Build docs, j: Test unit … and 4 more"
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn command_miss_in_a_pwsh_step_says_why() {
    let text = "on: push\njobs:\n  w:\n    runs-on: windows-latest\n    steps:\n      - name: Deploy\n        run: helm upgrade app ./chart\n";
    let run = plan_one(
        WF,
        text,
        &recipe(
            WF,
            "",
            "        step \"Deploy\" {\n            command \"helm upgrade\" {\n                flag \"--wait\"\n            }\n        }",
        ),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "command `helm upgrade` matched nothing; nearest: helm upgrade in w: Deploy, which runs `pwsh` (only bash/sh scripts are edited)"
        ),
        "{}",
        run.stderr
    );
}
