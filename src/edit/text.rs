//! Guarded edits of files that are not YAML (`text "path" { ... }`): replace exactly one
//! occurrence, or insert a line after the one line holding an anchor. Each edit either already
//! holds, applies at exactly one place, or is an error naming what it found.

use crate::recipe::{Origin, TextEdit};

use super::Splice;

/// One planned text edit: where, and a one-line summary for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChange {
    pub splice: Splice,
    pub summary: String,
    pub origin: Origin,
}

/// Plans `edits` against `text`; edits that already hold produce nothing.
pub fn plan(text: &str, edits: &[TextEdit]) -> Result<Vec<TextChange>, (Origin, String)> {
    let mut out = Vec::new();
    for edit in edits {
        match edit {
            TextEdit::Replace { old, new, origin } => {
                let olds = text.matches(old.as_str()).count();
                let news = if new.is_empty() {
                    0
                } else {
                    text.matches(new.as_str()).count()
                };
                let olds_inside_new = new.matches(old.as_str()).count();
                if news == 1 && olds == olds_inside_new {
                    continue; // already replaced
                }
                if olds != 1 {
                    let what = if olds == 0 {
                        "no occurrence".to_string()
                    } else {
                        format!("{olds} occurrences")
                    };
                    return Err((
                        origin.clone(),
                        format!(
                            "replace needs exactly one occurrence of the old text, found {what}{}",
                            if olds == 0 {
                                " (and the new text is not there either)"
                            } else {
                                "; make the old text longer so it is unique"
                            }
                        ),
                    ));
                }
                let start = text.find(old.as_str()).unwrap_or(0);
                out.push(TextChange {
                    splice: Splice {
                        start,
                        end: start + old.len(),
                        text: new.clone(),
                    },
                    summary: format!("replace {}", preview(old)),
                    origin: origin.clone(),
                });
            }
            TextEdit::EnsureLine {
                line,
                after,
                origin,
            } => {
                let lines: Vec<(usize, &str)> = line_spans(text);
                let anchors: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].1.contains(after.as_str()))
                    .collect();
                if anchors.len() != 1 {
                    return Err((
                        origin.clone(),
                        format!(
                            "ensure-line needs exactly one line containing {}, found {}",
                            preview(after),
                            anchors.len()
                        ),
                    ));
                }
                let i = anchors[0];
                let anchor_text = lines[i].1.trim_end_matches(['\n', '\r']);
                let indent = &anchor_text[..anchor_text.len() - anchor_text.trim_start().len()];
                let wanted = if line.starts_with([' ', '\t']) {
                    line.clone()
                } else {
                    format!("{indent}{line}")
                };
                if lines.get(i + 1).is_some_and(|(_, l)| {
                    l.trim_end_matches(['\n', '\r']).trim_end() == wanted.trim_end()
                }) {
                    continue;
                }
                let nl = if lines[i].1.ends_with("\r\n") {
                    "\r\n"
                } else {
                    "\n"
                };
                let at = lines[i].0 + lines[i].1.len();
                let text_to_insert = if lines[i].1.ends_with('\n') {
                    format!("{wanted}{nl}")
                } else {
                    format!("{nl}{wanted}")
                };
                out.push(TextChange {
                    splice: Splice {
                        start: at,
                        end: at,
                        text: text_to_insert,
                    },
                    summary: format!(
                        "ensure line {} after {}",
                        preview(line.trim()),
                        preview(after)
                    ),
                    origin: origin.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn line_spans(text: &str) -> Vec<(usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n')
        .map(|l| {
            let s = at;
            at += l.len();
            (s, l)
        })
        .collect()
}

fn preview(s: &str) -> String {
    let first = s.lines().next().unwrap_or("").trim();
    let short: String = first.chars().take(60).collect();
    if s.lines().count() > 1 || first.chars().count() > 60 {
        format!("`{short}…`")
    } else {
        format!("`{short}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn origin() -> Origin {
        Origin {
            file: Arc::new("r.kdl".into()),
            line: 1,
            col: 1,
        }
    }

    fn apply(text: &str, edits: &[TextEdit]) -> Result<String, String> {
        let mut changes = plan(text, edits).map_err(|e| e.1)?;
        changes.sort_by_key(|c| c.splice.start);
        let splices: Vec<Splice> = changes.into_iter().map(|c| c.splice).collect();
        Ok(super::super::apply_splices(text, &splices))
    }

    #[test]
    fn replace_applies_once_and_then_holds() {
        let e = [TextEdit::Replace {
            old: "now()".into(),
            new: "utc()".into(),
            origin: origin(),
        }];
        let out = apply("a now() b\n", &e).unwrap();
        assert_eq!(out, "a utc() b\n");
        assert!(plan(&out, &e).unwrap().is_empty());
    }

    #[test]
    fn replace_with_text_containing_the_old_text_is_idempotent() {
        let e = [TextEdit::Replace {
            old: "x".into(),
            new: "(x)".into(),
            origin: origin(),
        }];
        let out = apply("a x b\n", &e).unwrap();
        assert_eq!(out, "a (x) b\n");
        assert!(plan(&out, &e).unwrap().is_empty());
    }

    #[test]
    fn replace_names_the_count_when_ambiguous_or_missing() {
        let e = [TextEdit::Replace {
            old: "x".into(),
            new: "y".into(),
            origin: origin(),
        }];
        assert!(apply("x x\n", &e).unwrap_err().contains("2 occurrences"));
        assert!(apply("z\n", &e).unwrap_err().contains("no occurrence"));
    }

    #[test]
    fn ensure_line_inserts_after_the_anchor_with_its_indentation() {
        let e = [TextEdit::EnsureLine {
            line: "b()".into(),
            after: "a()".into(),
            origin: origin(),
        }];
        let out = apply("def f():\n    a()\n    c()\n", &e).unwrap();
        assert_eq!(out, "def f():\n    a()\n    b()\n    c()\n");
        assert!(plan(&out, &e).unwrap().is_empty());
    }
}
