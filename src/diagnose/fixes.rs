//! From the recipe names a signature gives to the recipes a repository has: a recipe of that
//! name, else recipes instantiated from that catalogue recipe (`instance_of`) or declaring
//! `implements "NAME"`, else the catalogue recipe itself (not checked: `patcher init`
//! proposes it). Whether a repository recipe holds is the planner's answer, as `check` gives
//! it.

use crate::recipe::RecipeSet;
use crate::report::drift::{CheckReport, Status};

/// One recipe that fixes a cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub name: String,
    /// `"catalog"`, or the recipe's `file:line` relative to the root.
    pub origin: String,
    /// The catalogue recipe this repository recipe stands for, when its name differs.
    pub for_catalog: Option<String>,
    /// `Some(true)` holds, `Some(false)` drifted, `None` not checked or not decidable.
    pub holds: Option<bool>,
    /// `holds`, `drifted`, `not_applicable`, `error`, `unchecked`, `not_checked` or
    /// `not_in_repository`.
    pub status: String,
    pub hint: Option<String>,
}

/// The repository's recipes and `check`'s verdict on each, when diagnosing inside one.
pub struct Repository<'a> {
    pub recipes: &'a RecipeSet,
    pub check: Option<&'a CheckReport>,
}

/// The fixes for a cause's recipe names, each repository recipe once, in the names' order.
pub fn resolve(names: &[String], repo: Option<&Repository<'_>>) -> Vec<Fix> {
    let mut out: Vec<Fix> = Vec::new();
    for name in names {
        let found: Vec<_> = repo
            .map(|r| {
                let by_name: Vec<_> = r
                    .recipes
                    .recipes
                    .iter()
                    .filter(|x| &x.name == name)
                    .collect();
                if !by_name.is_empty() {
                    return by_name;
                }
                let catalog = format!("catalog:{name}");
                r.recipes
                    .recipes
                    .iter()
                    .filter(|x| {
                        x.instance_of.as_deref() == Some(catalog.as_str())
                            || x.implements.iter().any(|i| i == name)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if found.is_empty() {
            out.push(Fix {
                name: name.clone(),
                origin: "catalog".into(),
                for_catalog: None,
                holds: None,
                status: "not_in_repository".into(),
                hint: Some("not in your recipes: `patcher init` proposes it".into()),
            });
            continue;
        }
        for recipe in found {
            if out
                .iter()
                .any(|f| f.name == recipe.name && f.origin != "catalog")
            {
                continue;
            }
            let checked = repo
                .and_then(|r| r.check)
                .and_then(|c| c.recipes.iter().find(|x| x.name == recipe.name));
            let (holds, status, origin) = match checked {
                Some(c) => (
                    match c.status {
                        Status::Holds => Some(true),
                        Status::Drifted => Some(false),
                        _ => None,
                    },
                    c.status.as_str().to_string(),
                    c.origin.clone(),
                ),
                None => (None, "not_checked".into(), recipe.origin.to_string()),
            };
            out.push(Fix {
                name: recipe.name.clone(),
                origin: without_column(&origin),
                for_catalog: (recipe.name != *name).then(|| name.clone()),
                holds,
                hint: match holds {
                    Some(false) => Some("`patcher apply` makes it hold".into()),
                    _ => None,
                },
                status,
            });
        }
    }
    out
}

/// `recipes/ci.kdl:3:1` → `recipes/ci.kdl:3`.
fn without_column(origin: &str) -> String {
    match origin.rsplit_once(':') {
        Some((rest, col))
            if col.bytes().all(|b| b.is_ascii_digit())
                && rest.rsplit_once(':').is_some_and(|(_, l)| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())
                }) =>
        {
            rest.to_string()
        }
        _ => origin.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn set(src: &str) -> RecipeSet {
        RecipeSet {
            recipes: crate::recipe::parse_str(Path::new("recipes/r.kdl"), src).unwrap(),
            templates: Vec::new(),
        }
    }

    #[test]
    fn names_resolve_by_name_then_implements_then_catalogue() {
        let recipes = set(r#"
recipe "probe-delays" { file "a.yaml" { set "/a" 1; }; }
recipe "migration-job" {
    implements "job-retries" "wait-for-service"
    file "b.yaml" { set "/b" 1; }
}
"#);
        let repo = Repository {
            recipes: &recipes,
            check: None,
        };
        let names: Vec<String> = [
            "probe-delays",
            "job-retries",
            "wait-for-service",
            "startup-probe",
        ]
        .map(String::from)
        .to_vec();
        let fixes = resolve(&names, Some(&repo));
        let shown: Vec<(&str, &str, Option<&str>)> = fixes
            .iter()
            .map(|f| (f.name.as_str(), f.origin.as_str(), f.for_catalog.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("probe-delays", "recipes/r.kdl:2", None),
                ("migration-job", "recipes/r.kdl:3", Some("job-retries")),
                ("startup-probe", "catalog", None),
            ]
        );
        assert_eq!(fixes[2].status, "not_in_repository");
    }

    #[test]
    fn an_instance_of_a_catalogue_recipe_stands_for_it() {
        let mut recipes = set(r#"recipe "retries" { file "a.yaml" { set "/a" 1; }; }"#);
        recipes.recipes[0].instance_of = Some("catalog:job-retries".into());
        let repo = Repository {
            recipes: &recipes,
            check: None,
        };
        let fixes = resolve(&["job-retries".to_string()], Some(&repo));
        assert_eq!(fixes[0].name, "retries");
        assert_eq!(fixes[0].for_catalog.as_deref(), Some("job-retries"));
    }

    #[test]
    fn outside_a_repository_every_fix_is_the_catalogues() {
        let fixes = resolve(&["job-retries".to_string()], None);
        assert_eq!(fixes[0].origin, "catalog");
        assert_eq!(fixes[0].holds, None);
    }
}
