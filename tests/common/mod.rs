//! Shared harness: a temp repository with files and recipes, and the `patcher` binary run on it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Repo {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Repo {
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo { dir };
        for (path, text) in files {
            repo.write(path, text);
        }
        repo
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, text: &str) {
        let full = self.root().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root().join(path)).expect("read")
    }

    /// Runs `patcher <args> --root <repo>` with color off.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .arg("--root")
            .arg(self.root())
            .arg("--color")
            .arg("never")
            .env("NO_COLOR", "1");
        let out = cmd.output().expect("run patcher");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .replace(&self.root().display().to_string(), "<root>"),
        }
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_patcher"))
}

/// Plans `recipe` against one file and returns (exit code, diff, stderr).
pub fn plan_one(path: &str, text: &str, recipe: &str) -> Run {
    let repo = Repo::new(&[(path, text), ("recipes/r.kdl", recipe)]);
    repo.run(&["plan"])
}

/// Plans, applies in place, and checks idempotence; returns the new text.
pub fn apply_one(path: &str, text: &str, recipe: &str) -> (Run, String) {
    let repo = Repo::new(&[(path, text), ("recipes/r.kdl", recipe)]);
    let plan = repo.run(&["plan"]);
    let apply = repo.run(&["apply", "--in-place"]);
    assert_eq!(
        apply.code,
        if plan.code == 2 { 0 } else { plan.code.min(1) },
        "apply: {}",
        apply.stderr
    );
    let after = repo.run(&["plan"]);
    if plan.code == 2 {
        assert_eq!(
            after.code, 0,
            "plan after apply must be empty:\n{}\n{}",
            after.stdout, after.stderr
        );
    }
    (plan, repo.read(path))
}

/// The shared directory (`../shared`, or `$PATCHER_SHARED_DIR` at build time): the place
/// build.rs probed, so a test is ignored exactly when what it needs there is missing.
pub fn shared() -> PathBuf {
    PathBuf::from(env!("PATCHER_SHARED_DIR"))
}

/// `../shared/corpus`. Tests that call it are ignored without it (`has_corpus`); this is the
/// second line of defence when the build-time probe is stale.
pub fn corpus() -> PathBuf {
    let dir = shared().join("corpus");
    assert!(
        dir.join("charts").is_dir() && dir.join("workflows").is_dir(),
        "{} not found although build.rs found it: `touch build.rs` to re-probe",
        dir.display()
    );
    dir
}

/// Runs a helm command through patcher's own [`patcher::render::run_helm`]: a helm that lost
/// a connection (the shim's in-memory API server drops one now and then under load) runs
/// again, and each such retry is said on stderr.
pub fn helm_output(cmd: &mut Command) -> std::process::Output {
    let run = patcher::render::run_helm(cmd)
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    for line in &run.lost {
        eprintln!("NOTE: helm lost a connection, so it ran again: {line}");
    }
    run.output
}

/// The helm shim (`../shared/tools/helm/helm`) after its `setup` has run once. Tests that
/// call it are ignored without it (`has_helm_shim`); a failure here means the build-time
/// probe is stale, so it panics saying how to re-probe.
pub fn helm_shim() -> &'static Path {
    static SHIM: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let found = SHIM.get_or_init(|| {
        let dir = shared().join("tools/helm");
        let helm = dir.join("helm");
        if !helm.is_file() {
            return Err(format!("helm shim not found at {}", helm.display()));
        }
        let setup = dir.join("setup");
        let out = Command::new(&setup)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", setup.display()))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            let why = why.lines().rev().find(|l| !l.trim().is_empty());
            return Err(format!(
                "helm shim setup failed ({}): {}",
                out.status,
                why.unwrap_or("no message")
            ));
        }
        Ok(helm)
    });
    match found {
        Ok(helm) => helm,
        Err(why) => panic!(
            "build.rs found the helm shim, but it cannot be used now ({why}); `touch build.rs` to re-probe"
        ),
    }
}

/// Copies the sample app (chart, workflows, recipes, services) into a temp repository.
pub fn sample_repo() -> Repo {
    let repo = Repo::new(&[]);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["chart", ".github", "recipes", "services"] {
        copy_dir(&src.join(dir), &repo.root().join(dir));
    }
    repo
}

pub fn copy_dir(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).expect("mkdir");
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// Leaf-level differences between two JSON values: (pointer, before, after), `null` for a
/// side that is absent.
pub fn leaf_diff(
    a: Option<&serde_json::Value>,
    b: Option<&serde_json::Value>,
    at: &str,
    out: &mut Vec<(String, serde_json::Value, serde_json::Value)>,
) {
    use serde_json::Value;
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let key = k.replace('~', "~0").replace('/', "~1");
                leaf_diff(x.get(k), y.get(k), &format!("{at}/{key}"), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                leaf_diff(x.get(i), y.get(i), &format!("{at}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push((
            at.to_string(),
            a.cloned().unwrap_or(Value::Null),
            b.cloned().unwrap_or(Value::Null),
        )),
        _ => {}
    }
}

/// Every file under `dir`, relative to it, with `/` separators.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
