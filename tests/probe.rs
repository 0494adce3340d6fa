//! The build-time probe (build.rs) that turns missing tools into ignored tests: it must still
//! describe this machine, and every ignored test must name a probed tool as its reason, so
//! that `.ci/run` can tell "ignored because setup could not install X" from anything else.

#[path = "support/probe.rs"]
mod probe;

use std::path::Path;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn build_probe_matches_this_machine() {
    // An ignored test does not run, so a stale probe (a tool installed or removed since the
    // build) would hide tests silently; this test is the one that notices.
    let built: Vec<&str> = env!("PATCHER_PROBED")
        .split(',')
        .filter(|c| !c.is_empty())
        .collect();
    let now = probe::probe(manifest(), Path::new(env!("PATCHER_SHARED_DIR")), &|v| {
        std::env::var_os(v)
    });
    eprintln!("probe (shared = {}): {built:?}", env!("PATCHER_SHARED_DIR"));
    assert_eq!(
        built, now.found,
        "build.rs saw {built:?}, this machine now has {:?}: `touch build.rs` and re-run cargo test",
        now.found
    );
}

#[test]
fn probe_follows_the_shared_dir_it_is_given() {
    let empty = tempfile::tempdir().expect("tempdir");
    let none = probe::probe(manifest(), empty.path(), &|v| std::env::var_os(v));
    assert!(!none.found.contains(&"has_corpus"));
    assert!(!none.found.contains(&"has_helm_shim"));
    for dir in ["corpus/charts", "corpus/workflows"] {
        std::fs::create_dir_all(empty.path().join(dir)).expect("mkdir");
    }
    let some = probe::probe(manifest(), empty.path(), &|v| std::env::var_os(v));
    assert!(some.found.contains(&"has_corpus"));
}

#[test]
fn commands_missing_from_path_are_not_found() {
    let empty = tempfile::tempdir().expect("tempdir");
    let path = empty.path().as_os_str().to_owned();
    let env = move |v: &str| (v == "PATH").then(|| path.clone());
    let found = probe::probe(manifest(), empty.path(), &env).found;
    for cfg in ["has_shellcheck", "has_bash", "has_git", "has_actionlint"] {
        assert!(!found.contains(&cfg), "{cfg} found with an empty PATH");
    }
}

/// `(condition, reason)` of every `cfg_attr(<condition>, ignore = "<reason>")` in `src`, and
/// the line of every other `ignore` attribute.
fn ignore_attrs(src: &str) -> (Vec<(String, String)>, Vec<usize>) {
    let (mut attrs, mut bare) = (Vec::new(), Vec::new());
    let mut rest = src;
    while let Some(i) = rest.find("ignore = \"") {
        let before = &rest[..i];
        let after = &rest[i + "ignore = \"".len()..];
        let reason = &after[..after.find('"').expect("closing quote")];
        match before.rfind("cfg_attr(") {
            Some(open) if !before[open..].contains(']') => {
                let cond = before[open + "cfg_attr(".len()..]
                    .trim()
                    .trim_end_matches(',');
                attrs.push((cond.trim().to_string(), reason.to_string()));
            }
            _ => bare.push(src[..src.len() - rest.len() + i].lines().count()),
        }
        rest = after;
    }
    for (n, line) in src.lines().enumerate() {
        if line.trim_start().starts_with("#[ignore") {
            bare.push(n + 1);
        }
    }
    (attrs, bare)
}

#[test]
fn every_ignored_test_names_the_probed_tool_it_needs() {
    let mut checked = 0;
    for entry in std::fs::read_dir(manifest().join("tests")).expect("tests/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "rs") || path.ends_with("probe.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("read");
        let (attrs, bare) = ignore_attrs(&src);
        assert!(
            bare.is_empty(),
            "{}: lines {bare:?}: an ignore that no probe controls would be ignored in CI too",
            path.display()
        );
        for (cond, reason) in attrs {
            let (cfg, _) = probe::CFGS
                .iter()
                .find(|(_, r)| *r == reason)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: ignore reason {reason:?} is not one of tests/support/probe.rs CFGS",
                        path.display()
                    )
                });
            assert!(
                cond.contains(&format!("not({cfg})")),
                "{}: `{reason}` is given under `{cond}`, not under `not({cfg})`",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 30,
        "only {checked} probe-controlled ignores found"
    );
}

#[test]
fn no_test_skips_by_printing_and_returning() {
    // The old way (print SKIPPED, return, pass) hides a skip in captured output; a test that
    // cannot run here must be ignored with its reason instead (see the module doc).
    let mut found = Vec::new();
    let mut dirs = vec![manifest().join("tests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") || path.ends_with("tests/probe.rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("read");
            for (n, line) in src.lines().enumerate() {
                let skip_message = ["\"SKIPPED", "!!! SKIPPED", "*** SKIPPED"]
                    .iter()
                    .any(|m| line.contains(m));
                if skip_message || (line.contains("println!") && line.contains("SKIPPED")) {
                    found.push(format!("{}:{}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "tests that print SKIPPED: {found:?}");
}
