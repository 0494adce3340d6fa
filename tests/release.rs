//! Issue 14, installing in seconds: the action's install script (scripts/install-patcher.sh)
//! against a stand-in release served from this process, shell completions, the man page,
//! `--version`'s commit, and what `cargo package` ships.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn patcher(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patcher"))
        .args(args)
        .output()
        .expect("run patcher")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A release download server: GET `/<path>` answers with the file `dir/<path>`, 404 without
/// one, or `status` for every request when set. Counts the requests.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(dir: &Path, status: Option<u16>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(AtomicUsize::new(0));
    let (dir, count) = (dir.to_path_buf(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            // Drain the headers.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let file = (!path.contains("..")).then(|| std::fs::read(dir.join(path)).ok());
            let (code, body) = match (status, file.flatten()) {
                (Some(code), _) => (code, b"stand-in error".to_vec()),
                (None, Some(body)) => (200, body),
                (None, None) => (404, b"Not Found".to_vec()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    Server { url, requests }
}

/// A stand-in release `v9.9.9` in `dir`: `v9.9.9/patcher-x86_64-unknown-linux-musl.tar.gz`
/// holding the freshly built patcher (as release.yml lays it out) and its `.sha256`, right or
/// wrong.
fn stand_in_release(dir: &Path, right_checksum: bool) {
    let stage = dir.join("stage/patcher-x86_64-unknown-linux-musl");
    std::fs::create_dir_all(stage.join("completions")).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_patcher"), stage.join("patcher")).expect("copy");
    std::fs::write(stage.join("README.md"), "readme\n").expect("write");
    let release = dir.join("release/v9.9.9");
    std::fs::create_dir_all(&release).expect("mkdir");
    let asset = "patcher-x86_64-unknown-linux-musl.tar.gz";
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(release.join(asset))
        .arg("-C")
        .arg(dir.join("stage"))
        .arg("patcher-x86_64-unknown-linux-musl")
        .status()
        .expect("tar");
    assert!(tar.success());
    let bytes = std::fs::read(release.join(asset)).expect("read");
    let mut sum = sha256_hex(&bytes);
    if !right_checksum {
        sum = sha256_hex(b"some other archive");
    }
    std::fs::write(
        release.join(format!("{asset}.sha256")),
        format!("{sum}  {asset}\n"),
    )
    .expect("write");
}

struct Install {
    out: Output,
    elapsed: Duration,
}

/// Runs the install script as the action does on an x86_64 Linux runner, for `git_ref`.
fn install(tmp: &Path, base_url: &str, git_ref: &str, cargo: &Path) -> Install {
    install_from(tmp, base_url, git_ref, "patcher-dev/patcher", cargo)
}

/// `install`, with the action's repository (empty for a local `uses: ./` action).
fn install_from(tmp: &Path, base_url: &str, git_ref: &str, repo: &str, cargo: &Path) -> Install {
    let runner_temp = tmp.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).expect("mkdir");
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(root().join("scripts/install-patcher.sh"))
        .env("PATCHER_REF", git_ref)
        .env("PATCHER_REPO", repo)
        .env("PATCHER_RELEASE_URL", base_url)
        .env("PATCHER_SOURCE", root())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TOOL_CACHE", tmp.join("tool-cache"))
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_PATH", tmp.join("github-path"))
        .env("CARGO", cargo)
        .output()
        .expect("run install-patcher.sh");
    Install {
        out,
        elapsed: start.elapsed(),
    }
}

/// A `cargo` stand-in that records its arguments and "installs" a script as bin/patcher.
fn fake_cargo(tmp: &Path) -> PathBuf {
    let path = tmp.join("fake-cargo");
    std::fs::write(
        &path,
        format!(
            "#!/usr/bin/env bash\nset -eu\necho \"$@\" >'{}'\nroot=\nwhile [ $# -gt 0 ]; do if [ \"$1\" = --root ]; then root=$2; fi; shift; done\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built\\n' >\"$root/bin/patcher\"\nchmod +x \"$root/bin/patcher\"\n",
            tmp.join("cargo-args").display()
        ),
    )
    .expect("write");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .expect("chmod");
    assert!(status.success());
    path
}

fn stderr_of(i: &Install) -> String {
    String::from_utf8_lossy(&i.out.stderr).into_owned()
}

const CACHED_BIN: &str = "tool-cache/patcher/v9.9.9/X64/bin";

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_installs_the_release_binary_whose_checksum_matches() {
    let tmp = tempfile::tempdir().expect("tempdir");
    stand_in_release(tmp.path(), true);
    let server = serve(&tmp.path().join("release"), None);
    let cargo = fake_cargo(tmp.path());
    let run = install(tmp.path(), &server.url, "v9.9.9", &cargo);
    let err = stderr_of(&run);
    assert!(run.out.status.success(), "{err}");
    eprintln!("install from the stand-in release took {:?}", run.elapsed);
    assert!(
        run.elapsed < Duration::from_secs(20),
        "took {:?}",
        run.elapsed
    );
    assert!(err.contains("release binary patcher-x86_64-unknown-linux-musl.tar.gz"));
    let bin_dir = tmp.path().join(CACHED_BIN);
    assert_eq!(stdout(&run.out).trim(), bin_dir.display().to_string());
    let github_path = std::fs::read_to_string(tmp.path().join("github-path")).expect("GITHUB_PATH");
    assert_eq!(github_path.trim(), bin_dir.display().to_string());
    let version = Command::new(bin_dir.join("patcher"))
        .arg("--version")
        .output()
        .expect("installed patcher runs");
    assert_eq!(stdout(&version), stdout(&patcher(&["--version"])));
    assert!(!tmp.path().join("cargo-args").exists(), "cargo ran");
    // Archive and checksum, nothing else.
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_refuses_an_archive_whose_checksum_does_not_match() {
    let tmp = tempfile::tempdir().expect("tempdir");
    stand_in_release(tmp.path(), false);
    let server = serve(&tmp.path().join("release"), None);
    let cargo = fake_cargo(tmp.path());
    let run = install(tmp.path(), &server.url, "v9.9.9", &cargo);
    let err = stderr_of(&run);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("::error title=patcher install::checksum mismatch for ")
            && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!tmp.path().join(CACHED_BIN).exists());
    assert!(!tmp.path().join("github-path").exists());
    assert!(
        !tmp.path().join("cargo-args").exists(),
        "a bad checksum must not fall back to a build"
    );
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_takes_a_cached_release_from_the_tool_cache_without_downloading() {
    let tmp = tempfile::tempdir().expect("tempdir");
    stand_in_release(tmp.path(), true);
    let server = serve(&tmp.path().join("release"), None);
    let cargo = fake_cargo(tmp.path());
    assert!(
        install(tmp.path(), &server.url, "v9.9.9", &cargo)
            .out
            .status
            .success()
    );
    let before = server.requests.load(Ordering::SeqCst);
    let again = install(tmp.path(), &server.url, "v9.9.9", &cargo);
    assert!(again.out.status.success(), "{}", stderr_of(&again));
    assert!(stderr_of(&again).contains("from the tool cache"));
    assert_eq!(server.requests.load(Ordering::SeqCst), before);
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_builds_with_cargo_when_the_ref_has_no_release() {
    let tmp = tempfile::tempdir().expect("tempdir");
    stand_in_release(tmp.path(), true);
    let server = serve(&tmp.path().join("release"), None);
    let cargo = fake_cargo(tmp.path());
    let run = install(tmp.path(), &server.url, "main", &cargo);
    let err = stderr_of(&run);
    assert!(run.out.status.success(), "{err}");
    assert!(err.contains("no release binary at "), "{err}");
    let args = std::fs::read_to_string(tmp.path().join("cargo-args")).expect("cargo ran");
    let temp = tmp.path().join("runner-temp");
    assert_eq!(
        args.trim(),
        format!(
            "install --locked --quiet --path {} --root {}/patcher",
            root().display(),
            temp.display()
        )
    );
    let bin = temp.join("patcher/bin");
    assert_eq!(stdout(&run.out).trim(), bin.display().to_string());
    // A branch moves: its build is not kept in the tool cache.
    assert!(!tmp.path().join("tool-cache/patcher/main").exists());
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_builds_a_local_action_without_asking_for_a_release() {
    // `uses: ./`: GitHub gives no action ref or repository.
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = serve(tmp.path(), None);
    let cargo = fake_cargo(tmp.path());
    let run = install_from(tmp.path(), &server.url, "", "", &cargo);
    assert!(run.out.status.success(), "{}", stderr_of(&run));
    assert!(tmp.path().join("cargo-args").exists(), "cargo did not run");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
#[cfg_attr(not(has_curl), ignore = "needs curl")]
fn install_script_fails_on_a_server_error_instead_of_building() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = serve(tmp.path(), Some(503));
    let cargo = fake_cargo(tmp.path());
    let run = install(tmp.path(), &server.url, "v9.9.9", &cargo);
    let err = stderr_of(&run);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 503"), "{err}");
    assert!(!tmp.path().join("cargo-args").exists());
}

#[test]
fn release_assets_are_the_ones_the_install_script_downloads() {
    let wf: serde_json::Value = yaml_serde::from_str(
        &std::fs::read_to_string(root().join(".github/workflows/release.yml")).expect("read"),
    )
    .expect("yaml");
    let targets: Vec<&str> = wf["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|t| t["target"].as_str().expect("target"))
        .collect();
    let mut sorted = targets.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "aarch64-apple-darwin",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "x86_64-unknown-linux-musl",
        ]
    );
    let script = std::fs::read_to_string(root().join("scripts/install-patcher.sh")).expect("read");
    for t in &targets {
        assert!(
            script.contains(&format!("target={t}")),
            "install-patcher.sh has no asset for {t}"
        );
    }
    assert!(script.contains(r#"asset="patcher-$target.$ext""#));
    let package = wf["jobs"]["build"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "Package")
        .and_then(|s| s["run"].as_str())
        .expect("a Package step");
    for needle in [
        r#"dir="patcher-$TARGET""#,
        r#"asset="$dir.zip""#,
        r#"asset="$dir.tar.gz""#,
        r#"sha256sum "$asset" >"$asset.sha256""#,
        "completions zsh",
        "man $page",
    ] {
        assert!(package.contains(needle), "{needle}");
    }
    let publish = wf["jobs"]["release"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<String>();
    for needle in ["CHANGELOG.md", "--notes-file", "SHA256SUMS", "--verify-tag"] {
        assert!(publish.contains(needle), "release job lacks {needle}");
    }
    assert!(
        std::fs::read_to_string(root().join("CHANGELOG.md"))
            .expect("CHANGELOG.md")
            .contains("\n## [Unreleased]\n"),
        "the changelog keeps an Unreleased section"
    );
    assert_eq!(wf["on"]["push"]["tags"][0], "v[0-9]*");
    assert_eq!(wf["permissions"]["contents"], "read");
    assert_eq!(wf["jobs"]["release"]["permissions"]["contents"], "write");
}

const SHELLS: [&str; 4] = ["bash", "zsh", "fish", "powershell"];

fn completion(shell: &str) -> String {
    let out = patcher(&["completions", shell]);
    assert!(out.status.success(), "completions {shell}");
    stdout(&out)
}

#[test]
fn completions_for_every_shell_name_the_subcommands_and_flags() {
    for shell in SHELLS {
        let text = completion(shell);
        // fish spells flags `-l keep-going`.
        for word in ["plan", "apply", "check", "keep-going", "format"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = patcher(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown shell is a usage error"
    );
}

fn syntax_check(shell: &str, flag: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("patcher.{shell}"));
    std::fs::write(&file, completion(shell)).expect("write");
    let out = Command::new(shell)
        .arg(flag)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("build.rs found {shell}, but it does not run: {e}"));
    assert!(
        out.status.success(),
        "{shell} {flag}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn bash_completion_passes_bash_n() {
    syntax_check("bash", "-n");
}

#[test]
#[cfg_attr(not(has_zsh), ignore = "needs zsh (scripts/setup-test-tools.sh)")]
fn zsh_completion_passes_zsh_n() {
    syntax_check("zsh", "-n");
}

#[test]
fn man_page_documents_every_subcommand_and_each_has_its_own_page() {
    let page = stdout(&patcher(&["man"]));
    assert!(page.contains(".TH patcher 1"), "{page}");
    for sub in [
        "plan",
        "apply",
        "check",
        "recipes",
        "init",
        "diagnose",
        "stats",
        "fleet",
        "completions",
        "man",
    ] {
        assert!(page.contains(sub), "patcher(1) lacks {sub}");
        let own = patcher(&["man", sub]);
        assert!(own.status.success());
        assert!(
            stdout(&own).contains(&format!(".TH patcher-{sub} 1")),
            "patcher-{sub}(1)"
        );
    }
    assert!(stdout(&patcher(&["man", "apply"])).contains("keep\\-going"));
}

#[test]
#[cfg_attr(not(has_groff), ignore = "needs groff (scripts/setup-test-tools.sh)")]
fn man_pages_render_with_groff_without_warnings() {
    for sub in [
        "",
        "plan",
        "apply",
        "check",
        "recipes",
        "init",
        "diagnose",
        "stats",
        "fleet",
        "completions",
        "man",
    ] {
        let args: Vec<&str> = std::iter::once("man")
            .chain((!sub.is_empty()).then_some(sub))
            .collect();
        let page = patcher(&args).stdout;
        let mut groff = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("build.rs found groff, but it does not run: {e}"));
        groff
            .stdin
            .take()
            .expect("stdin")
            .write_all(&page)
            .expect("write");
        let out = groff.wait_with_output().expect("groff");
        // grotty's overstrike bold: `N\bN` is a bold N.
        let mut text = String::new();
        for c in stdout(&out).chars() {
            if c == '\u{8}' {
                text.pop();
            } else {
                text.push(c);
            }
        }
        assert!(out.status.success(), "groff {args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "groff warnings for {args:?}"
        );
        assert!(text.contains("SYNOPSIS"), "{text}");
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = stdout(&patcher(&["--version"]));
    let rest = out
        .trim()
        .strip_prefix(&format!("patcher {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{out}"));
    if rest == "unknown" {
        // Built outside a git checkout (and not from a package).
        assert!(!root().join(".git").exists(), "{out}");
        return;
    }
    assert!(
        rest.len() == 7 && rest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{out}"
    );
    // A debug build keeps the commit of its last build-script run (build.rs): HEAD or one of
    // its ancestors.
    if let Ok(git) = Command::new("git")
        .args(["merge-base", "--is-ancestor", rest, "HEAD"])
        .current_dir(root())
        .status()
    {
        assert!(git.success(), "{rest} is not an ancestor of HEAD");
    }
}

/// The files `cargo package` would ship.
fn package_list() -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--locked",
            "--allow-dirty",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo package --list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn package_ships_the_sources_licenses_and_catalogue_but_no_tests_or_corpora() {
    let files = package_list();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "src/lib.rs",
        "tests/support/probe.rs",
        "README.md",
        "CHANGELOG.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(files.iter().any(|f| f == needed), "{needed}: {files:?}");
    }
    for f in &files {
        let shipped = f.starts_with("src/")
            || f.starts_with("catalog/")
            || f.starts_with("signatures/")
            || [
                "tests/support/probe.rs",
                "build.rs",
                "Cargo.toml",
                "Cargo.toml.orig",
                "Cargo.lock",
                ".cargo_vcs_info.json",
                "README.md",
                "CHANGELOG.md",
                "LICENSE-MIT",
                "LICENSE-APACHE",
            ]
            .contains(&f.as_str());
        assert!(shipped, "{f} ships in the crate");
    }
    // The recipe catalogue (issue 11: `catalog/`) ships once it exists: the include list
    // already names it, and every file of it must be in the package.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("read");
    assert!(
        manifest.contains(r#""/catalog/**""#),
        "include lacks catalog/"
    );
    // The failure signatures (issue 12) are compiled in with include_str!: all of them ship.
    assert!(
        manifest.contains(r#""/signatures/**""#),
        "include lacks signatures/"
    );
    let signatures: Vec<String> = std::fs::read_dir(root().join("signatures"))
        .expect("signatures/")
        .flatten()
        .map(|e| format!("signatures/{}", e.file_name().to_string_lossy()))
        .collect();
    assert!(!signatures.is_empty());
    for rel in &signatures {
        assert!(files.contains(rel), "{rel} is not packaged");
    }
    let catalog = root().join("catalog");
    if catalog.is_dir() {
        let mut dirs = vec![catalog];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let rel = path.strip_prefix(root()).expect("under root");
                let rel = rel.to_string_lossy().replace('\\', "/");
                assert!(files.contains(&rel), "{rel} is not packaged");
            }
        }
    }
}

#[test]
fn release_binaries_vendor_openssl_and_a_source_build_links_the_systems() {
    let wf: serde_json::Value = yaml_serde::from_str(
        &std::fs::read_to_string(root().join(".github/workflows/release.yml")).expect("read"),
    )
    .expect("yaml");
    let build = wf["jobs"]["build"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "Build")
        .and_then(|s| s["run"].as_str())
        .expect("a Build step");
    assert!(
        build.contains("cargo build --release --locked --features vendored-openssl"),
        "{build}"
    );
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("read");
    let git2 = manifest
        .lines()
        .find(|l| l.starts_with("git2 = "))
        .expect("git2 dependency");
    assert!(!git2.contains("vendored-openssl"), "{git2}");
    assert!(
        manifest.contains("vendored-openssl = [\"git2/vendored-openssl\"]"),
        "the feature the release turns on"
    );
    assert!(!manifest.contains("default = [\"vendored-openssl\""));
}
