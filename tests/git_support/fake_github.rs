//! A GitHub REST API stand-in on 127.0.0.1: lists, opens and updates pull requests and adds
//! labels, for any `owner/name` (pull requests are numbered per repository; `acme/demo` is the
//! one the single-repository tests use), checks the bearer token, can be told to fail, and
//! records every request with the time it arrived. [`Options`] adds what fleet tests need:
//! every repository served, one that answers 403, a 429 with `Retry-After` once. Used by tests/apply_git.rs,
//! tests/fleet.rs and examples/fake_github.rs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path with query string.
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
    /// When the request arrived.
    pub at: Instant,
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

    /// `owner/name` the request is about (`/repos/OWNER/NAME/...`).
    pub fn repo(&self) -> Option<String> {
        let route = self.path.split('?').next().unwrap_or(&self.path);
        let segs: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        match segs.as_slice() {
            ["repos", owner, name, ..] => Some(format!("{owner}/{name}")),
            _ => None,
        }
    }

    /// POST, PATCH, PUT or DELETE.
    pub fn mutating(&self) -> bool {
        self.method != "GET"
    }
}

/// Behaviour beyond the defaults, for the fleet tests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve every `owner/name`; without it only `acme/demo` exists (others answer 404).
    pub any_repository: bool,
    /// `owner/name`s whose every request is answered 403 (the token may not write there).
    pub forbidden: Vec<String>,
    /// Answer the first mutating request 429 with this `Retry-After` (seconds), once.
    pub retry_after_once: Option<u64>,
}

#[derive(Default)]
struct State {
    token: String,
    requests: Vec<Recorded>,
    prs: Vec<Value>,
    /// Answer this status to the next N requests (`usize::MAX`: always).
    fail: Option<(u16, usize)>,
    options: Options,
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
        FakeGitHub::start_with(token, Options::default())
    }

    pub fn start_with(token: &str, options: Options) -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            options,
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

    /// The pull requests of one `owner/name`.
    pub fn prs_of(&self, repo: &str) -> Vec<Value> {
        self.prs()
            .into_iter()
            .filter(|p| p["repository"] == json!(repo))
            .collect()
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
    let (status, answer, extra) = {
        let mut st = state.lock().expect("lock");
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            authorization: header("authorization"),
            body: body.clone(),
            at: Instant::now(),
        });
        let mutating = method != "GET";
        let segs: Vec<String> = path
            .split('?')
            .next()
            .unwrap_or("")
            .trim_start_matches('/')
            .split('/')
            .map(str::to_string)
            .collect();
        let repo = match segs.as_slice() {
            [r, owner, name, ..] if r == "repos" => format!("{owner}/{name}"),
            _ => String::new(),
        };
        if st.options.forbidden.contains(&repo) {
            (
                403,
                json!({"message": "Resource not accessible by integration"}),
                String::new(),
            )
        } else if let Some(secs) = st.options.retry_after_once.filter(|_| mutating) {
            st.options.retry_after_once = None;
            (
                429,
                json!({"message": "You have exceeded a secondary rate limit."}),
                format!("Retry-After: {secs}\r\n"),
            )
        } else {
            let (status, answer) = respond(&mut st, &method, &path, header("authorization"), &body);
            // Secondary rate limits come with a Retry-After (0 here: the tests do not wait).
            let extra = if status == 403 || status == 429 {
                "Retry-After: 0\r\n".to_string()
            } else {
                String::new()
            };
            (status, answer, extra)
        }
    };
    let text = answer.to_string();
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{text}",
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
        let message = if status == 403 {
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        } else {
            "Server Error"
        };
        return (status, json!({ "message": message }));
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
        (_, ["repos", owner, name, ..])
            if !st.options.any_repository && (*owner, *name) != ("acme", "demo") =>
        {
            (404, json!({"message": "Not Found"}))
        }
        ("GET", ["repos", _, _]) => (200, json!({"default_branch": "main"})),
        ("GET", ["repos", owner, name, "pulls"]) => {
            let repo = format!("{owner}/{name}");
            let head = q("head").unwrap_or_default();
            let branch = head
                .split_once(':')
                .map_or(head.as_str(), |(_, b)| b)
                .to_string();
            let list: Vec<Value> = st
                .prs
                .iter()
                .filter(|p| p["repository"] == json!(repo) && p["head"]["ref"] == json!(branch))
                .filter(|p| q("state").as_deref() == Some("all") || p["state"] == json!("open"))
                .cloned()
                .collect();
            (200, Value::Array(list))
        }
        ("POST", ["repos", owner, name, "pulls"]) => {
            let repo = format!("{owner}/{name}");
            let head = body["head"].as_str().unwrap_or("").to_string();
            if st.prs.iter().any(|p| {
                p["repository"] == json!(repo)
                    && p["head"]["ref"] == json!(head)
                    && p["state"] == json!("open")
            }) {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"message": format!("A pull request already exists for {owner}:{head}.")}]}),
                );
            }
            let number = st
                .prs
                .iter()
                .filter(|p| p["repository"] == json!(repo))
                .count() as u64
                + 1;
            let pr = json!({
                "repository": repo,
                "number": number,
                "html_url": format!("https://github.example/{repo}/pull/{number}"),
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
        ("PATCH", ["repos", owner, name, "pulls", n]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let repo = format!("{owner}/{name}");
            match st
                .prs
                .iter_mut()
                .find(|p| p["repository"] == json!(repo) && p["number"] == json!(n))
            {
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
        ("POST", ["repos", owner, name, "issues", n, "labels"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let repo = format!("{owner}/{name}");
            match st
                .prs
                .iter_mut()
                .find(|p| p["repository"] == json!(repo) && p["number"] == json!(n))
            {
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
