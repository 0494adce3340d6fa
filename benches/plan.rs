//! `cargo bench --bench plan`: times `plan` over ../shared/corpus with the standard recipe set
//! in benches/recipes/, next to baselines measured in the same run on the same files:
//! reading them, and parsing them with yaml_serde (one parse of every document).
//! Prints files/s and MB/s and the ratios. Also times one `patcher plan` process on the
//! bundled sample (the one-file latency a user sees).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = manifest.join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("SKIPPED: ../shared/corpus not found; the benchmark needs it");
        return;
    }
    let recipes =
        patcher::recipe::load(&[manifest.join("benches/recipes")]).expect("bench recipes");
    let files = corpus_yaml(&corpus);
    let bytes: usize = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len() as usize))
        .sum();
    let mb = bytes as f64 / 1e6;
    println!("corpus: {} YAML files, {mb:.2} MB", files.len());

    let runs = 7;
    let read = median(runs, || {
        for f in &files {
            std::hint::black_box(std::fs::read_to_string(f).ok());
        }
    });
    let serde = median(runs, || {
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            for d in yaml_serde::Deserializer::from_str(&text) {
                std::hint::black_box(serde_json::Value::deserialize(d).ok());
            }
        }
    });
    let mut changes = 0;
    let plan = median(runs, || {
        let outcome = patcher::engine::run(&corpus, &recipes);
        changes = outcome.changes.len();
        std::hint::black_box(outcome);
    });
    let rate = |d: Duration| (files.len() as f64 / d.as_secs_f64(), mb / d.as_secs_f64());
    for (name, d) in [
        ("read only", read),
        ("yaml_serde parse (baseline)", serde),
        ("patcher plan", plan),
    ] {
        let (fps, mbps) = rate(d);
        println!(
            "{name:30} {:8.1} ms  {fps:9.0} files/s  {mbps:7.1} MB/s",
            d.as_secs_f64() * 1e3
        );
    }
    println!(
        "plan / yaml_serde parse = {:.2}x   (plan: {changes} files changed, verified, re-planned)",
        plan.as_secs_f64() / serde.as_secs_f64()
    );

    // One process on the sample app, as a user runs it.
    let bin = manifest.join("target/release/patcher");
    if bin.is_file() {
        let one = median(21, || {
            let out = std::process::Command::new(&bin)
                .args(["plan", "--color", "never"])
                .current_dir(manifest)
                .output();
            std::hint::black_box(out.ok());
        });
        println!(
            "one `patcher plan` process on the sample app: {:.1} ms (median of 21)",
            one.as_secs_f64() * 1e3
        );
    } else {
        println!("(build --release to also time one `patcher plan` process on the sample app)");
    }
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
