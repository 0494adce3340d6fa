//! `file` nodes: globs and their properties, and the `match`/`when` blocks inside.

use std::path::Path;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::diag::{list, suggest};
use super::entries::kdl_kind;
use super::parser::Parser;
use super::spec::{FILE, Head, IN_FILE, MATCH, Place, VALUE_HELP, WHEN};
use crate::recipe::model::{Cond, FileRule, Match, Rule, StepSelector, When};

/// What a `file` or `each` block holds.
#[derive(Default)]
pub(super) struct Body {
    pub(super) matches: Vec<Match>,
    pub(super) whens: Vec<When>,
    pub(super) rules: Vec<Rule>,
}

impl Parser<'_> {
    // --- file ------------------------------------------------------------------------

    pub(super) fn file_rule(&mut self, node: &KdlNode) -> Option<FileRule> {
        let head = self.head(node, &FILE);
        let origin = self.origin(node.span().offset());
        let mut ok = head.ok;

        let mut globs = Vec::new();
        for entry in &head.args {
            match self.glob(entry) {
                Some(glob) => globs.push(glob),
                None => ok = false,
            }
        }
        let create = self.bool_prop(&head, "create");
        let optional = self.bool_prop(&head, "optional");
        let values = self.opt_string_prop(
            &head,
            "values",
            "write the values file the chart's values edits go to, relative to the root, e.g. values=\"chart/values-ci.yaml\"",
        );
        if let (Ok(true), Some(entry)) = (create, head.props.get("create"))
            && let Some(glob) = globs.iter().find(|g| is_glob(g))
        {
            self.error(
                entry.span(),
                "needs a literal path",
                format!("`create=#true` needs literal file paths, but `{glob}` is a glob"),
                "name the file to create exactly (no `*`, `?`, `[...]` or `{...}`), \
                 or drop `create=#true`",
            );
            ok = false;
        }

        let body = self.body(node.children(), IN_FILE);
        let (Ok(create), Ok(optional), Ok(values), true) = (create, optional, values, ok) else {
            return None;
        };
        Some(FileRule {
            globs,
            create,
            optional,
            values,
            matches: body.matches,
            whens: body.whens,
            rules: body.rules,
            origin,
        })
    }

    pub(super) fn glob(&mut self, entry: &KdlEntry) -> Option<String> {
        let glob = self.string_arg(
            entry,
            "a glob",
            "write the glob in quotes, relative to the repository root, e.g. \"chart/templates/*.yaml\"",
        )?;
        const INSIDE: &str = "write the glob relative to the repository root, \
                              e.g. \"chart/templates/*.yaml\"";
        if glob.is_empty() {
            self.error(entry.span(), "empty glob", "the glob is empty", INSIDE);
            return None;
        }
        let bytes = glob.as_bytes();
        let absolute = glob.starts_with(['/', '\\'])
            || Path::new(&glob).is_absolute()
            || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
        if absolute {
            self.error(
                entry.span(),
                "absolute path",
                format!("`{glob}` is absolute: paths must stay inside the repository root"),
                INSIDE,
            );
            return None;
        }
        let mut offset = 0;
        for segment in glob.split(['/', '\\']) {
            if segment == ".." {
                let span = self.inner_span(entry, &glob, offset, 2);
                self.error(
                    span,
                    "leaves the repository",
                    format!(
                        "`{glob}` has a `..` segment: paths must stay inside the repository root"
                    ),
                    INSIDE,
                );
                return None;
            }
            offset += segment.len() + 1;
        }
        if let Err(err) = globset::Glob::new(&glob) {
            self.error(
                entry.span(),
                "invalid glob",
                format!("invalid glob `{glob}`: {}", err.kind()),
                "globs use `*`, `**`, `?`, `[abc]` and `{a,b}`; quote literal `[` as `[[]`",
            );
            return None;
        }
        Some(glob)
    }

    /// A boolean property, `false` when absent; `Err` when invalid (already reported).
    pub(super) fn bool_prop(&mut self, head: &Head<'_>, name: &str) -> Result<bool, ()> {
        let Some(entry) = head.props.get(name) else {
            return Ok(false);
        };
        let help =
            format!("write `{name}=#true` or `{name}=#false` (KDL v2 booleans start with `#`)");
        if let Some(ty) = entry.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("`{name}` takes no type annotation"),
                help,
            );
            return Err(());
        }
        match entry.value() {
            KdlValue::Bool(b) => Ok(*b),
            other => {
                self.error(
                    entry.span(),
                    "not a boolean",
                    format!(
                        "`{name}` must be #true or #false, found {}",
                        kdl_kind(other)
                    ),
                    help,
                );
                Err(())
            }
        }
    }

    // --- blocks and rules --------------------------------------------------------------

    pub(super) fn body(&mut self, doc: Option<&KdlDocument>, place: Place) -> Body {
        let mut body = Body::default();
        for node in doc.map(KdlDocument::nodes).unwrap_or_default() {
            let name = node.name().value();
            if !place.allowed.contains(&name) {
                self.unknown_node(node, place);
                continue;
            }
            match name {
                "match" => body.matches.extend(self.match_(node)),
                "when" => body.whens.extend(self.when(node)),
                // Directly inside `file`, a `command` without `path=` edits every step's
                // `run:` script: the same rule as `step { command ... }`.
                "command" if place.name == IN_FILE.name && !has_prop(node, "path") => {
                    body.rules.extend(self.rule(node).map(|rule| Rule::Step {
                        selector: StepSelector::default(),
                        origin: rule.origin().clone(),
                        rules: vec![rule],
                    }))
                }
                _ => body.rules.extend(self.rule(node)),
            }
        }
        body
    }

    pub(super) fn match_(&mut self, node: &KdlNode) -> Option<Match> {
        let head = self.head(node, &MATCH);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let value = self.value(head.args[1]);
        Some(Match {
            path: path?,
            value: value?.value,
            origin: self.origin(node.span().offset()),
        })
    }

    pub(super) fn when(&mut self, node: &KdlNode) -> Option<When> {
        let head = self.head(node, &WHEN);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let cond = self.cond(head.args[1], head.args.get(2).copied());
        Some(When {
            path: path?,
            cond: cond?,
            origin: self.origin(node.span().offset()),
        })
    }

    pub(super) fn cond(&mut self, entry: &KdlEntry, value: Option<&KdlEntry>) -> Option<Cond> {
        const CONDS: &[&str] = &["exists", "missing", "equals"];
        const HELP: &str = "write `when \"path\" exists`, `when \"path\" missing` \
                            or `when \"path\" equals VALUE`";
        let word = self.string_arg(entry, "the condition", HELP)?;
        match (word.as_str(), value) {
            ("exists", None) => Some(Cond::Exists),
            ("missing", None) => Some(Cond::Missing),
            ("exists" | "missing", Some(extra)) => {
                self.error(
                    extra.span(),
                    "unexpected value",
                    format!("`{word}` takes no value"),
                    format!("remove the value, or compare with `equals VALUE` instead of `{word}`"),
                );
                None
            }
            ("equals", Some(value)) => Some(Cond::Equals(self.value(value)?.value)),
            ("equals", None) => {
                self.error(
                    entry.span(),
                    "needs a value",
                    "`equals` needs a value after it",
                    format!("write `when \"path\" equals VALUE`; {VALUE_HELP}"),
                );
                None
            }
            (other, _) => {
                let help = match suggest(other, CONDS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("valid conditions: {}; {HELP}", list(CONDS)),
                };
                self.error(
                    entry.span(),
                    "unknown condition",
                    format!("unknown condition `{other}`"),
                    help,
                );
                None
            }
        }
    }
}

/// Whether `node` has the property `name`.
pub(super) fn has_prop(node: &KdlNode, name: &str) -> bool {
    node.entries()
        .iter()
        .any(|e| e.name().is_some_and(|k| k.value() == name))
}

pub(super) fn is_glob(glob: &str) -> bool {
    glob.contains(['*', '?', '[', '{'])
}
