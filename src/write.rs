//! Atomic writes into the working tree: every new text goes to a temp file beside its target,
//! then all are renamed into place, so a failure leaves every file as it was.

use std::path::{Path, PathBuf};

use crate::change::FileChange;

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
    // The temp files are not fsynced, as git does not fsync the working tree and `sed -i`
    // does not: the rename is what makes a write all or nothing to every reader. On a
    // journaled filesystem each fsync commits the journal (with whatever else is dirty), so
    // one per file cost an apply a commit per file. Against power loss, ext4 and btrfs flush
    // a file that replaces another by rename before the rename commits.
    let order: Vec<usize> = (0..temps.len()).collect();
    let written = crate::parallel::map(crate::parallel::threads(), &order, |&i| {
        write_temp(&temps[i].0, &temps[i].1, &changes[i].new_text)
    })
    .into_iter()
    .zip(changes)
    .find_map(|(r, c)| {
        r.err()
            .map(|e| format!("{}: cannot write: {e}; nothing was changed", c.path))
    })
    .map_or(Ok(()), Err);
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

/// Writes `text` to the new file `tmp` with `target`'s permissions, through one handle.
fn write_temp(tmp: &Path, target: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mode = std::fs::metadata(target).ok().map(|m| m.permissions());
    let mut f = std::fs::File::create(tmp)?;
    f.write_all(text.as_bytes())?;
    if let Some(mode) = mode {
        f.set_permissions(mode)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, old: &str, new: &str, created: bool) -> FileChange {
        FileChange {
            path: path.into(),
            old_text: old.into(),
            new_text: new.into(),
            created,
            docs: Vec::new(),
            sites: Vec::new(),
            text_ops: Vec::new(),
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".patcher-"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_file_is_replaced_keeping_its_mode_and_new_files_get_their_directories() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("a.yaml"), "a: 1\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(root.path().join("a.yaml"), p).expect("chmod");
        }
        let changes = [
            change("a.yaml", "a: 1\n", "a: 2\n", false),
            change("new/dir/b.yaml", "", "b: 1\n", true),
        ];
        write_in_place(root.path(), &changes).expect("written");
        let read = |p: &str| std::fs::read_to_string(root.path().join(p)).expect("read");
        assert_eq!(read("a.yaml"), "a: 2\n");
        assert_eq!(read("new/dir/b.yaml"), "b: 1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(root.path().join("a.yaml")).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, 0o755);
        }
        assert!(leftovers(root.path()).is_empty());
    }

    #[test]
    fn a_temp_file_that_cannot_be_written_leaves_every_file_as_it_was() {
        let root = tempfile::tempdir().expect("tempdir");
        for f in ["a.yaml", "b.yaml", "c.yaml"] {
            std::fs::write(root.path().join(f), "x: 1\n").expect("write");
        }
        // A directory where b's temp file goes: creating the file fails (even as root).
        let blocker = format!(".b.yaml.patcher-{}.tmp", std::process::id());
        std::fs::create_dir(root.path().join(&blocker)).expect("mkdir");
        let changes: Vec<_> = ["a.yaml", "b.yaml", "c.yaml"]
            .into_iter()
            .map(|f| change(f, "x: 1\n", "x: 2\n", false))
            .collect();
        let err = write_in_place(root.path(), &changes).expect_err("refused");
        assert!(err.starts_with("b.yaml: cannot write"), "{err}");
        assert!(err.ends_with("nothing was changed"), "{err}");
        for f in ["a.yaml", "b.yaml", "c.yaml"] {
            let text = std::fs::read_to_string(root.path().join(f)).expect("read");
            assert_eq!(text, "x: 1\n", "{f}");
        }
        assert_eq!(leftovers(root.path()), vec![blocker]);
    }

    #[test]
    fn a_failed_rename_puts_back_the_files_already_replaced() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("a.yaml"), "a: 1\n").expect("write");
        // b.yaml is a non-empty directory: nothing can be renamed over it.
        std::fs::create_dir_all(root.path().join("b.yaml/inner")).expect("mkdir");
        let changes = [
            change("a.yaml", "a: 1\n", "a: 2\n", false),
            change("b.yaml", "b: 1\n", "b: 2\n", false),
            change("c.yaml", "", "c: 1\n", true),
        ];
        let err = write_in_place(root.path(), &changes).expect_err("refused");
        assert!(err.starts_with("b.yaml: cannot replace"), "{err}");
        assert!(err.contains("were restored"), "{err}");
        let a = std::fs::read_to_string(root.path().join("a.yaml")).expect("read");
        assert_eq!(a, "a: 1\n");
        assert!(!root.path().join("c.yaml").exists());
        assert!(leftovers(root.path()).is_empty());
    }
}
