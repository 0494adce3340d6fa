//! Atomic writes into the working tree: every new text goes to a temp file beside its target,
//! then all are renamed into place, so a failure leaves every file as it was.

use std::path::{Path, PathBuf};

use crate::engine::FileChange;

/// Writes all changes or none: every new text goes to a temp file beside its target first,
/// then all are renamed into place; if a rename fails, the ones done are put back.
pub fn write_in_place(root: &Path, changes: &[FileChange]) -> Result<(), String> {
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for c in changes {
        let target = root.join(&c.path);
        let dir = target.parent().unwrap_or(root).to_path_buf();
        // Only a new file can need its directory made (an existing one's is there).
        if c.created
            && let Err(e) = std::fs::create_dir_all(&dir)
        {
            cleanup(&temps);
            return Err(format!("{}: cannot create directory: {e}", c.path));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.patcher-{}.tmp", std::process::id()));
        temps.push((tmp, target));
    }
    // Each temp file is written and synced before any rename, so a crash never leaves a
    // renamed file with its data still in the page cache. The syncs run side by side: one
    // after another they were most of an in-place apply's time (a journal commit each).
    let written = parallel_each(&temps, |i, (tmp, target)| {
        // One handle writes, takes the target's mode and syncs the temp file.
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mode = std::fs::metadata(target).ok().map(|m| m.permissions());
            let mut f = std::fs::File::create(tmp)?;
            f.write_all(changes[i].new_text.as_bytes())?;
            if let Some(mode) = mode {
                f.set_permissions(mode)?;
            }
            f.sync_all()
        };
        write().map_err(|e| {
            format!(
                "{}: cannot write: {e}; nothing was changed",
                changes[i].path
            )
        })
    });
    if let Err(e) = written {
        cleanup(&temps);
        return Err(e);
    }
    for (i, (tmp, target)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            // Put back what was already replaced, then drop the rest.
            for (j, (_, done)) in temps[..i].iter().enumerate() {
                let c = &changes[j];
                if c.created {
                    let _ = std::fs::remove_file(done);
                } else {
                    let _ = std::fs::write(done, c.old_text.as_bytes());
                }
            }
            cleanup(&temps[i..]);
            return Err(format!(
                "{}: cannot replace: {e}; the files written before it were restored",
                changes[i].path
            ));
        }
    }
    Ok(())
}

/// Runs `f` on every item, on up to 16 threads (the work waits on the disk, not the CPU);
/// the first error in item order, if any.
fn parallel_each<T: Sync>(
    items: &[T],
    f: impl Fn(usize, &T) -> Result<(), String> + Sync,
) -> Result<(), String> {
    const THREADS: usize = 16;
    if items.len() < 2 {
        return items.iter().enumerate().try_for_each(|(i, t)| f(i, t));
    }
    let chunk = items.len().div_ceil(THREADS);
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let f = &f;
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .try_for_each(|(j, t)| f(c * chunk + j, t))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("internal error: a writer thread panicked".into()))
            })
            .collect()
    });
    results.into_iter().collect()
}
