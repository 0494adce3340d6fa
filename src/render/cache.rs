//! The render cache: what `helm template` printed for a chart before the edit, keyed by the
//! sha256 of everything that decides it (the helm binary, the arguments, every file of the
//! chart copy and of the values files), so a second plan of unchanged charts runs helm only
//! for the after render. It lives in the user's cache directory (`$XDG_CACHE_HOME/patcher/
//! renders`, else `~/.cache/patcher/renders`), holds at most [`MAX_BYTES`] (oldest entries go
//! first), and `PATCHER_RENDER_CACHE=off` turns it off (`=<dir>` puts it elsewhere). It only
//! ever stores successful renders, never a chart's files, and a broken entry is a miss.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The cache's size bound.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Where the cache is, or `None` when it is off or no cache directory is known.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("PATCHER_RENDER_CACHE") {
        Some(v) if v == "off" || v == "0" => return None,
        Some(v) if !v.is_empty() => return Some(PathBuf::from(v)),
        _ => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("patcher").join("renders"))
}

/// The key of one render: the helm (path, size, modification time), its arguments, and every
/// file under `chart` and each of `values` (relative to `chart`; path and bytes), in a fixed
/// order.
pub fn key(helm: &Path, args: &[String], chart: &Path, values: &[PathBuf]) -> Option<String> {
    let mut h = Sha256::new();
    let meta = std::fs::metadata(helm).ok()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    h.update(format!("helm {} {} {mtime}\n", helm.display(), meta.len()));
    for a in args {
        h.update(format!("arg {a}\n"));
    }
    let mut files = Vec::new();
    walk(chart, chart, 0, &mut files).ok()?;
    files.sort();
    for rel in files {
        let bytes = std::fs::read(chart.join(&rel)).ok()?;
        h.update(format!("file {rel} {}\n", bytes.len()));
        h.update(&bytes);
    }
    // Relative to the chart (a path outside it stays absolute): the same selection of the
    // same files is the same key wherever the chart is.
    for v in values {
        let bytes = std::fs::read(chart.join(v)).ok()?;
        h.update(format!("values {} {}\n", v.display(), bytes.len()));
        h.update(&bytes);
    }
    Some(
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_name() == ".git" {
            continue;
        }
        if p.is_dir() && depth < 32 {
            walk(root, &p, depth + 1, out)?;
        } else if p.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The stored output for `key` (`name` tells a first render from the second one).
pub fn get(dir: &Path, key: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(format!("{key}.{name}.yaml"))).ok()
}

/// Stores `text`, then trims the cache to [`MAX_BYTES`]. Failures are ignored: a cache that
/// cannot be written is a slower plan, not a wrong one.
pub fn put(dir: &Path, key: &str, name: &str, text: &str) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written aside and renamed, so a reader never sees half an entry.
    let tmp = dir.join(format!(".{key}.{name}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text).is_err()
        || std::fs::rename(&tmp, dir.join(format!("{key}.{name}.yaml"))).is_err()
    {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    trim(dir, MAX_BYTES);
}

/// Removes the oldest entries until the cache holds at most `max` bytes.
fn trim(dir: &Path, max: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= max {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_chart_files_and_values_and_the_cache_stays_bounded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let chart = tmp.path().join("c");
        std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
        std::fs::write(chart.join("Chart.yaml"), "name: c\n").expect("write");
        let helm = tmp.path().join("helm");
        std::fs::write(&helm, "#!/bin/sh\n").expect("write");
        let values = tmp.path().join("v.yaml");
        std::fs::write(&values, "a: 1\n").expect("write");
        let args = vec!["template".to_string()];
        let k1 = key(&helm, &args, &chart, std::slice::from_ref(&values)).expect("key");
        assert_eq!(
            key(&helm, &args, &chart, std::slice::from_ref(&values)),
            Some(k1.clone())
        );
        std::fs::write(chart.join("templates/x.yaml"), "kind: X\n").expect("write");
        let k2 = key(&helm, &args, &chart, std::slice::from_ref(&values)).expect("key");
        assert_ne!(k1, k2);
        std::fs::write(&values, "a: 2\n").expect("write");
        assert_ne!(
            key(&helm, &args, &chart, std::slice::from_ref(&values)),
            Some(k2.clone())
        );
        let skip = vec!["template".to_string(), "--skip-schema-validation".into()];
        assert_ne!(
            key(&helm, &skip, &chart, &[]),
            key(&helm, &args, &chart, &[])
        );

        let cache = tmp.path().join("cache");
        put(&cache, &k1, "first", "kind: A\n");
        assert_eq!(get(&cache, &k1, "first").as_deref(), Some("kind: A\n"));
        assert_eq!(get(&cache, &k2, "first"), None);
        put(&cache, &k2, "first", &"x".repeat(100));
        trim(&cache, 100);
        let left: Vec<_> = std::fs::read_dir(&cache).expect("dir").flatten().collect();
        assert_eq!(left.len(), 1, "the oldest entry goes first");
    }
}
