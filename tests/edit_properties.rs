//! Property test: random edits on generated documents verify. Documents are generated in
//! random styles (2- or 4-space indentation, indented or flush sequences, quoted and plain
//! scalars, comments, blank lines, LF or CRLF); a random op (replace a leaf, add a key, append
//! an item, remove a key or item) must apply, pass patcher's own verification, and read back
//! through yaml_serde exactly as the old text with the op applied.

use std::sync::Arc;

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use patcher::change::PlannedOp;
use patcher::doc::{Document, FileKind};
use patcher::edit::{self, verify};
use patcher::pointer::to_pointer;
use patcher::recipe::Origin;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
struct Style {
    unit: usize,
    seq_indent: bool,
    crlf: bool,
    comments: bool,
    blank_lines: bool,
}

#[derive(Debug, Clone)]
enum Leaf {
    Int(i64),
    Bool(bool),
    Word(String),
    Double(String),
    Single(String),
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Leaf),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        (-1000i64..1000).prop_map(Leaf::Int),
        any::<bool>().prop_map(Leaf::Bool),
        "[a-z][a-z0-9-]{0,8}"
            .prop_filter("not a keyword", |s| !matches!(
                s.as_str(),
                "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
            ))
            .prop_map(Leaf::Word),
        "[a-z ]{0,10}".prop_map(Leaf::Double),
        "[a-z' ]{0,10}".prop_map(Leaf::Single),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    leaf()
        .prop_map(Node::Leaf)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::btree_map("[a-z]{1,6}", inner.clone(), 1..4)
                    .prop_map(|m| Node::Map(m.into_iter().collect())),
                prop::collection::vec(inner, 1..4).prop_map(Node::Seq),
            ]
        })
}

fn root() -> impl Strategy<Value = Node> {
    prop::collection::btree_map("[a-z]{1,6}", node(), 1..5)
        .prop_map(|m| Node::Map(m.into_iter().collect()))
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just(2usize), Just(4usize)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(unit, seq_indent, crlf, comments, blank_lines)| Style {
            unit,
            seq_indent,
            crlf,
            comments,
            blank_lines,
        })
}

fn leaf_text(l: &Leaf) -> String {
    match l {
        Leaf::Int(i) => i.to_string(),
        Leaf::Bool(b) => b.to_string(),
        Leaf::Word(w) => w.clone(),
        Leaf::Double(s) => format!("\"{s}\""),
        Leaf::Single(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// Writes `node` as the value of a key at column `col` (or as a sequence item's body).
fn write_entries(
    out: &mut Vec<String>,
    entries: &[(String, Node)],
    col: usize,
    st: &Style,
    first_prefix: Option<String>,
) {
    for (i, (k, v)) in entries.iter().enumerate() {
        let pad = match (&first_prefix, i) {
            (Some(p), 0) => p.clone(),
            _ => " ".repeat(col),
        };
        if st.blank_lines && i > 0 && first_prefix.is_none() {
            out.push(String::new());
        }
        if st.comments && i == 1 {
            out.push(format!("{}# about {k}", " ".repeat(col)));
        }
        match v {
            Node::Leaf(l) => {
                let c = if st.comments && i == 0 {
                    "  # note"
                } else {
                    ""
                };
                out.push(format!("{pad}{k}: {}{c}", leaf_text(l)));
            }
            Node::Map(m) => {
                out.push(format!("{pad}{k}:"));
                write_entries(out, m, col + st.unit, st, None);
            }
            Node::Seq(items) => {
                out.push(format!("{pad}{k}:"));
                let dash = if st.seq_indent { col + st.unit } else { col };
                write_items(out, items, dash, st);
            }
        }
    }
}

fn write_items(out: &mut Vec<String>, items: &[Node], dash: usize, st: &Style) {
    for item in items {
        let prefix = format!("{}- ", " ".repeat(dash));
        match item {
            Node::Leaf(l) => out.push(format!("{prefix}{}", leaf_text(l))),
            Node::Map(m) => write_entries(out, m, dash + 2, st, Some(prefix)),
            Node::Seq(inner) => {
                out.push(format!("{}-", " ".repeat(dash)));
                write_items(out, inner, dash + 2, st);
            }
        }
    }
}

fn render(root: &Node, st: &Style) -> String {
    let mut lines = vec!["# generated".to_string()];
    if let Node::Map(m) = root {
        write_entries(&mut lines, m, 0, st, None);
    }
    let nl = if st.crlf { "\r\n" } else { "\n" };
    let mut s = lines.join(nl);
    s.push_str(nl);
    s
}

/// Every path to a node of the model, with the node.
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    out.push((at.clone(), v.clone()));
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(k.clone());
                paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A node of the model: its path and value.
type Site = (Vec<String>, Value);

fn make_op(model: &Value, kind: usize, pick: usize, new_leaf: &Leaf) -> Option<PatchOperation> {
    let mut all = Vec::new();
    paths(model, &mut Vec::new(), &mut all);
    let value = match new_leaf {
        Leaf::Int(i) => json!(i),
        Leaf::Bool(b) => json!(b),
        Leaf::Word(s) | Leaf::Double(s) | Leaf::Single(s) => json!(s),
    };
    let choose = |pred: &dyn Fn(&Site) -> bool| -> Option<Site> {
        let c: Vec<_> = all.iter().filter(|x| pred(x)).cloned().collect();
        (!c.is_empty()).then(|| c[pick % c.len()].clone())
    };
    match kind % 4 {
        0 => {
            let (p, _) = choose(&|(p, v)| !p.is_empty() && !v.is_object() && !v.is_array())?;
            Some(PatchOperation::Replace(ReplaceOperation {
                path: to_pointer(&p),
                value,
            }))
        }
        1 => {
            let (mut p, v) = choose(&|(_, v)| v.is_object())?;
            let mut key = "zz".to_string();
            while v.get(&key).is_some() {
                key.push('z');
            }
            p.push(key);
            let mut m = Map::new();
            m.insert("nested".into(), value);
            Some(PatchOperation::Add(AddOperation {
                path: to_pointer(&p),
                value: Value::Object(m),
            }))
        }
        2 => {
            let (mut p, v) = choose(&|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))?;
            p.push(v.as_array().map_or(0, Vec::len).to_string());
            Some(PatchOperation::Add(AddOperation {
                path: to_pointer(&p),
                value,
            }))
        }
        _ => {
            let (p, _) = choose(&|(p, _)| !p.is_empty())?;
            Some(PatchOperation::Remove(RemoveOperation {
                path: to_pointer(&p),
            }))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_on_generated_documents_verify(tree in root(), st in style(), kind in 0usize..4, pick in 0usize..64, new_leaf in leaf()) {
        let text = render(&tree, &st);
        let doc = Document::parse("gen.yaml", text.clone(), FileKind::Yaml).expect("generated YAML parses");
        let model = doc.docs[0].model.clone();
        let serde_old: Value = yaml_serde::from_str(&text).expect("yaml_serde reads it");
        prop_assert_eq!(&model, &serde_old);
        let Some(op) = make_op(&model, kind, pick, &new_leaf) else { return Ok(()) };
        let origin = Origin { file: Arc::new("p.kdl".into()), line: 1, col: 1 };
        let ops = vec![(0usize, vec![PlannedOp { op: op.clone(), recipe: Arc::from("p"), origin, snippet: None, placement: None, via: None }])];
        let edited = edit::edit(&doc, &ops);
        prop_assert!(edited.is_ok(), "refused: {:?}\n{}\n{:?}", edited.err(), text, op);
        let edited = edited.expect("checked");
        let checked = verify::verify(&doc, &edited.text, &edited.splices, &ops);
        prop_assert!(checked.is_ok(), "verify: {:?}\n--- old\n{}\n--- new\n{}", checked.err(), text, edited.text);
        let mut expected = serde_old;
        json_patch::patch(&mut expected, &[op]).expect("op applies");
        let got: Value = yaml_serde::from_str(&edited.text).expect("new text reads");
        prop_assert_eq!(got, expected);
        // Line endings stay what they were.
        prop_assert_eq!(edited.text.contains("\r\n"), st.crlf);
    }
}
