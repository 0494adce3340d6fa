//! Document rules: `set`, `remove`, `ensure`, `at-least`/`at-most`, `each` and where the
//! workflow rules dispatch from.

use kdl::KdlNode;
use serde_json::Value;

use super::diag::list;
use super::parser::Parser;
use super::spec::{ALL_NODES, AT_LEAST, AT_MOST, EACH, ENSURE, Head, IN_EACH, REMOVE, SET};
use crate::pointer::type_name;
use crate::recipe::model::{Origin, Placement, Rule};

impl Parser<'_> {
    pub(super) fn rule(&mut self, node: &KdlNode) -> Option<Rule> {
        let origin = self.origin(node.span().offset());
        match node.name().value() {
            "each" => {
                let head = self.head(node, &EACH);
                let path = if head.ok {
                    self.path_arg(head.args[0])
                } else {
                    None
                };
                let body = self.body(node.children(), IN_EACH);
                Some(Rule::Each {
                    path: path?,
                    whens: body.whens,
                    rules: body.rules,
                    origin,
                })
            }
            "set" => {
                let head = self.head(node, &SET);
                let placement = self.placement(node, &head);
                if !head.ok {
                    return None;
                }
                let path = self.path_arg(head.args[0]);
                let value = self.value(head.args[1]);
                Some(Rule::Set {
                    path: path?,
                    value: value?,
                    placement: placement.ok()?,
                    origin,
                })
            }
            "remove" => {
                let head = self.head(node, &REMOVE);
                if !head.ok {
                    return None;
                }
                Some(Rule::Remove {
                    path: self.path_arg(head.args[0])?,
                    origin,
                })
            }
            "ensure" => self.ensure(node, origin),
            "step" => self.step(node, origin),
            "command" => self.command(node, origin),
            "retry" => self.retry(node, origin),
            "insert-step" => self.insert_step(node, origin),
            "at-least" | "at-most" => {
                let at_least = node.name().value() == "at-least";
                let spec = if at_least { &AT_LEAST } else { &AT_MOST };
                let head = self.head(node, spec);
                if !head.ok {
                    return None;
                }
                let path = self.path_arg(head.args[0]);
                let value = self.number(head.args[1], spec);
                let (path, value) = (path?, value?);
                Some(if at_least {
                    Rule::AtLeast {
                        path,
                        value,
                        origin,
                    }
                } else {
                    Rule::AtMost {
                        path,
                        value,
                        origin,
                    }
                })
            }
            // `body` only passes names from the place's allowed list.
            other => {
                self.error(
                    node.name().span(),
                    "unknown node",
                    format!("unknown node `{other}`"),
                    format!("valid nodes: {}", list(ALL_NODES)),
                );
                None
            }
        }
    }

    pub(super) fn ensure(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &ENSURE);
        let usage = format!("write it as `{}`", ENSURE.usage);
        let key = match head.props.get("key") {
            None => {
                self.error(
                    self.head_line_span(node),
                    "no `key=`",
                    "`ensure` needs `key=` naming the field that identifies the list item",
                    usage,
                );
                None
            }
            Some(entry) => self
                .string_arg(entry, "`key`", "write the key in quotes: key=\"name\"")
                .and_then(|key| {
                    if key.is_empty() {
                        self.error(
                            entry.span(),
                            "empty key",
                            "`key` is empty",
                            "name the field that identifies the item, e.g. key=\"name\"",
                        );
                        None
                    } else {
                        Some(key)
                    }
                }),
        };
        let merge = self.bool_prop(&head, "merge");
        let placement = self.placement(node, &head);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let item_entry = head.args[1];
        let item = self.value(item_entry)?;
        let key = key?;
        match &item.value {
            Value::Object(map) if map.contains_key(&key) => {}
            Value::Object(_) => {
                self.error(
                    item_entry.span(),
                    format!("no `{key}` here"),
                    format!(
                        "the `ensure` item has no `{key}` key, but key=\"{key}\" says items are \
                         identified by it"
                    ),
                    format!("add `{key}: ...` to the item, or set `key=` to a field the item has"),
                );
                return None;
            }
            other => {
                self.error(
                    item_entry.span(),
                    "not a mapping",
                    format!(
                        "the `ensure` item must be a mapping, found {}",
                        type_name(other)
                    ),
                    format!(
                        "write the item as a YAML mapping with a `{key}` key, \
                         e.g. (yaml)\"{key}: ...\" or a (yaml)\"\"\" ... \"\"\" block"
                    ),
                );
                return None;
            }
        }
        Some(Rule::Ensure {
            path: path?,
            key,
            item,
            merge: merge.ok()?,
            placement: placement.ok()?,
            origin,
        })
    }

    /// `after="key"` or `before="key"` (at most one) on `set`/`ensure`.
    pub(super) fn placement(
        &mut self,
        node: &KdlNode,
        head: &Head<'_>,
    ) -> Result<Option<Placement>, ()> {
        const HELP: &str =
            "name a sibling key: `after=\"backoffLimit\"` or `before=\"containers\"`";
        let before = self.opt_string_prop(head, "before", HELP)?;
        let after = self.opt_string_prop(head, "after", HELP)?;
        match (before, after) {
            (None, None) => Ok(None),
            (Some(b), None) => Ok(Some(Placement::Before(b))),
            (None, Some(a)) => Ok(Some(Placement::After(a))),
            (Some(_), Some(_)) => {
                self.error(
                    self.head_line_span(node),
                    "two placements",
                    "a new key goes either `after=` or `before=` a sibling, not both",
                    HELP,
                );
                Err(())
            }
        }
    }
}
