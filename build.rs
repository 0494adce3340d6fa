//! Probes for what the tests need from outside the repository (tests/support/probe.rs), so
//! that a test that cannot run here shows up as *ignored, with the reason* in `cargo test`'s
//! own summary instead of passing after printing SKIPPED. Each finding is a cfg that tests use
//! as `#[cfg_attr(not(has_corpus), ignore = "needs corpus: ...")]`; the library never reads
//! them. `shared/` is `$PATCHER_SHARED_DIR`, else `../shared` (beside the main checkout, for a
//! git worktree); the tests get the probed location as the compile-time env
//! `PATCHER_SHARED_DIR`, so both look at the same place.
//!
//! Re-probing: cargo re-runs this script when an env var below, or a probed path that exists,
//! changes, and when `scripts/setup-test-tools.sh` rewrites `target/test-tools/setup-status`.
//! A missing path is not watched (cargo would rebuild the crate on every run); the test
//! `build_probe_matches_this_machine` (tests/probe.rs) fails when the probe is stale.
//!
//! A packaged crate (`cargo install patcher`) has no test suite: there the probe does not run
//! at all (it would start test tools during someone's install).
//!
//! It also sets `PATCHER_COMMIT`, the commit `--version` names (see `commit` below).

#[path = "tests/support/probe.rs"]
mod probe;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for (cfg, _) in probe::CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=tests/support/probe.rs");
    println!("cargo::rustc-env=PATCHER_COMMIT={}", commit(&manifest));
    link_without_pie();
    // `cargo package` verifies the packaged crate in this checkout's target dir, under the same
    // build-script unit as the checkout itself: each build watches a file only the other
    // lacks, so that switching between them re-runs this script (a missing watched file reads
    // as changed) instead of reusing the other's findings.
    if !manifest.join("tests/probe.rs").is_file() {
        // A packaged crate: no tests to mark ignored.
        println!("cargo::rerun-if-changed=.cargo_vcs_info.json");
        println!("cargo::rustc-env=PATCHER_SHARED_DIR=");
        println!("cargo::rustc-env=PATCHER_PROBED=");
        return;
    }
    if manifest.join(".git").is_file() {
        // A worktree: shared_dir may follow it to the main checkout. (A `.git` directory is not
        // watched: it changes on every commit.)
        println!("cargo::rerun-if-changed=.git");
    }
    for var in [
        "PATH",
        "PATCHER_SHARED_DIR",
        "HELM_SDKPY_LIB",
        "HELM_SHIM_HOME",
        "HOME",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let shared = probe::shared_dir(&manifest, &|v| std::env::var_os(v));
    let found = probe::probe(&manifest, &shared, &|v| std::env::var_os(v));
    for path in &found.watched {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    for cfg in &found.found {
        println!("cargo::rustc-cfg={cfg}");
    }
    println!("cargo::rerun-if-changed=tests/probe.rs");
    println!("cargo::rustc-env=PATCHER_SHARED_DIR={}", shared.display());
    // What the probe saw, for tests/probe.rs to compare with the machine at test time.
    println!("cargo::rustc-env=PATCHER_PROBED={}", found.found.join(","));
}

/// Links the `patcher` binary as a fixed-address executable on Linux with glibc (issue 10).
/// As a PIE, the dynamic loader applies ~47 000 relative relocations (vendored OpenSSL's
/// tables, vtables, string tables) at every start, copying ~230 pages of `.data.rel.ro`: about
/// half of a bare start's page faults and ~1 ms of its ~2.7 ms. The price is ASLR for the
/// executable's own code and data (libraries, heap, stack and mmaps stay randomised): a
/// memory bug in the bundled C code (libgit2, libssh2, OpenSSL, zlib) would find its gadgets
/// at known addresses. `PATCHER_PIE=1` at build time keeps the PIE. Only the binary's link
/// changes (dependencies keep their PIC code), and only for `-gnu` targets: the musl
/// release builds are static-pie and other platforms are left as they are.
fn link_without_pie() {
    println!("cargo::rerun-if-env-changed=PATCHER_PIE");
    let var = |v: &str| std::env::var(v).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && std::env::var_os("PATCHER_PIE").is_none_or(|v| v.is_empty() || v == "0")
    {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}

/// The short commit this is built from: a packaged crate's `.cargo_vcs_info.json` (written by
/// `cargo package`), else `git rev-parse` when the manifest is a checkout's top directory
/// (not a crate vendored into some other repository), else "unknown".
fn commit(manifest: &Path) -> String {
    let vcs_info = manifest.join(".cargo_vcs_info.json");
    if let Ok(text) = std::fs::read_to_string(&vcs_info) {
        // {"git": {"sha1": "<40 hex>", ...}, "path_in_vcs": ""}
        let sha = text
            .split("\"sha1\"")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .filter(|s| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        return sha.map_or_else(|| "unknown".into(), |s| s[..7].to_string());
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(manifest)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        out.status.success().then(|| text.trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same = |a: &Path, b: &Path| std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok();
    if !top.is_some_and(|t| same(&t, manifest)) {
        return "unknown".into();
    }
    let Some(sha) = git(&["rev-parse", "--short=7", "HEAD"]) else {
        return "unknown".into();
    };
    // Release builds re-run on a new commit (HEAD, the branch's ref, packed refs). Debug builds
    // do not: that would rebuild the whole test suite after every commit; their commit is the
    // one of the last build-script run (an ancestor of HEAD).
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
        watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(git(&["rev-parse", "--git-path", &r]));
        }
        for path in watch.into_iter().flatten() {
            let path = manifest.join(path);
            if path.exists() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
    sha
}
