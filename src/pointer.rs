//! JSON Pointers (RFC 6901) and the JSON models they address: keys ↔ pointers, lookup, the
//! equality a consumer sees, and how values are named in messages. Pure functions on
//! `serde_json` values; no YAML, no recipes.

use jsonptr::PointerBuf;
use serde_json::Value;

use crate::path::{PathExpr, Segment};

/// The unescaped keys of a JSON Pointer.
pub fn pointer_keys(pointer: &str) -> Vec<String> {
    jsonptr::Pointer::parse(pointer)
        .map(|p| p.tokens().map(|t| t.decoded().into_owned()).collect())
        .unwrap_or_default()
}

pub fn to_pointer(keys: &[String]) -> PointerBuf {
    PointerBuf::from_tokens(keys.iter().map(|k| jsonptr::Token::new(k.as_str())))
}

/// The value at concrete keys.
pub fn lookup<'a, S: AsRef<str>>(value: &'a Value, keys: &[S]) -> Option<&'a Value> {
    let mut v = value;
    for k in keys {
        let k = k.as_ref();
        v = match v {
            Value::Object(m) => m.get(k)?,
            Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Equality as the consumer sees it (the model is already in the consumer's dialect):
/// numbers compare by value, so `6` equals `6.0`.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        // Keys in the same order (the usual case) pair up without hashing.
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k, v), (yk, yv))| {
                    if k == yk {
                        values_equal(v, yv)
                    } else {
                        y.get(k).is_some_and(|w| values_equal(v, w))
                    }
                })
        }
        _ => a == b,
    }
}

pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The concrete segments of a selector-free path (for callers that need keys).
pub fn concrete_keys(path: &PathExpr) -> Option<Vec<String>> {
    path.segments
        .iter()
        .map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}
