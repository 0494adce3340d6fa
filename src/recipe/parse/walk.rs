//! Finding recipe files: directories contribute their `*.kdl` files, recursively.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::diag::RecipeDiagnostic;

pub(super) fn collect_files(
    path: &Path,
    out: &mut Vec<PathBuf>,
    diags: &mut Vec<RecipeDiagnostic>,
) {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut found = Vec::new();
            let mut visited = HashSet::new();
            walk_dir(path, &mut found, &mut visited, diags);
            found.sort();
            out.extend(found);
        }
        Ok(_) => out.push(path.to_path_buf()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            diags.push(RecipeDiagnostic::load(
                path,
                "recipe path does not exist".to_string(),
                "pass recipe files (`*.kdl`) or directories that contain them",
            ));
        }
        Err(err) => diags.push(RecipeDiagnostic::load(
            path,
            format!("cannot read recipe path: {err}"),
            "check that the path exists and is readable",
        )),
    }
}

pub(super) fn walk_dir(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diags: &mut Vec<RecipeDiagnostic>,
) {
    // Symlinked directories may form loops; visit each real directory once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diags.push(RecipeDiagnostic::load(
                dir,
                format!("cannot read recipe directory: {err}"),
                "check that the directory is readable",
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                diags.push(RecipeDiagnostic::load(
                    dir,
                    format!("cannot read recipe directory: {err}"),
                    "check that the directory is readable",
                ));
                continue;
            }
        };
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_dir(&path, out, visited, diags),
            Ok(_) if path.extension().is_some_and(|e| e == "kdl") => out.push(path),
            Ok(_) => {}
            // A dangling symlink to a `.kdl` file is worth reporting; anything else is not
            // a recipe.
            Err(err) if path.extension().is_some_and(|e| e == "kdl") => {
                diags.push(RecipeDiagnostic::load(
                    &path,
                    format!("cannot read recipe file: {err}"),
                    "check that the file exists and is readable",
                ));
            }
            Err(_) => {}
        }
    }
}
