//! Recipe parameters: `param` declarations and `{NAME}` substitution.
//!
//! Substitution rewrites the recipe's KDL node before the node parsers read it, so every
//! rule sees plain values and every check (globs, paths, numbers, snippets) runs on the
//! substituted text. A string entry that is exactly `{NAME}` (and has no type annotation)
//! becomes the parameter's typed value (`"{backoff}"` → the integer 6); a reference inside a
//! longer string, or inside a `(yaml)` snippet, is replaced by the value's text. Only
//! declared names are references, and a doubled brace (`{{name}}`) is never one, so Helm
//! templates (`{{ .Values.x }}`), shell (`${VAR}`) and glob alternatives (`{a,b}`) stay
//! literal. Entry spans are kept, and each substituted entry is recorded with the
//! parameters it used, so a diagnostic about it can point at whoever supplied the value.

use std::collections::HashMap;
use std::sync::Arc;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;
use serde_json::{Number, Value};

use super::diag::{Supplier, list, suggest};
use super::entries::kdl_kind;
use super::parser::{Parser, Substituted};
use super::spec::PARAM;
use crate::recipe::model::{Param, ParamType};

/// A parameter as declared, with what substitution and `use` checks need.
pub(super) struct Decl {
    pub(super) param: Param,
    /// The default as written (`None`: required).
    pub(super) default: Option<KdlValue>,
}

/// The value a parameter takes in one instance, and who gave it.
pub(super) struct Bound {
    pub(super) value: KdlValue,
    /// `None`: the recipe's own default (or a placeholder): errors stay in the recipe.
    pub(super) supplier: Option<Arc<Supplier>>,
}

const TYPES: &[&str] = &["string", "int", "float", "bool"];
const PARAM_HELP: &str = "write `param \"backoff\" 6 description=\"...\"` (the default's type is \
                          the parameter's type), or `param \"host\" type=\"string\"` for a \
                          required parameter";

impl Parser<'_> {
    /// The `param` declarations directly inside a recipe node, in order; `None` when one is
    /// invalid (already reported).
    pub(super) fn params(&mut self, recipe: &KdlNode) -> Option<Vec<Decl>> {
        let mut decls: Vec<Decl> = Vec::new();
        let mut spans: HashMap<String, SourceSpan> = HashMap::new();
        let mut ok = true;
        let children = recipe
            .children()
            .map(KdlDocument::nodes)
            .unwrap_or_default();
        for node in children.iter().filter(|n| n.name().value() == "param") {
            match self.param(node) {
                Some(decl) => {
                    let name = decl.param.name.clone();
                    let span = node.entries().first().map_or(node.span(), KdlEntry::span);
                    if let Some(first) = spans.get(&name) {
                        let first = *first;
                        self.error(
                            span,
                            "declared again here",
                            format!("parameter `{name}` is declared twice"),
                            "keep one `param` per name",
                        )
                        .labels
                        .push(miette::LabeledSpan::new_with_span(
                            Some("first declared here".into()),
                            first,
                        ));
                        ok = false;
                        continue;
                    }
                    spans.insert(name, span);
                    decls.push(decl);
                }
                None => ok = false,
            }
        }
        if ok && !decls.is_empty() {
            ok = self.check_references(recipe, &decls);
        }
        ok.then_some(decls)
    }

    /// A `{NAME}` one typo away from a declared parameter would silently stay literal:
    /// report it. (Other braces — `{{ ... }}`, `${VAR}`, `{a,b}` — are not names close to a
    /// parameter, and stay.)
    fn check_references(&mut self, recipe: &KdlNode, decls: &[Decl]) -> bool {
        let names: Vec<&str> = decls.iter().map(|d| d.param.name.as_str()).collect();
        let mut misses = Vec::new();
        let children = recipe
            .children()
            .map(KdlDocument::nodes)
            .unwrap_or_default();
        for child in children.iter().filter(|n| n.name().value() != "param") {
            near_misses(child, &names, &mut misses);
        }
        for (span, word, close) in &misses {
            self.error(
                *span,
                "not a parameter",
                format!("`{{{word}}}` is not a parameter of this recipe"),
                format!(
                    "did you mean `{{{close}}}`? (the parameters are {})",
                    list(&names)
                ),
            );
        }
        misses.is_empty()
    }

    fn param(&mut self, node: &KdlNode) -> Option<Decl> {
        let head = self.head(node, &PARAM);
        let ty_prop = self.opt_string_prop(&head, "type", PARAM_HELP);
        let description = self.opt_string_prop(&head, "description", PARAM_HELP);
        if !head.ok {
            return None;
        }
        let name_entry = head.args[0];
        let name = self.string_arg(name_entry, "the parameter name", PARAM_HELP)?;
        if !is_param_name(&name) {
            self.error(
                name_entry.span(),
                "not a parameter name",
                format!("`{name}` is not a valid parameter name"),
                "a parameter name is a letter or `_`, then letters, digits, `_` or `-`, \
                 e.g. \"backoff\" or \"chart-dir\"",
            );
            return None;
        }
        if name == "name" {
            self.error(
                name_entry.span(),
                "reserved",
                "`name` cannot be a parameter: `use ... name=\"...\"` names the instance",
                "call the parameter something else, e.g. \"deployment\" or \"release\"",
            );
            return None;
        }
        let (ty_prop, description) = (ty_prop.ok()?, description.ok()?);
        let declared = match &ty_prop {
            None => None,
            Some(text) => match text.as_str() {
                "string" => Some(ParamType::String),
                "int" => Some(ParamType::Int),
                "float" => Some(ParamType::Float),
                "bool" => Some(ParamType::Bool),
                other => {
                    let span = head.props.get("type").map_or(node.span(), |e| e.span());
                    let help = match suggest(other, TYPES) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("the types are {}", list(TYPES)),
                    };
                    self.error(
                        span,
                        "unknown type",
                        format!("unknown parameter type `{other}`"),
                        help,
                    );
                    return None;
                }
            },
        };
        let default_entry = head.args.get(1).copied();
        let (ty, default) = match (default_entry, declared) {
            (None, None) => {
                self.error(
                    self.head_line_span(node),
                    "no default, no type",
                    format!("parameter `{name}` has neither a default nor a `type=`"),
                    format!(
                        "give a default (`param \"{name}\" 6`), or make it required with \
                         `param \"{name}\" type=\"string\"` (or int, float, bool)"
                    ),
                );
                return None;
            }
            (None, Some(ty)) => (ty, None),
            (Some(entry), declared) => {
                if let Some(ty) = entry.ty() {
                    self.error(
                        ty.span(),
                        "type annotation",
                        "a parameter's default takes no type annotation",
                        format!("remove `({})`; {PARAM_HELP}", ty.value()),
                    );
                    return None;
                }
                let Some(of_default) = kdl_param_type(entry.value()) else {
                    self.error(
                        entry.span(),
                        "no type",
                        "#null cannot be a parameter's default: it has no type",
                        format!(
                            "leave the default out and write `type=\"...\"` to make `{name}` required"
                        ),
                    );
                    return None;
                };
                let ty = match declared {
                    None => of_default,
                    Some(ParamType::Float) if of_default == ParamType::Int => ParamType::Float,
                    Some(ty) if ty == of_default => ty,
                    Some(ty) => {
                        self.error(
                            entry.span(),
                            "default of another type",
                            format!(
                                "parameter `{name}` is declared `type=\"{}\"` but its default is {}",
                                ty.name(),
                                kdl_kind(entry.value())
                            ),
                            "make the default match the type, or drop `type=` (the default's \
                             type is the parameter's type)",
                        );
                        return None;
                    }
                };
                let mut json = self.plain_value(entry)?;
                if ty == ParamType::Float
                    && let Some(n) = json.as_f64().and_then(Number::from_f64)
                {
                    json = Value::Number(n);
                }
                (ty, Some((coerce(entry.value(), ty), json)))
            }
        };
        let (default, json) = default.unzip();
        Some(Decl {
            param: Param {
                name,
                ty,
                default: json,
                description,
                origin: self.origin(node.span().offset()),
            },
            default,
        })
    }
}

/// `recipe` with its `{NAME}` references replaced by `bound` values (parameters without a
/// value stay references); the `param` nodes themselves are left as they are.
pub(super) fn substitute(
    recipe: &KdlNode,
    bound: &HashMap<String, Bound>,
) -> (KdlNode, Vec<Substituted>) {
    let mut node = recipe.clone();
    let mut done = Vec::new();
    if let Some(children) = node.children_mut() {
        for child in children.nodes_mut() {
            if child.name().value() != "param" {
                substitute_node(child, bound, &mut done);
            }
        }
    }
    (node, done)
}

fn substitute_node(
    node: &mut KdlNode,
    bound: &HashMap<String, Bound>,
    done: &mut Vec<Substituted>,
) {
    for entry in node.entries_mut() {
        let KdlValue::String(text) = entry.value() else {
            continue;
        };
        let refs = references(text, bound);
        if refs.is_empty() {
            continue;
        }
        let whole = refs.len() == 1 && refs[0].0 == 0 && refs[0].1 == text.len();
        let new = if whole && entry.ty().is_none() {
            bound[&refs[0].2].value.clone()
        } else {
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            for (start, end, name) in &refs {
                out.push_str(&text[at..*start]);
                out.push_str(&value_text(&bound[name].value));
                at = *end;
            }
            out.push_str(&text[at..]);
            KdlValue::String(out)
        };
        let mut params: Vec<(String, Option<Arc<Supplier>>)> = Vec::new();
        for (_, _, name) in refs {
            if !params.iter().any(|(n, _)| *n == name) {
                let supplier = bound[&name].supplier.clone();
                params.push((name, supplier));
            }
        }
        done.push(Substituted {
            span: entry.span(),
            params,
        });
        entry.set_value(new);
    }
    if let Some(children) = node.children_mut() {
        for child in children.nodes_mut() {
            substitute_node(child, bound, done);
        }
    }
}

/// Entries under `node` with a `{word}` that is not a parameter but close to one:
/// (entry span, word, the parameter).
fn near_misses(node: &KdlNode, names: &[&str], out: &mut Vec<(SourceSpan, String, String)>) {
    for entry in node.entries() {
        let KdlValue::String(text) = entry.value() else {
            continue;
        };
        let none = HashMap::new();
        for (_, _, word) in braced_names(text, &none, true) {
            if names.contains(&word.as_str()) {
                continue;
            }
            // Short names are too often one letter from anything to call it a typo.
            if let Some(close) = suggest(&word, names).filter(|c| c.len() >= 4) {
                out.push((entry.span(), word, close.to_string()));
            }
        }
    }
    for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
        near_misses(child, names, out);
    }
}

/// The `{NAME}` references to bound parameters in `text`: (start, end, name), in order.
fn references(text: &str, bound: &HashMap<String, Bound>) -> Vec<(usize, usize, String)> {
    braced_names(text, bound, false)
}

/// `{NAME}`s in `text` (single braces): those naming a `bound` parameter, or with `any`
/// every one that looks like a parameter name.
fn braced_names(
    text: &str,
    bound: &HashMap<String, Bound>,
    any: bool,
) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut refs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{'
            && (i == 0 || bytes[i - 1] != b'{')
            && let Some(len) = text[i + 1..].find('}')
        {
            let name = &text[i + 1..i + 1 + len];
            let end = i + len + 2;
            let wanted = if any {
                is_param_name(name)
            } else {
                bound.contains_key(name)
            };
            if wanted && bytes.get(end) != Some(&b'}') {
                refs.push((i, end, name.to_string()));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    refs
}

/// A value's text inside a longer string: `6`, `0.5`, `true`, the string itself.
fn value_text(value: &KdlValue) -> String {
    match value {
        KdlValue::String(s) => s.clone(),
        KdlValue::Integer(i) => i.to_string(),
        KdlValue::Float(f) => Number::from_f64(*f).map_or_else(|| f.to_string(), |n| n.to_string()),
        KdlValue::Bool(b) => b.to_string(),
        KdlValue::Null => "null".to_string(),
    }
}

pub(super) fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The parameter type a KDL value has (`None` for #null).
pub(super) fn kdl_param_type(value: &KdlValue) -> Option<ParamType> {
    match value {
        KdlValue::String(_) => Some(ParamType::String),
        KdlValue::Integer(_) => Some(ParamType::Int),
        KdlValue::Float(_) => Some(ParamType::Float),
        KdlValue::Bool(_) => Some(ParamType::Bool),
        KdlValue::Null => None,
    }
}

/// `value` as a `ty` (an integer given for a float parameter becomes a float).
pub(super) fn coerce(value: &KdlValue, ty: ParamType) -> KdlValue {
    match (value, ty) {
        (KdlValue::Integer(i), ParamType::Float) => KdlValue::Float(*i as f64),
        _ => value.clone(),
    }
}

/// What stands in for a required parameter when a template's body is checked.
pub(super) fn placeholder(param: &Param) -> KdlValue {
    match param.ty {
        ParamType::String => KdlValue::String(param.name.clone()),
        ParamType::Int => KdlValue::Integer(1),
        ParamType::Float => KdlValue::Float(1.0),
        ParamType::Bool => KdlValue::Bool(false),
    }
}

/// A parameter value as JSON (values were checked when they were read).
pub(super) fn kdl_json(value: &KdlValue) -> Value {
    match value {
        KdlValue::String(s) => Value::String(s.clone()),
        KdlValue::Integer(i) => i64::try_from(*i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(i.to_string())),
        KdlValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        KdlValue::Bool(b) => Value::Bool(*b),
        KdlValue::Null => Value::Null,
    }
}

/// A default as KDL would write it (`"chart/*.yaml"`, `6`, `#true`), for help lines.
pub fn kdl_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => format!("#{b}"),
        Value::Null => "#null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(pairs: &[(&str, KdlValue)]) -> HashMap<String, Bound> {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    Bound {
                        value: v.clone(),
                        supplier: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn only_declared_single_braced_names_are_references() {
        let b = bound(&[("host", KdlValue::String("db".into()))]);
        let found = |t: &str| {
            references(t, &b)
                .into_iter()
                .map(|(s, e, _)| &t[s..e])
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(found("{host}:5432"), "{host}");
        assert_eq!(found("a{host}b{host}"), "{host},{host}");
        assert_eq!(found("{{host}}"), "");
        assert_eq!(found("{{ .Values.host }}"), "");
        assert_eq!(found("${host}"), "{host}");
        assert_eq!(found("{port}"), "");
        assert_eq!(found("*.{yaml,yml}"), "");
        assert_eq!(found("{"), "");
    }

    #[test]
    fn whole_argument_keeps_the_type_and_text_references_take_the_text() {
        let doc = KdlDocument::parse_v2(
            "recipe \"r\" {\n  param \"n\" 6\n  file \"{dir}/*.yaml\" { at-least \"/a\" \"{n}\"; set \"/b\" \"x{n}\" }\n}",
        )
        .unwrap();
        let b = bound(&[
            ("n", KdlValue::Integer(6)),
            ("dir", KdlValue::String("chart".into())),
        ]);
        let (node, done) = substitute(&doc.nodes()[0], &b);
        let file = &node.children().unwrap().nodes()[1];
        assert_eq!(
            file.entries()[0].value(),
            &KdlValue::String("chart/*.yaml".into())
        );
        let rules = file.children().unwrap().nodes();
        assert_eq!(rules[0].entries()[1].value(), &KdlValue::Integer(6));
        assert_eq!(
            rules[1].entries()[1].value(),
            &KdlValue::String("x6".into())
        );
        assert_eq!(done.len(), 3);
        // the param node is not rewritten
        let param = &node.children().unwrap().nodes()[0];
        assert_eq!(param.entries()[1].value(), &KdlValue::Integer(6));
    }
}
