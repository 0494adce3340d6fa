//! One clone per fleet repository under `--cache DIR`, reused by every later run: a re-run
//! fetches only the base branch (the patcher branch is fetched by the branch mode when it needs
//! it) and checks its tip out, detached, so the plan sees exactly the remote's base. Clones are
//! not shallow: converging the patcher branch needs its ancestry with the base.

use std::path::{Path, PathBuf};

use git2::Repository;
use git2::build::CheckoutBuilder;

use super::file::RepoSpec;
use crate::git;
use crate::saved_plan::sha256_hex;

/// A clone with the base branch's tip checked out.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// The base branch (`base=`, else the remote's default branch).
    pub base: String,
    pub base_commit: String,
}

/// The directory of `spec`'s clone: readable, and unique per spec.
pub fn clone_dir(cache: &Path, spec: &str) -> PathBuf {
    let readable: String = spec
        .rsplit(['/', ':'])
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = sha256_hex(spec.as_bytes());
    cache.join(format!("{readable}-{}", &hash[..10]))
}

/// Creates or refreshes the clone and checks the base's tip out.
pub fn sync(cache: &Path, repo: &RepoSpec) -> Result<Checkout, String> {
    let local = !repo.url.contains("://") && !repo.url.contains('@');
    if local && !Path::new(&repo.url).exists() {
        return Err(format!(
            "no repository at {} (line {} of the fleet file)",
            repo.url, repo.line
        ));
    }
    let dir = clone_dir(cache, &repo.spec);
    let existing = dir
        .join(".git")
        .is_dir()
        .then(|| Repository::open(&dir).ok())
        .flatten();
    let handle = match existing {
        Some(h) => h,
        None => {
            // Nothing there, or a clone a killed run left half-made: the cache is patcher's
            // own, so it starts over (the remote holds everything that matters).
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            Repository::init(&dir).map_err(|e| {
                format!(
                    "cannot create a clone in {}: {}",
                    dir.display(),
                    e.message()
                )
            })?
        }
    };
    // The fleet file is the truth: a changed URL re-points the clone.
    let current = handle
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(str::to_string));
    match current {
        Some(u) if u == repo.url => Ok(()),
        Some(_) => handle.remote_set_url("origin", &repo.url),
        None => handle.remote("origin", &repo.url).map(|_| ()),
    }
    .map_err(|e| git::redact(&format!("cannot set the clone's remote: {}", e.message())))?;
    let base = match &repo.base {
        Some(b) => b.clone(),
        None => git::remote_default_branch(&handle, "origin")?,
    };
    git::fetch_branch(&handle, "origin", &base)?;
    let tracking = format!("refs/remotes/origin/{base}");
    let commit = handle
        .find_reference(&tracking)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| format!("the remote has no branch {base}: {}", e.message()))?;
    handle
        .checkout_tree(
            commit.as_object(),
            Some(CheckoutBuilder::new().force().remove_untracked(true)),
        )
        .and_then(|()| handle.set_head_detached(commit.id()))
        .map_err(|e| {
            format!(
                "cannot check {base} out in {}: {}",
                dir.display(),
                e.message()
            )
        })?;
    Ok(Checkout {
        dir,
        base,
        base_commit: commit.id().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_dirs_are_readable_and_distinct() {
        let a = clone_dir(Path::new("/c"), "acme/api");
        let b = clone_dir(Path::new("/c"), "https://git.example.com/acme/api.git");
        assert!(
            a.display().to_string().starts_with("/c/acme-api-"),
            "{}",
            a.display()
        );
        assert_ne!(a, b);
    }
}
