//! Recipe parameters and `use`: substitution (typed and text), instances of catalogue and
//! repository recipes, and the diagnostics for every mistake in them.

mod common;

use std::path::Path;

use patcher::recipe::{
    FileRule, ParamType, Recipe, RecipeError, RecipeSet, Rule, parse_set, parse_str,
};
use serde_json::{Value, json};

const FILE: &str = "recipes/web.kdl";
/// Fixture recipe files that `use` each other (paths are relative to the using file).
const DATA: &str = "tests/data/params";

fn parse(src: &str) -> Vec<Recipe> {
    match parse_str(Path::new(FILE), src) {
        Ok(recipes) => recipes,
        Err(err) => panic!("unexpected error:\n{}", err.render_plain()),
    }
}

fn error_at(file: &str, src: &str) -> RecipeError {
    match parse_str(Path::new(file), src) {
        Ok(recipes) => panic!("expected an error, got {recipes:#?}"),
        Err(err) => err,
    }
}

fn error(src: &str) -> RecipeError {
    error_at(FILE, src)
}

/// The only problem's `file:line:col: message`, checked to be the only one.
fn one(err: &RecipeError) -> String {
    assert_eq!(
        err.diagnostics().len(),
        1,
        "expected one problem:\n{}",
        err.render_plain()
    );
    err.to_string()
}

fn file_rule(recipe: &Recipe) -> &FileRule {
    &recipe.files[0]
}

fn set_value(rule: &Rule) -> &Value {
    match rule {
        Rule::Set { value, .. } => &value.value,
        other => panic!("not a set: {other:?}"),
    }
}

fn path_text(rule: &Rule) -> String {
    match rule {
        Rule::Set { path, .. } | Rule::Remove { path, .. } | Rule::AtLeast { path, .. } => {
            path.to_string()
        }
        other => panic!("no path: {other:?}"),
    }
}

// --- declarations and substitution ------------------------------------------------------

#[test]
fn defaults_are_substituted_typed_when_whole_and_as_text_inside_strings() {
    let recipes = parse(
        r#"recipe "r" {
    description "keeps {count} replicas in {dir}"
    param "dir" "chart" description="The chart's directory"
    param "count" 3
    param "ratio" 0.5
    param "on" #true
    param "key" "replicas"
    file "{dir}/templates/*.yaml" "{dir}/extra-{count}.yaml" values="{dir}/values-ci.yaml" {
        set "/spec/{key}" "{count}"
        set "/spec/ratio" "{ratio}"
        set "/spec/enabled" "{on}"
        set "/spec/label" "n{count}"
        set "/spec/snippet" (yaml)"""
            image: "app:{count}"
            note: "{{ .Values.{key} }} and {{key}}"
            """
    }
}"#,
    );
    let r = &recipes[0];
    assert_eq!(r.description.as_deref(), Some("keeps 3 replicas in chart"));
    let f = file_rule(r);
    assert_eq!(f.globs, ["chart/templates/*.yaml", "chart/extra-3.yaml"]);
    assert_eq!(f.values.as_deref(), Some("chart/values-ci.yaml"));
    assert_eq!(path_text(&f.rules[0]), "/spec/replicas");
    assert_eq!(set_value(&f.rules[0]), &json!(3));
    assert_eq!(set_value(&f.rules[1]), &json!(0.5));
    assert_eq!(set_value(&f.rules[2]), &json!(true));
    assert_eq!(set_value(&f.rules[3]), &json!("n3"));
    // Inside a snippet: text substitution, also inside a Helm template; a doubled brace
    // `{{key}}` is never a reference.
    assert_eq!(
        set_value(&f.rules[4]),
        &json!({"image": "app:3", "note": "{{ .Values.replicas }} and {{key}}"})
    );
    let params: Vec<(&str, ParamType, Option<&Value>)> = r
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.ty, p.default.as_ref()))
        .collect();
    assert_eq!(
        params,
        [
            ("dir", ParamType::String, Some(&json!("chart"))),
            ("count", ParamType::Int, Some(&json!(3))),
            ("ratio", ParamType::Float, Some(&json!(0.5))),
            ("on", ParamType::Bool, Some(&json!(true))),
            ("key", ParamType::String, Some(&json!("replicas"))),
        ]
    );
    assert_eq!(
        r.params[0].description.as_deref(),
        Some("The chart's directory")
    );
    assert_eq!(r.instance_of, None);
}

#[test]
fn undeclared_braces_stay_literal() {
    let recipes = parse(
        r#"recipe "r" {
    param "n" 1
    file "chart/*.{yaml,yml}" {
        set "/a" "{other}"
        set "/b" "${n}"
        set "/c" "{{n}}"
    }
}"#,
    );
    let f = file_rule(&recipes[0]);
    assert_eq!(f.globs, ["chart/*.{yaml,yml}"]);
    assert_eq!(set_value(&f.rules[0]), &json!("{other}"));
    // `${n}` is a reference inside a longer string (the shell's `$` stays).
    assert_eq!(set_value(&f.rules[1]), &json!("$1"));
    assert_eq!(set_value(&f.rules[2]), &json!("{{n}}"));
}

#[test]
fn a_number_parameter_substituted_whole_satisfies_at_least() {
    let recipes = parse(
        r#"recipe "r" {
    param "backoff" 6
    file "a.yaml" { at-least "/spec/backoffLimit" "{backoff}"; }
}"#,
    );
    match &file_rule(&recipes[0]).rules[0] {
        Rule::AtLeast { value, .. } => assert_eq!(value.to_string(), "6"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_recipe_with_a_required_parameter_is_a_template_and_does_not_run() {
    let set = parse_set(
        Path::new(FILE),
        r#"recipe "t" {
    param "host" type="string" description="The service to wait for"
    file "a.yaml" { set "/host" "{host}"; }
}
recipe "runs" {
    param "n" 2
    file "a.yaml" { set "/n" "{n}"; }
}"#,
    )
    .unwrap();
    let names = |rs: &[Recipe]| rs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&set.recipes), ["runs"]);
    assert_eq!(names(&set.templates), ["t"]);
    assert_eq!(set.templates[0].params[0].default, None);
    assert_eq!(set.templates[0].params[0].ty, ParamType::String);
}

#[test]
fn template_bodies_are_checked_with_placeholders() {
    let err = error(
        r#"recipe "t" {
    param "host" type="string"
    file "a.yaml" { at-least "/port" "{host}"; }
}"#,
    );
    assert_eq!(
        one(&err),
        "recipes/web.kdl:3:38: `at-least` needs a number, found a string"
    );
}

#[test]
fn bad_declarations_are_reported_at_the_param() {
    insta::assert_snapshot!(
        error(
            r#"recipe "r" {
    param "host"
    param "port" type="integr"
    param "name" "x"
    param "n" 1
    param "n" 2
    param "ratio" "x" type="float"
    param "nothing" #null
    param "bad name" 1
    file "a.yaml" { set "/a" 1; }
}"#
        )
        .render_plain()
    );
}

// --- use: the catalogue -------------------------------------------------------------------

#[test]
fn use_of_a_catalogue_recipe_is_an_instance_with_its_values() {
    let recipes = parse(
        r#"
use "catalog:job-retries" files="deploy/chart/templates/*.yaml" backoff=8
"#,
    );
    let r = &recipes[0];
    assert_eq!(r.name, "job-retries");
    assert_eq!(r.instance_of.as_deref(), Some("catalog:job-retries"));
    assert_eq!(
        (r.origin.file.as_path(), r.origin.line),
        (Path::new(FILE), 2)
    );
    let f = file_rule(r);
    assert_eq!(f.globs, ["deploy/chart/templates/*.yaml"]);
    // The rules' origins are lines of the catalogue recipe.
    assert_eq!(f.origin.file.as_path(), Path::new("catalog:job-retries"));
    match (&f.rules[0], &f.rules[1]) {
        (
            Rule::AtLeast { value, .. },
            Rule::Set {
                value: deadline, ..
            },
        ) => {
            assert_eq!(value.to_string(), "8");
            assert_eq!(deadline.value, json!(600));
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<&str> = r.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["files", "backoff", "deadline"]);
}

#[test]
fn two_instances_of_one_recipe_need_distinct_names() {
    let recipes = parse(
        r#"
use "catalog:job-retries" files="a/*.yaml"
use "catalog:job-retries" files="b/*.yaml" name="b-retries" deadline=60
"#,
    );
    let names: Vec<&str> = recipes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["job-retries", "b-retries"]);
    insta::assert_snapshot!(
        error(
            r#"use "catalog:job-retries" files="a/*.yaml"
use "catalog:job-retries" files="b/*.yaml"
"#
        )
        .render_plain()
    );
}

#[test]
fn unknown_catalogue_recipe_suggests_the_nearest_name() {
    let err = error(r#"use "catalog:job-retry" backoff=8"#);
    assert_eq!(
        one(&err),
        "recipes/web.kdl:1:5: no recipe `job-retry` in the catalogue"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn unknown_parameter_suggests_the_nearest_parameter() {
    let err = error(r#"use "catalog:job-retries" backof=8"#);
    assert_eq!(
        one(&err),
        "recipes/web.kdl:1:27: recipe `job-retries` has no parameter `backof`"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn wrong_type_says_expected_and_got() {
    let err = error(r#"use "catalog:job-retries" backoff="8""#);
    assert_eq!(
        one(&err),
        "recipes/web.kdl:1:27: wrong type for `backoff`: expected an integer, got a string"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn a_float_parameter_takes_an_integer() {
    let src = r#"recipe "t" {
    param "ratio" type="float"
    file "a.yaml" { set "/r" "{ratio}"; }
}"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.kdl"), src).unwrap();
    let main = dir.path().join("main.kdl");
    let recipes = parse_str(&main, r#"use "t.kdl:t" ratio=2"#).unwrap();
    assert_eq!(set_value(&file_rule(&recipes[0]).rules[0]), &json!(2.0));
}

#[test]
fn a_bad_substituted_value_points_at_the_use_and_names_the_recipe_line() {
    let err = error(r#"use "catalog:job-retries" files="../chart/*.yaml""#);
    assert_eq!(
        one(&err),
        "recipes/web.kdl:1:27: `../chart/*.yaml` has a `..` segment: paths must stay inside \
         the repository root (in the value of `files`, used at catalog:job-retries:6:10)"
    );
    insta::assert_snapshot!(err.render_plain());
}

// --- use: recipes of other files -----------------------------------------------------------

fn data(file: &str) -> String {
    format!("{DATA}/{file}")
}

fn load_data(file: &str) -> Result<RecipeSet, RecipeError> {
    let path = data(file);
    let src = std::fs::read_to_string(&path).unwrap();
    parse_set(Path::new(&path), &src)
}

#[test]
fn use_of_repository_recipes_templates_and_presets() {
    let set = load_data("main.kdl").unwrap_or_else(|e| panic!("{}", e.render_plain()));
    let summary: Vec<(String, Option<String>)> = set
        .recipes
        .iter()
        .map(|r| (r.name.clone(), r.instance_of.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "web-probes".to_string(),
                Some("templates.kdl:web-probes".to_string())
            ),
            (
                "short-timeouts".to_string(),
                Some("templates.kdl:strict-timeouts".to_string())
            ),
            (
                "strict-retries".to_string(),
                Some("catalog:job-retries".to_string())
            ),
        ]
    );
    let probes = file_rule(&set.recipes[0]);
    assert_eq!(
        probes.matches[1].value,
        json!("api"),
        "the required parameter is the use's value"
    );
    assert_eq!(set_value(&probes.rules[0]), &json!(20));
    match &file_rule(&set.recipes[1]).rules[0] {
        Rule::Each { rules, .. } => assert_eq!(set_value(&rules[0]), &json!(10)),
        other => panic!("{other:?}"),
    }
    // The preset's values (backoff 10, deadline 900) under this use's `files`.
    let retries = file_rule(&set.recipes[2]);
    assert_eq!(retries.globs, ["deploy/*.yaml"]);
    match (&retries.rules[0], &retries.rules[1]) {
        (Rule::AtLeast { value, .. }, Rule::Set { value: d, .. }) => {
            assert_eq!(
                (value.to_string(), &d.value),
                ("10".to_string(), &json!(900))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(set.recipes[0].origin.line, 1);
    assert_eq!(
        set.recipes[0].origin.file.as_path(),
        Path::new("tests/data/params/main.kdl")
    );
}

#[test]
fn a_template_file_alone_runs_its_default_only_recipes_and_its_uses() {
    let set = load_data("templates.kdl").unwrap();
    let names: Vec<&str> = set.recipes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["strict-timeouts", "strict-retries"]);
    assert_eq!(set.templates[0].name, "web-probes");
}

#[test]
fn missing_required_parameter_is_an_error_at_the_use() {
    let err = error_at(&data("x.kdl"), r#"use "templates.kdl:web-probes" delay=5"#);
    assert_eq!(
        one(&err),
        "tests/data/params/x.kdl:1:1: recipe `web-probes` needs `deployment` (string: The \
         Deployment's metadata.name), which this `use` does not give"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn unknown_recipe_of_a_file_lists_or_suggests_its_recipes() {
    let err = error_at(&data("x.kdl"), r#"use "templates.kdl:web-probe""#);
    assert_eq!(
        one(&err),
        "tests/data/params/x.kdl:1:5: no recipe `web-probe` in tests/data/params/templates.kdl"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn a_missing_file_or_a_target_without_a_recipe_name_is_an_error() {
    let err = error_at(&data("x.kdl"), r#"use "nope.kdl:r""#);
    assert!(
        one(&err)
            .starts_with("tests/data/params/x.kdl:1:5: cannot read tests/data/params/nope.kdl:"),
        "{err}"
    );
    let err = error(r#"use "job-retries""#);
    assert_eq!(
        one(&err),
        "recipes/web.kdl:1:5: `job-retries` does not name a recipe"
    );
}

#[test]
fn a_cycle_of_file_uses_is_an_error() {
    let err = load_data("cycle-a.kdl").unwrap_err();
    let text = one(&err);
    assert!(text.contains("`use` cycle:"), "{text}");
    insta::assert_snapshot!(err.render_plain());
}

// --- end to end -----------------------------------------------------------------------------

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: app:1.0
";

#[test]
fn a_catalogue_instance_plans_applies_and_then_holds() {
    let repo = common::Repo::new(&[
        ("deploy/chart/templates/job.yaml", JOB),
        (
            "recipes/patcher.kdl",
            "use \"catalog:job-retries\" files=\"deploy/chart/templates/*.yaml\" backoff=8\n",
        ),
    ]);
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("+  backoffLimit: 8"),
        "{}",
        plan.stdout
    );
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    let job = repo.read("deploy/chart/templates/job.yaml");
    assert!(job.contains("  backoffLimit: 8\n"), "{job}");
    assert!(job.contains("  activeDeadlineSeconds: 600\n"), "{job}");
    let again = repo.run(&["plan"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn a_bad_use_exits_1_and_writes_nothing() {
    let repo = common::Repo::new(&[
        ("deploy/chart/templates/job.yaml", JOB),
        (
            "recipes/patcher.kdl",
            "use \"catalog:job-retries\" files=\"deploy/chart/templates/*.yaml\" backoff=\"8\"\n",
        ),
    ]);
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("wrong type for `backoff`"),
        "{}",
        apply.stderr
    );
    assert_eq!(repo.read("deploy/chart/templates/job.yaml"), JOB);
}

#[test]
fn a_saved_plan_is_refused_when_a_used_recipe_file_changed() {
    let templates = "recipe \"timeouts\" {\n    param \"minutes\" type=\"int\"\n    file \"w.yml\" { each \"/jobs/*\" { set \"timeout-minutes\" \"{minutes}\"; }; }\n}\n";
    let repo = common::Repo::new(&[
        ("w.yml", "jobs:\n  a:\n    runs-on: x\n"),
        ("recipes/templates.kdl", templates),
        (
            "recipes/main.kdl",
            "use \"templates.kdl:timeouts\" minutes=10\n",
        ),
    ]);
    let plan = repo.root().join("plan.json");
    let plan = plan.to_str().unwrap();
    let saved = repo.run(&["plan", "--out", plan]);
    assert_eq!(saved.code, 2, "{}{}", saved.stdout, saved.stderr);
    repo.write(
        "recipes/templates.kdl",
        &templates.replace("timeout-minutes", "timeout"),
    );
    let apply = repo.run(&["apply", plan, "--in-place"]);
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stderr
            .contains("recipe file recipes/templates.kdl changed since the plan was saved"),
        "{}",
        apply.stderr
    );
    assert_eq!(repo.read("w.yml"), "jobs:\n  a:\n    runs-on: x\n");
}

#[test]
fn two_templates_of_one_name_in_a_file_are_an_error() {
    let err = error(
        r#"recipe "t" {
    param "a" type="int"
    file "x.yaml" { set "/a" "{a}"; }
}
recipe "t" {
    param "b" type="int"
    file "x.yaml" { set "/b" "{b}"; }
}"#,
    );
    assert_eq!(
        one(&err),
        "recipes/web.kdl:5:8: duplicate recipe name `t`: it is already defined at recipes/web.kdl:1:1"
    );
}

#[test]
fn a_mistake_in_a_used_file_that_is_also_loaded_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.kdl"),
        "recipe \"t\" {\n    param \"n\" type=\"int\"\n    file \"x.yaml\" { sett \"/a\" \"{n}\"; }\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("u.kdl"), "use \"t.kdl:t\" n=1\n").unwrap();
    let err = patcher::recipe::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(
        one(&err).contains("t.kdl:3:21: unknown node `sett` inside `file`"),
        "{err}"
    );
}

#[test]
fn invalid_yaml_from_a_supplied_value_points_at_the_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.kdl"),
        "recipe \"sidecar\" {\n    param \"image\" type=\"string\"\n    file \"x.yaml\" {\n        ensure \"/containers\" key=\"name\" (yaml)\"\"\"\n            name: sidecar\n            image: {image}\n            \"\"\"\n    }\n}\n",
    )
    .unwrap();
    let main = dir.path().join("main.kdl");
    let err = parse_str(&main, "use \"t.kdl:sidecar\" image=\"a: b: c\"\n").unwrap_err();
    let text = one(&err);
    assert!(
        text.starts_with(&format!("{}:1:21: invalid YAML", main.display())),
        "{text}"
    );
    assert!(
        text.ends_with(
            "(in the value of `image`, used at {}:4:41)"
                .replace("{}", &dir.path().join("t.kdl").display().to_string())
                .as_str()
        ),
        "{text}"
    );
}

#[test]
fn a_reference_one_typo_from_a_parameter_is_an_error() {
    let err = error(
        r#"recipe "r" {
    param "backoff" 6
    file "a.yaml" { at-least "/spec/backoffLimit" "{backof}"; set "/b" "{other}"; }
}"#,
    );
    assert_eq!(
        one(&err),
        "recipes/web.kdl:3:51: `{backof}` is not a parameter of this recipe"
    );
    insta::assert_snapshot!(err.render_plain());
}

#[test]
fn braces_near_a_short_parameter_name_are_left_alone() {
    let recipes = parse(
        r#"recipe "r" {
    param "n" 1
    file "a.yaml" { set "/a" "{x}"; }
}"#,
    );
    assert_eq!(set_value(&file_rule(&recipes[0]).rules[0]), &json!("{x}"));
}
