//! Fixtures for the branch/push/PR tests: real git repositories in temp dirs (a work tree and a
//! bare `origin`), the `patcher` binary run with an isolated git configuration, and a real HTTP
//! server on 127.0.0.1 that stands in for the GitHub REST API and records every request.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod fake_github;
pub use fake_github::FakeGitHub;

/// Whether the `git` command line is there (the fixtures use it, as a person would).
pub fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The tests that use these fixtures are ignored without git (`has_git`, probed by build.rs);
/// this catches a stale probe with a clear message instead of a failure deep in a fixture.
pub fn require_git(test: &str) {
    assert!(
        git_available(),
        "{test}: build.rs found `git` but it does not run now; `touch build.rs` to re-probe"
    );
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub const RECIPE: &str = r#"recipe "app-retries" {
    description "The app gave up after one failed call: retry three times"
    file "config/app.yaml" {
        set "/retries" 3
    }
}
"#;

pub const APP_YAML: &str = "# app settings\nname: demo\nretries: 1 # too few\ntimeout: 30\n";

/// A work tree with one commit on `main`, pushed to a bare `origin`, and a HOME of its own so
/// no global git configuration leaks in.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = Fixture { tmp };
        std::fs::create_dir_all(f.home()).expect("home");
        std::fs::create_dir_all(f.work()).expect("work");
        f.git(&f.work(), &["init", "-q", "-b", "main"]);
        f.git(&f.work(), &["config", "user.name", "Pat Cher"]);
        f.git(&f.work(), &["config", "user.email", "pat@example.com"]);
        f.write("config/app.yaml", APP_YAML);
        f.write("recipes/app.kdl", RECIPE);
        f.write("README.md", "demo\n");
        f.git(&f.work(), &["add", "."]);
        f.git(&f.work(), &["commit", "-q", "-m", "initial"]);
        f.git(
            f.tmp.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let origin = f.origin().display().to_string();
        f.git(&f.work(), &["remote", "add", "origin", &origin]);
        f.git(&f.work(), &["push", "-q", "origin", "main"]);
        f
    }

    pub fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    pub fn origin(&self) -> PathBuf {
        self.tmp.path().join("origin.git")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.work().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.work().join(rel)).expect("read")
    }

    /// A `git` command with the fixture's isolated configuration.
    pub fn git_cmd(&self, dir: &Path) -> Command {
        let mut c = Command::new("git");
        c.current_dir(dir);
        isolate(&mut c, &self.home());
        c
    }

    /// Runs git and returns its trimmed stdout; panics with stderr on failure.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git_cmd(dir).args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs git and returns (success, stdout).
    pub fn git_try(&self, dir: &Path, args: &[&str]) -> (bool, String) {
        let out = self.git_cmd(dir).args(args).output().expect("run git");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }

    /// The commit a ref of the work tree points to.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&self.work(), &["rev-parse", rev])
    }

    /// The commit a ref of `origin` points to, if it exists.
    pub fn origin_rev(&self, rev: &str) -> Option<String> {
        let (ok, out) = self.git_try(&self.origin(), &["rev-parse", "--verify", "-q", rev]);
        ok.then_some(out)
    }

    /// Commits everything in the work tree and pushes main.
    pub fn commit_and_push_main(&self, msg: &str) {
        self.git(&self.work(), &["add", "-A"]);
        self.git(&self.work(), &["commit", "-q", "-m", msg]);
        self.git(&self.work(), &["push", "-q", "origin", "main"]);
    }

    /// Runs `patcher <args>` in the work tree with isolated git config, no GitHub variables
    /// unless given in `env`, and fast API retries.
    pub fn patcher(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.patcher_in(&self.work(), args, env)
    }

    pub fn patcher_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.patcher_cmd(dir, env);
        c.args(args).arg("--color").arg("never");
        let out = c.output().expect("run patcher");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `patcher` in `dir` with isolated git config, no GitHub variables unless given in
    /// `env`, and fast API retries; the caller adds the arguments.
    pub fn patcher_cmd(&self, dir: &Path, env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_patcher"));
        c.current_dir(dir);
        isolate(&mut c, &self.home());
        for v in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "GITHUB_REPOSITORY",
            "GITHUB_API_URL",
            "GITHUB_SERVER_URL",
        ] {
            c.env_remove(v);
        }
        c.env("NO_COLOR", "1")
            .env("PATCHER_HTTP_RETRY_DELAY_MS", "20");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// A second clone of origin, as another person's machine.
    pub fn clone_origin(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        let origin = self.origin().display().to_string();
        self.git(self.tmp.path(), &["clone", "-q", &origin, name]);
        self.git(&dir, &["config", "user.name", "Human Person"]);
        self.git(&dir, &["config", "user.email", "human@example.com"]);
        dir
    }
}

fn isolate(c: &mut Command, home: &Path) {
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL");
}

/// Every file under `dir` (`.git` included) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}
