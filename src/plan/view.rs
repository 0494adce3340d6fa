//! The values view: a chart template's model as it renders with given values. Reads of
//! values paths are replaced by what they print ([`fill_values`], [`effective`]), branches
//! the values do not take are pruned ([`prune_unrendered`]) and conditions are evaluated
//! ([`eval`]). Also the chart's parsed `define`s the view splices in ([`ParsedDefine`]).
//! Pure functions on the template facts of `doc::template::reads`; it never decides where an
//! op lands ([`super::route`] does).

use std::collections::HashMap;

use serde_json::Value;

use super::guards::is_empty;
use crate::doc::template::reads::{
    Cond, Condition, Guard, IncludeSite, KeyFilter, Read, Siblings, Source, ValuesExpr,
};
use crate::pointer::{lookup, to_pointer};

/// The values a chart's templates render with, and where values edits land.
#[derive(Debug, Clone)]
pub struct ValuesView {
    /// The chart directory (holds `Chart.yaml`), relative to the root.
    pub chart: String,
    /// The values file edits land in: `values.yaml`, or the rule's `values=` override.
    pub target: String,
    /// The model the templates see: `values.yaml`, with the override merged over it (shared
    /// by the chart's templates).
    pub model: std::sync::Arc<Value>,
    /// The chart's `values.yaml` model (without the override). Shared: every template of
    /// the chart holds a view, and only `model` differs between them.
    pub base: std::sync::Arc<Value>,
    /// Every read of a values path in the chart's templates and helpers (shared, as `base`).
    pub reads: std::sync::Arc<Vec<Read>>,
    /// The chart is a subchart (under another chart's `charts/`): its parent may override
    /// its values, so edits here are not provably what renders.
    pub subchart: bool,
    /// The named templates the chart's templates can include (its own and its
    /// dependencies'), by name, and every `include` action in the chart.
    pub defines: std::sync::Arc<HashMap<String, ParsedDefine>>,
    pub includes: std::sync::Arc<Vec<IncludeSite>>,
    /// The `if`/`with` branches around each line of the chart's files that reads values or
    /// includes a define, by (file, 1-based line): what `route` evaluates guards with.
    pub lines: std::sync::Arc<super::guards::ChartLines>,
    /// What the chart's simple defines print, by name (conditions on `include "NAME" $`
    /// are parsed with it: `doc::template::branches::with_define_outputs`).
    pub outputs: std::sync::Arc<HashMap<String, Cond>>,
    /// The chart-testing scenarios (`ci/*.yaml`) the chart also renders with, when the
    /// templates render with `values.yaml` (no `values=` override): each is planned too.
    pub scenarios: std::sync::Arc<Vec<std::sync::Arc<Scenario>>>,
    /// This view is one of those scenarios (its `model` is that scenario's).
    pub scenario: Option<std::sync::Arc<Scenario>>,
}

/// One chart-testing scenario: a `ci/*.yaml` values file deep-merged over `values.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The values file, relative to the root, and its name relative to the chart.
    pub file: String,
    pub name: String,
    /// What the file itself sets (its model).
    pub overlay: Value,
    /// The values the templates see in this scenario: [`merge_values`] of the file over
    /// `values.yaml`.
    pub model: std::sync::Arc<Value>,
}

impl ValuesView {
    /// The same chart's view as it renders in `scenario` (which plans no scenarios itself).
    pub fn in_scenario(&self, scenario: &std::sync::Arc<Scenario>) -> ValuesView {
        ValuesView {
            model: scenario.model.clone(),
            scenarios: Default::default(),
            scenario: Some(scenario.clone()),
            ..self.clone()
        }
    }

    /// The layer that owns the value at `keys` in this view's scenario, as the file the
    /// edit lands in: the scenario's own file when it sets the key, or, for a key that is
    /// new everywhere, when it sets the mapping the key is added to (the printed value comes
    /// from there); else the view's target. Without a scenario: the target.
    pub fn owner(&self, keys: &[String]) -> &str {
        let Some(s) = &self.scenario else {
            return &self.target;
        };
        if lookup(&s.overlay, keys).is_some() {
            return &s.file;
        }
        if lookup(&self.base, keys).is_some() {
            return &self.target;
        }
        // The deepest mapping on the path that renders in the scenario: the key is added there.
        let deepest = (0..keys.len())
            .rev()
            .find(|&n| matches!(lookup(&s.model, &keys[..n]), Some(Value::Object(_))));
        match deepest {
            Some(n) if n > 0 && lookup(&s.overlay, &keys[..n]).is_some() => &s.file,
            _ => &self.target,
        }
    }
}

/// What `expr` renders to when the values hold `found` at its path.
pub fn rendered(expr: &ValuesExpr, found: Option<&Value>) -> Value {
    let mut v = found.cloned().unwrap_or(Value::Null);
    if let Some(d) = &expr.default
        && is_empty(&v)
    {
        v = d.clone();
    }
    if expr.keys != KeyFilter::All
        && let Value::Object(map) = &mut v
    {
        map.retain(|k, _| expr.keys.prints(k));
    }
    if expr.stringify {
        v = match v {
            Value::String(_) | Value::Array(_) | Value::Object(_) => v,
            Value::Null => Value::String(String::new()),
            other => Value::String(other.to_string()),
        };
    } else if expr.numeric
        && let Value::String(s) = &v
        && let Ok(n) = s.trim().parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(n)
    {
        v = Value::Number(n);
    }
    v
}

/// A mapping entry that renders from a literal in an `else` branch: the view shows that
/// value, but the editor (which sees the first branch) cannot change it.
#[derive(Debug, Clone, PartialEq)]
pub struct ElseRendered {
    pub pointer: Vec<String>,
    /// 1-based lines of the `if` that is false and of the `else` that renders.
    pub if_line: usize,
    pub else_line: usize,
}

/// Makes the model show what renders under `values`: mapping entries inside an `if`/`with`
/// whose simple condition is false are removed, or, when the innermost such `if` has an
/// `else` branch that renders the same key as a literal, take that literal (returned, so
/// that an edit of them is refused). Unprovable conditions keep the entry as written.
pub fn prune_unrendered(model: &mut Value, guards: &[Guard], values: &Value) -> Pruned {
    let mut from_else = Vec::new();
    let is_false = |c: &Condition| c.cond.as_ref().is_ok_and(|cond| !eval(cond, values));
    let holds = |c: &Condition| c.cond.as_ref().is_ok_and(|cond| eval(cond, values));
    // List items that do not render, removed last (highest index first) so that the
    // pointers of the other guards stay valid meanwhile.
    let mut unrendered_items: Vec<&[String]> = Vec::new();
    for g in guards {
        let Some((last, parent)) = g.pointer.split_last() else {
            continue;
        };
        let map = match to_pointer(parent).resolve_mut(model) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Array(_)) => {
                if let Some(c) = g.conditions.iter().find(|c| is_false(c)) {
                    unrendered_items.push(&g.pointer);
                    // Its `else` branch renders other items, which the view does not show:
                    // the list is not what renders, so an edit of it is refused.
                    if let Some(else_line) = c.first_else {
                        from_else.push(ElseRendered {
                            pointer: parent.to_vec(),
                            if_line: c.line,
                            else_line,
                        });
                    }
                }
                continue;
            }
            _ => continue,
        };
        if g.conditions.iter().any(|c| !c.has_else && is_false(c)) {
            map.shift_remove(last);
            continue;
        }
        // Only the innermost `if` knows its branches, and only when every `if` around it
        // renders its first branch is that innermost choice what decides the node.
        let Some((c, outer)) = g.conditions.split_last() else {
            continue;
        };
        if !is_false(c) || !outer.iter().all(holds) {
            continue;
        }
        let mut taken = None;
        for e in &c.elses {
            match &e.cond {
                None => {
                    taken = Some(e);
                    break;
                }
                Some(Ok(cond)) if eval(cond, values) => {
                    taken = Some(e);
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) => break,
            }
        }
        let Some(e) = taken else {
            // Every branch is provably false, or one is unprovable: only the former is known.
            if c.elses.iter().all(|e| matches!(&e.cond, Some(Ok(_)))) {
                map.shift_remove(last);
            }
            continue;
        };
        match (&e.literal, &e.alt) {
            (Some(v), _) => {
                map.insert(last.clone(), v.clone());
                from_else.push(ElseRendered {
                    pointer: g.pointer.clone(),
                    if_line: c.line,
                    else_line: e.line,
                });
            }
            // Printed by an action there (the values routing follows it), unless a block
            // of that branch around it is provably false: then nothing renders there.
            (None, Some(alt)) => {
                if alt.guards.iter().any(&is_false) {
                    map.shift_remove(last);
                }
            }
            // The branch that renders does not have the key.
            (None, None) => {
                map.shift_remove(last);
            }
        }
    }
    let index_order = |p: &[String]| -> Vec<(usize, String)> {
        p.iter()
            .map(|k| (k.parse::<usize>().unwrap_or(usize::MAX), k.clone()))
            .collect()
    };
    unrendered_items.sort_by_key(|p| std::cmp::Reverse(index_order(p)));
    let mut removed_items = Vec::new();
    for p in unrendered_items {
        let Some((last, parent)) = p.split_last() else {
            continue;
        };
        if let (Ok(Value::Array(items)), Ok(i)) =
            (to_pointer(parent).resolve_mut(model), last.parse::<usize>())
            && i < items.len()
        {
            items.remove(i);
            removed_items.push(p.to_vec());
        }
    }
    Pruned {
        from_else,
        removed_items,
    }
}

/// What [`prune_unrendered`] did besides removing mapping entries.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Entries that render from an `else` literal.
    pub from_else: Vec<ElseRendered>,
    /// List items removed (their pointers as written), in the order they were removed.
    pub removed_items: Vec<Vec<String>>,
}

impl Pruned {
    /// A pointer of the document as written, in the pruned model: `None` when it is inside
    /// a removed item; later items of a list shift down.
    pub fn reindex(&self, pointer: &[String]) -> Option<Vec<String>> {
        let mut p = pointer.to_vec();
        for item in &self.removed_items {
            let Some((last, parent)) = item.split_last() else {
                continue;
            };
            if p.len() <= parent.len() || !p.starts_with(parent) {
                continue;
            }
            let (Ok(removed), Ok(at)) = (last.parse::<usize>(), p[parent.len()].parse::<usize>())
            else {
                continue;
            };
            if at == removed {
                return None;
            }
            if at > removed {
                p[parent.len()] = (at - 1).to_string();
            }
        }
        Some(p)
    }

    /// Moves `sources` to the pruned model's pointers, dropping those that do not render.
    pub fn reindex_sources(&self, sources: Vec<Source>) -> Vec<Source> {
        if self.removed_items.is_empty() {
            return sources;
        }
        sources
            .into_iter()
            .filter_map(|mut s| {
                s.pointer = self.reindex(&s.pointer)?;
                Some(s)
            })
            .collect()
    }
}

/// Replaces each node a values read prints with what it renders to under `values`, so that
/// selectors, `when`s and bounds see the field as the chart would render it.
pub fn fill_values(model: &mut Value, sources: &[Source], values: &Value) {
    for s in sources {
        let Ok((_, _, expr)) = effective(s, values) else {
            continue;
        };
        let v = rendered(expr, lookup(values, &expr.path));
        // A node pruned as unrendered stays absent.
        if let Ok(slot) = to_pointer(&s.pointer).resolve_mut(model) {
            *slot = match &expr.siblings {
                Some(sib) => with_siblings(v, sib, slot),
                None => v,
            };
        }
    }
}

/// The mapping a structure-printing action renders followed by literal lines: the values'
/// entries, then the literal ones (`slot` holds them when the editor sees them; a key both
/// print renders twice, and the later, literal one is what the view shows).
fn with_siblings(values_part: Value, sib: &Siblings, slot: &Value) -> Value {
    let mut map = match values_part {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let literal = match (&sib.hidden, slot) {
        (Some(h), _) => h.clone(),
        (None, Value::Object(m)) => m.clone(),
        (None, _) => serde_json::Map::new(),
    };
    map.retain(|k, _| !literal.contains_key(k));
    map.extend(literal);
    Value::Object(map)
}

/// Where an op on `key` inside a node printed by `expr` lands, when the node is more than
/// the values' mapping (literal lines below the action, `omit`/`pick` around the value):
/// in values when the values part prints the key (or would, once set), in the template when
/// only a visible literal line has it; else why neither. `found` is the values' node;
/// `key` is `None` for an op on the node itself.
pub fn part_of(expr: &ValuesExpr, key: Option<&str>, found: Option<&Value>) -> Part {
    let sib = expr.siblings.as_ref();
    let Some(key) = key else {
        return match sib {
            Some(s) => Part::Refused(format!(
                "it renders the values' mapping together with the literal lines at line {}, so it is not one values node",
                s.line
            )),
            None => Part::Values,
        };
    };
    let literal = sib.filter(|s| s.keys.iter().any(|k| k == key));
    let printed = expr.keys.prints(key);
    let in_values = found
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(key));
    match (literal, printed) {
        (Some(s), true) if in_values => Part::Refused(format!(
            "the values print `{key}` and the literal lines at line {} write it too, so it renders twice",
            s.line
        )),
        (Some(s), _) if s.hidden.is_some() => Part::Refused(format!(
            "`{key}` is written in the template's lines at line {}, in a branch that is not the first, which patcher does not edit",
            s.line
        )),
        (Some(_), _) => Part::Template,
        (None, true) => Part::Values,
        (None, false) => match sib {
            Some(s) if s.hidden.is_none() => Part::Template,
            _ => Part::Refused(format!(
                "`{key}` is left out by {} and the template writes no literal lines beside it",
                match &expr.keys {
                    KeyFilter::Omit(_) => "`omit`",
                    _ => "`pick`",
                }
            )),
        },
    }
}

/// See [`part_of`].
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Values,
    Template,
    Refused(String),
}

/// The read that renders a source's node under `values`: its own action when every
/// `if`/`with` around it holds, else the same key's action in the `else` branch that
/// renders; why not, when a condition is not simple or no branch prints the node from one
/// values path. Returns (line, offset, expression).
pub fn effective<'s>(
    source: &'s Source,
    values: &Value,
) -> Result<(usize, usize, &'s ValuesExpr), String> {
    let mut chosen: (usize, usize, &Result<ValuesExpr, String>) =
        (source.line, source.offset, &source.expr);
    let unprovable = |action: &str, line: usize, why: &str| {
        format!(
            "it sits inside `{}` at line {line}, which is not provable from the values: {why}",
            action.trim()
        )
    };
    for (i, c) in source.conditions.iter().enumerate() {
        let holds = match &c.cond {
            Ok(cond) => eval(cond, values),
            Err(why) => return Err(unprovable(&c.action, c.line, why)),
        };
        if holds {
            continue;
        }
        let innermost = i + 1 == source.conditions.len();
        let mut taken = None;
        for e in &c.elses {
            let branch_holds = match &e.cond {
                None => true,
                Some(Ok(cond)) => eval(cond, values),
                Some(Err(why)) => return Err(unprovable("else if", e.line, why)),
            };
            if branch_holds {
                taken = Some(e);
                break;
            }
        }
        match taken {
            Some(e) if innermost => match &e.alt {
                Some(alt) => {
                    if let Err(why) = &alt.expr {
                        return Err(format!(
                            "`{}` at line {} is false with these values, and the branch that renders prints it with `{}` at line {}: {why}",
                            c.action.trim(),
                            c.line,
                            alt.action.trim(),
                            alt.line
                        ));
                    }
                    for g in &alt.guards {
                        let holds = match &g.cond {
                            Ok(cond) => eval(cond, values),
                            Err(why) => return Err(unprovable(&g.action, g.line, why)),
                        };
                        if !holds {
                            return Err(format!(
                                "`{}` at line {} is false with these values, and so is `{}` at line {} in the branch that renders: it prints nothing there",
                                c.action.trim(),
                                c.line,
                                g.action.trim(),
                                g.line
                            ));
                        }
                    }
                    chosen = (alt.line, alt.offset, &alt.expr)
                }
                None => {
                    return Err(format!(
                        "`{}` at line {} is false with these values, and the branch that renders (line {}) does not print this key from one action",
                        c.action.trim(),
                        c.line,
                        e.line
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "it sits inside `{}` at line {}, which is false with these values: that branch does not render",
                    c.action.trim(),
                    c.line
                ));
            }
        }
    }
    match chosen.2 {
        Ok(expr) => Ok((chosen.0, chosen.1, expr)),
        Err(why) => Err(why.clone()),
    }
}

/// A planner error about a node a template action prints that could not be rendered from
/// the values (its placeholder text is what the planner saw): says which action and why.
pub fn explain_placeholder(message: String, sources: &[Source], values: &Value) -> String {
    for s in sources {
        let pointer = to_pointer(&s.pointer).to_string();
        if pointer.is_empty() || !message.contains(&format!("{pointer} is ")) {
            continue;
        }
        if let Err(why) = effective(s, values) {
            let at = match &s.file {
                Some(f) => format!("{f}:{}", s.line),
                None => format!("line {}", s.line),
            };
            return format!(
                "{message}: it is printed by `{}` at {at}, which is not followed into the values: {why}",
                s.action.trim(),
            );
        }
    }
    message
}

/// A simple condition under `values`, as Go templates read truth (not empty); one that
/// would stop the render counts as holding (see [`super::guards::eval`]).
pub fn eval(cond: &Cond, values: &Value) -> bool {
    super::guards::eval(cond, values)
}

/// Helm's merge of a `-f` values file over the chart's values: mappings merge key by key,
/// anything else replaces, and `null` deletes the key.
pub fn merge_values(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(old) => merge_values(old, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, Value::Null) => base.clone(),
        _ => over.clone(),
    }
}

/// A chart's `define` block, parsed as a template fragment.
#[derive(Debug, Clone)]
pub struct ParsedDefine {
    pub name: String,
    /// The file (relative to the root) and 1-based line of the `define` action.
    pub file: String,
    pub line: usize,
    /// The body's model (as written, before the values decide its `if`s), its values reads
    /// (each with `file` set) and its guarded entries; or why the body is not YAML.
    pub body: Result<DefineBody, String>,
}

#[derive(Debug, Clone)]
pub struct DefineBody {
    pub model: Value,
    pub sources: Vec<Source>,
    pub guards: Vec<Guard>,
    /// The parsed body, read again for an include that binds `.` to a `dict`.
    pub doc: std::sync::Arc<crate::doc::Document>,
    /// The blank text at the body's start and end is trimmed (see `reads::Define::trims`).
    pub trims: (bool, bool),
}

impl DefineBody {
    /// The body's sources (each with `file` set) and guards as an include with `binding`
    /// renders them.
    pub fn bound(
        &self,
        binding: &crate::doc::template::reads::Binding,
        file: &str,
    ) -> (Vec<Source>, Vec<Guard>) {
        use crate::doc::template::reads;
        reads::with_binding(binding, || {
            let sources = reads::sources(&self.doc, 0)
                .into_iter()
                .map(|mut s| {
                    s.file = Some(file.to_string());
                    s
                })
                .collect();
            (sources, reads::guards(&self.doc, 0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_replaces_empty_values_the_way_helm_does() {
        let e = ValuesExpr {
            path: vec!["a".into()],
            default: Some(json!(600)),
            stringify: false,
            numeric: false,
            to_yaml: false,
            tplvalues: false,
            keys: Default::default(),
            siblings: None,
        };
        assert_eq!(rendered(&e, None), json!(600));
        assert_eq!(rendered(&e, Some(&json!(0))), json!(600));
        assert_eq!(rendered(&e, Some(&json!(30))), json!(30));
    }

    #[test]
    fn list_items_in_a_false_if_leave_the_view_and_later_pointers_shift() {
        let text = "containers:\n{{- if .Values.sidecar }}\n- name: sidecar\n{{- end }}\n- name: app\n  image: {{ .Values.image }}\n";
        let doc = crate::doc::Document::parse(
            "t.yaml",
            text.to_string(),
            crate::doc::FileKind::HelmTemplate,
        )
        .unwrap();
        let mut model = doc.models().remove(0);
        let guards = crate::doc::template::reads::guards(&doc, 0);
        let values = json!({"sidecar": false, "image": "nginx"});
        let pruned = prune_unrendered(&mut model, &guards, &values);
        assert_eq!(model["containers"].as_array().map(Vec::len), Some(1));
        assert_eq!(model["containers"][0]["name"], "app");
        let sources = pruned.reindex_sources(crate::doc::template::reads::sources(&doc, 0));
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].pointer, vec!["containers", "0", "image"]);
        // With the sidecar on, both render and nothing moves.
        let mut model = doc.models().remove(0);
        prune_unrendered(&mut model, &guards, &json!({"sidecar": true}));
        assert_eq!(model["containers"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn override_files_merge_by_key_and_null_deletes() {
        let base = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        let over = json!({"a": {"b": 5, "c": null}, "d": [2]});
        assert_eq!(merge_values(&base, &over), json!({"a": {"b": 5}, "d": [2]}));
    }
}
