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

#[path = "tests/support/probe.rs"]
mod probe;

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for (cfg, _) in probe::CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=tests/support/probe.rs");
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
    println!("cargo::rustc-env=PATCHER_SHARED_DIR={}", shared.display());
    // What the probe saw, for tests/probe.rs to compare with the machine at test time.
    println!("cargo::rustc-env=PATCHER_PROBED={}", found.found.join(","));
}
