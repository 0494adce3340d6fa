//! Running `helm template` (bounded in time) and reading what it prints: objects keyed by
//! apiVersion/kind/namespace/name, with the template each came from.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::doc::{Document, FileKind};

use super::{NAMESPACE, RELEASE};

/// The helm to run: `PATCHER_HELM`, else `helm` on `PATH`.
pub fn find_helm() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PATCHER_HELM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&p);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("PATCHER_HELM={} is not a file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
        .ok_or_else(|| "no helm (set PATCHER_HELM or put helm on PATH)".to_string())
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The template it came from, relative to the chart directory (`templates/x.yaml`).
    pub source: String,
    pub value: Value,
}

/// A render's objects by key (`apiVersion kind namespace/name`, a repeated key gets `#2`…).
pub type Rendered = BTreeMap<String, Object>;

/// Runs `helm template patcher <chart> --namespace patcher [-f FILE]...` and parses it.
pub fn render(helm: &Path, chart: &Path, values: &[PathBuf]) -> Result<Rendered, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE]).arg(chart);
    cmd.args(["--namespace", NAMESPACE]);
    for v in values {
        cmd.arg("-f").arg(v);
    }
    let out = run_bounded(&mut cmd, HELM_TIMEOUT)
        .map_err(|e| format!("cannot run {}: {e}", helm.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
            .collect();
        // The error line and the two after it (a schema error names the property there).
        let at = lines
            .iter()
            .position(|l| l.starts_with("Error"))
            .unwrap_or(0);
        let msg = lines[at.min(lines.len())..]
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(if msg.is_empty() {
            format!("helm template exited with {}", out.status)
        } else {
            msg
        });
    }
    parse_manifests(&String::from_utf8_lossy(&out.stdout))
}

/// How long one `helm template` may take: a hung helm must not hang a CI job.
pub(super) const HELM_TIMEOUT: Duration = Duration::from_secs(300);

/// `cmd.output()`, but the child is killed after `limit`.
pub(super) fn run_bounded(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Both pipes drain on their own threads, so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("helm template did not finish in {}s", limit.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Parses `helm template` output: documents separated by `---`, each after a
/// `# Source: <chart>/<path>` comment.
pub fn parse_manifests(text: &str) -> Result<Rendered, String> {
    let mut chunks: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            chunks.push(String::new());
        } else if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    let mut out = Rendered::new();
    for chunk in chunks {
        let source = chunk
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Source: "))
            // `<chart name>/templates/x.yaml`: the path below the chart directory.
            .map(|s| {
                s.trim()
                    .split_once('/')
                    .map_or(s, |(_, rest)| rest)
                    .to_string()
            })
            .unwrap_or_default();
        let doc = Document::parse("<rendered>", chunk.clone(), FileKind::HelmValues)
            .map_err(|e| format!("rendered YAML from {source} does not read: {e}"))?;
        for d in doc.docs {
            if d.model.is_null() {
                continue;
            }
            let base = object_key(&d.model);
            let mut key = base.clone();
            let mut n = 1;
            while out.contains_key(&key) {
                n += 1;
                key = format!("{base}#{n}");
            }
            out.insert(
                key,
                Object {
                    source: source.clone(),
                    value: d.model,
                },
            );
        }
    }
    Ok(out)
}

pub(super) fn object_key(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let ns = v["metadata"]["namespace"].as_str().unwrap_or(NAMESPACE);
    format!(
        "{} {} {ns}/{}",
        s(&v["apiVersion"]),
        s(&v["kind"]),
        s(&v["metadata"]["name"])
    )
}

/// `Deployment patcher/web` from a key (the apiVersion dropped: kind and name identify it to a
/// reader).
pub(super) fn display_key(key: &str) -> String {
    key.split_once(' ')
        .map_or(key, |(_, rest)| rest)
        .to_string()
}
