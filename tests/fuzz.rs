//! Fuzzing on stable Rust: proptest over arbitrary text, over token soups that look like KDL,
//! YAML and Helm templates, and over mutated real files (this repository's chart, workflows
//! and recipes; the files of ../shared/corpus). For the recipe parser, the template masker,
//! the document loader and the editor:
//! - nothing panics, and no input takes longer than the bound (1 s) — each case runs on a
//!   worker thread under a timer; a panic or a hang fails the case and saves its input under
//!   `target/fuzz-failures/`;
//! - masking keeps the length, every line break and every byte outside the actions and
//!   hidden lines, and unmasking gives the source back;
//! - wherever yaml_serde reads a text (YAML 1.2, no templates), patcher's model of it is the
//!   same;
//! - every edit (one to three ops, with values that need quoting or block style) that the
//!   editor and its verifier accept is re-checked independently: for YAML without templates,
//!   yaml_serde's reading of the new text equals its reading of the old text with the planned
//!   patch applied.
//!
//! `PATCHER_FUZZ_CASES` sets the cases per property (default 256: the suite stays well under
//! a minute in a debug build on 2 cores); a long run is e.g.
//! `PATCHER_FUZZ_CASES=20000 cargo test --release --test fuzz -- --nocapture`.
//! `PATCHER_FUZZ_TIMEOUT_MS` changes the bound (default 1000); `PATCHER_FUZZ_VERBOSE=1`
//! prints every input the loader refuses, with the reason. proptest saves failing seeds
//! in `tests/fuzz.proptest-regressions` (replayed first on every run); inputs worth keeping
//! go in `tests/fuzz-inputs/`, replayed by `saved_inputs_replay_within_the_bound`.
//!
//! Deep nesting and alias bombs are bounded by the loader (a streaming depth limit, an alias
//! expansion cap); one input of each shape is in `tests/fuzz-inputs/` and replayed every run.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use patcher::change::PlannedOp;
use patcher::doc::{Document, FileKind, template};
use patcher::edit::{self, verify};
use patcher::pointer::to_pointer;
use patcher::recipe::{self, Origin};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde::Deserialize;
use serde_json::{Value, json};

fn env_number(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: env_number("PATCHER_FUZZ_CASES", 256) as u32,
        // A hang costs the bound on every shrink step: stop shrinking after a while.
        max_shrink_time: 30_000,
        // tests/fuzz.proptest-regressions (the default looks for a lib.rs beside the test).
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn bound() -> Duration {
    Duration::from_millis(env_number("PATCHER_FUZZ_TIMEOUT_MS", 1000))
}

/// Saves a failing input where a person can find it, and says where.
fn save(what: &str, input: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut h);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let path = dir.join(format!("{what}-{:016x}.txt", h.finish()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, input);
    path
}

/// Runs `f` on a worker thread; a panic, or no answer within the bound, fails the case.
/// A case over the bound is timed once more before it counts (the machine is shared), unless
/// it is still running after ten times the bound: that is a hang.
fn bounded<T: Send + 'static>(
    what: &str,
    input: &str,
    f: impl Fn() -> T + Send + Sync + 'static,
) -> Result<T, TestCaseError> {
    bounded_by(bound(), what, input, f)
}

fn bounded_by<T: Send + 'static>(
    bound: Duration,
    what: &str,
    input: &str,
    f: impl Fn() -> T + Send + Sync + 'static,
) -> Result<T, TestCaseError> {
    let bound = || bound;
    let f = Arc::new(f);
    let attempt = |deadline: Duration| {
        let (tx, rx) = mpsc::channel();
        let f = Arc::clone(&f);
        let started = Instant::now();
        std::thread::Builder::new()
            .name(format!("fuzz-{what}"))
            .spawn(move || {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f()));
                let _ = tx.send(out);
            })
            .expect("spawn");
        match rx.recv_timeout(deadline) {
            Ok(out) => Ok((out, started.elapsed())),
            Err(_) => Err(rx),
        }
    };
    let fail = |why: String| {
        let path = save(what, input);
        TestCaseError::fail(format!(
            "{what}: {why}; input saved to {}:\n{input:?}",
            path.display()
        ))
    };
    let panicked = |p: Box<dyn std::any::Any + Send>| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        fail(format!("panicked: {msg}"))
    };
    match attempt(bound()) {
        Ok((Ok(v), _)) => Ok(v),
        Ok((Err(p), _)) => Err(panicked(p)),
        Err(rx) => match rx.recv_timeout(bound() * 9) {
            Err(_) => Err(fail(format!(
                "still running after {:?} (a hang)",
                bound() * 10
            ))),
            Ok(_) => match attempt(bound()) {
                Ok((Ok(v), _)) => Ok(v),
                Ok((Err(p), _)) => Err(panicked(p)),
                Err(_) => Err(fail(format!("took longer than {:?}, twice", bound()))),
            },
        },
    }
}

// ---------------------------------------------------------------- generators

/// Text assembled from `pieces` and a few arbitrary characters, at most 160 parts.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(pieces).prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
            1 => "[ -~]{1,8}",
        ],
        0..160,
    )
    .prop_map(|v| v.concat())
}

const KDL: &[&str] = &[
    "recipe ",
    "\"r\" ",
    "{",
    "}",
    "\n",
    "file ",
    "\"a.yaml\" ",
    "set ",
    "\"/a/b\" ",
    "1 ",
    "#true ",
    "#false ",
    "#null ",
    "remove ",
    "ensure ",
    "key=\"name\" ",
    "(yaml)",
    "\"\"\"\n",
    "\"\"\"",
    "each ",
    "\"/spec/*\" ",
    "when ",
    "exists ",
    "match ",
    "at-least ",
    "at-most ",
    "step ",
    "command ",
    "\"helm upgrade\" ",
    "flag ",
    "\"--wait\" ",
    "remove-flag ",
    "replace-flag ",
    "retry ",
    "insert-step ",
    "after=",
    "before=",
    "text ",
    "optional=#true ",
    "description ",
    "create=#true ",
    "// c\n",
    "/* c */",
    "/-",
    ";",
    "r#\"x\"# ",
    "\\\n",
    "0x1f ",
    "-1.5e3 ",
    "#inf ",
    "\"[name=web]\" ",
    "\"~1\" ",
    "=",
];

const YAML: &[&str] = &[
    "a: ",
    "b:",
    "- ",
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    "1",
    "true",
    "null",
    "'q'",
    "\"d\"",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "? ",
    ": ",
    "|\n",
    "|-\n",
    ">\n",
    "#c",
    " # c",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "!!str ",
    "!x ",
    "<<: ",
    "\r\n",
    "\t",
    "%YAML 1.2\n",
    "key: value\n",
    "list:\n  - x\n",
    "- name: x\n  image: y\n",
    "on: push\n",
    "yes",
    "0o17",
    "~",
    "'",
    "\"",
    "\\",
];

const TEMPLATE: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    "{{ .Values.x }}",
    "{{- if .Values.x }}\n",
    "{{- else }}\n",
    "{{- end }}\n",
    "{{- with .Values.y }}\n",
    "{{- range .Values.z }}\n",
    "{{- toYaml .Values.r | nindent 12 }}\n",
    "{{- include \"x\" . | nindent 4 }}",
    "{{/* c */}}",
    "{{- /* c */ -}}",
    "{{ \"}}\" }}",
    "{{ `{{` }}",
    "{{- define \"t\" }}",
    "{{ .Release.Name }}-db",
    "\"{{ .Values.q }}\"",
    ": {{ .Values.v | quote }}\n",
];

/// One change to a file's text, at a byte offset or line number taken modulo the text's size.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Delete(usize, u8),
    DuplicateLine(usize),
    Indent(usize, i8),
    Insert(usize, &'static str),
}

/// `i` modulo `n` (`n` > 0): a position in a collection of any size.
fn nth(i: usize, n: usize) -> usize {
    i % n
}

const INSERTS: &[&str] = &[
    "{{",
    "}}",
    "-}}",
    "{{- ",
    " -}}",
    "{{ .Values.x }}",
    "{{- if .Values.x }}\n",
    "{{- end }}\n",
    "&a ",
    "*a",
    "\t",
    "\u{feff}",
    "\0",
    ": ",
    "- ",
    "#",
    "'",
    "\"",
    "|\n",
    ">-\n",
    "---\n",
    "\r\n",
    "\n",
    "  ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "? ",
    "!!str ",
    "%YAML 1.2\n",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<usize>(), 1u8..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), -4i8..5).prop_map(|(i, n)| Mutation::Indent(i, n)),
        (any::<usize>(), prop::sample::select(INSERTS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut s = text.to_string();
    for m in mutations {
        match m {
            Mutation::FlipBit(i, bit) if !s.is_empty() => {
                let mut bytes = s.into_bytes();
                let at = nth(*i, bytes.len());
                bytes[at] ^= 1 << bit;
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::Delete(i, n) if !s.is_empty() => {
                let at = floor_boundary(&s, nth(*i, s.len()));
                let end = floor_boundary(&s, at + *n as usize);
                s.replace_range(at..end, "");
            }
            Mutation::DuplicateLine(i) | Mutation::Indent(i, _) if !s.is_empty() => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(s.match_indices('\n').map(|(p, _)| p + 1))
                    .filter(|p| *p < s.len())
                    .collect();
                let start = starts[nth(*i, starts.len())];
                let end = s[start..].find('\n').map_or(s.len(), |e| start + e + 1);
                match m {
                    Mutation::Indent(_, by) if *by >= 0 => {
                        s.insert_str(start, &" ".repeat(*by as usize));
                    }
                    Mutation::Indent(_, by) => {
                        let spaces = s[start..end].bytes().take_while(|b| *b == b' ').count();
                        s.replace_range(start..start + spaces.min(by.unsigned_abs() as usize), "");
                    }
                    _ => {
                        let line = s[start..end].to_string();
                        let line = if line.ends_with('\n') {
                            line
                        } else {
                            format!("\n{line}")
                        };
                        s.insert_str(end, &line);
                    }
                }
            }
            Mutation::Insert(i, what) => {
                let at = floor_boundary(&s, nth(*i, s.len() + 1));
                s.insert_str(at, what);
            }
            _ => {}
        }
    }
    s
}

// ---------------------------------------------------------------- the files to mutate

/// A file to mutate: its path (for the loader's messages and `FileKind`) and its text.
struct Seed {
    path: String,
    kind: FileKind,
    text: String,
}

fn read_seeds(root: &Path, dirs: &[&str], ext: &[&str]) -> Vec<Seed> {
    fn walk(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)) {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    for d in dirs {
        walk(&root.join(d), ext, &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            Some(Seed {
                kind: FileKind::detect(root, &rel),
                path: rel.display().to_string(),
                text,
            })
        })
        .collect()
}

/// This repository's chart and workflows: always there, so mutation fuzzing runs everywhere.
fn sample_seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        read_seeds(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["chart", ".github/workflows"],
            &["yaml", "yml"],
        )
    })
}

fn recipe_seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        read_seeds(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["recipes"],
            &["kdl"],
        )
    })
}

fn corpus_seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = read_seeds(
            &common::corpus(),
            &["charts", "workflows"],
            &["yaml", "yml"],
        );
        // The bound is for a debug build: the 23 CRDs over 64 KB (up to 2.6 MB) take seconds
        // there, linearly (the corpus test loads them, the benchmark times them).
        seeds.retain(|s| s.text.len() <= 64 * 1024);
        assert!(
            seeds.len() > 500,
            "corpus looks incomplete: {} files",
            seeds.len()
        );
        seeds
    })
}

// ---------------------------------------------------------------- the checks

/// Masking keeps the length and the line breaks, and unmasking gives the source back.
fn check_mask(src: &str) -> Result<(), String> {
    let Ok(m) = template::mask(src) else {
        return Ok(());
    };
    if m.text.len() != src.len() {
        return Err(format!("masked length {} != {}", m.text.len(), src.len()));
    }
    let breaks = |s: &str| -> Vec<usize> { s.match_indices('\n').map(|(i, _)| i).collect() };
    if breaks(&m.text) != breaks(src) {
        return Err("masking moved a line break".into());
    }
    if m.unmask(src) != src {
        return Err("unmasking the masked text does not give the source back".into());
    }
    // Masking touches only the actions, the hidden lines and the choice blocks (a mid-line
    // `if`/`else` choosing one key or word is one placeholder, the words between its actions
    // included).
    let mut masked = vec![false; src.len()];
    for r in m
        .actions
        .iter()
        .map(|a| a.span.clone())
        .chain(m.hidden.iter().cloned())
        .chain(m.choices.iter().map(|c| c.span.clone()))
    {
        masked[r].iter_mut().for_each(|b| *b = true);
    }
    if let Some(at) =
        (0..src.len()).find(|&i| !masked[i] && m.text.as_bytes()[i] != src.as_bytes()[i])
    {
        return Err(format!(
            "masking changed byte {at}, outside every action, hidden line and choice block"
        ));
    }
    Ok(())
}

fn serde_models(text: &str) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for d in yaml_serde::Deserializer::from_str(text) {
        out.push(Value::deserialize(d).ok()?);
    }
    Some(out)
}

/// A node of a model: its path and value.
type Site = (Vec<String>, Value);

/// Values an editor must write with care: YAML keywords, indicators, numbers-that-are-not,
/// line breaks, template braces, empty and nested collections.
fn tricky_value(i: usize) -> Value {
    let values = [
        json!("fuzzed"),
        json!("yes"),
        json!("null"),
        json!("~"),
        json!(""),
        json!(" leading space"),
        json!("trailing space "),
        json!("a: b"),
        json!("#not a comment"),
        json!("- not an item"),
        json!("two\nlines"),
        json!("ends with a break\n"),
        json!("tab\there"),
        json!("quotes ' and \""),
        json!("{{ .Values.x }}"),
        json!("0o17"),
        json!("012"),
        json!("1_000"),
        json!(".inf"),
        json!("@at"),
        json!("*star"),
        json!("&amp"),
        json!("!bang"),
        json!("|pipe"),
        json!("%pct"),
        json!("é\u{85}\u{feff}"),
        json!(123),
        json!(-0.5),
        json!(true),
        Value::Null,
        json!([]),
        json!({}),
        json!({"a": [1, {"b": "c: d"}], "e": null}),
        json!(["x", "y: z", ["n"]]),
    ];
    values[i % values.len()].clone()
}

/// An op on a node of `model` picked by `pick`: replace a leaf, add a key, append an item,
/// or remove a node; `kind / 4` picks the value written.
fn make_op(model: &Value, kind: u8, pick: usize) -> Option<PatchOperation> {
    let value = tricky_value(kind as usize / 4);
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Site>) {
        out.push((at.clone(), v.clone()));
        let children: Vec<(String, &Value)> = match v {
            Value::Object(m) => m.iter().map(|(k, c)| (k.clone(), c)).collect(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, c)| (i.to_string(), c))
                .collect(),
            _ => Vec::new(),
        };
        for (k, c) in children {
            at.push(k);
            walk(c, at, out);
            at.pop();
        }
    }
    let mut all = Vec::new();
    walk(model, &mut Vec::new(), &mut all);
    let choose = |pred: &dyn Fn(&Site) -> bool| {
        let c: Vec<_> = all.iter().filter(|x| pred(x)).collect();
        (!c.is_empty()).then(|| c[nth(pick, c.len())].clone())
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
            let mut key = "fuzzAdded".to_string();
            while v.get(&key).is_some() {
                key.push('x');
            }
            p.push(key);
            Some(PatchOperation::Add(AddOperation {
                path: to_pointer(&p),
                value,
            }))
        }
        2 => {
            let (mut p, v) = choose(&|(_, v)| v.is_array())?;
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

/// What happened to one input.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The loader refused it.
    NotLoaded,
    /// It loaded; no op applies to its model.
    NoOp,
    /// The editor or the verifier refused the op.
    Refused,
    /// The edit was accepted, and yaml_serde reads the new text as the patch says.
    Checked,
    /// The edit was accepted; no independent reading (a template, or yaml_serde cannot read
    /// the old text), so patcher's own verifier is the only check.
    Verified,
}

/// The ops to try, as (kind, node) choices for [`make_op`]: one to three, applied in order.
type Picks = Vec<(u8, usize)>;

fn picks() -> impl Strategy<Value = Picks> {
    prop::collection::vec((any::<u8>(), any::<usize>()), 1..4)
}

/// Loads `text`, edits one document with up to three generated ops (each made against the
/// model as the ops before it leave it, as the planner does), and checks an accepted edit
/// independently. `Err` is a wrong write: accepted by patcher, but not what the patch means.
fn load_and_edit(
    path: &str,
    text: &str,
    kind: FileKind,
    picks: &[(u8, usize)],
) -> Result<Outcome, String> {
    let templated = kind == FileKind::HelmTemplate && template::has_actions(text);
    // The independent check reads YAML 1.2, like yaml_serde: so does the edit it checks.
    let kind = if templated { kind } else { FileKind::Yaml };
    let doc = match Document::parse(path, text.to_string(), kind) {
        Ok(doc) => doc,
        Err(e) => {
            if std::env::var_os("PATCHER_FUZZ_VERBOSE").is_some() {
                eprintln!("not loaded: {e}\n{text}");
            }
            return Ok(Outcome::NotLoaded);
        }
    };
    let (first_kind, first_pick) = picks[0];
    let Some(index) = doc
        .docs
        .iter()
        .position(|d| make_op(&d.model, first_kind, first_pick).is_some())
    else {
        return Ok(Outcome::NoOp);
    };
    let mut model = doc.docs[index].model.clone();
    let mut raw = Vec::new();
    for &(k, p) in picks {
        if let Some(op) = make_op(&model, k, p) {
            json_patch::patch(&mut model, std::slice::from_ref(&op)).expect("made for this model");
            raw.push(op);
        }
    }
    let origin = Origin {
        file: Arc::new("fuzz.kdl".into()),
        line: 1,
        col: 1,
    };
    let planned = raw
        .iter()
        .map(|op| PlannedOp {
            op: op.clone(),
            recipe: Arc::from("fuzz"),
            origin: origin.clone(),
            snippet: None,
            placement: None,
            via: None,
        })
        .collect();
    let ops = vec![(index, planned)];
    let Ok(edited) = edit::edit(&doc, &ops) else {
        return Ok(Outcome::Refused);
    };
    if verify::verify(&doc, &edited.text, &edited.splices, &ops).is_err() {
        return Ok(Outcome::Refused);
    }
    if templated {
        return Ok(Outcome::Verified);
    }
    // Only where yaml_serde and patcher read the old text alike can yaml_serde judge the new.
    let Some(mut expected) = serde_models(text) else {
        return Ok(Outcome::Verified);
    };
    // The loader's own invariant, checked on every input yaml_serde reads.
    if expected != doc.models() {
        return Err(format!(
            "patcher reads {:?}, yaml_serde reads {expected:?}",
            doc.models()
        ));
    }
    json_patch::patch(&mut expected[index], &raw)
        .map_err(|e| format!("the planned op does not apply to yaml_serde's reading: {e}"))?;
    match serde_models(&edited.text) {
        Some(got) if got == expected => Ok(Outcome::Checked),
        Some(got) => Err(format!(
            "{raw:?}: yaml_serde reads {got:?}, the patch means {expected:?}\n--- new text\n{}",
            edited.text
        )),
        None => Err(format!(
            "{raw:?}: yaml_serde cannot read the new text:\n{}",
            edited.text
        )),
    }
}

/// Every stage on one text: the masker, the loader under each kind, an edit.
fn all_stages(
    what: &str,
    path: &str,
    text: String,
    kind: FileKind,
    picks: Picks,
) -> Result<Outcome, TestCaseError> {
    let path = path.to_string();
    let input = text.clone();
    let result = bounded(what, &input, move || {
        check_mask(&text)?;
        for k in [FileKind::HelmTemplate, FileKind::HelmValues, FileKind::Yaml] {
            let _ = Document::parse(&path, text.clone(), k);
        }
        load_and_edit(&path, &text, kind, &picks)
    })?;
    result.map_err(|why| {
        let saved = save(what, &input);
        TestCaseError::fail(format!(
            "{what}: {why}\ninput saved to {}:\n{input:?}",
            saved.display()
        ))
    })
}

// ---------------------------------------------------------------- the properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn recipe_parser_never_panics_or_hangs(
        text in prop_oneof![any::<String>(), soup(KDL)],
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 0..6),
    ) {
        // Arbitrary text, KDL-like soup, and mutated recipes of this repository.
        let seeds = recipe_seeds();
        let recipe = mutate(&seeds[nth(seed, seeds.len())].text, &mutations);
        for input in [text, recipe] {
            let copy = input.clone();
            bounded("recipe", &input, move || {
                let _ = recipe::parse_str(Path::new("fuzz.kdl"), &copy);
            })?;
        }
    }

    #[test]
    fn masking_arbitrary_text_round_trips_or_refuses(
        text in prop_oneof![any::<String>(), soup(TEMPLATE), soup(YAML)],
        extra in soup(TEMPLATE),
    ) {
        for input in [text.clone(), format!("{text}{extra}"), format!("{extra}\n{text}")] {
            let copy = input.clone();
            let r = bounded("mask", &input, move || check_mask(&copy))?;
            prop_assert!(r.is_ok(), "{}: {:?}", r.unwrap_err(), input);
        }
    }
}

/// Runs `cases` through [`all_stages`] like `proptest!` does (shrinking, saved seeds), and
/// counts what happened to them: the figures are printed, and a run where no accepted edit
/// reached the independent check proves nothing, so it fails.
fn edit_property<S: Strategy>(
    what: &'static str,
    cases: S,
    to_input: impl Fn(S::Value) -> (String, String, FileKind, Picks),
) where
    S::Value: std::fmt::Debug,
{
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    let tally: Mutex<BTreeMap<String, usize>> = Mutex::default();
    let mut config = config();
    config.source_file = Some(file!());
    let started = Instant::now();
    let result = proptest::test_runner::TestRunner::new(config).run(&cases, |v| {
        let (path, text, kind, picks) = to_input(v);
        let outcome = all_stages(what, &path, text, kind, picks)?;
        *tally
            .lock()
            .expect("tally")
            .entry(format!("{outcome:?}"))
            .or_default() += 1;
        Ok(())
    });
    let tally = tally.into_inner().expect("tally");
    eprintln!("fuzz {what}: {tally:?} in {:?}", started.elapsed());
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        tally.get("Checked").copied().unwrap_or(0) > 0,
        "fuzz {what}: no accepted edit was checked independently: {tally:?}"
    );
}

const LINES: &[&str] = &[
    "a: 1",
    "b: two",
    "c:",
    "d: [1, 2]",
    "e: {f: g}",
    "- x",
    "- y: 1",
    "- ",
    "  z: 3",
    "# c",
    "",
    "key: 'q'",
    "k: \"d\"",
    "run: |",
    "  echo hi",
    "s: >-",
    "n: null",
    "t: true",
    "---",
    "{{- if .Values.x }}",
    "{{- end }}",
    "{{- with .Values.y }}",
    "{{- else }}",
    "{{- toYaml .Values.r | nindent 2 }}",
    "v: {{ .Values.v }}",
    "name: {{ .Release.Name }}",
    "{{- include \"t\" . | nindent 4 }}",
    "x: &a 1",
    "y: *a",
    "? q",
    ": r",
    "w: 1 # c",
];

/// Line-shaped YAML (and template) text: keys are made unique and a line is indented at
/// most one level deeper than the line that opens it, so most of it loads and the editor gets
/// to work.
fn yaml_lines() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((0usize..4, prop::sample::select(LINES)), 1..24),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let (mut out, mut max_depth) = (String::new(), 0);
            for (i, (depth, line)) in lines.iter().enumerate() {
                let depth = (*depth).min(max_depth);
                let keyed = line.starts_with(|c: char| c.is_ascii_lowercase());
                let line = if keyed {
                    format!("k{i}{line}")
                } else {
                    line.to_string()
                };
                max_depth = if line.ends_with(':') || line.ends_with("- ") || line.ends_with('|') {
                    depth + 1
                } else {
                    depth
                };
                out.push_str(&format!("{}{line}{nl}", "  ".repeat(depth)));
            }
            out
        })
}

#[test]
fn arbitrary_text_loads_and_edits_safely() {
    let text = prop_oneof![
        1 => any::<String>(),
        1 => soup(YAML),
        1 => soup(TEMPLATE),
        4 => yaml_lines(),
    ];
    edit_property("text", (text, picks()), |(text, picks)| {
        let path = "chart/templates/fuzz.yaml".to_string();
        (path, text, FileKind::HelmTemplate, picks)
    });
}

/// A seed file (by index), the mutations to make to it, and the op to try. The mutated text
/// is made from these in the property, so a failure prints them, not the whole file (the
/// text itself is saved under target/fuzz-failures/).
fn mutations() -> impl Strategy<Value = (usize, Vec<Mutation>, Picks)> {
    (
        any::<usize>(),
        prop::collection::vec(mutation(), 0..4),
        picks(),
    )
}

fn mutated(
    seeds: &[Seed],
    (seed, mutations, picks): (usize, Vec<Mutation>, Picks),
) -> (String, String, FileKind, Picks) {
    let s = &seeds[nth(seed, seeds.len())];
    let text = mutate(&s.text, &mutations);
    (s.path.clone(), text, s.kind, picks)
}

#[test]
fn mutated_sample_files_load_mask_and_edit_safely() {
    edit_property("sample", mutations(), |v| mutated(sample_seeds(), v));
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn mutated_corpus_files_load_mask_and_edit_safely() {
    edit_property("corpus", mutations(), |v| mutated(corpus_seeds(), v));
}

// ---------------------------------------------------------------- harness self-tests

#[test]
fn a_hang_fails_the_case_and_saves_its_input() {
    let bound = Duration::from_millis(50);
    let err = bounded_by(bound, "selftest-hang", "input that hangs", move || {
        // Far past the 10 × bound the harness waits, even on a loaded machine.
        std::thread::sleep(bound * 100);
    })
    .expect_err("a hang must fail");
    let msg = err.to_string();
    assert!(msg.contains("a hang"), "{msg}");
    let saved = msg
        .split("input saved to ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .expect("path in message");
    assert_eq!(
        std::fs::read_to_string(saved).expect("saved"),
        "input that hangs"
    );
}

#[test]
fn a_slow_case_is_timed_twice_before_it_fails() {
    let bound = Duration::from_millis(50);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let err = bounded_by(bound, "selftest-slow", "slow input", move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(bound * 2);
    })
    .expect_err("over the bound twice must fail");
    assert!(err.to_string().contains("twice"), "{err}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Once over the bound, then within it: passes (a busy machine is not a finding).
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    bounded_by(bound, "selftest-once-slow", "x", move || {
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            std::thread::sleep(bound * 2);
        }
    })
    .expect("within the bound the second time");
}

#[test]
fn a_panic_fails_the_case_with_its_message() {
    let err = bounded("selftest-panic", "x", || panic!("boom")).expect_err("a panic must fail");
    assert!(err.to_string().contains("panicked: boom"), "{err}");
}

#[test]
fn mutations_change_text_where_asked() {
    let text = "a: 1\nb:\n  c: 2\n";
    assert_eq!(
        mutate(text, &[Mutation::Insert(0, "{{")]),
        "{{a: 1\nb:\n  c: 2\n"
    );
    assert_eq!(
        mutate(text, &[Mutation::Insert(15, "x")]),
        "a: 1\nb:\n  c: 2\nx"
    );
    assert_eq!(
        mutate(text, &[Mutation::DuplicateLine(3)]),
        "a: 1\na: 1\nb:\n  c: 2\n"
    );
    assert_eq!(mutate(text, &[Mutation::Indent(2, -2)]), "a: 1\nb:\nc: 2\n");
    assert_eq!(
        mutate(text, &[Mutation::Indent(1, 3)]),
        "a: 1\n   b:\n  c: 2\n"
    );
    assert_eq!(mutate(text, &[Mutation::Delete(0, 3)]), "1\nb:\n  c: 2\n");
    // A flipped bit that breaks UTF-8 becomes U+FFFD: the loader only ever sees text.
    assert_eq!(mutate("é", &[Mutation::FlipBit(0, 6)]), "\u{fffd}\u{fffd}");
}

/// Replays inputs through every stage, timed: the committed ones in `tests/fuzz-inputs/`
/// (`<name>.<kind>.txt`, kind `template`, `values` or `yaml`: hostile shapes, and inputs that
/// failed once), and a file saved by a failing run when `PATCHER_FUZZ_REPLAY` names it.
#[test]
fn saved_inputs_replay_within_the_bound() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-inputs");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    inputs.extend(std::env::var_os("PATCHER_FUZZ_REPLAY").map(PathBuf::from));
    inputs.sort();
    for path in inputs {
        let text = std::fs::read_to_string(&path).expect("read input");
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let kind = match name.rsplit('.').nth(1) {
            Some("values") => FileKind::HelmValues,
            Some("yaml") => FileKind::Yaml,
            _ => FileKind::HelmTemplate,
        };
        for op_kind in 0..4 {
            let started = Instant::now();
            let outcome = all_stages(
                "replay",
                "chart/templates/replay.yaml",
                text.clone(),
                kind,
                vec![(op_kind, 0), (op_kind + 1, 1)],
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            eprintln!(
                "{name} op {op_kind}: {outcome:?} in {:?}",
                started.elapsed()
            );
        }
    }
}
