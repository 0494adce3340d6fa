//! Hostile and unusual input, run through the built binary as a child process with a memory
//! bound (`ulimit -v`) and a wall-clock bound (the child is killed when it runs out): alias
//! bombs, deep nesting, a UTF-8 byte-order mark, and template actions inside flow collections.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Repo;

/// Address space the child may use. A normal `plan` of a small repository fits in a fraction
/// of it; the billion-laughs file used to take 4 GB.
const MEMORY_KB: u64 = 256 * 1024;

/// Wall-clock bound after which the child is killed: generous for a debug build on a loaded
/// machine. Tests that must be fast assert a much tighter bound on the measured time.
const KILL_AFTER: Duration = Duration::from_secs(20);

struct Bounded {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `patcher <args> --root <repo> --color never` under `ulimit -v MEMORY_KB`, killing it
/// after `KILL_AFTER`. Output goes to files, so a chatty child cannot block on a full pipe.
fn run_bounded(repo: &Repo, args: &[&str]) -> Bounded {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_patcher"))
        .args(args)
        .arg("--root")
        .arg(repo.root())
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn patcher");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let read = |p: &Path| {
        String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default())
            .replace(&repo.root().display().to_string(), "<root>")
    };
    let run = Bounded {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed,
    };
    assert!(
        status.is_some(),
        "killed after {KILL_AFTER:?}: {}",
        run.stderr
    );
    run
}

fn set_replicas(file: &str) -> String {
    format!(
        "recipe \"r\" {{\n    file \"{file}\" {{\n        set \"/spec/replicas\" 3\n    }}\n}}\n"
    )
}

/// The classic: ten levels of nine aliases each, 9^10 (3.4 billion) strings once expanded.
fn billion_laughs() -> String {
    let mut src = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    src.push_str("spec: {laughs: *a9}\n");
    src
}

#[test]
fn billion_laughs_is_refused_naming_the_file_within_time_and_memory() {
    let src = billion_laughs();
    assert!(src.len() < 2048, "a 2 KB file");
    let repo = Repo::new(&[
        ("config/laughs.yaml", &src),
        ("recipes/r.kdl", &set_replicas("config/laughs.yaml")),
    ]);
    for cmd in ["plan", "check"] {
        let run = run_bounded(&repo, &[cmd]);
        assert_eq!(run.code, Some(1), "{cmd}: {}", run.stderr);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert!(
            out.contains("config/laughs.yaml:"),
            "{cmd} names the file: {out}"
        );
        assert!(
            out.contains("alias bomb") && out.contains("100000 nodes"),
            "{cmd}: {out}"
        );
        assert!(
            run.elapsed < Duration::from_secs(2),
            "{cmd}: {:?}",
            run.elapsed
        );
        eprintln!("billion laughs, {cmd}: refused in {:?}", run.elapsed);
    }
}

/// Runs `plan` on `file` holding `src`; asserts a depth refusal in well under a second.
fn assert_depth_refused_fast(name: &str, src: &str) {
    assert!(src.len() >= 200_000, "{name}: {} bytes", src.len());
    let repo = Repo::new(&[
        ("deep.yaml", src),
        ("recipes/r.kdl", &set_replicas("deep.yaml")),
    ]);
    let run = run_bounded(&repo, &["plan"]);
    assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
    assert!(
        run.stderr.contains("deep.yaml:") && run.stderr.contains("nested more than 255 levels"),
        "{name}: {}",
        run.stderr
    );
    assert!(
        run.elapsed < Duration::from_millis(500),
        "{name}: {:?} (must be linear)",
        run.elapsed
    );
    eprintln!(
        "{name} ({} KB): refused in {:?}",
        src.len() / 1000,
        run.elapsed
    );
}

#[test]
fn nested_flow_sequences_are_refused_in_well_under_a_second() {
    assert_depth_refused_fast("200 KB of `[`", &format!("spec: {}\n", "[".repeat(200_000)));
    assert_depth_refused_fast(
        "200 KB of `{a: `",
        &format!("spec: {}\n", "{a: ".repeat(50_000)),
    );
}

#[test]
fn nested_block_mappings_are_refused_in_well_under_a_second() {
    // Indented, one level per line (200 KB reach ~630 levels) ...
    let mut indented = String::new();
    let mut depth = 0;
    while indented.len() < 200_000 {
        indented.push_str(&format!("{}k:\n", " ".repeat(depth)));
        depth += 1;
    }
    assert_depth_refused_fast("200 KB of indented `k:`", &indented);
    // ... and compact, one level per two bytes: explicit keys and block sequences.
    assert_depth_refused_fast("200 KB of `? `", &format!("{}a\n", "? ".repeat(100_000)));
    assert_depth_refused_fast("200 KB of `- `", &format!("{}a\n", "- ".repeat(100_000)));
}

#[test]
fn nesting_within_the_limit_still_loads() {
    let src = format!("spec:\n  deep: {}1{}\n", "[".repeat(200), "]".repeat(200));
    let repo = Repo::new(&[
        ("ok.yaml", &src),
        ("recipes/r.kdl", &set_replicas("ok.yaml")),
    ]);
    let run = run_bounded(&repo, &["plan"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

const BOM: &str = "\u{feff}";

#[test]
fn byte_order_mark_is_preserved_through_apply_in_place() {
    let src =
        format!("{BOM}# from a Windows editor\r\nspec:\r\n  replicas: 1\r\n  paused: true\r\n");
    let recipe = "recipe \"r\" {\n    file \"app.yaml\" {\n        set \"/spec/replicas\" 3\n        remove \"/spec/paused\"\n        set \"/spec/strategy/type\" \"Recreate\"\n        set \"/top\" #true\n    }\n}\n";
    let repo = Repo::new(&[("app.yaml", &src), ("recipes/r.kdl", recipe)]);
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        repo.read("app.yaml"),
        format!(
            "{BOM}# from a Windows editor\r\nspec:\r\n  replicas: 3\r\n  strategy:\r\n    type: Recreate\r\ntop: true\r\n"
        )
    );
    let again = run_bounded(&repo, &["plan"]);
    assert_eq!(
        again.code,
        Some(0),
        "plan after apply is empty: {}",
        again.stdout
    );
}

#[test]
fn byte_order_mark_file_reports_lines_and_columns_after_the_mark() {
    let src = format!("{BOM}spec: {{replicas: 1}}\n");
    let repo = Repo::new(&[
        ("app.yaml", &src),
        ("recipes/r.kdl", &set_replicas("app.yaml")),
    ]);
    let run = run_bounded(&repo, &["check"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    // `replicas` is the 8th character after the mark.
    assert!(
        run.stdout.contains("app.yaml:1:8: /spec/replicas"),
        "{}",
        run.stdout
    );
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        repo.read("app.yaml"),
        format!("{BOM}spec: {{replicas: 3}}\n")
    );
    // A template starting with the mark and a whole-line action.
    let tpl = format!(
        "{BOM}{{{{- if .Values.on }}}}\nspec:\n  image: {{{{ .Values.image }}}}\n{{{{- end }}}}\n"
    );
    let repo = Repo::new(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        ),
        ("chart/templates/app.yaml", &tpl),
        ("recipes/r.kdl", &set_replicas("chart/templates/app.yaml")),
    ]);
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        repo.read("chart/templates/app.yaml"),
        format!(
            "{BOM}{{{{- if .Values.on }}}}\nspec:\n  image: {{{{ .Values.image }}}}\n  replicas: 3\n{{{{- end }}}}\n"
        )
    );
}

fn chart(template: &str, recipe: &str) -> Repo {
    Repo::new(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        ),
        ("chart/templates/deploy.yaml", template),
        ("recipes/r.kdl", recipe),
    ])
}

#[test]
fn actions_inside_flow_collections_mask_and_edits_land_next_to_them() {
    let template = r#"spec:
  args: ["--a={{ .Values.x }}", "--b", "--c={{ .Values.c }}", "--d", "--e", "--f"]
  glued: ["--a={{ .Values.x }}"{{ if .Values.y }}, "--y"{{ end }}{{ range .Values.extra }}, {{ . | quote }}{{ end }}]
  map: {a: {{ .Values.x }}, "b": "{{ .Values.b }}"}
  bare: [{{ .Values.a }}, b, '{{ .Values.q }}', "{{ .Values.dq }}"]
  multi: [x, {{ include "y" (dict
      "k" 1) }}, z]
  replicas: 1
"#;
    let repo = chart(template, &set_replicas("chart/templates/deploy.yaml"));
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        repo.read("chart/templates/deploy.yaml"),
        template.replace("  replicas: 1\n", "  replicas: 3\n")
    );
    // A new key goes after the last flow line, whole.
    let template = template.replace("  replicas: 1\n", "");
    let repo = chart(&template, &set_replicas("chart/templates/deploy.yaml"));
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        repo.read("chart/templates/deploy.yaml"),
        format!("{template}  replicas: 3\n")
    );
    let again = run_bounded(&repo, &["plan"]);
    assert_eq!(again.code, Some(0), "{}", again.stdout);
}

#[test]
fn unmaskable_template_shapes_are_refused_naming_file_line_and_shape() {
    let cases = [
        (
            "spec:\n  a: {x: 1,\n    b: {{ .Values.b }}\n      c: 2}\n",
            "chart/templates/deploy.yaml:3:8: template action `{{ .Values.b }}` cannot be masked: it is inside a flow mapping",
        ),
        (
            "spec:\n  a: {{{ .Values.a }}: 1}\n",
            "chart/templates/deploy.yaml:2:6: template action `{{{ .Values.a }}` cannot be masked: it starts with `{{{`",
        ),
        (
            "spec:\n  a: [\"x\" {{ .Values.sep }} \"y\"]\n",
            "chart/templates/deploy.yaml:2:11: template action `{{ .Values.sep }}` cannot be masked: it follows a quoted item",
        ),
    ];
    for (template, want) in cases {
        let repo = chart(template, &set_replicas("chart/templates/deploy.yaml"));
        let run = run_bounded(&repo, &["plan"]);
        assert_eq!(run.code, Some(1), "{template}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{template}:\n{}", run.stderr);
    }
}

#[test]
fn a_file_holding_only_a_byte_order_mark_gets_the_new_key_on_its_first_line() {
    let recipe = "recipe \"r\" {\n    file \"app.yaml\" { set \"/replicas\" 2; }\n}\n";
    let repo = Repo::new(&[("app.yaml", BOM), ("recipes/r.kdl", recipe)]);
    let run = run_bounded(&repo, &["apply", "--in-place"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(repo.read("app.yaml"), format!("{BOM}replicas: 2\n"));
}
