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
        if let Err(e) = std::fs::create_dir_all(&dir) {
            cleanup(&temps);
            return Err(format!("{}: cannot create directory: {e}", c.path));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.patcher-{}.tmp", std::process::id()));
        let written = std::fs::write(&tmp, c.new_text.as_bytes()).and_then(|()| {
            if let Ok(meta) = std::fs::metadata(&target) {
                std::fs::set_permissions(&tmp, meta.permissions())?;
            }
            std::fs::File::open(&tmp)?.sync_all()
        });
        temps.push((tmp, target));
        if let Err(e) = written {
            cleanup(&temps);
            return Err(format!(
                "{}: cannot write: {e}; nothing was changed",
                c.path
            ));
        }
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
