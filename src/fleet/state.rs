//! The resume state of a fleet: per repository, the last `apply` result, the base commit it
//! was built on and the recipes' digest, in `<cache>/<fleet>.state.json`. Written after every
//! repository (atomically), so a killed run loses at most the repositories in flight.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::report::{RepoReport, Status};

pub const SCHEMA: &str = "patcher.fleet-state/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub result: Status,
    pub base: Option<String>,
    pub base_commit: Option<String>,
    /// The digest of the recipes the result was reached with.
    pub recipes: String,
    /// The whole report line, shown again when `--resume` skips the repository.
    pub report: RepoReport,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    schema: String,
    fleet: String,
    repositories: BTreeMap<String, Entry>,
}

#[derive(Debug)]
pub struct State {
    path: PathBuf,
    file: File,
}

impl State {
    pub fn path_for(cache: &Path, fleet: &str) -> PathBuf {
        let name: String = fleet
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        cache.join(format!("{name}.state.json"))
    }

    /// The state of `fleet` in `cache` (empty when there is none yet).
    pub fn load(cache: &Path, fleet: &str) -> Result<State, String> {
        let path = State::path_for(cache, fleet);
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: File = serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "{}: not a fleet state file ({e}); delete it to start over",
                        path.display()
                    )
                })?;
                if file.schema != SCHEMA {
                    return Err(format!(
                        "{}: schema {:?}, expected {SCHEMA}; delete it to start over",
                        path.display(),
                        file.schema
                    ));
                }
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File {
                schema: SCHEMA.into(),
                fleet: fleet.into(),
                repositories: BTreeMap::new(),
            },
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(State { path, file })
    }

    pub fn get(&self, repo: &str) -> Option<&Entry> {
        self.file.repositories.get(repo)
    }

    /// Records one repository's result and writes the file.
    pub fn record(&mut self, repo: &str, entry: Entry) -> Result<(), String> {
        self.file.repositories.insert(repo.to_string(), entry);
        let text = serde_json::to_string_pretty(&self.file).unwrap_or_default();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        tmp.persist(&self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_results_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = State::load(dir.path(), "my fleet").unwrap();
        let report = RepoReport::new("acme/a", Some("acme/a"), Status::Opened);
        let entry = Entry {
            result: Status::Opened,
            base: Some("main".into()),
            base_commit: Some("abc".into()),
            recipes: "d1".into(),
            report,
        };
        st.record("acme/a", entry.clone()).unwrap();
        let again = State::load(dir.path(), "my fleet").unwrap();
        assert_eq!(again.get("acme/a"), Some(&entry));
        assert!(State::path_for(dir.path(), "my fleet").ends_with("my_fleet.state.json"));
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(State::path_for(dir.path(), "f"), "{").unwrap();
        let err = State::load(dir.path(), "f").unwrap_err();
        assert!(err.contains("delete it to start over"), "{err}");
    }
}
