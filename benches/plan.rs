//! `cargo bench --bench plan`: times `plan` over ../shared/corpus with the standard recipe set
//! in benches/recipes/, next to baselines measured in the same run on the same machine:
//! reading the files, and parsing them with yaml_serde (one parse of every document) — all
//! corpus files, and just the files the recipes name (what `plan` reads). Prints files/s,
//! MB/s and the ratio. Also times single `patcher plan` processes on the bundled sample.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

// The allocator the `patcher` binary runs with (src/main.rs), so that the plan measured here is
// the one users run; the yaml_serde baseline gets it too. With the system allocator the
// plan's many small allocations cost 1.5 G more instructions (callgrind), the parse's not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // PATCHER_CORPUS as in scripts/bench.sh (a worktree is not beside ../shared).
    let corpus = std::env::var_os("PATCHER_CORPUS")
        .map_or_else(|| manifest.join("../shared/corpus"), PathBuf::from);
    if !corpus.is_dir() {
        eprintln!(
            "SKIPPED: {} not found (set PATCHER_CORPUS); the benchmark needs it",
            corpus.display()
        );
        return;
    }
    let recipes =
        patcher::recipe::load(&[manifest.join("benches/recipes")]).expect("bench recipes");
    let files = corpus_yaml(&corpus);
    let mb = megabytes(&files);
    let named = named_files(&corpus, &files, &recipes);
    let named_mb = megabytes(&named);
    println!(
        "corpus: {} YAML files, {mb:.2} MB; the recipes name {} of them, {named_mb:.2} MB",
        files.len(),
        named.len()
    );

    // Planning, as `--render never` (scripts/bench.sh's figures): with a helm found (PATCHER_HELM)
    // the default would render every changed chart, many times over.
    let never = patcher::engine::RunOptions {
        render: patcher::render::RenderMode::Never,
        helm: None,
    };
    // PATCHER_BENCH_ONCE=serde|plan: that one run and nothing else, for an instruction count
    // (`valgrind --tool=callgrind`) that the other builders on the machine do not move.
    match std::env::var("PATCHER_BENCH_ONCE").as_deref() {
        Ok("serde") => return parse_all(&named),
        Ok("plan") => {
            return drop(std::hint::black_box(patcher::engine::run(
                &corpus, &recipes,
            )));
        }
        _ => {}
    }
    let runs = 7;
    let read = median(runs, || {
        for f in &files {
            std::hint::black_box(std::fs::read_to_string(f).ok());
        }
    });
    let serde_all = median(runs, || parse_all(&files));
    let serde_named = median(runs, || parse_all(&named));
    let ours = median(runs, || {
        for f in &named {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let rel = f.strip_prefix(&corpus).unwrap_or(f);
            let kind = patcher::doc::FileKind::detect(&corpus, rel);
            std::hint::black_box(patcher::doc::Document::parse(rel, text, kind).ok());
        }
    });
    let mut changes = 0;
    let plan = median(runs, || {
        let outcome = patcher::engine::run_with(&corpus, &recipes, &never);
        changes = outcome.changes.len();
        std::hint::black_box(outcome);
    });
    let row = |name: &str, d: Duration, n: usize, mb: f64| {
        let secs = d.as_secs_f64();
        println!(
            "{name:42} {:8.1} ms {:9.0} files/s {:7.1} MB/s",
            secs * 1e3,
            n as f64 / secs,
            mb / secs
        );
    };
    row("read, all files", read, files.len(), mb);
    row("yaml_serde parse, all files", serde_all, files.len(), mb);
    row(
        "yaml_serde parse, the recipes' files",
        serde_named,
        named.len(),
        named_mb,
    );
    row(
        "patcher parse (mask, spans, model)",
        ours,
        named.len(),
        named_mb,
    );
    row(
        "patcher plan, the recipes' files",
        plan,
        named.len(),
        named_mb,
    );
    println!(
        "plan / yaml_serde parse of the same files = {:.2}x ({changes} files changed: edited, verified, re-planned)",
        plan.as_secs_f64() / serde_named.as_secs_f64()
    );

    // Whole processes, as a user runs them.
    let bin = manifest.join("target/release/patcher");
    if !bin.is_file() {
        println!("(build --release to also time `patcher plan` processes on the sample app)");
        return;
    }
    for (what, args) in [
        (
            "the sample app (7 recipes, 8 files)",
            vec!["plan", "--color", "never"],
        ),
        (
            "one file (--only ci-no-hpa)",
            vec!["plan", "--color", "never", "--only", "ci-no-hpa"],
        ),
    ] {
        let d = median(21, || {
            let out = std::process::Command::new(&bin)
                .args(&args)
                .current_dir(manifest)
                .output();
            std::hint::black_box(out.ok());
        });
        println!(
            "one `patcher plan` process, {what}: {:.1} ms (median of 21)",
            d.as_secs_f64() * 1e3
        );
    }
}

/// Parses every document of every file with yaml_serde into serde_json values. Chart
/// templates are masked first (patcher's masking, a few % of the cost): unmasked, yaml_serde
/// would stop at the first `{{` and the baseline would measure almost nothing for them.
fn parse_all(files: &[PathBuf]) {
    for f in files {
        let Ok(mut text) = std::fs::read_to_string(f) else {
            continue;
        };
        if f.components().any(|c| c.as_os_str() == "templates")
            && let Ok(m) = patcher::doc::template::mask(&text)
        {
            text = m.text;
        }
        // The document iterator does not move past an error: stop at the first one.
        for d in yaml_serde::Deserializer::from_str(&text) {
            if std::hint::black_box(serde_json::Value::deserialize(d)).is_err() {
                break;
            }
        }
    }
}

/// The files the recipes' globs match (relative to the corpus root).
fn named_files(
    corpus: &Path,
    files: &[PathBuf],
    recipes: &patcher::recipe::RecipeSet,
) -> Vec<PathBuf> {
    let mut set = globset::GlobSetBuilder::new();
    for g in recipes
        .recipes
        .iter()
        .flat_map(|r| r.files.iter().flat_map(|f| f.globs.iter()))
    {
        if let Ok(g) = globset::Glob::new(g) {
            set.add(g);
        }
    }
    let Ok(set) = set.build() else {
        return Vec::new();
    };
    files
        .iter()
        .filter(|f| f.strip_prefix(corpus).is_ok_and(|rel| set.is_match(rel)))
        .cloned()
        .collect()
}

fn megabytes(files: &[PathBuf]) -> f64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum::<u64>() as f64
        / 1e6
}

fn corpus_yaml(corpus: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(corpus, &mut out);
    out.sort();
    out
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm the page cache and allocator
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}
