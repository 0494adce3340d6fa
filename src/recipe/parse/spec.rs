//! What each node may hold (arguments, properties, block) and where it may appear; the
//! checks every node gets ([`Parser::head`]) and the source spans diagnostics point at.

use std::collections::HashMap;

use kdl::{KdlEntry, KdlNode};
use miette::LabeledSpan;

use super::diag::{list, suggest};
use super::parser::Parser;

/// What a node may have: positional arguments, properties and a `{ ... }` block.
pub(super) struct Spec {
    pub(super) name: &'static str,
    /// How to write the node, for help lines.
    pub(super) usage: &'static str,
    /// What each required positional argument is, in order.
    pub(super) args: &'static [&'static str],
    /// Most positional arguments allowed (`None`: any number).
    pub(super) max: Option<usize>,
    pub(super) props: &'static [&'static str],
    pub(super) block: Block,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Block {
    Forbidden,
    Optional,
    Required,
}

pub(super) const RECIPE: Spec = Spec {
    name: "recipe",
    usage: "recipe \"name\" { file \"glob\" { ... } }",
    args: &["a name"],
    max: Some(1),
    props: &[],
    block: Block::Optional,
};
pub(super) const DESCRIPTION: Spec = Spec {
    name: "description",
    usage: "description \"what the recipe makes true\"",
    args: &["a text"],
    max: Some(1),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const IMPLEMENTS: Spec = Spec {
    name: "implements",
    usage: "implements \"job-retries\" \"wait-for-service\"",
    args: &["a catalogue recipe name"],
    max: None,
    props: &[],
    block: Block::Forbidden,
};
pub(super) const FILE: Spec = Spec {
    name: "file",
    usage: "file \"glob\" \"another/glob\" create=#false optional=#false values=\"chart/values-ci.yaml\" { ... }",
    args: &["a glob"],
    max: None,
    props: &["create", "optional", "values"],
    block: Block::Optional,
};
pub(super) const MATCH: Spec = Spec {
    name: "match",
    usage: "match \"/kind\" \"Deployment\"",
    args: &["a path", "a value"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const WHEN: Spec = Spec {
    name: "when",
    usage: "when \"path\" exists` or `when \"path\" missing` or `when \"path\" equals VALUE",
    args: &[
        "a path",
        "a condition (`exists`, `missing` or `equals VALUE`)",
    ],
    max: Some(3),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const EACH: Spec = Spec {
    name: "each",
    usage: "each \"/spec/template/spec/containers/*\" { ... }",
    args: &["a path"],
    max: Some(1),
    props: &[],
    block: Block::Required,
};
pub(super) const SET: Spec = Spec {
    name: "set",
    usage: "set \"/path\" VALUE",
    args: &["a path", "a value"],
    max: Some(2),
    props: &["after", "before"],
    block: Block::Forbidden,
};
pub(super) const REMOVE: Spec = Spec {
    name: "remove",
    usage: "remove \"/path\"",
    args: &["a path"],
    max: Some(1),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const ENSURE: Spec = Spec {
    name: "ensure",
    usage: "ensure \"/path/to/list\" key=\"name\" merge=#false (yaml)\"...\"",
    args: &["a path", "the item to ensure"],
    max: Some(2),
    props: &["key", "merge", "after", "before"],
    block: Block::Forbidden,
};
pub(super) const AT_LEAST: Spec = Spec {
    name: "at-least",
    usage: "at-least \"path\" NUMBER",
    args: &["a path", "a number"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const AT_MOST: Spec = Spec {
    name: "at-most",
    usage: "at-most \"path\" NUMBER",
    args: &["a path", "a number"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};

pub(super) const STEP: Spec = Spec {
    name: "step",
    usage: "step \"Step name*\" job=\"deploy\" id=\"helm\" uses=\"owner/action@*\" { ... }",
    args: &[],
    max: Some(1),
    props: &["job", "id", "uses"],
    block: Block::Required,
};
pub(super) const COMMAND: Spec = Spec {
    name: "command",
    usage: "command \"helm upgrade\" path=\"run\" { flag \"--wait\" }",
    args: &[],
    max: Some(1),
    props: &["path"],
    block: Block::Required,
};
pub(super) const FLAG: Spec = Spec {
    name: "flag",
    usage: "flag \"--timeout\" \"600s\"` or `flag \"--wait\"",
    args: &["a flag"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const REMOVE_FLAG: Spec = Spec {
    name: "remove-flag",
    usage: "remove-flag \"--atomic\" takes-value=#false",
    args: &["a flag"],
    max: Some(1),
    props: &["takes-value"],
    block: Block::Forbidden,
};
pub(super) const REPLACE_FLAG: Spec = Spec {
    name: "replace-flag",
    usage: "replace-flag \"--old\" \"--new\"",
    args: &["the old flag", "the new flag"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const RETRY: Spec = Spec {
    name: "retry",
    usage: "retry attempts=3 delay=30",
    args: &[],
    max: Some(0),
    props: &["attempts", "delay"],
    block: Block::Forbidden,
};
pub(super) const INSERT_STEP: Spec = Spec {
    name: "insert-step",
    usage: "insert-step after=\"Step name\" job=\"deploy\" (yaml)\"\"\"...\"\"\"",
    args: &["the step, as a (yaml) snippet"],
    max: Some(1),
    props: &["before", "after", "job"],
    block: Block::Forbidden,
};
pub(super) const TEXT: Spec = Spec {
    name: "text",
    usage: "text \"path/to/file.py\" optional=#false { replace \"old\" \"new\" }",
    args: &["a file path"],
    max: Some(1),
    props: &["optional"],
    block: Block::Required,
};
pub(super) const REPLACE: Spec = Spec {
    name: "replace",
    usage: "replace \"exact old text\" \"new text\"",
    args: &["the old text", "the new text"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
pub(super) const ENSURE_LINE: Spec = Spec {
    name: "ensure-line",
    usage: "ensure-line \"the line\" after=\"text of the line before it\"",
    args: &["the line"],
    max: Some(1),
    props: &["after"],
    block: Block::Forbidden,
};

pub(super) const PARAM: Spec = Spec {
    name: "param",
    usage: "param \"backoff\" 6 description=\"...\"` or `param \"host\" type=\"string\" description=\"...\"",
    args: &["a name"],
    max: Some(2),
    props: &["type", "description"],
    block: Block::Forbidden,
};
/// `use` takes any property: each names a parameter of the used recipe (checked there).
pub(super) const USE: Spec = Spec {
    name: "use",
    usage: "use \"catalog:job-retries\" backoff=8 name=\"strict-retries\"",
    args: &["the recipe to use (\"catalog:NAME\" or \"file.kdl:NAME\")"],
    max: Some(1),
    props: &[],
    block: Block::Forbidden,
};

/// Every node name the language knows, wherever it is allowed.
pub(super) const ALL_NODES: &[&str] = &[
    "use",
    "param",
    "step",
    "command",
    "flag",
    "remove-flag",
    "replace-flag",
    "retry",
    "insert-step",
    "text",
    "replace",
    "ensure-line",
    "recipe",
    "description",
    "implements",
    "file",
    "match",
    "when",
    "each",
    "set",
    "remove",
    "ensure",
    "at-least",
    "at-most",
];

/// Where a node appears, for "not allowed here" / "did you mean" messages.
#[derive(Clone, Copy)]
pub(super) struct Place {
    /// "at the top level", "inside `file`", ...
    pub(super) name: &'static str,
    pub(super) allowed: &'static [&'static str],
}

pub(super) const TOP: Place = Place {
    name: "at the top level",
    allowed: &["recipe", "use"],
};
pub(super) const IN_RECIPE: Place = Place {
    name: "inside `recipe`",
    allowed: &["description", "implements", "param", "file", "text"],
};
pub(super) const IN_FILE: Place = Place {
    name: "inside `file`",
    allowed: &[
        "match",
        "when",
        "each",
        "set",
        "remove",
        "ensure",
        "at-least",
        "at-most",
        "step",
        "insert-step",
        "command",
    ],
};
pub(super) const IN_EACH: Place = Place {
    name: "inside `each`",
    allowed: &[
        "when", "each", "set", "remove", "ensure", "at-least", "at-most", "command",
    ],
};
pub(super) const IN_STEP: Place = Place {
    name: "inside `step`",
    allowed: &[
        "each", "set", "remove", "ensure", "at-least", "at-most", "command", "retry",
    ],
};
pub(super) const IN_COMMAND: Place = Place {
    name: "inside `command`",
    allowed: &["flag", "remove-flag", "replace-flag"],
};
pub(super) const IN_TEXT: Place = Place {
    name: "inside `text`",
    allowed: &["replace", "ensure-line"],
};

pub(super) const PATH_HELP: &str =
    "write the path as a string, e.g. \"/spec/replicas\" or \"livenessProbe/initialDelaySeconds\"";
pub(super) const VALUE_HELP: &str = "a VALUE is a string, an integer, a float, #true/#false, #null, \
                          or a YAML snippet (yaml)\"...\"";

/// A node's positional arguments and properties, after the checks every node gets.
pub(super) struct Head<'n> {
    pub(super) args: Vec<&'n KdlEntry>,
    pub(super) props: HashMap<&'n str, &'n KdlEntry>,
    /// The argument count was right.
    pub(super) ok: bool,
}

impl Parser<'_> {
    pub(super) fn unknown_node(&mut self, node: &KdlNode, place: Place) {
        let name = node.name().value();
        let span = node.name().span();
        let allowed = list(place.allowed);
        if ALL_NODES.contains(&name) {
            let help = if name == "match" && place.allowed.contains(&"when") {
                "`match` picks documents, so it goes directly inside `file`; \
                 to pick items inside `each`, use `when`"
                    .to_string()
            } else {
                format!("allowed {}: {allowed}", place.name)
            };
            self.error(
                span,
                "not allowed here",
                format!("`{name}` is not allowed {}", place.name),
                help,
            );
            return;
        }
        let help = match suggest(name, place.allowed) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid nodes {}: {allowed}", place.name),
        };
        self.error(
            span,
            "unknown node",
            format!("unknown node `{name}` {}", place.name),
            help,
        );
    }

    /// Checks a node's type annotation, properties, argument count and block.
    pub(super) fn head<'n>(&mut self, node: &'n KdlNode, spec: &Spec) -> Head<'n> {
        let usage = format!("write it as `{}`", spec.usage);
        if let Some(ty) = node.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("`{}` does not take a type annotation", spec.name),
                format!("remove `({})`", ty.value()),
            );
        }

        let mut args = Vec::new();
        let mut props: HashMap<&'n str, &'n KdlEntry> = HashMap::new();
        for entry in node.entries() {
            let Some(key) = entry.name() else {
                args.push(entry);
                continue;
            };
            let key_span = if key.span().is_empty() {
                entry.span()
            } else {
                key.span()
            };
            let name = key.value();
            // `use` properties name the used recipe's parameters: checked against them.
            if spec.name != USE.name && !spec.props.contains(&name) {
                let help = match (suggest(name, spec.props), spec.props.is_empty()) {
                    (Some(s), _) => format!("did you mean `{s}`?"),
                    (None, true) => format!("`{}` takes no properties; {usage}", spec.name),
                    (None, false) => {
                        format!("`{}` takes the properties {}", spec.name, list(spec.props))
                    }
                };
                self.error(
                    key_span,
                    "unknown property",
                    format!("unknown property `{name}` on `{}`", spec.name),
                    help,
                );
                continue;
            }
            if let Some(first) = props.get(name) {
                let first_span = first.span();
                self.error(
                    entry.span(),
                    "given again here",
                    format!("property `{name}` is given twice"),
                    format!("keep one `{name}=`"),
                )
                .labels
                .push(LabeledSpan::new_with_span(
                    Some("first given here".into()),
                    first_span,
                ));
                continue;
            }
            props.insert(name, entry);
        }

        let mut ok = true;
        if let Some(missing) = spec.args.get(args.len()) {
            ok = false;
            self.error(
                self.head_line_span(node),
                format!("missing {missing}"),
                format!("`{}` is missing {missing}", spec.name),
                usage.clone(),
            );
        } else if let Some(max) = spec.max.filter(|&max| args.len() > max) {
            ok = false;
            let extra = &args[max..];
            let span = Self::between(
                extra[0].span().offset(),
                extra.iter().map(|e| Self::end(e.span())).max().unwrap_or(0),
            );
            let expected = if spec.args.len() == max {
                format!("{max}")
            } else {
                format!("at most {max}")
            };
            self.error(
                span,
                if extra.len() == 1 {
                    "unexpected argument"
                } else {
                    "unexpected arguments"
                },
                format!(
                    "too many arguments to `{}`: expected {expected}, found {}",
                    spec.name,
                    args.len()
                ),
                usage.clone(),
            );
        }

        match (spec.block, node.children()) {
            (Block::Forbidden, Some(_)) => {
                let span = self.block_span(node);
                self.error(
                    span,
                    "unexpected block",
                    format!("`{}` does not take a `{{ ... }}` block", spec.name),
                    format!("remove the block; {usage}"),
                );
            }
            (Block::Required, None) => {
                self.error(
                    self.head_line_span(node),
                    "no block",
                    format!("`{}` needs a `{{ ... }}` block", spec.name),
                    format!("{usage}, with the rules inside the block"),
                );
            }
            _ => {}
        }
        Head { args, props, ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_but_not_unrelated_words() {
        let rules = IN_FILE.allowed;
        assert_eq!(suggest("at-leats", rules), Some("at-least"));
        assert_eq!(suggest("at_least", rules), Some("at-least"));
        assert_eq!(suggest("sett", rules), Some("set"));
        assert_eq!(suggest("Set", rules), Some("set"));
        assert_eq!(suggest("remve", rules), Some("remove"));
        assert_eq!(suggest("frobnicate", rules), None);
        assert_eq!(suggest("x", rules), None);
    }
}
