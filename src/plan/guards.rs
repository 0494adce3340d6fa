//! Template conditions evaluated against a values model, the way Helm's template engine
//! would: which branch of an `if`/`with` renders, and whether a line renders at all, before
//! and after a values edit. Go templates compare values of one kind only (Helm's values
//! numbers are floats, a literal `3` is an integer, so `gt .Values.n 1` fails to render):
//! such a condition, and any other that would stop the render, is unknown (`None`), never
//! guessed. Also what `tpl` leaves exact when it renders a printed values subtree
//! ([`tpl_refusal`]). Pure functions; never decides whether an edit is safe (`route` does).

use std::collections::HashMap;

use serde_json::Value;

use crate::doc::template::Masked;
use crate::doc::template::branches::{self, Branch, CmpOp, Cond};
use crate::pointer::lookup;

/// Helm's `empty`: what `default` replaces.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// What the templates say about one line of a chart file that reads values or includes a
/// define: the branches it sits in, the define it is in, and (for a condition action) the
/// block it decides with the printing lines of each of that block's branches.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFacts {
    pub branches: Vec<Branch>,
    pub define: Option<String>,
    pub decides: Option<(Branch, Vec<Vec<usize>>)>,
}

/// [`LineFacts`] by (file relative to the root, 1-based line).
pub type ChartLines = HashMap<(String, usize), LineFacts>;

/// The facts of 1-based `line` of a masked file; `define` names the define a body that is
/// parsed on its own (a dependency's define) belongs to.
pub fn line_facts(m: &Masked, text: &str, line: usize, define: Option<&str>) -> LineFacts {
    FileFacts::new(m, text).line(line, define)
}

/// [`line_facts`] of many lines of one file: each block's branches and printing lines are
/// worked out once for the file, not again for every line inside the block (a chart's
/// templates have thousands of values reads, most inside a few nested blocks).
pub struct FileFacts<'a> {
    m: &'a Masked,
    text: &'a str,
    /// By block index: the block as a [`Branch`] (`taken` 0).
    blocks: HashMap<usize, Option<Branch>>,
    /// By block index: the printing lines of each of its branches.
    printing: HashMap<usize, Vec<Vec<usize>>>,
}

impl<'a> FileFacts<'a> {
    pub fn new(m: &'a Masked, text: &'a str) -> Self {
        FileFacts {
            m,
            text,
            blocks: HashMap::new(),
            printing: HashMap::new(),
        }
    }

    /// [`line_facts`] of 1-based `line`.
    pub fn line(&mut self, line: usize, define: Option<&str>) -> LineFacts {
        let (m, text) = (self.m, self.text);
        let mut block = |b: usize| {
            self.blocks
                .entry(b)
                .or_insert_with(|| branches::block(m, text, b))
                .clone()
        };
        let decides = branches::decided_block_at(m, line).and_then(|b| {
            let mut br = block(b)?;
            br.taken = branches::taken_at(m, b, line);
            Some((b, br))
        });
        let branches = branches::branches_at_with(m, line, block);
        let decides = decides.map(|(b, br)| {
            let printing = self
                .printing
                .entry(b)
                .or_insert_with(|| {
                    (0..br.bodies.len())
                        .map(|i| branches::printing_lines(m, text, &br, i))
                        .collect()
                })
                .clone();
            (br, printing)
        });
        LineFacts {
            branches,
            define: define
                .map(str::to_string)
                .or_else(|| branches::define_at(m, text, line)),
            decides,
        }
    }
}

/// A condition's value as the template engine sees it.
#[derive(Debug, Clone, PartialEq)]
enum Tv {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A mapping or a list (compared by nothing but `empty`, `len`, `hasKey`).
    Node(Value),
}

impl Tv {
    fn of(v: &Value) -> Tv {
        match v {
            Value::Null => Tv::Nil,
            Value::Bool(b) => Tv::Bool(*b),
            // Helm reads every values number as a float64.
            Value::Number(n) => Tv::Float(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Tv::Str(s.clone()),
            other => Tv::Node(other.clone()),
        }
    }

    /// Go templates' truth: not the zero value, not empty.
    fn truth(&self) -> bool {
        match self {
            Tv::Nil => false,
            Tv::Bool(b) => *b,
            Tv::Int(i) => *i != 0,
            Tv::Float(f) => *f != 0.0,
            Tv::Str(s) => !s.is_empty(),
            Tv::Node(v) => !is_empty(v),
        }
    }
}

/// Whether `cond` holds under `values`; `None` when rendering it would fail (a comparison
/// of two kinds, `hasKey` of something not a mapping, `len` of nothing).
pub fn truth(cond: &Cond, values: &Value) -> Option<bool> {
    value(cond, values).map(|v| v.truth())
}

/// [`truth`], for callers that keep what they cannot decide: a condition that would stop
/// the render counts as holding (what it guards stays as written).
pub fn eval(cond: &Cond, values: &Value) -> bool {
    truth(cond, values).unwrap_or(true)
}

fn value(cond: &Cond, values: &Value) -> Option<Tv> {
    Some(match cond {
        Cond::Path(p) => lookup(values, p).map_or(Tv::Nil, Tv::of),
        Cond::Lit(v) => Tv::of(v),
        Cond::Int(i) => Tv::Int(*i),
        Cond::Not(c) => Tv::Bool(!truth(c, values)?),
        // Go templates stop at the first argument that decides (since Go 1.18), and give
        // that argument (`and`: the first false one, `or`: the first true one, else the last).
        Cond::And(cs) | Cond::Or(cs) => {
            let or = matches!(cond, Cond::Or(_));
            let mut last = Tv::Bool(!or);
            for c in cs {
                last = value(c, values)?;
                if last.truth() == or {
                    break;
                }
            }
            last
        }
        Cond::Eq(a, b) => Tv::Bool(equal(&value(a, values)?, &value(b, values)?)?),
        Cond::Ne(a, b) => Tv::Bool(!equal(&value(a, values)?, &value(b, values)?)?),
        Cond::Cmp(op, a, b) => {
            let ord = order(&value(a, values)?, &value(b, values)?)?;
            Tv::Bool(match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Ge => ord.is_ge(),
            })
        }
        // Sprig's `int`/`float64` (cast.ToInt/ToFloat64): what does not convert is 0.
        Cond::ToInt(c) => Tv::Int(match value(c, values)? {
            Tv::Nil | Tv::Node(_) => 0,
            Tv::Bool(b) => b as i64,
            Tv::Int(i) => i,
            Tv::Float(f) => f.trunc() as i64,
            Tv::Str(s) => s.trim().parse::<i64>().unwrap_or(0),
        }),
        Cond::ToFloat(c) => Tv::Float(match value(c, values)? {
            Tv::Nil | Tv::Node(_) => 0.0,
            Tv::Bool(b) => b as i64 as f64,
            Tv::Int(i) => i as f64,
            Tv::Float(f) => f,
            Tv::Str(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        }),
        Cond::Len(c) => Tv::Int(match value(c, values)? {
            Tv::Str(s) => s.len() as i64,
            Tv::Node(Value::Array(a)) => a.len() as i64,
            Tv::Node(Value::Object(o)) => o.len() as i64,
            _ => return None,
        }),
        Cond::Empty(c) => Tv::Bool(!value(c, values)?.truth()),
        Cond::HasKey(m, k) => match value(m, values)? {
            Tv::Node(Value::Object(o)) => Tv::Bool(o.contains_key(k)),
            _ => return None,
        },
        Cond::Default(d, x) => {
            let v = value(x, values)?;
            if v.truth() { v } else { value(d, values)? }
        }
        Cond::TypeOf(c) => Tv::Str(go_type(&value(c, values)?).0.to_string()),
        Cond::KindOf(c) => Tv::Str(go_type(&value(c, values)?).1.to_string()),
        Cond::Print(c) => Tv::Str(printed(&value(c, values)?)?),
        // A define's `if` chain ends in an `else` (one that prints nothing when it has
        // none); a `ternary` of something not a bool holds in no branch: the render stops.
        Cond::Choice(chain) => {
            for (c, out) in chain {
                if truth(c, values)? {
                    return value(out, values);
                }
            }
            return None;
        }
        Cond::Tpl(c) => match value(c, values)? {
            Tv::Str(s) if !s.contains("{{") => Tv::Str(s),
            _ => return None,
        },
        // Not resolved to what decides the define's output: unknown.
        Cond::Include(_) => return None,
    })
}

/// Sprig's `typeOf` and `kindOf` of a values node (Helm's values are YAML decoded into Go's
/// `interface{}`).
fn go_type(v: &Tv) -> (&'static str, &'static str) {
    match v {
        Tv::Nil => ("<nil>", "invalid"),
        Tv::Bool(_) => ("bool", "bool"),
        Tv::Int(_) => ("int", "int"),
        Tv::Float(_) => ("float64", "float64"),
        Tv::Str(_) => ("string", "string"),
        Tv::Node(Value::Array(_)) => ("[]interface {}", "slice"),
        Tv::Node(_) => ("map[string]interface {}", "map"),
    }
}

/// What printing a value writes (Go's `%v`), when that is certain here: strings, booleans,
/// integers, and floats Go prints without an exponent. A missing value (`<no value>`, which
/// Helm blanks only in a file's final output), a mapping or a list: unknown.
fn printed(v: &Tv) -> Option<String> {
    match v {
        Tv::Str(s) => Some(s.clone()),
        Tv::Bool(b) => Some(b.to_string()),
        Tv::Int(i) => Some(i.to_string()),
        Tv::Float(f) if f.fract() == 0.0 && f.abs() < 1e6 => Some(format!("{}", *f as i64)),
        _ => None,
    }
}

/// Go templates' `eq`: values of one basic kind compare; a missing value equals only a
/// missing value; two kinds (a float and an integer) stop the render.
fn equal(a: &Tv, b: &Tv) -> Option<bool> {
    Some(match (a, b) {
        (Tv::Nil, Tv::Nil) => true,
        (Tv::Nil, _) | (_, Tv::Nil) => false,
        (Tv::Bool(x), Tv::Bool(y)) => x == y,
        (Tv::Int(x), Tv::Int(y)) => x == y,
        (Tv::Float(x), Tv::Float(y)) => x == y,
        (Tv::Str(x), Tv::Str(y)) => x == y,
        _ => return None,
    })
}

/// Go templates' `lt` and friends: integers, floats and strings, each with its own kind.
fn order(a: &Tv, b: &Tv) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Tv::Int(x), Tv::Int(y)) => Some(x.cmp(y)),
        (Tv::Float(x), Tv::Float(y)) => x.partial_cmp(y),
        (Tv::Str(x), Tv::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The branch of `b` that renders under `values` (`Some(None)`: none does), or `None` when
/// a condition before it cannot be decided.
pub fn taken(b: &Branch, values: &Value) -> Option<Option<usize>> {
    for (i, c) in b.chain.iter().enumerate() {
        match c {
            None => return Some(Some(i)),
            Some(Ok(c)) => {
                if truth(c, values)? {
                    return Some(Some(i));
                }
            }
            Some(Err(_)) => return None,
        }
    }
    Some(None)
}

/// Whether a line inside `branches` (its blocks, outermost first, each with the branch the
/// line is in) renders under `values`; `None` when that cannot be decided.
pub fn renders(branches: &[Branch], values: &Value) -> Option<bool> {
    let mut known = true;
    for b in branches {
        match taken(b, values) {
            Some(t) if t != Some(b.taken) => return Some(false),
            Some(_) => {}
            None => known = false,
        }
    }
    known.then_some(true)
}

/// Why an edit at `rest` (keys under the printed node) of a values subtree printed through
/// `tpl` (`tpl (toYaml V) $`, `common.tplvalues.render`) would not render as written; `None`
/// when it would. `tpl` renders the YAML text of the subtree as a template: text outside
/// `{{ … }}` prints as it is, so an edit renders exactly when the edited node and the new
/// value hold no `{{`, and no string of the subtree that does holds a template that reads the
/// edited keys (or all of `.Values`). `node` is the subtree as the values hold it; `path`
/// its values keys, to name a string by.
pub fn tpl_refusal(
    node: Option<&Value>,
    path: &[String],
    rest: &[String],
    new: Option<&Value>,
) -> Option<String> {
    fn templates<'v>(v: &'v Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'v str)>) {
        match v {
            Value::String(s) if s.contains("{{") => out.push((at.clone(), s)),
            Value::Object(m) => {
                for (k, x) in m {
                    at.push(k.clone());
                    if k.contains("{{") {
                        out.push((at.clone(), k));
                    }
                    templates(x, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(i.to_string());
                    templates(x, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let name = |keys: &[String]| {
        let mut all = path.to_vec();
        all.extend(keys.iter().cloned());
        all.join(".")
    };
    if let Some(v) = new
        && v.to_string().contains("{{")
    {
        return Some(format!(
            "the new value holds `{{{{`, which `tpl` would render as a template at {}",
            name(rest)
        ));
    }
    let mut found = Vec::new();
    if let Some(node) = node {
        templates(node, &mut Vec::new(), &mut found);
    }
    let edited: Vec<&str> = path.iter().chain(rest).map(String::as_str).collect();
    for (at, text) in found {
        let inside = at.len() >= rest.len() && at[..rest.len()] == *rest;
        let around = rest.len() > at.len() && rest[..at.len()] == *at;
        // A word of the template naming an edited key, or the whole values.
        let reads_edit = text
            .split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '$' | '_')))
            .any(|w| {
                matches!(w, ".Values" | "$.Values" | "." | "$")
                    || w.split('.').any(|k| edited.contains(&k))
            });
        if inside || around || reads_edit {
            return Some(format!(
                "{} holds `{}`, which `tpl` renders as a template{}",
                name(&at),
                text.trim(),
                if inside || around {
                    ""
                } else {
                    ", and it may read the edited value"
                }
            ));
        }
    }
    None
}

/// `values` with `keys` set to `value` (`None` removes the key), creating mappings on the
/// way: what the templates see after a values edit.
pub fn with_edit(values: &Value, keys: &[String], value: Option<&Value>) -> Value {
    let mut out = values.clone();
    let mut slot = &mut out;
    for (i, k) in keys.iter().enumerate() {
        if !slot.is_object() {
            if value.is_none() {
                return out;
            }
            *slot = Value::Object(Default::default());
        }
        let Value::Object(map) = slot else {
            return out;
        };
        if i + 1 == keys.len() {
            match value {
                Some(v) => {
                    map.insert(k.clone(), v.clone());
                }
                None => {
                    map.shift_remove(k);
                }
            }
            return out;
        }
        slot = map.entry(k.clone()).or_insert(Value::Null);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::template::branches::{branches_at, decided_at};
    use serde_json::json;

    /// The printing lines of a body as first written: every line's text against every action.
    fn printing_naive(m: &Masked, text: &str, (first, last): (usize, usize)) -> Vec<usize> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        (first..=last.min(starts.len()))
            .filter(|&l| {
                let s = starts[l - 1];
                let e = starts.get(l).map_or(text.len(), |&n| n - 1);
                let src = text[s..e].trim_end_matches('\r');
                let mut rest = src.to_string();
                for a in m.actions.iter() {
                    if a.span.start < s + src.len() && a.span.end > s {
                        if matches!(a.kind, crate::doc::template::ActionKind::Output) {
                            return true;
                        }
                        let (x, y) = (
                            a.span.start.saturating_sub(s),
                            (a.span.end - s).min(rest.len()),
                        );
                        if x < y {
                            rest.replace_range(x..y, &" ".repeat(y - x));
                        }
                    }
                }
                !rest.trim().is_empty()
            })
            .collect()
    }

    #[test]
    fn file_facts_of_every_line_equal_each_line_worked_out_alone() {
        let text = "{{- if .Values.a }}\nkind: Deployment\nspec:\n  {{- with .Values.b }}\n  b: {{ .x }}\n  {{- else if eq .Values.c \"y\" }}\n  {{/* note */}}\n  c: 1\n  {{- else }}\n\n  {{- end }}\n{{- else }}\nkind: {{ .Values.k }}\r\n{{- if .Values.d }}{{ end }}\n{{- end }}\nz: 1";
        let m = crate::doc::template::mask(text).unwrap();
        let mut facts = FileFacts::new(&m, text);
        let lines = text.lines().count();
        for line in (1..=lines).chain((1..=lines).rev()) {
            let got = facts.line(line, None);
            assert_eq!(got.branches, branches_at(&m, text, line), "line {line}");
            let want = decided_at(&m, text, line).map(|b| {
                let p = b
                    .bodies
                    .iter()
                    .map(|&body| printing_naive(&m, text, body))
                    .collect();
                (b, p)
            });
            assert_eq!(got.decides, want, "line {line}");
        }
        assert!(
            facts
                .line(4, None)
                .decides
                .is_some_and(|(_, p)| p == vec![vec![5], vec![8], vec![]])
        );
    }

    fn cond(text: &str) -> Cond {
        let m = crate::doc::template::mask(&format!("{text}\nx: 1\n{{{{- end }}}}\n")).unwrap();
        decided_at(&m, &format!("{text}\nx: 1\n{{{{- end }}}}\n"), 1)
            .and_then(|b| b.chain.into_iter().next().flatten())
            .expect("a condition")
            .expect("a simple condition")
    }

    #[test]
    fn comparisons_follow_go_template_kinds() {
        let v = json!({"n": 3, "z": 0, "s": "5", "k": "DaemonSet", "m": {}, "f": 2.5});
        let t = |c: &str| truth(&cond(c), &v);
        assert_eq!(t("{{- if gt (int .Values.n) 0 }}"), Some(true));
        assert_eq!(t("{{- if gt (int .Values.z) 0 }}"), Some(false));
        assert_eq!(t("{{- if gt (int .Values.missing) 0 }}"), Some(false));
        assert_eq!(t("{{- if ge (int .Values.s) 5 }}"), Some(true));
        assert_eq!(t("{{- if lt (float64 .Values.n) 3.5 }}"), Some(true));
        assert_eq!(t("{{- if gt .Values.f 1.0 }}"), Some(true));
        assert_eq!(t("{{- if le (int .Values.f) 2 }}"), Some(true));
        // A values number is a float: against an integer literal Helm stops the render.
        assert_eq!(t("{{- if gt .Values.n 1 }}"), None);
        assert_eq!(t("{{- if eq .Values.z 0 }}"), None);
        assert_eq!(t("{{- if eq .Values.k \"DaemonSet\" }}"), Some(true));
        assert_eq!(t("{{- if ne .Values.k \"DaemonSet\" }}"), Some(false));
        assert_eq!(t("{{- if eq .Values.missing \"x\" }}"), Some(false));
    }

    #[test]
    fn tests_and_connectives_decide_or_say_they_cannot() {
        let v = json!({"p": {"a": 1}, "e": {}, "z": 0, "b": true});
        let t = |c: &str| truth(&cond(c), &v);
        assert_eq!(t("{{- if hasKey .Values.p \"a\" }}"), Some(true));
        assert_eq!(t("{{- if not (hasKey .Values.e \"a\") }}"), Some(true));
        assert_eq!(t("{{- if hasKey .Values.z \"a\" }}"), None);
        assert_eq!(t("{{- if empty .Values.e }}"), Some(true));
        assert_eq!(t("{{- if gt (len .Values.p) 0 }}"), Some(true));
        assert_eq!(t("{{- if and .Values.b (not .Values.z) }}"), Some(true));
        assert_eq!(t("{{- if or .Values.z .Values.e }}"), Some(false));
        // `and` stops at the first false argument: the failing `gt` is never run.
        assert_eq!(t("{{- if and .Values.z (gt .Values.z 1) }}"), Some(false));
        assert_eq!(t("{{- if default 5 .Values.z }}"), Some(true));
        assert_eq!(t("{{- with .Values.p }}"), Some(true));
    }

    #[test]
    fn a_line_renders_when_each_block_takes_its_branch() {
        let text = "{{- if eq .Values.kind \"DaemonSet\" }}\na: 1\n{{- else }}\nb: 2\n{{- end }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let ds = json!({"kind": "DaemonSet"});
        let dep = json!({"kind": "Deployment"});
        assert_eq!(renders(&branches_at(&m, text, 2), &ds), Some(true));
        assert_eq!(renders(&branches_at(&m, text, 2), &dep), Some(false));
        assert_eq!(renders(&branches_at(&m, text, 4), &dep), Some(true));
    }

    #[test]
    fn tpl_leaves_an_edit_exact_unless_a_template_string_is_edited_or_reads_it() {
        let k = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        let probe = json!({"failureThreshold": 5, "initialDelaySeconds": 10,
            "httpGet": {"path": "{{ printf `%s/ready` .Values.httpPathPrefix }}", "port": "http"}});
        let at = k("readinessProbe");
        // promtail's readiness probe: the template string is beside the edited key.
        assert_eq!(
            tpl_refusal(
                Some(&probe),
                &at,
                &k("initialDelaySeconds"),
                Some(&json!(20))
            ),
            None
        );
        let why = tpl_refusal(Some(&probe), &at, &k("httpGet.path"), Some(&json!("/x"))).unwrap();
        assert!(
            why.contains("readinessProbe.httpGet.path holds `{{ printf"),
            "{why}"
        );
        assert!(tpl_refusal(Some(&probe), &at, &k("httpGet"), Some(&json!({}))).is_some());
        assert!(
            tpl_refusal(
                Some(&probe),
                &at,
                &k("timeoutSeconds"),
                Some(&json!("{{ 1 }}"))
            )
            .is_some()
        );
        let reads = json!({"initialDelaySeconds": 10, "x": "{{ .Values.readinessProbe.initialDelaySeconds }}"});
        let why = tpl_refusal(
            Some(&reads),
            &at,
            &k("initialDelaySeconds"),
            Some(&json!(20)),
        )
        .unwrap();
        assert!(why.contains("may read the edited value"), "{why}");
        let whole = json!({"initialDelaySeconds": 10, "x": "{{ toYaml $ }}"});
        assert!(
            tpl_refusal(
                Some(&whole),
                &at,
                &k("initialDelaySeconds"),
                Some(&json!(20))
            )
            .is_some()
        );
    }

    #[test]
    fn a_condition_on_a_simple_define_is_decided_by_what_it_prints() {
        use std::sync::Arc;
        let helpers = "{{- define \"x.providerName\" -}}\n{{- if eq (typeOf .Values.provider) \"string\" }}\n{{- .Values.provider }}\n{{- else }}\n{{- .Values.provider.name }}\n{{- end }}\n{{- end }}\n{{- define \"x.keda\" -}}\n{{- or .Values.a .Values.b | ternary \"true\" \"\" -}}\n{{- end -}}\n";
        let m = crate::doc::template::mask(helpers).unwrap();
        let outputs: Arc<HashMap<String, Cond>> = Arc::new(
            branches::simple_define_outputs(&m, helpers)
                .into_iter()
                .collect(),
        );
        assert_eq!(outputs.len(), 2);
        let t = |c: &str, v: Value| branches::with_define_outputs(&outputs, || truth(&cond(c), &v));
        let webhook = "{{- if eq (tpl (include \"x.providerName\" .) $) \"webhook\" }}";
        assert_eq!(
            t(webhook, json!({"provider": {"name": "aws"}})),
            Some(false)
        );
        assert_eq!(
            t(webhook, json!({"provider": {"name": "webhook"}})),
            Some(true)
        );
        assert_eq!(t(webhook, json!({"provider": "webhook"})), Some(true));
        // A name `tpl` would render, or one that prints `<no value>`: not known.
        assert_eq!(
            t(webhook, json!({"provider": {"name": "{{ .Values.x }}"}})),
            None
        );
        assert_eq!(t(webhook, json!({"provider": {}})), None);
        let keda = "{{- if eq (include \"x.keda\" .) \"true\" }}";
        assert_eq!(t(keda, json!({"a": false, "b": true})), Some(true));
        assert_eq!(t(keda, json!({"a": false, "b": false})), Some(false));
        // `or` of two strings gives a string: `ternary` wants a bool, the render stops.
        assert_eq!(t(keda, json!({"a": "", "b": "x"})), None);
        assert_eq!(
            t(
                "{{- if kindIs \"map\" .Values.provider }}",
                json!({"provider": {}})
            ),
            Some(true)
        );
        // Without the chart's defines, or of one that is not simple, it is not a simple condition.
        let m = crate::doc::template::mask(&format!("{webhook}\nx: 1\n{{{{- end }}}}\n")).unwrap();
        let b = branches::decided_at(&m, &format!("{webhook}\nx: 1\n{{{{- end }}}}\n"), 1).unwrap();
        assert!(
            matches!(&b.chain[0], Some(Err(why)) if why.contains("x.providerName")),
            "{:?}",
            b.chain
        );
    }

    #[test]
    fn an_edit_makes_mappings_on_the_way() {
        let v = json!({"a": {"b": 1}, "c": 2});
        let k = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            with_edit(&v, &k("a.x.y"), Some(&json!(3))),
            json!({"a": {"b": 1, "x": {"y": 3}}, "c": 2})
        );
        assert_eq!(with_edit(&v, &k("a.b"), None), json!({"a": {}, "c": 2}));
    }
}
