//! `patcher check --format sarif`: a SARIF 2.1.0 log for code scanning. One rule per recipe
//! (id = recipe name), one `error` result per drifted node at its line; errors and warnings
//! of the run are tool notifications (`executionSuccessful` is false on errors).
//!
//! Paths are relative to `--root` (`uriBaseId` `%SRCROOT%`): run the check from the
//! repository root for code scanning to place the results.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::drift::{CheckReport, Drift, Status};
use crate::finding::Finding;

/// The `$schema` of the log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log.
pub fn sarif(report: &CheckReport) -> Value {
    let rules: Vec<Value> = report
        .recipes
        .iter()
        .map(|r| {
            let short = format!("Recipe `{}` holds", r.name);
            let full = r.description.clone().unwrap_or_else(|| short.clone());
            let mut rule = json!({
                "id": r.name,
                "name": rule_name(&r.name),
                "shortDescription": {"text": short},
                "fullDescription": {"text": full},
                "help": {
                    "text": format!("{full}\n\nDefined at {}. `patcher plan` shows the repair and `patcher apply` makes it.", r.origin),
                    "markdown": format!("{full}\n\nDefined at `{}`. `patcher plan` shows the repair and `patcher apply` makes it.", r.origin),
                },
                "defaultConfiguration": {"level": "error"},
                "properties": {
                    "tags": ["patcher", "drift"],
                    "origin": r.origin,
                    "status": r.status.as_str(),
                },
            });
            if r.status == Status::Drifted {
                rule["properties"]["drifted_nodes"] = json!(r.drift.len());
            }
            rule
        })
        .collect();
    let mut results = Vec::new();
    for (index, r) in report.recipes.iter().enumerate() {
        for d in &r.drift {
            results.push(result(&r.name, index, d));
        }
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|f| notification("error", f))
        .chain(report.warnings.iter().map(|f| notification("warning", f)))
        .chain(report.unchecked.iter().map(|f| notification("warning", f)))
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "patcher",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "exitCode": report.exit_code(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn result(recipe: &str, rule_index: usize, d: &Drift) -> Value {
    let mut v = json!({
        "ruleId": recipe,
        "ruleIndex": rule_index,
        "level": "error",
        "kind": "fail",
        "message": {"text": format!("Recipe `{recipe}` no longer holds: {}", d.describe_with_via())},
        "locations": [location(&d.file, d.line, Some(d.col))],
        "partialFingerprints": {
            "patcherDrift/v1": fingerprint(&[recipe, &d.file, d.pointer.as_deref().or(d.edit.as_deref()).unwrap_or("")]),
        },
        "properties": {
            "kind": d.kind.as_str(),
            "pointer": d.pointer,
            "document": d.document,
            "expected": d.expected,
            "found": d.found,
            "edit": d.edit,
            "rule": d.rule,
            "patch": d.ops,
        },
    });
    let mut related = Vec::new();
    if let Some(rel) = recipe_location(&d.rule) {
        let mut rel = rel;
        rel["id"] = json!(0);
        rel["message"] = json!({"text": "the recipe rule that asks for it"});
        related.push(rel);
    }
    // A values-fed field: the template line that reads the value (or the define's line).
    if let Some(via) = &d.via {
        let (file, line) = via
            .define
            .as_ref()
            .map_or((via.template.as_str(), via.line), |d| {
                (d.file.as_str(), d.line)
            });
        let mut rel = location(file, line, None);
        rel["id"] = json!(related.len());
        rel["message"] = json!({"text": format!("renders it as {}", via.pointer)});
        related.push(rel);
        v["properties"]["via"] = json!(via);
    }
    if !related.is_empty() {
        v["relatedLocations"] = json!(related);
    }
    v
}

fn location(file: &str, line: usize, col: Option<usize>) -> Value {
    let mut region = json!({"startLine": line.max(1)});
    if let Some(c) = col {
        region["startColumn"] = json!(c.max(1));
    }
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(file), "uriBaseId": "%SRCROOT%"},
        "region": region,
    }})
}

/// `recipes/x.kdl:6:9` → a location, when the recipe file lies under the root.
fn recipe_location(origin: &str) -> Option<Value> {
    let mut parts = origin.rsplitn(3, ':');
    let col: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    // `catalog:NAME` (a catalogue recipe's rule) is no file of the repository.
    if file.is_empty()
        || file.starts_with('/')
        || file.contains('\\')
        || file.contains("..")
        || file.contains(':')
    {
        return None;
    }
    Some(location(file, line, Some(col)))
}

fn notification(level: &str, f: &Finding) -> Value {
    let mut text = String::new();
    if !f.recipe.is_empty() {
        text.push_str(&format!("recipe `{}` ({}): ", f.recipe, f.origin));
    }
    text.push_str(&f.message);
    let mut n = json!({"level": level, "message": {"text": text}});
    if let Some(file) = &f.file {
        n["locations"] = json!([{"physicalLocation": {
            "artifactLocation": {"uri": uri(file), "uriBaseId": "%SRCROOT%"},
        }}]);
    }
    n
}

/// A relative path as a URI reference: everything but unreserved characters and `/`
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `migration-job` → `MigrationJob` (SARIF's `name` is an identifier-like rule name).
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// A stable identity for a drifted node across line moves: recipe, file and node.
fn fingerprint(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\u{0}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            uri("chart/templates/a b.yaml"),
            "chart/templates/a%20b.yaml"
        );
        assert_eq!(uri(".github/workflows/x.yml"), ".github/workflows/x.yml");
    }

    #[test]
    fn recipe_origins_become_locations_inside_the_root_only() {
        let loc = recipe_location("recipes/x.kdl:6:9").expect("relative");
        assert_eq!(
            loc["physicalLocation"]["region"],
            json!({"startLine": 6, "startColumn": 9})
        );
        assert!(recipe_location("/tmp/x.kdl:6:9").is_none());
        assert!(recipe_location("nonsense").is_none());
        assert!(recipe_location("catalog:job-retries:6:9").is_none());
    }

    #[test]
    fn rule_names_are_identifiers() {
        assert_eq!(rule_name("migration-job"), "MigrationJob");
        assert_eq!(rule_name("ci_no hpa"), "CiNoHpa");
    }
}
