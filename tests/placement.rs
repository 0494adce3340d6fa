//! Where new keys go: `after=`/`before=` hints, the default place, the blank-line
//! convention, and block scalar tails (the value before the new key is kept exactly).

mod common;

use common::{Repo, apply_one, plan_one};
use serde::Deserialize;
use serde_json::{Value, json};

fn recipe(file: &str, body: &str) -> String {
    format!(
        "recipe \"r\" {{\n    description \"test\"\n    file \"{file}\" {{\n{body}\n    }}\n}}\n"
    )
}

/// Applies `body` to `text` (as `a.yaml`), checks idempotence, and returns the new text.
fn applied(text: &str, body: &str) -> String {
    let (run, new) = apply_one("a.yaml", text, &recipe("a.yaml", body));
    assert_eq!(
        run.code, 2,
        "expected changes:\n{}\n{}",
        run.stdout, run.stderr
    );
    new
}

fn yaml(text: &str) -> Value {
    let doc = yaml_serde::Deserializer::from_str(text)
        .next()
        .expect("one document");
    Value::deserialize(doc).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn set_after_puts_the_new_key_right_after_that_sibling() {
    let text = "spec:\n  backoffLimit: 3\n  template:\n    spec:\n      x: 1\n";
    let new = applied(
        text,
        "set \"/spec/activeDeadlineSeconds\" 600 after=\"backoffLimit\"",
    );
    assert_eq!(
        new,
        "spec:\n  backoffLimit: 3\n  activeDeadlineSeconds: 600\n  template:\n    spec:\n      x: 1\n"
    );
}

#[test]
fn ensure_before_puts_a_new_list_before_that_sibling_and_above_its_comment() {
    let text = "spec:\n  restartPolicy: Never\n  # the app\n  containers:\n  - name: app\n";
    let new = applied(
        text,
        "ensure \"/spec/initContainers\" key=\"name\" before=\"containers\" (yaml)\"name: wait\"",
    );
    assert_eq!(
        new,
        "spec:\n  restartPolicy: Never\n  initContainers:\n  - name: wait\n  # the app\n  containers:\n  - name: app\n"
    );
}

#[test]
fn before_the_first_key_goes_at_the_top_of_the_mapping() {
    let text = "spec:\n  a: 1\n  b: 2\n";
    let new = applied(text, "set \"/spec/z\" 0 before=\"a\"");
    assert_eq!(new, "spec:\n  z: 0\n  a: 1\n  b: 2\n");
}

#[test]
fn a_placement_naming_a_missing_sibling_falls_back_to_the_end_of_the_mapping() {
    let text = "spec:\n  a: 1\n  b: 2\n";
    let new = applied(text, "set \"/spec/z\" 0 after=\"nope\"");
    assert_eq!(new, "spec:\n  a: 1\n  b: 2\n  z: 0\n");
}

#[test]
fn an_existing_key_is_never_moved_by_a_placement() {
    let text = "spec:\n  a: 1\n  b: 2\n  z: 9\n";
    let new = applied(text, "set \"/spec/z\" 0 after=\"a\"");
    assert_eq!(new, "spec:\n  a: 1\n  b: 2\n  z: 0\n");
}

#[test]
fn a_placement_on_a_missing_parent_places_the_new_parent_by_default() {
    // The hint names a sibling of `/spec/x/y`; `x` is what is new, so it goes at the end.
    let text = "spec:\n  a: 1\n  b: 2\n";
    let new = applied(text, "set \"/spec/x/w\" 0 before=\"a\"");
    assert_eq!(new, "spec:\n  a: 1\n  b: 2\n  x:\n    w: 0\n");
}

#[test]
fn after_and_before_together_are_a_recipe_error() {
    let run = plan_one(
        "a.yaml",
        "a: 1\n",
        &recipe("a.yaml", "set \"/b\" 1 after=\"a\" before=\"a\""),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("not both"), "{}", run.stderr);
}

#[test]
fn a_new_top_level_key_follows_the_blank_line_convention() {
    let text = "# values\nimage:\n  tag: v1\n\nreplicas: 1\n\npostgresql:\n  auth: x\n";
    let new = applied(text, "set \"/global/timeout\" \"60s\"");
    assert_eq!(
        new,
        "# values\nimage:\n  tag: v1\n\nreplicas: 1\n\npostgresql:\n  auth: x\n\nglobal:\n  timeout: 60s\n"
    );
}

#[test]
fn a_key_placed_between_blank_separated_siblings_keeps_both_gaps() {
    let text = "a: 1\n\nb: 2\n\nc: 3\n";
    let new = applied(text, "set \"/p\" 0 after=\"a\"\nset \"/m\" 0 before=\"a\"");
    assert_eq!(new, "m: 0\n\na: 1\n\np: 0\n\nb: 2\n\nc: 3\n");
}

#[test]
fn keys_without_blank_lines_between_them_get_none() {
    let text = "a: 1\nb: 2\n\n# tail\n";
    let new = applied(text, "set \"/c\" 3");
    assert_eq!(new, "a: 1\nb: 2\nc: 3\n\n# tail\n");
}

/// Every chomping indicator × trailing blank lines × end of file: a key inserted after a
/// block scalar (the mapping's last value, or a workflow job's last step's `run:`) leaves
/// the scalar's value exactly as it was.
#[test]
fn block_scalar_values_are_kept_exactly_when_a_key_is_inserted_after_them() {
    let mut cases = 0;
    for header in ["|", "|-", "|+", ">", ">-", ">+", "|2+"] {
        for tail in ["", "\n", "\n\n", "\n  \n", "\n\n  "] {
            for end in ["eof-newline", "eof-no-newline", "then-sibling"] {
                for shape in ["mapping", "workflow"] {
                    let body = format!("{header}\n    one\n\n    two{tail}");
                    let (text, path, scalar) = match shape {
                        "mapping" => (format!("a:\n  k: 1\n  s: {body}"), "/a/new", "/a/s"),
                        _ => (
                            format!(
                                "jobs:\n  b:\n    steps:\n    - run: {}",
                                body.replace("\n    ", "\n        ")
                            ),
                            "/jobs/b/timeout-minutes",
                            "/jobs/b/steps/0/run",
                        ),
                    };
                    let text = match end {
                        "eof-newline" if !text.ends_with('\n') => format!("{text}\n"),
                        "eof-newline" | "eof-no-newline" => text,
                        _ => {
                            let sep = if text.ends_with('\n') { "" } else { "\n" };
                            let next = if shape == "mapping" {
                                "z: 0"
                            } else {
                                "  c: {}"
                            };
                            format!("{text}{sep}{next}\n")
                        }
                    };
                    let before = yaml(&text);
                    let want = before.pointer(scalar).cloned().expect("scalar");
                    let new = applied(&text, &format!("set \"{path}\" 5"));
                    let after = yaml(&new);
                    let what = format!("{header} tail {tail:?} {end} {shape}:\n{text}\n---\n{new}");
                    assert_eq!(after.pointer(scalar), Some(&want), "value changed: {what}");
                    assert_eq!(after.pointer(path), Some(&json!(5)), "key missing: {what}");
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 7 * 5 * 3 * 2);
}

#[test]
fn a_keep_scalar_followed_by_blank_lines_then_a_job_keeps_its_blank_lines() {
    let text =
        "jobs:\n  a:\n    steps:\n      - run: |+\n          echo a\n\n  b:\n    steps: []\n";
    let new = applied(text, "set \"/jobs/a/timeout-minutes\" 5");
    assert_eq!(
        new,
        "jobs:\n  a:\n    steps:\n      - run: |+\n          echo a\n\n    timeout-minutes: 5\n  b:\n    steps: []\n"
    );
}

#[test]
fn a_clip_scalar_ending_the_file_without_a_newline_becomes_strip() {
    let text = "a:\n  s: |\n    line";
    let new = applied(text, "set \"/a/next\" 1");
    assert_eq!(new, "a:\n  s: |-\n    line\n  next: 1");
}

#[test]
fn sample_migration_job_reads_as_a_person_would_write_it() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = Repo::new(&[]);
    for f in [
        "chart/Chart.yaml",
        "chart/templates/migrations.yaml",
        "recipes/migration-job.kdl",
    ] {
        repo.write(f, &std::fs::read_to_string(root.join(f)).expect("sample"));
    }
    let run = repo.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let added: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    let context = |after: &str| {
        let lines: Vec<&str> = run.stdout.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains(after))
            .unwrap_or_else(|| panic!("no `{after}` in\n{}", run.stdout));
        (lines[i - 1], lines.get(i + 1).copied())
    };
    assert!(added.contains(&"+  activeDeadlineSeconds: 600"));
    assert_eq!(context("activeDeadlineSeconds").0, "+  backoffLimit: 6");
    assert_eq!(
        context("initContainers:").0,
        "+      restartPolicy: OnFailure"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let init = lines.iter().position(|l| l.contains("initContainers:"));
    let containers = lines.iter().position(|l| *l == "       containers:");
    assert!(
        init < containers,
        "initContainers before containers:\n{}",
        run.stdout
    );
}
