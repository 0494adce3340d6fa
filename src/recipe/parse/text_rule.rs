//! `text` recipes: guarded `replace` and `ensure-line` edits of files that are not YAML.

use kdl::{KdlDocument, KdlNode};

use super::file_rule::is_glob;
use super::parser::Parser;
use super::spec::{ENSURE_LINE, IN_TEXT, REPLACE, TEXT};
use crate::recipe::model::{TextEdit, TextRule};

impl Parser<'_> {
    pub(super) fn text_rule(&mut self, node: &KdlNode) -> Option<TextRule> {
        let head = self.head(node, &TEXT);
        let origin = self.origin(node.span().offset());
        let optional = self.bool_prop(&head, "optional");
        let path = match head.args.first() {
            Some(entry) if head.ok => self.glob(entry),
            _ => None,
        };
        let mut edits = Vec::new();
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            let name = child.name().value();
            if !IN_TEXT.allowed.contains(&name) {
                self.unknown_node(child, IN_TEXT);
                continue;
            }
            let child_origin = self.origin(child.span().offset());
            const HELP: &str = "write the text in quotes; use \"\"\" ... \"\"\" for several lines";
            if name == "replace" {
                let h = self.head(child, &REPLACE);
                if !h.ok {
                    continue;
                }
                let old = self.string_arg(h.args[0], "the old text", HELP);
                let new = self.string_arg(h.args[1], "the new text", HELP);
                if let (Some(old), Some(new)) = (old, new) {
                    if old.is_empty() {
                        self.error(h.args[0].span(), "empty", "the old text is empty", HELP);
                        continue;
                    }
                    edits.push(TextEdit::Replace {
                        old,
                        new,
                        origin: child_origin,
                    });
                }
            } else {
                let h = self.head(child, &ENSURE_LINE);
                let after = self.opt_string_prop(&h, "after", HELP);
                if !h.ok {
                    continue;
                }
                let line = self.string_arg(h.args[0], "the line", HELP);
                match (line, after) {
                    (Some(line), Ok(Some(after))) if !line.contains('\n') => {
                        edits.push(TextEdit::EnsureLine {
                            line,
                            after,
                            origin: child_origin,
                        })
                    }
                    (Some(_), Ok(Some(_))) => {
                        self.error(
                            h.args[0].span(),
                            "several lines",
                            "`ensure-line` takes one line",
                            "use one `ensure-line` per line",
                        );
                    }
                    (_, Ok(None)) => {
                        self.error(
                            self.head_line_span(child),
                            "no `after=`",
                            "`ensure-line` needs `after=` naming text of the line it follows",
                            HELP,
                        );
                    }
                    _ => {}
                }
            }
        }
        if let Some(p) = &path
            && is_glob(p)
        {
            self.error(
                head.args[0].span(),
                "a glob",
                format!("`text` takes one literal path, but `{p}` is a glob"),
                "name the file exactly",
            );
            return None;
        }
        Some(TextRule {
            path: path?,
            optional: optional.ok()?,
            edits,
            origin,
        })
    }
}
