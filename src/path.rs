//! Recipe paths: JSON Pointers (RFC 6901) plus two selector forms, `*` (every item or key)
//! and `[key=value]` (sequence items whose `key` equals `value`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key, or a sequence index when the node is a sequence (`-` = append).
    Key(String),
    /// `*`: every key of a mapping or every item of a sequence.
    Any,
    /// `[key=value]`: every sequence item that is a mapping with `key` equal to `value`.
    Filter { key: String, value: String },
}

/// A parsed recipe path. Relative paths (no leading `/`) are resolved against the node an
/// enclosing `each` selected; at file level both forms mean the document root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathExpr {
    pub absolute: bool,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub message: String,
    /// Byte offset inside the path string where the problem is.
    pub offset: usize,
}

impl PathExpr {
    pub fn parse(text: &str) -> Result<PathExpr, PathError> {
        let (absolute, body, base) = match text.strip_prefix('/') {
            Some(rest) => (true, rest, 1),
            None => (false, text, 0),
        };
        let mut segments = Vec::new();
        if body.is_empty() {
            return Ok(PathExpr { absolute, segments });
        }
        let mut offset = base;
        for raw in body.split('/') {
            segments.push(parse_segment(raw, offset)?);
            offset += raw.len() + 1;
        }
        Ok(PathExpr { absolute, segments })
    }

    /// True when no segment is a selector, so the path names at most one node.
    pub fn is_concrete(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Key(_)))
    }
}

fn parse_segment(raw: &str, offset: usize) -> Result<Segment, PathError> {
    if raw == "*" {
        return Ok(Segment::Any);
    }
    if let Some(inner) = raw.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(PathError {
                message: format!("selector `{raw}` is missing its closing `]`"),
                offset,
            });
        };
        let Some((key, value)) = inner.split_once('=') else {
            return Err(PathError {
                message: format!("selector `{raw}` must look like `[key=value]`"),
                offset,
            });
        };
        if key.is_empty() {
            return Err(PathError {
                message: format!("selector `{raw}` has an empty key"),
                offset,
            });
        }
        return Ok(Segment::Filter {
            key: unescape(key, offset)?,
            value: unescape(value, offset)?,
        });
    }
    if raw.is_empty() {
        return Err(PathError {
            message: "empty path segment (`//` or a trailing `/`)".to_string(),
            offset,
        });
    }
    Ok(Segment::Key(unescape(raw, offset)?))
}

/// RFC 6901 escapes: `~1` is `/`, `~0` is `~`.
fn unescape(raw: &str, offset: usize) -> Result<String, PathError> {
    if !raw.contains('~') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '0')) => out.push('~'),
            Some((_, '1')) => out.push('/'),
            _ => {
                return Err(PathError {
                    message: "`~` must be followed by 0 or 1 (RFC 6901 escape)".to_string(),
                    offset: offset + i,
                });
            }
        }
    }
    Ok(out)
}

/// Escapes one key for use in a JSON Pointer.
pub fn escape_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Joins concrete keys into a JSON Pointer.
pub fn pointer<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for k in keys {
        out.push('/');
        out.push_str(&escape_key(k));
    }
    out
}

impl fmt::Display for PathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.absolute || self.segments.is_empty() {
            f.write_str("/")?;
        }
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            match seg {
                Segment::Key(k) => f.write_str(&escape_key(k))?,
                Segment::Any => f.write_str("*")?,
                Segment::Filter { key, value } => write!(f, "[{key}={value}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pointer_with_selectors_and_escapes() {
        let p = PathExpr::parse("/spec/containers/[name=web]/*/a~1b").unwrap();
        assert!(p.absolute);
        assert_eq!(
            p.segments,
            vec![
                Segment::Key("spec".into()),
                Segment::Key("containers".into()),
                Segment::Filter {
                    key: "name".into(),
                    value: "web".into()
                },
                Segment::Any,
                Segment::Key("a/b".into()),
            ]
        );
        assert_eq!(p.to_string(), "/spec/containers/[name=web]/*/a~1b");
    }

    #[test]
    fn relative_path_and_root() {
        let p = PathExpr::parse("livenessProbe/initialDelaySeconds").unwrap();
        assert!(!p.absolute);
        assert_eq!(p.segments.len(), 2);
        assert!(PathExpr::parse("/").unwrap().segments.is_empty());
    }

    #[test]
    fn rejects_empty_segment_and_bad_escape() {
        assert!(PathExpr::parse("/a//b").is_err());
        assert_eq!(PathExpr::parse("/a/~2").unwrap_err().offset, 3);
        assert!(PathExpr::parse("/a/[name]").is_err());
    }
}
