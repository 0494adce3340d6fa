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

/// Why a render failed: helm's error (its `Error` line and the two after it), and the URL a
/// values schema could not load when that is the failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub schema_url: Option<String>,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            schema_url: None,
        }
    }
}

/// Runs `helm template patcher <chart> --namespace patcher [-f FILE]...
/// [--skip-schema-validation]` and parses it; `runs` counts each time helm ran.
pub fn render(
    helm: &Path,
    chart: &Path,
    values: &[PathBuf],
    skip_schema: bool,
    runs: &mut usize,
) -> Result<Rendered, Failure> {
    let text = render_text(helm, chart, values, skip_schema, runs)?;
    Ok(parse_manifests(&text)?)
}

/// The arguments of a render after `helm template … <chart>`, but the values files.
pub fn render_args(skip_schema: bool) -> Vec<String> {
    let mut args = vec![
        "template".to_string(),
        RELEASE.to_string(),
        "--namespace".to_string(),
        NAMESPACE.to_string(),
    ];
    if skip_schema {
        args.push("--skip-schema-validation".to_string());
    }
    args
}

/// [`render`]'s helm run: what it printed.
pub fn render_text(
    helm: &Path,
    chart: &Path,
    values: &[PathBuf],
    skip_schema: bool,
    runs: &mut usize,
) -> Result<String, Failure> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE]).arg(chart);
    cmd.args(["--namespace", NAMESPACE]);
    for v in values {
        cmd.arg("-f").arg(v);
    }
    if skip_schema {
        cmd.arg("--skip-schema-validation");
    }
    let run = run_helm(&mut cmd).map_err(|e| format!("cannot run {}: {e}", helm.display()))?;
    *runs += 1 + run.lost.len();
    let out = run.output;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let schema_url = schema_fetch(&err);
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
        return Err(Failure {
            message: if msg.is_empty() {
                format!("helm template exited with {}", out.status)
            } else {
                msg
            },
            schema_url,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The URL a values schema failed to load, when that is why helm failed: the schema error
/// (`values don't meet the specifications of the schema(s)`) followed by a line that fetches
/// one — Helm 3's `Get "https://…": dial tcp …`, Helm 3.18+/4's `failing loading "https://…"`
/// (the shapes reported by air-gapped users: apache/airflow#20539, backstage/charts#127,
/// kubernetes-sigs/node-feature-discovery#2399). Any other schema error is the values' fault.
pub fn schema_fetch(stderr: &str) -> Option<String> {
    let at = stderr.find("values don't meet the specifications of the schema")?;
    stderr[at..].lines().skip(1).find_map(|l| {
        let l = l.trim();
        // The first fetch on the line is the schema's `$ref`; later ones are its causes.
        let (at, len) = ["Get \"", "failing loading \"", "HTTP request failed for "]
            .iter()
            .filter_map(|p| l.find(p).map(|i| (i, p.len())))
            .min()?;
        let rest = &l[at + len..];
        rest.split(['"', ' '])
            .next()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(|u| u.trim_end_matches(':').to_string())
    })
}

/// How long one `helm template` may take: a hung helm must not hang a CI job.
pub(super) const HELM_TIMEOUT: Duration = Duration::from_secs(300);

/// How many times a helm that lost a connection is run again.
const LOST_CONNECTION_RETRIES: usize = 2;

/// What [`run_helm`] got: the last run's output, and the error line of each earlier run that
/// lost a connection.
#[derive(Debug)]
pub struct HelmRun {
    pub output: Output,
    pub lost: Vec<String>,
}

/// Runs helm (bounded by [`HELM_TIMEOUT`]), and again, up to [`LOST_CONNECTION_RETRIES`]
/// times, while it fails because a connection of its own dropped ([`lost_connection`]): that
/// says nothing about the chart, so giving up would refuse a good edit. Any other failure is
/// returned at once, since running it again would fail the same way.
pub fn run_helm(cmd: &mut Command) -> std::io::Result<HelmRun> {
    let mut lost = Vec::new();
    loop {
        let output = run_bounded(cmd, HELM_TIMEOUT)?;
        let why = (!output.status.success())
            .then(|| lost_connection(&String::from_utf8_lossy(&output.stderr)))
            .flatten();
        match why {
            Some(line) if lost.len() < LOST_CONNECTION_RETRIES => {
                lost.push(line);
                std::thread::sleep(Duration::from_millis(100 * lost.len() as u64));
            }
            _ => return Ok(HelmRun { output, lost }),
        }
    }
}

/// The line of helm's stderr saying that one of its own HTTP requests failed in transport —
/// Go's `Post "http://…": read tcp …: read: connection reset by peer`, `Get "https://…": EOF`
/// — if there is one. A template cannot make a request, so this is the API server (the helm
/// shim's in-memory one) or a registry dropping a connection, never the chart.
pub fn lost_connection(stderr: &str) -> Option<String> {
    const TRANSPORT: [&str; 8] = [
        "connection reset by peer",
        "connection refused",
        "broken pipe",
        ": EOF",
        ": unexpected EOF",
        "i/o timeout",
        "server closed idle connection",
        "TLS handshake timeout",
    ];
    stderr
        .lines()
        .map(str::trim)
        .find(|l| {
            let request = ["Get", "Post", "Put", "Patch", "Delete", "Head"]
                .iter()
                .any(|m| l.contains(&format!("{m} \"http")));
            request && TRANSPORT.iter().any(|t| l.ends_with(t))
        })
        .map(str::to_string)
}

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

#[cfg(test)]
mod tests {
    use super::{lost_connection, schema_fetch};

    #[test]
    fn a_request_that_failed_in_transport_is_a_lost_connection() {
        let reset = r#"Error: Post "http://127.0.0.1:39591/apis/apps/v1/namespaces/default/deployments?fieldManager=python3": read tcp 127.0.0.1:40758->127.0.0.1:39591: read: connection reset by peer"#;
        let stderr = format!("level=WARN msg=x\n{reset}\nUse --debug flag\n");
        assert_eq!(lost_connection(&stderr).as_deref(), Some(reset));
        let eof = r#"Error: INSTALLATION FAILED: Get "https://registry.example/v2/": EOF"#;
        assert_eq!(lost_connection(eof).as_deref(), Some(eof));
        let refused = r#"Error: Get "http://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused"#;
        assert!(lost_connection(refused).is_some());
    }

    #[test]
    fn a_schema_that_cannot_load_a_url_names_it_and_a_values_error_does_not() {
        // Helm 4 (the shim), and Helm 3 as apache/airflow#20539 quotes it.
        let v4 = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nc:\nfailing loading \"https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.29.0-standalone-strict/resourcerequirements-v1.json\": HTTP request failed for https://raw.githubusercontent.com/x: Get \"https://raw.githubusercontent.com/x\": dial tcp: lookup raw.githubusercontent.com on 10.255.255.53:53: no such host\n";
        assert_eq!(
            schema_fetch(v4).as_deref(),
            Some(
                "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.29.0-standalone-strict/resourcerequirements-v1.json"
            )
        );
        let v3 = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nairflow:\nGet \"https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.22.0-standalone-strict/networkpolicypeer-networking-v1.json\": dial tcp: lookup raw.githubusercontent.com: no such host\n";
        assert!(
            schema_fetch(v3).is_some_and(|u| u.ends_with("networkpolicypeer-networking-v1.json"))
        );
        let values = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nexternal-dns:\n- at '': missing property 'policy'\n";
        assert_eq!(schema_fetch(values), None);
        assert_eq!(schema_fetch("Error: Get \"https://x\": EOF"), None);
    }

    #[test]
    fn a_chart_error_is_not_a_lost_connection() {
        for stderr in [
            "Error: execution error at (web/templates/app.yaml:2:9): db: connection refused",
            r#"Error: template: web/templates/app.yaml:3:4: executing "x" at <"http://a">: EOF"#,
            r#"Error: Post "http://127.0.0.1:1/apis": the server rejected our request (422)"#,
            "",
        ] {
            assert_eq!(lost_connection(stderr), None, "{stderr}");
        }
    }
}
