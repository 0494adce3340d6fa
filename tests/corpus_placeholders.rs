//! Issue 22, item 7: masking's placeholders (`_1eg9o2l3…____`, the names the template mask
//! gives inline actions) never reach a user. Every recipe of the catalogue (each `use`d over
//! the corpus, required parameters filled), of the bench (`benches/recipes/corpus.kdl`) and
//! of `tests/data/rendered-field-recipes.kdl` is run over every corpus chart and workflow with
//! `plan` and `check`, text and JSON; no output line may hold a placeholder of any corpus
//! template's action, nor anything shaped like one.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every inline action's placeholder in the corpus's templates, without its `_` padding.
fn corpus_placeholders(corpus: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![corpus.join("charts")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read corpus dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(src) = std::fs::read_to_string(&p) else {
                continue;
            };
            if !patcher::doc::template::has_actions(&src) {
                continue;
            }
            let Ok(m) = patcher::doc::template::mask(&src) else {
                continue;
            };
            for a in m.actions.iter().filter(|a| !a.whole_line) {
                let masked = &m.text[a.span.clone()];
                let first = masked.lines().next().unwrap_or_default();
                let ph = first.trim_end_matches('_');
                if first.starts_with('_') && ph.len() >= 5 {
                    out.insert(ph.to_string());
                }
            }
        }
    }
    out
}

/// `use "catalog:NAME" …` lines for every catalogue recipe: path parameters point at the
/// corpus (a recipe that creates its file gets one `use` per chart, as it needs a literal
/// path), other required parameters get a plain value.
fn catalogue_uses(corpus: &Path) -> String {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&catalog)
        .expect("catalog")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "kdl"))
        .collect();
    names.sort();
    let charts: Vec<String> = {
        let mut c: Vec<String> = std::fs::read_dir(corpus.join("charts"))
            .expect("charts")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|c| corpus.join("charts").join(c).join("values.yaml").is_file())
            .collect();
        c.sort();
        c
    };
    let mut out = String::new();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("catalog recipe");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let creates = text.contains("create=#true");
        let mut args = Vec::new();
        let mut per_chart = None;
        for line in text.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("param \"") else {
                continue;
            };
            let Some((param, tail)) = rest.split_once('"') else {
                continue;
            };
            match param {
                "files" => args.push(r#"files="charts/*/templates/**/*.yaml""#.to_string()),
                "workflows" => args.push(r#"workflows="workflows/*.{yml,yaml}""#.to_string()),
                "values" if creates => per_chart = Some("values"),
                "values" => args.push(r#"values="charts/*/values.yaml""#.to_string()),
                _ if tail.contains("type=\"int\"") => args.push(format!("{param}=1")),
                _ if tail.contains("type=\"string\"") => args.push(format!(r#"{param}="*""#)),
                _ => {}
            }
        }
        match per_chart {
            Some(param) => {
                for (i, chart) in charts.iter().enumerate() {
                    out.push_str(&format!(
                        "use \"catalog:{name}\" name=\"{name}-{i}\" {param}=\"charts/{chart}/values.yaml\" {}\n",
                        args.join(" ")
                    ));
                }
            }
            None => out.push_str(&format!("use \"catalog:{name}\" {}\n", args.join(" "))),
        }
    }
    out
}

/// The tokens of `line` that are, or look like, a masking placeholder.
fn placeholders_in(line: &str, known: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'_' || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric())) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        let token = &line[start..i];
        let digits = token.len() - 1;
        // A known placeholder, or a prefix of one that a message cut short.
        let known_hit = digits >= 7
            && known
                .range(token.to_string()..)
                .next()
                .is_some_and(|k| k.starts_with(token));
        // The shape: `_` and the 12 or 13 base-36 digits of a 64-bit hash, then padding.
        let shaped = (12..=13).contains(&digits)
            && token[1..].bytes().any(|c| c.is_ascii_digit())
            && line[i..].starts_with("__");
        if known_hit || shaped {
            found.push(token.to_string());
        }
    }
    found
}

#[test]
fn the_placeholder_scan_finds_masked_names_and_passes_file_names() {
    let m = patcher::doc::template::mask("a: x-{{ .Values.image.tag }}-y\n").expect("mask");
    let ph = m.text[5..5 + "{{ .Values.image.tag }}".len()].to_string();
    let known: BTreeSet<String> = [ph.trim_end_matches('_').to_string()].into();
    assert_eq!(
        placeholders_in(&format!("is a string (x-{ph}-y)"), &known).len(),
        1
    );
    assert!(placeholders_in("charts/bitnami__charts__nginx/values.yaml", &known).is_empty());
    assert!(placeholders_in("{{ include \"x._helpers\" . }}", &known).is_empty());
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn no_output_line_of_any_recipe_over_the_corpus_holds_a_masking_placeholder() {
    let corpus = common::corpus();
    let known = corpus_placeholders(&corpus);
    assert!(known.len() > 1000, "only {} placeholders", known.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let catalogue = dir.path().join("catalogue.kdl");
    std::fs::write(&catalogue, catalogue_uses(&corpus)).expect("write recipes");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sets = [
        catalogue,
        repo.join("benches/recipes/corpus.kdl"),
        repo.join("tests/data/rendered-field-recipes.kdl"),
    ];
    let mut runs: Vec<(String, Vec<String>)> = Vec::new();
    for set in &sets {
        for cmd in ["plan", "check"] {
            for fmt in ["text", "json"] {
                let label = format!(
                    "{cmd} --format {fmt} --recipes {}",
                    set.file_name().unwrap().to_string_lossy()
                );
                let args = [cmd, "--root"]
                    .into_iter()
                    .map(String::from)
                    .chain([corpus.display().to_string()])
                    .chain(["--recipes".to_string(), set.display().to_string()])
                    .chain(
                        ["--render", "never", "--color", "never", "--format", fmt]
                            .map(String::from),
                    )
                    .collect();
                runs.push((label, args));
            }
        }
    }
    let mut leaks = Vec::new();
    let mut lines = 0;
    // Two at a time: each run plans the whole corpus.
    for pair in runs.chunks(2) {
        let outputs: Vec<(String, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = pair
                .iter()
                .map(|(label, args)| {
                    s.spawn(move || {
                        let out = Command::new(common::bin())
                            .args(args)
                            .env("NO_COLOR", "1")
                            .output()
                            .expect("run patcher");
                        assert_ne!(
                            out.status.code(),
                            None,
                            "{label}: killed\n{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        let text = format!(
                            "{}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        );
                        (label.clone(), text)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("run"))
                .collect()
        });
        for (label, text) in outputs {
            assert!(
                !text.contains("panicked"),
                "{label}: patcher panicked:\n{text}"
            );
            for line in text.lines() {
                lines += 1;
                let found = placeholders_in(line, &known);
                if !found.is_empty() {
                    leaks.push(format!("{label}: {found:?} in: {}", line.trim()));
                }
            }
        }
    }
    assert!(lines > 1000, "only {lines} output lines");
    assert!(
        leaks.is_empty(),
        "{} output lines carry a masking placeholder (name the template action instead):\n{}",
        leaks.len(),
        leaks
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
