//! The drift report as plain data: what `patcher check` found, per recipe, with each drifted
//! node and the repair. Built by [`crate::check`]; written by the other `report` modules.
//! Exit codes ([`CheckReport::exit_code`]): 0 every recipe holds or is not applicable, 2 at
//! least one drifted, 1 an error. Never 2 without a drifted node.

use serde_json::Value;

use crate::finding::Finding;

/// Version tag of the JSON report (`check --format json`); bumped only on breaking changes.
pub const JSON_SCHEMA: &str = "patcher.check/v1";

/// Everything `check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One entry per recipe, in recipe order.
    pub recipes: Vec<RecipeCheck>,
    /// The repair: per changed file, the RFC 6902 patch of each document (in the order the
    /// ops apply) and the guarded text edits.
    pub repair: Vec<FileRepair>,
    pub warnings: Vec<Finding>,
    pub errors: Vec<Finding>,
    /// Selectors that reach into template output patcher could not follow: their recipe
    /// is unchecked in that file (one finding per recipe, selector and file).
    pub unchecked: Vec<Finding>,
}

/// The state of one recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every rule holds in every file it names.
    Holds,
    /// At least one node does not satisfy the recipe.
    Drifted,
    /// No file matched (and none is to be created): nothing to check.
    NotApplicable,
    /// The recipe has errors of its own (bad selector, refused edit, unreadable file).
    Error,
    /// No drift was found, but a file it names could not be checked: it has an error
    /// (reported under another recipe), or a selector reaches into template output patcher
    /// could not follow (`RecipeCheck::unchecked` names the action).
    Unchecked,
}

impl Status {
    /// The name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::Drifted => "drifted",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
            Status::Unchecked => "unchecked",
        }
    }

    /// The name for people ("not applicable").
    pub fn label(self) -> &'static str {
        match self {
            Status::NotApplicable => "not applicable",
            other => other.as_str(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecipeCheck {
    pub name: String,
    pub description: Option<String>,
    /// Where the recipe is defined, `recipes/x.kdl:3:1` (relative to the root when inside it).
    pub origin: String,
    pub status: Status,
    /// The files its rules named, relative to the root.
    pub files: Vec<String>,
    /// Each drifted node, by file, then line.
    pub drift: Vec<Drift>,
    /// Errors attributed to this recipe.
    pub errors: Vec<String>,
    /// Why it is unchecked in a file: `file: message`, naming the template action.
    pub unchecked: Vec<String>,
}

/// How a node differs from what the recipe says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    /// The path does not exist; the recipe adds it.
    Missing,
    /// The path exists with another value.
    Differs,
    /// The path exists and the recipe removes it.
    Unwanted,
    /// A guarded text edit (`text` rule) that does not hold yet.
    Text,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing",
            DriftKind::Differs => "differs",
            DriftKind::Unwanted => "unwanted",
            DriftKind::Text => "text",
        }
    }
}

/// One drifted node.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// Relative to the root, `/`-separated.
    pub file: String,
    /// 1-based line and column in the file as it is now: of the drifted node, or for a missing
    /// one, of its nearest existing parent (for a new list item: the item it goes before).
    pub line: usize,
    pub col: usize,
    /// Index of the YAML document (`---`) in the file; `None` for text edits.
    pub document: Option<usize>,
    /// JSON Pointer of the node; `None` for text edits.
    pub pointer: Option<String>,
    pub kind: DriftKind,
    /// What the recipe wants there (`None`: absent, or a text edit).
    pub expected: Option<Value>,
    /// What the file has there (`None`: nothing).
    pub found: Option<Value>,
    /// For text edits, the edit's one-line summary.
    pub edit: Option<String>,
    /// The recipe line that asked for it, `recipes/x.kdl:6:9`.
    pub rule: String,
    /// The RFC 6902 ops that repair this node (several when rules of the recipe edit the same
    /// node in turn, e.g. a command's flags, then a retry wrapper); empty for text edits.
    pub ops: Vec<Value>,
    /// On a values file: the template line that reads the value and the rendered pointer.
    pub via: Option<crate::change::Via>,
}

impl Drift {
    /// A one-line description: `/spec/backoffLimit: expected 6, found 3`.
    pub fn describe(&self) -> String {
        if self.kind == DriftKind::Text {
            return format!(
                "text edit not applied: {}",
                self.edit.as_deref().unwrap_or("")
            );
        }
        let pointer = match self.pointer.as_deref() {
            None | Some("") => "(whole document)",
            Some(p) => p,
        };
        if let (Some(Value::String(e)), Some(Value::String(f))) = (&self.expected, &self.found) {
            return format!("{pointer}: {}", string_difference(e, f));
        }
        let expected = match &self.expected {
            Some(v) => short_value(v),
            None => "absent".to_string(),
        };
        let found = match &self.found {
            Some(v) => short_value(v),
            None => "nothing".to_string(),
        };
        format!("{pointer}: expected {expected}, found {found}")
    }

    /// [`Drift::describe`], and for a values-fed field which template line reads it and as
    /// what rendered pointer: `… (read by chart/templates/api.yaml:9 as /spec/x)`.
    pub fn describe_with_via(&self) -> String {
        match &self.via {
            Some(v) => format!("{} ({})", self.describe(), v.describe("")),
            None => self.describe(),
        }
    }
}

/// `expected "…", found "…"` for two strings, showing the first line that differs from the
/// first character that differs (with a little context), and which line it is.
pub fn string_difference(expected: &str, found: &str) -> String {
    const CONTEXT: usize = 16;
    let e: Vec<&str> = expected.split('\n').collect();
    let f: Vec<&str> = found.split('\n').collect();
    let i = (0..e.len().max(f.len()))
        .find(|&i| e.get(i) != f.get(i))
        .unwrap_or(0);
    let (el, fl) = (e.get(i).copied(), f.get(i).copied());
    let common = match (el, fl) {
        (Some(a), Some(b)) => a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count(),
        _ => 0,
    };
    let skip = common.saturating_sub(CONTEXT);
    let show = |line: Option<&str>| match line {
        None => "no such line".to_string(),
        Some(l) => {
            let tail: String = l.chars().skip(skip).collect();
            let cut = short_value(&Value::String(tail));
            if skip > 0 { format!("…{cut}") } else { cut }
        }
    };
    let multi = e.len() > 1 || f.len() > 1;
    let at = if multi {
        format!(" (line {} of the value)", i + 1)
    } else {
        String::new()
    };
    format!("expected {}, found {}{at}", show(el), show(fl))
}

/// One file of the repair.
#[derive(Debug, Clone)]
pub struct FileRepair {
    pub path: String,
    pub created: bool,
    /// (document index, RFC 6902 ops with a `recipe` member).
    pub documents: Vec<(usize, Vec<Value>)>,
    /// Guarded text edits: (line, summary, recipe).
    pub text: Vec<(usize, String, String)>,
}

impl CheckReport {
    /// 1 on any error, else 2 when a recipe drifted, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() || self.recipes.iter().any(|r| r.status == Status::Error) {
            1
        } else if self.recipes.iter().any(|r| r.status == Status::Drifted) {
            2
        } else {
            0
        }
    }

    /// The overall state: `ok`, `drift` or `error` (same as the exit code).
    pub fn state(&self) -> &'static str {
        match self.exit_code() {
            0 => "ok",
            2 => "drift",
            _ => "error",
        }
    }

    /// How many recipes are in `status`.
    pub fn count(&self, status: Status) -> usize {
        self.recipes.iter().filter(|r| r.status == status).count()
    }

    /// A report for a run that could not start (the recipes did not load): one error.
    pub fn failed(message: impl Into<String>) -> CheckReport {
        CheckReport {
            errors: vec![Finding {
                recipe: String::new(),
                origin: String::new(),
                file: None,
                message: message.into(),
            }],
            ..CheckReport::default()
        }
    }
}

/// A value for one line of text: JSON, with long or multi-line values cut short.
pub fn short_value(v: &Value) -> String {
    const MAX: usize = 60;
    let s = match v {
        Value::String(s) if !s.contains('\n') && s.chars().count() <= MAX => {
            return Value::String(s.clone()).to_string();
        }
        Value::String(s) => {
            let first = s.lines().next().unwrap_or("");
            let more = s.lines().count() > 1;
            let shown: String = first.chars().take(MAX).collect();
            let cut = more || first.chars().count() > MAX;
            return format!(
                "{}{}",
                Value::String(shown),
                if cut { " (cut)" } else { "" }
            );
        }
        other => other.to_string(),
    };
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}… (cut)")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_cut_long_and_multiline_strings() {
        assert_eq!(short_value(&Value::from(6)), "6");
        assert_eq!(short_value(&Value::from("OnFailure")), "\"OnFailure\"");
        assert_eq!(short_value(&Value::from("a\nb")), "\"a\" (cut)");
        assert_eq!(
            string_difference("a b c --new-flag x", "a b c"),
            "expected \"a b c --new-flag x\", found \"a b c\""
        );
        let long = format!("{} --k3s-arg x", "y".repeat(40));
        assert_eq!(
            string_difference(&long, &"y".repeat(40)),
            format!(
                "expected …\"{} --k3s-arg x\", found …\"{}\"",
                "y".repeat(16),
                "y".repeat(16)
            )
        );
        assert_eq!(
            string_difference("one\ntwo\n", "one\nTWO\n"),
            "expected \"two\", found \"TWO\" (line 2 of the value)"
        );
        let long = "x".repeat(100);
        assert_eq!(
            short_value(&Value::from(long)),
            format!("\"{}\" (cut)", "x".repeat(60))
        );
    }
}
