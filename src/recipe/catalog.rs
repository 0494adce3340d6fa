//! The recipe catalogue: known CI reliability fixes, compiled into the binary and used with
//! `use "catalog:NAME" KEY=VALUE...`. One recipe per `catalog/NAME.kdl`, parsed on demand.

use std::path::PathBuf;

use super::model::Recipe;
use super::parse::{Catalog, RecipeError, parse_set};

/// Every catalogue recipe: (name, KDL source). Sorted by name; a test checks that this
/// matches the files in `catalog/`.
const CATALOG: &[(&str, &str)] = &[
    (
        "deploy-concurrency",
        include_str!("../../catalog/deploy-concurrency.kdl"),
    ),
    (
        "helm-upgrade-retry",
        include_str!("../../catalog/helm-upgrade-retry.kdl"),
    ),
    (
        "helm-upgrade-wait",
        include_str!("../../catalog/helm-upgrade-wait.kdl"),
    ),
    (
        "hpa-off-in-ci",
        include_str!("../../catalog/hpa-off-in-ci.kdl"),
    ),
    ("job-retries", include_str!("../../catalog/job-retries.kdl")),
    (
        "job-timeout-minutes",
        include_str!("../../catalog/job-timeout-minutes.kdl"),
    ),
    (
        "k3d-metrics-server",
        include_str!("../../catalog/k3d-metrics-server.kdl"),
    ),
    (
        "metrics-server-insecure-tls",
        include_str!("../../catalog/metrics-server-insecure-tls.kdl"),
    ),
    (
        "pin-image-tag",
        include_str!("../../catalog/pin-image-tag.kdl"),
    ),
    (
        "probe-delays",
        include_str!("../../catalog/probe-delays.kdl"),
    ),
    (
        "startup-probe",
        include_str!("../../catalog/startup-probe.kdl"),
    ),
    (
        "wait-for-service",
        include_str!("../../catalog/wait-for-service.kdl"),
    ),
];

/// The compiled-in catalogue, as the parser looks recipes up in it.
pub struct Builtin;

impl Catalog for Builtin {
    fn source(&self, name: &str) -> Option<&str> {
        source(name)
    }

    fn names(&self) -> Vec<&str> {
        names().collect()
    }
}

/// The catalogue's recipe names, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|(name, _)| *name)
}

/// The KDL source of catalogue recipe `name`.
pub fn source(name: &str) -> Option<&'static str> {
    CATALOG
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| *src)
}

/// The path diagnostics and origins use for catalogue recipe `name`.
pub fn file(name: &str) -> PathBuf {
    PathBuf::from(format!("catalog:{name}"))
}

/// Catalogue recipe `name`, parsed with its defaults (or, when it has a required parameter,
/// checked with placeholders: see [`super::RecipeSet::templates`]); `None` when there is no
/// such recipe.
pub fn recipe(name: &str) -> Option<Result<Recipe, RecipeError>> {
    let set = parse_set(&file(name), source(name)?, &Builtin);
    set.map(|set| {
        // One recipe per file, named after the file (tested).
        set.recipes
            .into_iter()
            .chain(set.templates)
            .find(|r| r.name == name)
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_catalog_is_registered_under_its_name_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let registered: Vec<&str> = names().collect();
        assert_eq!(on_disk, registered, "catalog/ and CATALOG differ");
        for name in names() {
            let from_disk = std::fs::read_to_string(dir.join(format!("{name}.kdl"))).unwrap();
            assert_eq!(source(name), Some(from_disk.as_str()));
            let set = parse_set(&file(name), &from_disk, &Builtin)
                .unwrap_or_else(|e| panic!("catalog:{name}:\n{}", e.render_plain()));
            let all: Vec<&Recipe> = set.recipes.iter().chain(&set.templates).collect();
            assert_eq!(
                all.len(),
                1,
                "catalog/{name}.kdl must define exactly one recipe"
            );
            assert_eq!(all[0].name, name, "catalog/{name}.kdl defines another name");
            let description = all[0].description.as_deref().unwrap_or("");
            assert!(
                !description.is_empty(),
                "catalog:{name} needs a description"
            );
        }
    }

    #[test]
    fn catalogue_names_are_sorted_and_unique() {
        let names: Vec<&str> = names().collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn job_retries_parses_with_its_typed_defaults() {
        let job = recipe("job-retries").unwrap().unwrap();
        assert_eq!(job.files[0].globs, ["chart/templates/*.yaml"]);
        let kinds: Vec<String> = job.files[0]
            .rules
            .iter()
            .map(|r| format!("{r:?}"))
            .collect();
        assert!(
            kinds[0].contains("AtLeast") && kinds[0].contains("6"),
            "{kinds:?}"
        );
        assert!(kinds[1].contains("Number(600)"), "{kinds:?}");
        assert!(recipe("no-such").is_none());
    }
}
