//! Workflow nodes: `step` selectors, `command` flag edits, `retry` and `insert-step`.

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::entries::kdl_kind;
use super::parser::Parser;
use super::spec::{
    COMMAND, FLAG, Head, IN_COMMAND, IN_STEP, INSERT_STEP, REMOVE_FLAG, REPLACE_FLAG, RETRY, STEP,
};
use crate::path::PathExpr;
use crate::recipe::model::{FlagEdit, Origin, Rule, StepAnchor, StepSelector};

impl Parser<'_> {
    /// A step selector glob (`*`, `?`): a non-empty string.
    pub(super) fn pattern(&mut self, entry: &KdlEntry, what: &str, help: &str) -> Option<String> {
        let text = self.string_arg(entry, what, help)?;
        if text.is_empty() {
            self.error(
                entry.span(),
                "empty selector",
                format!("{what} is empty: it would match nothing"),
                help,
            );
            return None;
        }
        Some(text)
    }

    pub(super) fn pattern_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
    ) -> Result<Option<String>, ()> {
        self.prop_with(head, name, help, Self::pattern)
    }

    pub(super) fn step(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &STEP);
        const HELP: &str = "select steps by name, `job=`, `id=` or `uses=` (globs: `*` any \
                            characters, `?` one), e.g. step \"Helm upgrade*\" job=\"deploy\" \
                            { ... }; `step { ... }` with no selector is every step";
        let name = match head.args.first() {
            Some(entry) => Some(self.pattern(entry, "the step name", HELP)?),
            None => None,
        };
        let job = self.pattern_prop(&head, "job", HELP);
        let id = self.pattern_prop(&head, "id", HELP);
        let uses = self.pattern_prop(&head, "uses", HELP);
        let body = self.body(node.children(), IN_STEP);
        let (Ok(job), Ok(id), Ok(uses)) = (job, id, uses) else {
            return None;
        };
        if !head.ok {
            return None;
        }
        // `retry` re-runs a whole script: wrapping every script of a job (or a workflow) is
        // never what a recipe that does not know the workflow means, so it needs a selection.
        if name.is_none() && id.is_none() && uses.is_none() {
            let retries = node.children().map(KdlDocument::nodes).unwrap_or_default();
            if let Some(retry) = retries.iter().find(|n| n.name().value() == "retry") {
                let every = match &job {
                    Some(j) => format!("every step of job `{j}`"),
                    None => "every step".to_string(),
                };
                self.error(
                    retry.name().span(),
                    "needs selected steps",
                    format!("`retry` is not allowed in a `step` without a name, `id=` or `uses=`: it would retry {every}"),
                    "name the steps to retry, e.g. step \"Deploy*\" { retry attempts=3 }; \
                     `command` and `set` do work on every step",
                );
                return None;
            }
        }
        Some(Rule::Step {
            selector: StepSelector {
                name,
                job,
                id,
                uses,
            },
            rules: body.rules,
            origin,
        })
    }

    pub(super) fn command(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &COMMAND);
        if !head.ok {
            return None;
        }
        // No words: the string at `path=` is itself an argument list (e.g. `with/args`).
        let words: Vec<String> = match head.args.first() {
            Some(entry) => {
                let text = self.string_arg(
                    entry,
                    "the command",
                    "write the command's leading words in quotes, e.g. command \"helm upgrade\" { ... }",
                )?;
                let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
                if words.is_empty() {
                    self.error(
                        entry.span(),
                        "empty command",
                        "the command is empty",
                        "name the command by its leading words, e.g. \"helm upgrade\"",
                    );
                    return None;
                }
                words
            }
            None if head.props.contains_key("path") => Vec::new(),
            None => {
                self.error(
                    self.head_line_span(node),
                    "no command",
                    "`command` needs the command's leading words, or `path=` to an argument list",
                    "write `command \"helm upgrade\" { ... }`, or `command path=\"with/args\" { ... }`",
                );
                return None;
            }
        };
        let path = match head.props.get("path") {
            Some(entry) => self.path_arg(entry)?,
            None => PathExpr::parse("run").ok()?,
        };
        let mut edits = Vec::new();
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            let name = child.name().value();
            if !IN_COMMAND.allowed.contains(&name) {
                self.unknown_node(child, IN_COMMAND);
                continue;
            }
            const FLAG_HELP: &str = "write the flag in quotes, e.g. \"--wait\"";
            match name {
                "flag" => {
                    let h = self.head(child, &FLAG);
                    if !h.ok {
                        continue;
                    }
                    let Some(flag) = self.string_arg(h.args[0], "the flag", FLAG_HELP) else {
                        continue;
                    };
                    let value = match h.args.get(1) {
                        Some(e) => match self.string_arg(
                            e,
                            "the flag's value",
                            "write the value in quotes, e.g. \"600s\"",
                        ) {
                            Some(v) => Some(v),
                            None => continue,
                        },
                        None => None,
                    };
                    edits.push(FlagEdit::Flag { name: flag, value });
                }
                "remove-flag" => {
                    let h = self.head(child, &REMOVE_FLAG);
                    let takes_value = self.bool_prop(&h, "takes-value");
                    if !h.ok {
                        continue;
                    }
                    if let (Some(flag), Ok(takes_value)) = (
                        self.string_arg(h.args[0], "the flag", FLAG_HELP),
                        takes_value,
                    ) {
                        edits.push(FlagEdit::RemoveFlag {
                            name: flag,
                            takes_value,
                        });
                    }
                }
                _ => {
                    let h = self.head(child, &REPLACE_FLAG);
                    if !h.ok {
                        continue;
                    }
                    let old = self.string_arg(h.args[0], "the old flag", FLAG_HELP);
                    let new = self.string_arg(h.args[1], "the new flag", FLAG_HELP);
                    if let (Some(old), Some(new)) = (old, new) {
                        edits.push(FlagEdit::ReplaceFlag { old, new });
                    }
                }
            }
        }
        Some(Rule::Command {
            words,
            path,
            edits,
            origin,
        })
    }

    pub(super) fn small_number_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        default: u32,
        max: u32,
    ) -> Option<u32> {
        let Some(entry) = head.props.get(name) else {
            return Some(default);
        };
        match entry.value() {
            KdlValue::Integer(i) if *i >= 1 && *i <= max as i128 => Some(*i as u32),
            other => {
                self.error(
                    entry.span(),
                    "not a small positive integer",
                    format!(
                        "`{name}` must be an integer from 1 to {max}, found {}",
                        kdl_kind(other)
                    ),
                    format!("write e.g. `{name}={default}`"),
                );
                None
            }
        }
    }

    pub(super) fn retry(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &RETRY);
        let attempts = self.small_number_prop(&head, "attempts", 3, 20);
        let delay = self.small_number_prop(&head, "delay", 30, 3600);
        if !head.ok {
            return None;
        }
        Some(Rule::Retry {
            attempts: attempts?,
            delay: delay?,
            origin,
        })
    }

    pub(super) fn insert_step(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &INSERT_STEP);
        const HELP: &str =
            "write `insert-step after=\"Checkout\" (yaml)\"\"\"...\"\"\"` (or `before=`)";
        let before = self.opt_string_prop(&head, "before", HELP).ok()?;
        let after = self.opt_string_prop(&head, "after", HELP).ok()?;
        let job = self.opt_string_prop(&head, "job", HELP).ok()?;
        if !head.ok {
            return None;
        }
        let anchor = match (before, after) {
            (Some(b), None) => StepAnchor::Before(b),
            (None, Some(a)) => StepAnchor::After(a),
            _ => {
                self.error(
                    self.head_line_span(node),
                    "needs one anchor",
                    "`insert-step` needs exactly one of `before=` and `after=`",
                    HELP,
                );
                return None;
            }
        };
        let step = self.value(head.args[0])?;
        let named = step.value.get("name").or_else(|| step.value.get("id"));
        if !step.value.is_object() || named.is_none() {
            self.error(
                head.args[0].span(),
                "not a named step",
                "the inserted step must be a mapping with a `name` (or `id`), so a re-run finds it",
                "give the step a `name:` in the (yaml) snippet",
            );
            return None;
        }
        Some(Rule::InsertStep {
            anchor,
            job,
            step,
            origin,
        })
    }
}
