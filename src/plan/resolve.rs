//! Path resolution: a recipe path (with `*` and `[key=value]`) against a JSON model, giving
//! concrete key paths, plus what was seen where matching stopped (for nearest-miss warnings).

use serde_json::Value;

use crate::path::Segment;

use crate::pointer::display_value;

#[derive(Debug, Default)]
pub struct Resolution {
    pub targets: Vec<Vec<String>>,
    /// Keys or values present where the path stopped matching.
    pub seen: Vec<String>,
}

/// Resolves `segments` from the node at `start`. With `allow_missing`, a concrete tail that
/// does not exist (only plain keys after the last existing node) still yields a target.
pub fn resolve(
    model: &Value,
    start: &[String],
    segments: &[Segment],
    allow_missing: bool,
) -> Resolution {
    let mut res = Resolution::default();
    let Some(node) = crate::pointer::lookup(model, start) else {
        return res;
    };
    walk(node, start.to_vec(), segments, allow_missing, &mut res);
    res.seen.sort();
    res.seen.dedup();
    res
}

fn walk(
    node: &Value,
    at: Vec<String>,
    rest: &[Segment],
    allow_missing: bool,
    res: &mut Resolution,
) {
    let Some((seg, tail)) = rest.split_first() else {
        res.targets.push(at);
        return;
    };
    match seg {
        Segment::Key(k) => {
            let child = match node {
                Value::Object(m) => m.get(k),
                Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            match child {
                Some(c) => walk(c, push(&at, k), tail, allow_missing, res),
                None if allow_missing && tail.iter().all(|s| matches!(s, Segment::Key(_))) => {
                    let mut t = at;
                    t.push(k.clone());
                    t.extend(tail.iter().filter_map(|s| match s {
                        Segment::Key(k) => Some(k.clone()),
                        _ => None,
                    }));
                    res.targets.push(t);
                }
                None => res.seen.extend(children_names(node)),
            }
        }
        Segment::Any => match node {
            Value::Object(m) => {
                for (k, c) in m {
                    walk(c, push(&at, k), tail, allow_missing, res);
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    walk(c, push(&at, &i.to_string()), tail, allow_missing, res);
                }
            }
            other => res
                .seen
                .push(format!("{} (not a list or mapping)", display_value(other))),
        },
        Segment::Filter { key, value } => match node {
            Value::Array(a) => {
                let mut any = false;
                for (i, c) in a.iter().enumerate() {
                    match c.get(key) {
                        Some(v) if display_value(v) == *value => {
                            any = true;
                            walk(c, push(&at, &i.to_string()), tail, allow_missing, res);
                        }
                        Some(v) => res.seen.push(format!("{key}={}", display_value(v))),
                        None => {}
                    }
                }
                if !any && res.seen.is_empty() {
                    res.seen.push(format!("no item has `{key}`"));
                }
            }
            other => res
                .seen
                .push(format!("{} (not a list)", crate::pointer::type_name(other))),
        },
    }
}

fn push(at: &[String], k: &str) -> Vec<String> {
    let mut v = at.to_vec();
    v.push(k.to_string());
    v
}

fn children_names(node: &Value) -> Vec<String> {
    match node {
        Value::Object(m) => m.keys().cloned().collect(),
        Value::Array(a) => vec![format!("a list of {} items", a.len())],
        other => vec![format!(
            "{} ({})",
            display_value(other),
            crate::pointer::type_name(other)
        )],
    }
}
