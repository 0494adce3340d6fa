//! A GitHub Actions API stand-in on 127.0.0.1 for `acme/demo`, with the answers' recorded
//! shapes: workflow runs (filtered by `branch` and `created=A..B`, newest first, 100 per
//! page with a `Link` header, and no result past the 1,000th as the real API), run
//! attempts, a run's jobs, job logs, pull requests. Scripted answers (a 403, a rate limit
//! with its headers) can be queued; every request is recorded. Used by tests/stats.rs.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// What the real API returns at most for one list query.
const CAP: usize = 1000;

/// A scripted answer: status, extra headers, JSON body.
pub type Scripted = (u16, Vec<(String, String)>, Value);

#[derive(Default)]
pub struct State {
    pub token: String,
    /// Workflow runs (any order); each has id, head_sha, head_branch, created_at, status,
    /// conclusion, run_attempt.
    pub runs: Vec<Value>,
    /// Attempt 1's conclusion by run id.
    pub first_attempts: HashMap<u64, String>,
    pub jobs: HashMap<u64, Vec<Value>>,
    pub job_logs: HashMap<u64, String>,
    pub pulls: HashMap<u64, Value>,
    /// Comments by issue (pull request) number.
    pub comments: HashMap<u64, Vec<Value>>,
    /// Answered (in order) before any route.
    pub script: VecDeque<Scripted>,
    /// Path and query of every request.
    pub requests: Vec<String>,
}

pub struct FakeActions {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    addr: std::net::SocketAddr,
}

impl FakeActions {
    pub fn start(token: &str) -> FakeActions {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (state.clone(), stop.clone());
        let url = format!("http://{addr}");
        let base = url.clone();
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let _ = serve(stream, &s2, &base);
                }
            }
        });
        FakeActions {
            url,
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

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("lock"))
    }

    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }
}

impl Drop for FakeActions {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A run as the API lists it.
pub fn run(id: u64, sha: &str, created_at: &str, conclusion: &str, attempt: u64) -> Value {
    json!({
        "id": id,
        "name": "dev-ci",
        "head_branch": "main",
        "head_sha": sha,
        "event": "push",
        "status": if conclusion == "in_progress" { "in_progress" } else { "completed" },
        "conclusion": if conclusion == "in_progress" { Value::Null } else { json!(conclusion) },
        "run_attempt": attempt,
        "created_at": created_at,
        "html_url": format!("https://github.com/acme/demo/actions/runs/{id}"),
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>, base: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut auth = None;
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_string());
            } else if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    std::io::Read::read_exact(&mut reader, &mut body)?;
    let (status, headers, body, content_type) = {
        let mut st = state.lock().expect("lock");
        st.requests.push(target.clone());
        if method == "POST" {
            let posted: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            post(&mut st, &target, auth.as_deref(), posted)
        } else {
            respond(&mut st, &target, auth.as_deref(), base)
        }
    };
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>, &'static str);

fn json_answer(status: u16, headers: Vec<(String, String)>, v: &Value) -> Answer {
    (
        status,
        headers,
        v.to_string().into_bytes(),
        "application/json",
    )
}

fn post(st: &mut State, target: &str, auth: Option<&str>, body: Value) -> Answer {
    if auth != Some(&format!("Bearer {}", st.token)) {
        return json_answer(401, vec![], &json!({"message": "Bad credentials"}));
    }
    let segs: Vec<&str> = target.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["repos", "acme", "demo", "issues", n, "comments"] => {
            let n: u64 = n.parse().unwrap_or(0);
            let comment = json!({"id": 1, "body": body["body"]});
            st.comments.entry(n).or_default().push(comment.clone());
            json_answer(201, vec![], &comment)
        }
        _ => json_answer(404, vec![], &json!({"message": "Not Found"})),
    }
}

fn respond(st: &mut State, target: &str, auth: Option<&str>, base: &str) -> Answer {
    if auth != Some(&format!("Bearer {}", st.token)) {
        return json_answer(401, vec![], &json!({"message": "Bad credentials"}));
    }
    if let Some((status, headers, body)) = st.script.pop_front() {
        return json_answer(status, headers, &body);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let q: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per_page: usize = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30)
        .min(100);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["repos", "acme", "demo"] => json_answer(
            200,
            vec![],
            &json!({"full_name": "acme/demo", "default_branch": "main"}),
        ),
        ["repos", "acme", "demo", "actions", "workflows", _wf, "runs"] => {
            let mut runs: Vec<&Value> = st
                .runs
                .iter()
                .filter(|r| q.get("branch").is_none_or(|b| r["head_branch"] == json!(b)))
                .filter(
                    |r| match q.get("created").and_then(|c| c.split_once("..")) {
                        Some((lo, hi)) => {
                            let at = r["created_at"].as_str().unwrap_or("");
                            at >= lo && at <= hi
                        }
                        None => true,
                    },
                )
                .collect();
            runs.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
            let total = runs.len();
            let end = (page * per_page).min(total).min(CAP);
            let start = ((page - 1) * per_page).min(end);
            let mut headers = vec![];
            if end < total.min(CAP) {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| !kv.starts_with("page=") && !kv.is_empty())
                    .collect();
                let next = format!("{path}?{}&page={}", kept.join("&"), page + 1);
                headers.push(("Link".to_string(), format!("<{base}{next}>; rel=\"next\"")));
            }
            let list: Vec<Value> = runs[start..end].iter().map(|v| (*v).clone()).collect();
            json_answer(
                200,
                headers,
                &json!({"total_count": total, "workflow_runs": list}),
            )
        }
        [
            "repos",
            "acme",
            "demo",
            "actions",
            "runs",
            id,
            "attempts",
            "1",
        ] => {
            let id: u64 = id.parse().unwrap_or(0);
            match st.first_attempts.get(&id) {
                Some(c) => json_answer(
                    200,
                    vec![],
                    &json!({"id": id, "run_attempt": 1, "status": "completed", "conclusion": c}),
                ),
                None => json_answer(404, vec![], &json!({"message": "Not Found"})),
            }
        }
        ["repos", "acme", "demo", "actions", "runs", id, "jobs"] => {
            let id: u64 = id.parse().unwrap_or(0);
            match st.jobs.get(&id) {
                Some(jobs) => {
                    let end = (page * per_page).min(jobs.len());
                    let start = ((page - 1) * per_page).min(end);
                    json_answer(
                        200,
                        vec![],
                        &json!({"total_count": jobs.len(), "jobs": jobs[start..end]}),
                    )
                }
                None => json_answer(404, vec![], &json!({"message": "Not Found"})),
            }
        }
        ["repos", "acme", "demo", "actions", "jobs", id, "logs"] => {
            let id: u64 = id.parse().unwrap_or(0);
            match st.job_logs.get(&id) {
                Some(text) => (200, vec![], text.clone().into_bytes(), "text/plain"),
                None => json_answer(404, vec![], &json!({"message": "Not Found"})),
            }
        }
        ["repos", "acme", "demo", "pulls"] => {
            let mut list: Vec<Value> = st.pulls.values().cloned().collect();
            list.sort_by_key(|p| std::cmp::Reverse(p["number"].as_u64()));
            json_answer(200, vec![], &Value::Array(list))
        }
        ["repos", "acme", "demo", "issues", n, "comments"] => {
            let n: u64 = n.parse().unwrap_or(0);
            let list = st.comments.get(&n).cloned().unwrap_or_default();
            json_answer(200, vec![], &Value::Array(list))
        }
        ["repos", "acme", "demo", "pulls", n] => {
            let n: u64 = n.parse().unwrap_or(0);
            match st.pulls.get(&n) {
                Some(pr) => json_answer(200, vec![], pr),
                None => json_answer(404, vec![], &json!({"message": "Not Found"})),
            }
        }
        _ => json_answer(404, vec![], &json!({"message": "Not Found"})),
    }
}
