//! Profiling aid: parses every corpus YAML file with patcher's document layer N times.
fn main() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files = Vec::new();
    let mut stack = vec![corpus.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p)
            }
        }
    }
    let texts: Vec<(std::path::PathBuf, String)> = files
        .into_iter()
        .filter_map(|f| Some((f.clone(), std::fs::read_to_string(&f).ok()?)))
        .collect();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let t = std::time::Instant::now();
    for _ in 0..n {
        for (f, text) in &texts {
            let rel = f.strip_prefix(&corpus).unwrap_or(f);
            let kind = patcher::doc::FileKind::detect(&corpus, rel);
            std::hint::black_box(patcher::doc::Document::parse(rel, text.clone(), kind).ok());
        }
    }
    eprintln!(
        "{:.1} ms per pass",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}
