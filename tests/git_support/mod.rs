//! Fixtures for the branch/push/PR tests: real git repositories in temp dirs (a work tree and a
//! bare `origin`), the `patcher` binary run with an isolated git configuration, and a real HTTP
//! server on 127.0.0.1 that stands in for the GitHub REST API and records every request.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// Whether the `git` command line is there (the fixtures use it, as a person would).
pub fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Prints a loud SKIPPED line and returns true when git is missing.
pub fn skip_without_git(test: &str) -> bool {
    if git_available() {
        return false;
    }
    eprintln!("SKIPPED: {test}: the `git` command is not installed");
    println!("SKIPPED: {test}: the `git` command is not installed");
    true
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
        let mut c = Command::new(env!("CARGO_BIN_EXE_patcher"));
        c.current_dir(dir).args(args).arg("--color").arg("never");
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
        let out = c.output().expect("run patcher");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
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

// -----------------------------------------------------------------------------------------
// The GitHub API stand-in.

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path with query string.
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

impl Recorded {
    /// `METHOD /path` (no query).
    pub fn call(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.path.split('?').next().unwrap_or(&self.path)
        )
    }
}

#[derive(Default)]
struct State {
    token: String,
    requests: Vec<Recorded>,
    prs: Vec<Value>,
    /// Answer this status to the next N requests (`usize::MAX`: always).
    fail: Option<(u16, usize)>,
}

/// A GitHub REST API stand-in on 127.0.0.1 for one repository: lists, opens and updates pull
/// requests and adds labels, checks the bearer token, and records every request.
pub struct FakeGitHub {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    addr: std::net::SocketAddr,
}

impl FakeGitHub {
    pub fn start(token: &str) -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (state.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let _ = serve(stream, &s2);
                }
            }
        });
        FakeGitHub {
            url: format!("http://{addr}"),
            state,
            stop,
            handle: Some(handle),
            addr,
        }
    }

    /// The environment a patcher run needs to talk to this server.
    pub fn env<'a>(&'a self, token: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("GITHUB_API_URL", self.url.as_str()),
            ("GITHUB_REPOSITORY", "acme/demo"),
            ("GITHUB_TOKEN", token),
        ]
    }

    pub fn fail_next(&self, status: u16, times: usize) {
        self.state.lock().expect("lock").fail = Some((status, times));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// `METHOD /path` of every request so far, then forgets them.
    pub fn take_calls(&self) -> Vec<String> {
        let mut st = self.state.lock().expect("lock");
        let calls = st.requests.iter().map(Recorded::call).collect();
        st.requests.clear();
        calls
    }

    pub fn prs(&self) -> Vec<Value> {
        self.state.lock().expect("lock").prs.clone()
    }

    /// Closes a pull request as a person would, without merging it.
    pub fn close_pr(&self, number: u64) {
        let mut st = self.state.lock().expect("lock");
        for pr in st.prs.iter_mut() {
            if pr["number"] == json!(number) {
                pr["state"] = json!("closed");
            }
        }
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    if method.is_empty() {
        return Ok(());
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, answer) = {
        let mut st = state.lock().expect("lock");
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            authorization: header("authorization"),
            body: body.clone(),
        });
        respond(&mut st, &method, &path, header("authorization"), &body)
    };
    let text = answer.to_string();
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

fn respond(
    st: &mut State,
    method: &str,
    path: &str,
    auth: Option<String>,
    body: &str,
) -> (u16, Value) {
    if auth.as_deref() != Some(&format!("Bearer {}", st.token)) {
        return (
            401,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
        );
    }
    if let Some((status, n)) = st.fail
        && n > 0
    {
        st.fail = if n == usize::MAX {
            Some((status, n))
        } else {
            Some((status, n - 1))
        };
        return (status, json!({"message": "Server Error"}));
    }
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let q = |k: &str| {
        query.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| b.replace("%3A", ":").replace("%2F", "/"))
        })
    };
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let segs: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["repos", "acme", "demo"]) => (200, json!({"default_branch": "main"})),
        ("GET", ["repos", "acme", "demo", "pulls"]) => {
            let head = q("head").unwrap_or_default();
            let branch = head
                .split_once(':')
                .map_or(head.as_str(), |(_, b)| b)
                .to_string();
            let list: Vec<Value> = st
                .prs
                .iter()
                .filter(|p| p["head"]["ref"] == json!(branch))
                .filter(|p| q("state").as_deref() == Some("all") || p["state"] == json!("open"))
                .cloned()
                .collect();
            (200, Value::Array(list))
        }
        ("POST", ["repos", "acme", "demo", "pulls"]) => {
            let head = body["head"].as_str().unwrap_or("").to_string();
            if st
                .prs
                .iter()
                .any(|p| p["head"]["ref"] == json!(head) && p["state"] == json!("open"))
            {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"message": format!("A pull request already exists for acme:{head}.")}]}),
                );
            }
            let number = st.prs.len() as u64 + 1;
            let pr = json!({
                "number": number,
                "html_url": format!("https://github.example/acme/demo/pull/{number}"),
                "state": "open",
                "title": body["title"],
                "body": body["body"],
                "head": {"ref": head},
                "base": {"ref": body["base"]},
                "labels": [],
                "merged_at": null,
            });
            st.prs.push(pr.clone());
            (201, pr)
        }
        ("PATCH", ["repos", "acme", "demo", "pulls", n]) => {
            let n: u64 = n.parse().unwrap_or(0);
            match st.prs.iter_mut().find(|p| p["number"] == json!(n)) {
                Some(pr) => {
                    for k in ["title", "body"] {
                        if !body[k].is_null() {
                            pr[k] = body[k].clone();
                        }
                    }
                    (200, pr.clone())
                }
                None => (404, json!({"message": "Not Found"})),
            }
        }
        ("POST", ["repos", "acme", "demo", "issues", n, "labels"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            match st.prs.iter_mut().find(|p| p["number"] == json!(n)) {
                Some(pr) => {
                    let mut labels = pr["labels"].as_array().cloned().unwrap_or_default();
                    for l in body["labels"].as_array().cloned().unwrap_or_default() {
                        if !labels.iter().any(|x| x["name"] == l) {
                            labels.push(json!({"name": l}));
                        }
                    }
                    pr["labels"] = Value::Array(labels.clone());
                    (200, Value::Array(labels))
                }
                None => (404, json!({"message": "Not Found"})),
            }
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}
