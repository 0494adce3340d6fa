//! `patcher fleet list`: the fleet's repositories as GitHub Actions matrices, at most 256
//! legs each (GitHub's limit per matrix), for a job's `strategy.matrix: ${{ fromJSON(...) }}`.

use serde_json::{Value, json};

use super::file::Fleet;

/// GitHub runs at most 256 jobs per matrix.
pub const MAX_CHUNK: usize = 256;

/// One leg per repository: `repo` as written, `github` (owner/name, or ""), `url`, `base` (""
/// for the default branch), `root` ("." for the top).
pub fn legs(fleet: &Fleet) -> Vec<Value> {
    fleet
        .repos
        .iter()
        .map(|r| {
            json!({
                "repo": r.spec,
                "github": r.github.clone().unwrap_or_default(),
                "url": r.url,
                "base": r.base.clone().unwrap_or_default(),
                "root": r.root.clone().unwrap_or_else(|| ".".into()),
            })
        })
        .collect()
}

/// The matrices, `{"include": [...]}` each, `size` legs at most (clamped to 1..=256).
pub fn chunks(fleet: &Fleet, size: usize) -> Vec<Value> {
    let size = size.clamp(1, MAX_CHUNK);
    legs(fleet)
        .chunks(size)
        .map(|c| json!({ "include": c }))
        .collect()
}
