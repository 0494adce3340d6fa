//! The text patcher writes for reviewers: the branch slug, the commit message (with its
//! `Patcher-Recipes:` trailer) and the pull request body. Pure functions of the recipes and
//! the outcome; never touches the repository.

use crate::git;
use crate::outcome::Outcome;
use crate::recipe::RecipeSet;
use crate::saved_plan::sha256_hex;
use crate::wrap::wrap;

/// The branch slug: the selected recipe names, sorted, joined; long selections are shortened
/// and made unique with a hash of all the names.
pub fn slug(names: &[&str]) -> String {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let clean = |s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches(|c| c == '-' || c == '.').to_string()
    };
    let parts: Vec<String> = sorted
        .iter()
        .map(|n| clean(n))
        .filter(|s| !s.is_empty())
        .collect();
    let joined = parts.join("-");
    if joined.is_empty() {
        return "recipes".into();
    }
    if joined.len() <= 48 {
        return joined;
    }
    let hash = sha256_hex(sorted.join("\n").as_bytes());
    let first: String = parts[0].chars().take(24).collect();
    let first = first.trim_end_matches('-');
    if parts.len() == 1 {
        format!("{first}-{}", &hash[..8])
    } else {
        format!("{first}-and-{}-more-{}", parts.len() - 1, &hash[..8])
    }
}

/// The commit subject (also the pull request title) and the whole message; files that
/// `--keep-going` left refused are listed with their reasons, for the reviewer.
pub fn commit_message(recipes: &RecipeSet, outcome: &Outcome) -> (String, String) {
    let changes = &outcome.changes;
    let mut used: Vec<(&str, Option<&str>, Vec<&str>)> = Vec::new();
    for r in &recipes.recipes {
        let files: Vec<&str> = changes
            .iter()
            .filter(|c| c.recipes().contains(&r.name))
            .map(|c| c.path.as_str())
            .collect();
        if !files.is_empty() {
            used.push((r.name.as_str(), r.description.as_deref(), files));
        }
    }
    let names: Vec<&str> = used.iter().map(|(n, _, _)| *n).collect();
    let mut subject = format!("patcher: {}", names.join(", "));
    if subject.len() > 72 {
        subject = format!("patcher: apply {} recipes", names.len());
    }
    let mut msg = format!("{subject}\n");
    for (name, description, files) in &used {
        msg.push('\n');
        msg.push_str(name);
        msg.push('\n');
        if let Some(d) = description {
            for line in wrap(d, 70) {
                msg.push_str(&format!("  {line}\n"));
            }
        }
        for f in files {
            msg.push_str(&format!("  changed: {f}\n"));
        }
    }
    let refused = outcome.refused();
    if !refused.is_empty() {
        msg.push_str("\nRefused, left for a human:\n");
        for (file, errors) in &refused {
            for e in errors {
                let reason = e.message.lines().next().unwrap_or_default();
                let at = if file.is_empty() { &e.origin } else { *file };
                msg.push_str(&format!("  {at}: {reason} ({})\n", e.recipe));
            }
        }
    }
    msg.push_str(&format!("\n{}: {}\n", git::TRAILER, names.join(", ")));
    (subject, msg)
}

/// The pull request body: what the recipes are for, what each file gets, what was refused
/// (`--keep-going`), the diff stat.
pub fn pr_body(recipes: &RecipeSet, outcome: &Outcome, diff_stat: &str) -> String {
    let changes = &outcome.changes;
    let mut body = String::from(
        "Changes made by **patcher** so that the files satisfy the repository's recipes.\n\n### Recipes\n\n",
    );
    for r in &recipes.recipes {
        if changes.iter().any(|c| c.recipes().contains(&r.name)) {
            body.push_str(&format!(
                "- **{}**: {}\n",
                r.name,
                r.description.as_deref().unwrap_or("(no description)")
            ));
        }
    }
    body.push_str("\n### Files\n\n| File | Recipes | Edits |\n| --- | --- | --- |\n");
    for c in changes {
        let edits = c.docs.iter().map(|(_, o)| o.len()).sum::<usize>() + c.text_ops.len();
        body.push_str(&format!(
            "| `{}`{} | {} | {} |\n",
            c.path,
            if c.created { " (new)" } else { "" },
            c.recipes().join(", "),
            edits
        ));
    }
    let refused = outcome.refused();
    if !refused.is_empty() {
        body.push_str(
            "\n### Refused: left for a human\n\nThese changes were not made; each needs a look (or a recipe fix).\n\n| File | Recipe | Reason |\n| --- | --- | --- |\n",
        );
        for (file, errors) in &refused {
            for e in errors {
                let at = if file.is_empty() { &e.origin } else { *file };
                body.push_str(&format!(
                    "| `{at}` | {} | {} |\n",
                    table_cell(&e.recipe),
                    table_cell(&e.message)
                ));
            }
        }
    }
    if !diff_stat.trim().is_empty() {
        body.push_str(&format!(
            "\n### Diff stat\n\n```\n{}\n```\n",
            diff_stat.trim_end()
        ));
    }
    body.push_str(
        "\nCommits on this branch without a `Patcher-Recipes:` trailer are never rewritten by patcher.\n",
    );
    body
}

/// Text for one Markdown table cell: one line, pipes escaped.
fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::slug;
    use crate::git;

    #[test]
    fn slug_is_stable_and_order_free() {
        assert_eq!(
            slug(&["probe-delays", "ci-no-hpa"]),
            "ci-no-hpa-probe-delays"
        );
        assert_eq!(
            slug(&["ci-no-hpa", "probe-delays"]),
            "ci-no-hpa-probe-delays"
        );
        assert_eq!(slug(&["Weird Name!"]), "weird-name");
        assert_eq!(slug(&[]), "recipes");
        let many = [
            "ci-no-hpa",
            "ci-timeouts",
            "k3d-metrics-server",
            "helm-deploy-flags",
            "migration-job",
        ];
        let s = slug(&many);
        assert!(s.starts_with("ci-no-hpa-and-4-more-"), "{s}");
        assert!(s.len() <= 48);
        let mut rev = many;
        rev.reverse();
        assert_eq!(slug(&rev), s);
        assert!(git::valid_branch_name(&format!("patcher/{s}")));
    }
}
