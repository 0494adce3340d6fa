//! `patcher recipes list|show`: the catalogue and the repository's recipes, as text and JSON.

mod common;

use common::Repo;
use patcher::recipe::catalog;

const OWN: &str = r#"// The team's own recipes.
recipe "replicas" {
    description "Two replicas survive a node drain. Without them the deploy is down while one restarts."
    file "chart/templates/deployment.yaml" { match "/kind" "Deployment"; at-least "/spec/replicas" 2; }
}

recipe "wait-for" {
    description "The app waits for a service before it starts"
    param "host" type="string" description="The service's host name"
    param "port" 5432
    file "chart/templates/deployment.yaml" {
        set "/metadata/annotations/wait-for" "{host}:{port}"
    }
}

use "catalog:job-retries" name="migration-retries" files="chart/templates/migrations.yaml" backoff=8
"#;

fn repo() -> Repo {
    Repo::new(&[("recipes/own.kdl", OWN)])
}

/// Runs `patcher recipes ...` (without the `--color` flag `Repo::run` adds: `recipes`
/// prints no colours).
fn recipes(repo: &Repo, args: &[&str]) -> common::Run {
    let out = std::process::Command::new(common::bin())
        .arg("recipes")
        .args(args)
        .arg("--root")
        .arg(repo.root())
        .output()
        .expect("run patcher");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr)
            .replace(&repo.root().display().to_string(), "<root>"),
    }
}

fn ok(run: common::Run) -> String {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn list_shows_the_catalogue_and_the_repository_recipes() {
    let out = ok(recipes(&repo(), &["list"]));
    for name in catalog::names() {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{name} ")) && l.contains(" catalog ")),
            "catalogue recipe {name} missing:\n{out}"
        );
    }
    insta::assert_snapshot!(out);
}

#[test]
fn list_as_json_has_the_schema_and_every_recipe() {
    let out = ok(recipes(&repo(), &["list", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "patcher.recipes/v1");
    let instance = v["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "migration-retries")
        .expect("the instance is listed");
    assert_eq!(
        instance["args"],
        serde_json::json!({"files": "chart/templates/migrations.yaml", "backoff": 8, "deadline": 600})
    );
    let kinds: Vec<(String, String)> = v["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["from"] == "repository")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("replicas".to_string(), "recipe".to_string()),
            ("wait-for".to_string(), "template".to_string()),
            ("migration-retries".to_string(), "instance".to_string()),
        ]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn show_gives_description_parameters_and_kdl() {
    let repo = repo();
    insta::assert_snapshot!("show_template", ok(recipes(&repo, &["show", "wait-for"])));
    insta::assert_snapshot!(
        "show_instance",
        ok(recipes(&repo, &["show", "migration-retries"]))
    );
    insta::assert_snapshot!(
        "show_catalogue",
        ok(recipes(&repo, &["show", "catalog:job-retries"]))
    );
}

#[test]
fn show_as_json_includes_the_kdl() {
    let out = ok(recipes(&repo(), &["show", "wait-for", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "patcher.recipes/v1");
    assert!(
        v["recipe"]["kdl"]
            .as_str()
            .unwrap()
            .starts_with("recipe \"wait-for\" {")
    );
    insta::assert_snapshot!(out);
}

#[test]
fn show_of_an_unknown_name_suggests_one_and_exits_1() {
    let run = recipes(&repo(), &["show", "job-retrie"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: no recipe `job-retrie`; did you mean `job-retries`? `patcher recipes list` shows them all\n"
    );
}

#[test]
fn a_repository_without_recipes_lists_the_catalogue() {
    let out = ok(recipes(&Repo::new(&[("README.md", "x\n")]), &["list"]));
    assert_eq!(out.lines().count(), 1 + catalog::names().count(), "{out}");
}

#[test]
fn bad_recipes_are_an_error_naming_file_and_line() {
    let repo = Repo::new(&[("recipes/bad.kdl", "use \"catalog:job-retries\" backof=1\n")]);
    let run = recipes(&repo, &["list"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("recipes/bad.kdl:1:27: recipe `job-retries` has no parameter `backof`"),
        "{}",
        run.stderr
    );
}
