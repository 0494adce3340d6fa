//! `patcher check`: exit codes, semantic checks, every output format, the step summary, and
//! the sample app's drift before and after `apply`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Repo, Run, sample_repo};
use serde_json::Value;

/// Runs `patcher check <args> --root <repo>`, with `GITHUB_STEP_SUMMARY` set to `summary` or
/// removed (so a run inside GitHub Actions never writes to the real summary).
fn check(repo: &Repo, args: &[&str], summary: Option<&Path>) -> Run {
    let mut cmd = Command::new(common::bin());
    cmd.arg("check")
        .args(args)
        .arg("--root")
        .arg(repo.root())
        .arg("--color")
        .arg("never")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY");
    if let Some(path) = summary {
        cmd.env("GITHUB_STEP_SUMMARY", path);
    }
    let out = cmd.output().expect("run patcher");
    let root = repo.root().display().to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).replace(&root, "<root>"),
        stderr: String::from_utf8_lossy(&out.stderr).replace(&root, "<root>"),
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

const FORMATS: [&str; 4] = ["text", "json", "github", "sarif"];

/// Asserts the exit code is `code` in every output format.
fn assert_code_in_every_format(repo: &Repo, args: &[&str], code: i32) {
    for format in FORMATS {
        let mut a = vec!["--format", format];
        a.extend_from_slice(args);
        let run = check(repo, &a, None);
        assert_eq!(
            run.code, code,
            "--format {format} {args:?}:\n{}\n{}",
            run.stdout, run.stderr
        );
    }
}

const JOB: &str = "\
# the migrations job
kind: Job
spec:
  backoffLimit: 6 # raised by hand
  template:
    spec:
      restartPolicy: OnFailure
";

const JOB_RECIPE: &str = r#"
recipe "job" {
    file "job.yaml" {
        match "/kind" "Job"
        set "/spec/backoffLimit" 6
        set "/spec/template/spec/restartPolicy" "OnFailure"
    }
}
"#;

#[test]
fn exit_code_0_when_every_recipe_holds() {
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", JOB_RECIPE)]);
    assert_code_in_every_format(&repo, &[], 0);
    let run = check(&repo, &[], None);
    assert_eq!(run.stdout, "recipe job: holds (1 file)\n", "{}", run.stderr);
    assert!(run.stderr.contains("check: ok"), "{}", run.stderr);
    assert_eq!(
        json(&check(&repo, &["--format", "json"], None))["status"],
        "ok"
    );
}

#[test]
fn exit_code_0_for_a_recipe_that_is_not_applicable() {
    let recipes = format!(
        "{JOB_RECIPE}\n{}",
        r#"
recipe "other-chart" {
    file "charts/other/templates/*.yaml" {
        set "/spec/replicas" 2
    }
}
recipe "optional" {
    file "maybe.yaml" optional=#true {
        set "/a" 1
    }
}
"#
    );
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", &recipes)]);
    assert_code_in_every_format(&repo, &[], 0);
    let run = check(&repo, &[], None);
    assert_eq!(
        run.stdout,
        "recipe job: holds (1 file)\n\
         recipe other-chart: not applicable (no file matched)\n\
         recipe optional: not applicable (no file matched)\n",
        "{}",
        run.stderr
    );
    // Only the not-applicable recipes: still a no-op, still 0.
    assert_code_in_every_format(&repo, &["--only", "other-chart", "--only", "optional"], 0);
    let v = json(&check(&repo, &["--format", "json"], None));
    assert_eq!(v["summary"]["not_applicable"], 2);
    assert_eq!(v["recipes"][1]["status"], "not_applicable");
}

#[test]
fn exit_code_0_when_a_when_condition_selects_nothing() {
    let recipe = r#"
recipe "probes" {
    file "deploy.yaml" {
        each "/spec/containers/*" {
            when "livenessProbe" exists
            at-least "livenessProbe/initialDelaySeconds" 30
        }
    }
}
"#;
    let deploy = "spec:\n  containers:\n    - name: web\n      image: web:1\n";
    let repo = Repo::new(&[("deploy.yaml", deploy), ("recipes/r.kdl", recipe)]);
    assert_code_in_every_format(&repo, &[], 0);
}

#[test]
fn exit_code_2_on_drift() {
    let repo = Repo::new(&[
        ("job.yaml", &JOB.replace("6 # raised", "3 # raised")),
        ("recipes/r.kdl", JOB_RECIPE),
    ]);
    assert_code_in_every_format(&repo, &[], 2);
    let run = check(&repo, &[], None);
    assert_eq!(
        run.stdout,
        "recipe job: drifted (1 node in 1 file)\n  \
         job.yaml:4:3: /spec/backoffLimit: expected 6, found 3 (recipes/r.kdl:5:9)\n",
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("check: drift (1 drifted, 0 hold, 0 not applicable)"),
        "{}",
        run.stderr
    );
    // check never writes.
    assert!(repo.read("job.yaml").contains("backoffLimit: 3"));
}

#[test]
fn exit_code_1_on_errors() {
    // A recipe that does not parse.
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", "recipe \"x\" {")]);
    assert_code_in_every_format(&repo, &[], 1);
    let v = json(&check(&repo, &["--format", "json"], None));
    assert_eq!(v["status"], "error");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(1));

    // A target that is not YAML.
    let repo = Repo::new(&[("job.yaml", "a: [1\n"), ("recipes/r.kdl", JOB_RECIPE)]);
    assert_code_in_every_format(&repo, &[], 1);

    // --only with an unknown recipe.
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", JOB_RECIPE)]);
    assert_code_in_every_format(&repo, &["--only", "nope"], 1);

    // Drift and an error: the error wins.
    let recipes = format!(
        "{JOB_RECIPE}\n{}",
        r#"
recipe "broken" {
    file "bad.yaml" {
        set "/a" 1
    }
}
"#
    );
    let repo = Repo::new(&[
        ("job.yaml", &JOB.replace("6 # raised", "3 # raised")),
        ("bad.yaml", "a: [1\n"),
        ("recipes/r.kdl", &recipes),
    ]);
    assert_code_in_every_format(&repo, &[], 1);
    let run = check(&repo, &[], None);
    assert!(
        run.stdout.contains("recipe job: drifted") && run.stdout.contains("recipe broken: error"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_recipe_sharing_a_file_with_another_recipes_error_is_still_checked_on_its_own() {
    let recipe = r#"
recipe "first" {
    file "vals.yaml" {
        set "/a/b" 1
    }
}
recipe "second" {
    file "vals.yaml" {
        set "/c" 2
    }
}
"#;
    // `/a` is a scalar: `first` cannot set `/a/b`; `second` does not depend on it and is
    // checked as if `first` were not there.
    let repo = Repo::new(&[("vals.yaml", "a: 5\nc: 1\n"), ("recipes/r.kdl", recipe)]);
    let run = check(&repo, &[], None);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("recipe first: error"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("recipe second: drifted (1 node in 1 file)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("vals.yaml:2:1: /c: expected 2, found 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn at_least_with_a_value_a_human_raised_is_not_drift() {
    let recipe = r#"
recipe "probes" {
    file "deploy.yaml" {
        each "/spec/containers/*" {
            at-least "livenessProbe/initialDelaySeconds" 30
            at-most "livenessProbe/periodSeconds" 20
        }
    }
}
"#;
    let deploy = |delay: u32, period: u32| {
        format!(
            "spec:\n  containers:\n    - name: web\n      livenessProbe:\n        initialDelaySeconds: {delay}\n        periodSeconds: {period}\n"
        )
    };
    // 45 >= 30 and 10 <= 20: a human's stricter values hold.
    let repo = Repo::new(&[("deploy.yaml", &deploy(45, 10)), ("recipes/r.kdl", recipe)]);
    assert_code_in_every_format(&repo, &[], 0);
    assert_eq!(
        check(&repo, &[], None).stdout,
        "recipe probes: holds (1 file)\n"
    );
    // Exactly the bound holds too.
    repo.write("deploy.yaml", &deploy(30, 20));
    assert_code_in_every_format(&repo, &[], 0);
    // Below the bound is drift, and says so.
    repo.write("deploy.yaml", &deploy(20, 10));
    let run = check(&repo, &[], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "deploy.yaml:5:9: /spec/containers/0/livenessProbe/initialDelaySeconds: expected 30, found 20"
        ),
        "{}",
        run.stdout
    );
}

/// Every drifted node kind in one repository, for the JSON snapshot.
fn mixed_repo() -> Repo {
    let recipes = r#"
recipe "job" {
    description "Retry the migrations"
    file "chart/job.yaml" {
        match "/kind" "Job"
        set "/spec/backoffLimit" 6
        set "/spec/activeDeadlineSeconds" 600
        remove "/spec/template/spec/hostNetwork"
    }
}
recipe "probes" {
    file "chart/deploy.yaml" {
        each "/spec/containers/*" {
            at-least "livenessProbe/initialDelaySeconds" 30
        }
    }
}
recipe "ci-values" {
    file "chart/values-ci.yaml" create=#true {
        set "/autoscaling/enabled" #false
    }
}
recipe "script" {
    text "migrate.py" {
        replace "now()" "timezone('UTC', updated_at)"
    }
}
recipe "other-chart" {
    file "charts/other/*.yaml" {
        set "/replicas" 1
    }
}
"#;
    let job = "\
kind: Job
spec:
  backoffLimit: 3
  template:
    spec:
      hostNetwork: true
      restartPolicy: Never
";
    let deploy = "\
spec:
  containers:
    - name: web
      livenessProbe:
        initialDelaySeconds: 45 # raised by hand
";
    Repo::new(&[
        ("chart/job.yaml", job),
        ("chart/deploy.yaml", deploy),
        ("migrate.py", "where = \"updated_at > now()\"\n"),
        ("recipes/r.kdl", recipes),
    ])
}

#[test]
fn json_report_snapshot() {
    let repo = mixed_repo();
    let run = check(&repo, &["--format", "json"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn json_report_of_an_error_snapshot() {
    let repo = Repo::new(&[("job.yaml", "a: [1\n"), ("recipes/r.kdl", JOB_RECIPE)]);
    let run = check(&repo, &["--format", "json"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn json_drift_matches_the_text_report_and_the_repair_plan() {
    let repo = mixed_repo();
    let v = json(&check(&repo, &["--format", "json"], None));
    let text = check(&repo, &[], None).stdout;
    for r in v["recipes"].as_array().expect("recipes") {
        for d in r["drift"].as_array().expect("drift") {
            let place = format!(
                "{}:{}:{}: ",
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"]
            );
            assert!(text.contains(&place), "{place} not in\n{text}");
        }
    }
    // The repair is exactly what `plan --format json` plans.
    let plan: Value =
        serde_json::from_str(&repo.run(&["plan", "--format", "json"]).stdout).expect("plan json");
    for (file, planned) in v["repair"]
        .as_array()
        .unwrap()
        .iter()
        .zip(plan["files"].as_array().unwrap())
    {
        assert_eq!(file["path"], planned["path"]);
        assert_eq!(file["documents"], planned["documents"]);
    }
}

#[test]
fn github_annotations_escape_properties_and_messages() {
    let recipe = r#"
recipe "note,with:comma" {
    file "a,b.yaml" {
        set "/msg" "100%: done"
    }
}
"#;
    let repo = Repo::new(&[("a,b.yaml", "msg: old\n"), ("recipes/r.kdl", recipe)]);
    let run = check(&repo, &["--format", "github"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation:\n{}", run.stdout));
    assert!(
        line.starts_with(
            "::error file=a%2Cb.yaml,line=1,col=1,title=patcher%3A note%2Cwith%3Acomma drifted::"
        ),
        "{line}"
    );
    // In the message only `%`, CR and LF are escaped.
    assert!(
        line.contains("/msg: expected \"100%25: done\", found \"old\"%0ARule: recipes/r.kdl:4:9."),
        "{line}"
    );
}

#[test]
fn annotations_point_at_current_lines_after_edits_elsewhere_in_the_file() {
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", JOB_RECIPE)]);
    assert_eq!(check(&repo, &[], None).code, 0);
    // A human adds lines above and, further down, puts a value back.
    let edited = format!(
        "# owner: platform team\n# see the runbook\n\n{}",
        JOB.replace("restartPolicy: OnFailure", "restartPolicy: Never")
    );
    repo.write("job.yaml", &edited);
    let line = 1 + edited
        .lines()
        .position(|l| l.contains("restartPolicy: Never"))
        .unwrap();
    assert_eq!(line, 10);
    let run = check(&repo, &["--format", "github"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "::error file=job.yaml,line={line},col=7,title=patcher%3A job drifted::Recipe `job` no longer holds: /spec/template/spec/restartPolicy: expected \"OnFailure\", found \"Never\""
        )),
        "{}",
        run.stdout
    );
    // The same line in every format.
    let v = json(&check(&repo, &["--format", "json"], None));
    assert_eq!(v["recipes"][0]["drift"][0]["line"], line);
    let s = json(&check(&repo, &["--format", "sarif"], None));
    assert_eq!(
        s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        line
    );
}

#[test]
fn step_summary_is_appended_not_overwritten() {
    let repo = Repo::new(&[
        ("job.yaml", &JOB.replace("6 # raised", "3 # raised")),
        ("recipes/r.kdl", JOB_RECIPE),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.md");
    let earlier = "## Build\n\nAll 42 tests passed."; // no final newline
    std::fs::write(&summary, earlier).expect("write");

    let run = check(&repo, &["--format", "github"], Some(&summary));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let after = std::fs::read_to_string(&summary).expect("read");
    assert!(after.starts_with(earlier), "{after}");
    assert_eq!(
        &after[earlier.len()..],
        "\n\n### patcher check: drift\n\n\
         | Recipe | Status | Where | Expected | Found |\n\
         | --- | --- | --- | --- | --- |\n\
         | `job` | drifted | `job.yaml:4` `/spec/backoffLimit` | `6` | `3` |\n\
         \nRun `patcher plan` to see the repair and `patcher apply` to make it.\n"
    );

    // A second check appends a second table after the first.
    repo.write("job.yaml", JOB);
    let run = check(&repo, &["--format", "github"], Some(&summary));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let again = std::fs::read_to_string(&summary).expect("read");
    assert!(again.starts_with(&after), "{again}");
    assert!(
        again[after.len()..].starts_with(
            "\n### patcher check: every recipe holds\n\n| Recipe | Status | Where | Expected | Found |\n"
        ),
        "{again}"
    );
    assert!(
        again.ends_with("| `job` | holds | 1 file |  |  |\n"),
        "{again}"
    );

    // Other formats leave the summary alone.
    for format in ["text", "json", "sarif"] {
        check(&repo, &["--format", format], Some(&summary));
    }
    assert_eq!(std::fs::read_to_string(&summary).expect("read"), again);
}

#[test]
fn step_summary_file_is_created_when_missing() {
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", JOB_RECIPE)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("new.md");
    let run = check(&repo, &["--format", "github"], Some(&summary));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&summary).expect("read");
    assert!(
        text.starts_with("### patcher check: every recipe holds\n"),
        "{text}"
    );
}

// --- SARIF -----------------------------------------------------------------------------------

/// The SARIF 2.1.0 schema in `tests/data` (see the README there), compiled with format
/// checks on (`uri`, `uri-reference`, `date-time` …).
fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the SARIF schema"))
            .expect("schema JSON");
    // The published schema's pattern for `language` (of `run` and `toolComponent`) has a
    // stray `]` (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`), which a strict regex engine
    // rejects when the schema itself is checked against its meta-schema with formats on. Use
    // its evident meaning (a language code, optionally with a region); patcher emits no
    // `language`.
    for def in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compile the SARIF schema")
}

fn assert_valid_sarif(v: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(v).unwrap()
    );
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    // The validator rejects what it should: the check is not vacuous.
    let validator = sarif_validator();
    assert!(!validator.is_valid(&serde_json::json!({"version": "2.1.0"})));
    assert!(!validator.is_valid(&serde_json::json!({"version": "2.0.0", "runs": []})));

    let repo = mixed_repo();
    let run = check(&repo, &["--format", "sarif"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let v = json(&run);
    assert_valid_sarif(&v);

    // One rule per recipe; results at the drifted lines, pointing at their rule.
    let report = json(&check(&repo, &["--format", "json"], None));
    let run0 = &v["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let names: Vec<&Value> = report["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(rules.iter().map(|r| &r["id"]).collect::<Vec<_>>(), names);
    let mut expected: Vec<(String, String, u64)> = Vec::new();
    for r in report["recipes"].as_array().unwrap() {
        for d in r["drift"].as_array().unwrap() {
            expected.push((
                r["name"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            ));
        }
    }
    let results: Vec<(String, String, u64)> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            let idx = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], r["ruleId"]);
            (
                r["ruleId"].as_str().unwrap().to_string(),
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                loc["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(results, expected);
    assert_eq!(run0["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_of_clean_and_failed_runs_validates_too() {
    let repo = Repo::new(&[("job.yaml", JOB), ("recipes/r.kdl", JOB_RECIPE)]);
    let clean = json(&check(&repo, &["--format", "sarif"], None));
    assert_valid_sarif(&clean);
    assert_eq!(clean["runs"][0]["results"], serde_json::json!([]));

    let repo = Repo::new(&[("job.yaml", "a: [1\n"), ("recipes/r.kdl", JOB_RECIPE)]);
    let failed = json(&check(&repo, &["--format", "sarif"], None));
    assert_valid_sarif(&failed);
    let inv = &failed["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(inv["toolExecutionNotifications"][0]["level"], "error");

    let repo = Repo::new(&[("recipes/r.kdl", "recipe {")]);
    let unloadable = json(&check(&repo, &["--format", "sarif"], None));
    assert_valid_sarif(&unloadable);
}

// --- The sample app ----------------------------------------------------------------------------

/// 1-based line of the first line of `path` containing `needle`.
fn line_of(repo: &Repo, path: &str, needle: &str) -> usize {
    1 + repo
        .read(path)
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {path}"))
}

#[test]
fn sample_app_drifts_then_holds_after_apply_then_drifts_at_the_edited_line() {
    let repo = sample_repo();
    let before = check(&repo, &[], None);
    assert_eq!(before.code, 2, "{}\n{}", before.stdout, before.stderr);
    for recipe in [
        "ci-no-hpa",
        "ci-timeouts",
        "k3d-metrics-server",
        "helm-deploy-flags",
        "migration-immutable-index",
        "migration-job",
        "probe-delays",
    ] {
        assert!(
            before.stdout.contains(&format!("recipe {recipe}: drifted")),
            "{recipe}:\n{}",
            before.stdout
        );
    }
    let backoff = line_of(&repo, "chart/templates/migrations.yaml", "backoffLimit: 3");
    assert!(
        before.stdout.contains(&format!(
            "chart/templates/migrations.yaml:{backoff}:3: /spec/backoffLimit: expected 6, found 3"
        )),
        "{}",
        before.stdout
    );
    // The human's 45 s liveness delay in viral-metrics is above 30: not drift.
    assert!(
        !before
            .stdout
            .contains("containers/0/livenessProbe/initialDelaySeconds: expected 30, found 45"),
        "{}",
        before.stdout
    );
    // The helm step comes after the step the k3d recipe inserts: its drift is sited at its
    // own `run:` in the file as it is, not at the step that will take its index.
    let helm_run = line_of(
        &repo,
        ".github/workflows/dev-ci.yml",
        "helm upgrade --install threads ./chart",
    ) - 1;
    assert!(
        before.stdout.contains(&format!(
            ".github/workflows/dev-ci.yml:{helm_run}:9: /jobs/deploy/steps/5/run: expected \"# patcher: retry 3x, 30s apart\", found \"helm upgrade --install threads ./chart \\\\\" (line 1 of the value)"
        )),
        "{}",
        before.stdout
    );

    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let after = check(&repo, &[], None);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert_eq!(
        after
            .stdout
            .lines()
            .filter(|l| l.contains(": holds ("))
            .count(),
        7,
        "{}",
        after.stdout
    );

    // Someone puts one value back by hand.
    let path = "chart/templates/migrations.yaml";
    repo.write(
        path,
        &repo
            .read(path)
            .replace("backoffLimit: 6", "backoffLimit: 2"),
    );
    let line = line_of(&repo, path, "backoffLimit: 2");
    let again = check(&repo, &[], None);
    assert_eq!(again.code, 2, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains(&format!(
            "recipe migration-job: drifted (1 node in 1 file)\n  {path}:{line}:3: /spec/backoffLimit: expected 6, found 2"
        )),
        "{}",
        again.stdout
    );
    assert_eq!(
        again.stdout.matches(": drifted").count(),
        1,
        "{}",
        again.stdout
    );
    let gh = check(&repo, &["--format", "github"], None);
    assert!(
        gh.stdout
            .contains(&format!("::error file={path},line={line},col=3,")),
        "{}",
        gh.stdout
    );
}

#[test]
fn drift_after_a_list_insertion_or_removal_is_sited_at_the_node_as_it_is_now() {
    let workflow = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Old
        run: echo old
      - name: A
        run: echo a
      - name: C
        run: echo c
";
    let sites = |rules: &str| {
        let recipe = format!(
            "recipe \"steps\" {{\n    file \".github/workflows/w.yml\" {{\n{rules}\n        step \"C\" {{\n            set \"timeout-minutes\" 5\n        }}\n    }}\n}}\n"
        );
        let repo = Repo::new(&[
            (".github/workflows/w.yml", workflow),
            ("recipes/r.kdl", &recipe),
        ]);
        let v = json(&check(&repo, &["--format", "json"], None));
        assert_eq!(v["exit_code"], 2, "{v}");
        v["recipes"][0]["drift"]
            .as_array()
            .expect("drift")
            .iter()
            .map(|d| {
                format!(
                    "{} {} {} (patch {})",
                    d["line"],
                    d["kind"].as_str().unwrap(),
                    d["pointer"].as_str().unwrap(),
                    d["patch"][0]["path"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    // An insertion before C: the patch addresses C as steps/3, the file has it at steps/2.
    assert_eq!(
        sites(
            r#"        insert-step after="A" (yaml)"""
            name: B
            run: echo b
            """"#
        ),
        [
            "10 missing /jobs/build/steps/2 (patch /jobs/build/steps/2)",
            "10 missing /jobs/build/steps/2/timeout-minutes (patch /jobs/build/steps/3/timeout-minutes)",
        ]
    );
    // A removal before C: the patch addresses C as steps/1 (which is A in the file).
    assert_eq!(
        sites(r#"        remove "/jobs/build/steps/[name=Old]""#),
        [
            "6 unwanted /jobs/build/steps/0 (patch /jobs/build/steps/0)",
            "10 missing /jobs/build/steps/2/timeout-minutes (patch /jobs/build/steps/1/timeout-minutes)",
        ]
    );
}

#[test]
fn a_recipe_whose_match_no_document_passed_is_not_applicable_rather_than_holding() {
    let repo = Repo::new(&[
        (
            "job.yaml",
            "apiVersion: batch/v1\nkind: Job\nspec:\n  backoffLimit: 3\n",
        ),
        (
            "recipes/r.kdl",
            "recipe \"dep\" {\n    file \"job.yaml\" {\n        match \"/kind\" \"Deployment\"\n        set \"/spec/x\" 1\n    }\n}\n",
        ),
    ]);
    let check = repo.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(
        check.stdout,
        "recipe dep: not applicable (no document matched in 1 file)\n"
    );
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr
            .starts_with("recipe dep: not applicable (no document matched in 1 file)\n"),
        "{}",
        plan.stderr
    );
}
