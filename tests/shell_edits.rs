//! Argument-level shell edits on many command shapes. Each edit is snapshotted as
//! before/after, checked to be idempotent, to parse (`bash -n` where bash exists), and —
//! where shellcheck is installed — to add no shellcheck finding. The tests that need bash or
//! shellcheck are ignored with the reason without them (build.rs probes for both).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use patcher::shell::{
    CommandEdit, EditResult, SyntaxChecker, WarningKind, check_syntax, check_syntax_internal,
    edit_commands, edit_folded_args, lint, wrap_retry,
};

const SAMPLE_WORKFLOW: &str = include_str!("../.github/workflows/dev-ci.yml");

/// The seed's "Fix 3" retry loop, as the write-up has it (its `\  # comment` ends the helm
/// command early).
const SEED_FIX3_HELM: &str = r#"# Try up to 3 times
for i in 1 2 3; do
  helm upgrade --install threads ./chart \
    -f chart/values-ci.yaml \
    --set openai.apiKey="$OPENAI_API_KEY" \
    --wait --timeout 600s \
    --atomic=false \  # Don't rollback on failure
    --debug && break || {
      echo "Attempt $i failed, checking status..."
      kubectl get pods
      kubectl describe job -l job-name=threads-migrations
      if [ $i -lt 3 ]; then
        echo "Retrying in 30s..."
        sleep 30
      fi
    }
done
"#;

/// The seed's k3d `args`, a folded `>-` scalar with a "comment" in it.
const SEED_FIX3_K3D_ARGS: &str = "--agents 1
--registry-create k3d-dev-registry:0.0.0.0:5111
--k3s-arg \"--disable=metrics-server@server:0\"  # Disable built-in
";

fn flag(name: &str, value: Option<&str>) -> CommandEdit {
    CommandEdit::Flag {
        name: name.into(),
        value: value.map(Into::into),
    }
}

fn remove(name: &str, takes_value: bool) -> CommandEdit {
    CommandEdit::RemoveFlag {
        name: name.into(),
        takes_value,
    }
}

fn rename(old: &str, new: &str) -> CommandEdit {
    CommandEdit::ReplaceFlag {
        old: old.into(),
        new: new.into(),
    }
}

/// The body of the block scalar `key: |` / `key: >-` of the step named `step` in `yaml`,
/// dedented, as the YAML layer would hand it over (newlines kept).
fn block_scalar(yaml: &str, step: &str, key: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("- name: {step}"))
        .unwrap_or_else(|| panic!("no step {step}"));
    let key_line = (at..lines.len())
        .find(|&i| lines[i].trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {step}"));
    let key_indent = lines[key_line].len() - lines[key_line].trim_start().len();
    let body: Vec<&str> = lines[key_line + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > key_indent)
        .copied()
        .collect();
    let indent = body[0].len() - body[0].trim_start().len();
    let mut out: String = body
        .iter()
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect();
    // Clip (`|`, `>`) keeps one final newline, strip (`|-`, `>-`) none.
    out.truncate(out.trim_end().len());
    if !lines[key_line].trim_end().ends_with('-') {
        out.push('\n');
    }
    out
}

/// shellcheck's findings, counted by code.
fn shellcheck_codes(script: &str) -> BTreeMap<String, usize> {
    let mut child = Command::new("shellcheck")
        .args(["--shell=bash", "--format=gcc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("build.rs found shellcheck but it does not run now (`touch build.rs` to re-probe)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("shellcheck output");
    let mut codes = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(code) = line.rsplit('[').next().and_then(|c| c.strip_suffix(']')) {
            *codes.entry(code.to_string()).or_insert(0) += 1;
        }
    }
    codes
}

/// Asserts that `after` adds no shellcheck finding to `before`. Without shellcheck (build.rs
/// probe) the comparison is off, and `shellcheck_reports_the_findings_the_comparisons_count`
/// shows as ignored, so the summary says so.
fn assert_no_new_shellcheck_findings(before: &str, after: &str) {
    if cfg!(not(has_shellcheck)) {
        return;
    }
    let (b, a) = (shellcheck_codes(before), shellcheck_codes(after));
    for (code, n) in &a {
        assert!(
            b.get(code).copied().unwrap_or(0) >= *n,
            "edit added shellcheck {code}:\n{after}\nbefore: {b:?}\nafter: {a:?}"
        );
    }
}

/// Runs the edits, checks idempotence, syntax and shellcheck, and renders before/after.
fn edited(script: &str, command: &[&str], edits: &[CommandEdit]) -> (EditResult, String) {
    let r = edit_commands(script, command, edits)
        .unwrap_or_else(|e| panic!("edit failed: {e}\n{script}"));
    let again = edit_commands(&r.script, command, edits).expect("re-edit");
    assert!(
        !again.changed,
        "not idempotent:\n{}\n---\n{}",
        r.script, again.script
    );
    assert_eq!(again.invocations, r.invocations);
    check_syntax(&r.script).expect("edited script parses");
    check_syntax_internal(&r.script).expect("edited script parses (internal)");
    assert_no_new_shellcheck_findings(script, &r.script);
    let shown = format!(
        "invocations: {}, changed: {}\n--- before\n{script}--- after\n{}",
        r.invocations, r.changed, r.script
    );
    (r, shown)
}

fn show(script: &str, command: &[&str], edits: &[CommandEdit]) -> String {
    edited(script, command, edits).1
}

const HELM: &[&str] = &["helm", "upgrade"];

#[test]
fn sample_workflow_helm_upgrade_drops_atomic_waits_and_raises_timeout() {
    let script = block_scalar(SAMPLE_WORKFLOW, "Helm upgrade (dev cluster)", "run");
    let (r, shown) = edited(
        &script,
        HELM,
        &[
            remove("--atomic", false),
            flag("--wait", None),
            flag("--timeout", Some("600s")),
        ],
    );
    assert_eq!(r.invocations, 1);
    assert!(!r.script.contains("--atomic"));
    assert!(
        r.script.contains("  --timeout 600s \\\n  --wait\n"),
        "{}",
        r.script
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn sample_workflow_postgres_install_is_a_different_release_but_same_command() {
    // `helm upgrade --install threads-postgresql …`: the command matches, the edit applies.
    let script = block_scalar(SAMPLE_WORKFLOW, "Install PostgreSQL", "run");
    insta::assert_snapshot!(show(&script, HELM, &[flag("--wait", None)]));
}

#[test]
fn single_line_command_gets_flags_inline_before_redirections() {
    insta::assert_snapshot!(show(
        "helm upgrade --install web ./chart > helm.log 2>&1\n",
        HELM,
        &[flag("--wait", None), flag("--timeout", Some("10m"))],
    ));
}

#[test]
fn continued_lines_keep_their_indentation_and_backslashes() {
    insta::assert_snapshot!(show(
        "helm upgrade --install web ./chart \\\n\t--namespace web \\\n\t--atomic\n",
        HELM,
        &[remove("--atomic", false), flag("--wait", None)],
    ));
}

#[test]
fn removing_a_flag_in_the_middle_of_a_continued_line_keeps_the_rest() {
    insta::assert_snapshot!(show(
        "helm upgrade web ./chart \\\n    --atomic --wait \\\n    --timeout 5m --debug\n",
        HELM,
        &[remove("--atomic", false), remove("--timeout", true)],
    ));
}

#[test]
fn equals_form_values_are_set_in_equals_form() {
    insta::assert_snapshot!(show(
        "helm upgrade web ./chart --timeout=300s --atomic=true --wait=false\n",
        HELM,
        &[
            flag("--timeout", Some("600s")),
            remove("--atomic", false),
            flag("--wait", None),
        ],
    ));
}

#[test]
fn quoted_values_with_spaces_are_matched_and_written_quoted() {
    insta::assert_snapshot!(show(
        "helm upgrade web ./chart --description \"first try\" --set 'a=b c'\n",
        HELM,
        &[
            flag("--description", Some("second try; it's $HOME")),
            flag("--set", Some("a=b c")),
        ],
    ));
}

#[test]
fn replace_flag_renames_and_keeps_values() {
    insta::assert_snapshot!(show(
        "helm upgrade web ./chart --recreate-pods --timeout=5m \\\n  --timeout \"$T\"\n",
        HELM,
        &[
            rename("--timeout", "--wait-timeout"),
            rename("--recreate-pods", "--force"),
        ],
    ));
}

#[test]
fn commands_in_for_if_and_and_or_blocks_are_edited() {
    insta::assert_snapshot!(show(
        r#"for i in 1 2 3; do
  if [ "$i" -gt 1 ]; then
    helm upgrade web ./chart --atomic && break || {
      echo "attempt $i failed"
      sleep 5
    }
  else
    HELM_DEBUG=1 helm upgrade web ./chart \
      --atomic \
      --timeout 300s || true
  fi
done
"#,
        HELM,
        &[remove("--atomic", false), flag("--timeout", Some("600s"))],
    ));
}

#[test]
fn several_invocations_are_each_edited_and_counted() {
    let (r, shown) = edited(
        "helm upgrade a ./a\nhelm upgrade b ./b \\\n  --wait\nhelm status a\nhelm upgrade c ./c --wait\n",
        HELM,
        &[flag("--wait", None)],
    );
    assert_eq!(r.invocations, 3);
    insta::assert_snapshot!(shown);
}

#[test]
fn heredoc_bodies_and_command_substitutions_are_never_touched() {
    let script = "cat > deploy.sh <<'EOF'\nhelm upgrade web ./chart --atomic\nEOF\n\
                  out=$(helm upgrade web ./chart --atomic)\n\
                  echo \"helm upgrade web --atomic\"\n\
                  helm upgrade web ./chart --atomic\n";
    let (r, shown) = edited(script, HELM, &[remove("--atomic", false)]);
    assert_eq!(r.invocations, 1);
    assert_eq!(r.script.matches("--atomic").count(), 3);
    insta::assert_snapshot!(shown);
}

#[test]
fn comments_around_commands_stay_where_they_are() {
    insta::assert_snapshot!(show(
        "# deploy\nhelm upgrade web ./chart \\\n  --atomic \\\n  --timeout 300s  # generous\n# done\n",
        HELM,
        &[
            remove("--atomic", false),
            flag("--timeout", Some("600s")),
            flag("--wait", None),
        ],
    ));
}

#[test]
fn seed_fix3_helm_command_is_refused_because_its_continuation_is_broken() {
    let e = edit_commands(SEED_FIX3_HELM, HELM, &[remove("--atomic", false)]).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn seed_fix3_helm_command_with_its_comment_moved_is_edited() {
    let fixed = SEED_FIX3_HELM.replace(
        "    --atomic=false \\  # Don't rollback on failure\n",
        "    --atomic=false \\\n",
    );
    let (r, shown) = edited(
        &fixed,
        HELM,
        &[
            remove("--atomic", false),
            flag("--timeout", Some("900s")),
            flag("--history-max", Some("5")),
        ],
    );
    assert!(
        r.script
            .contains("--debug \\\n    --history-max 5 && break || {")
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn k3d_folded_args_get_a_new_line_per_flag() {
    let args = block_scalar(SAMPLE_WORKFLOW, "Create k3d cluster", "args");
    assert_eq!(
        args,
        "--agents 1\n--registry-create k3d-dev-registry:0.0.0.0:5111"
    );
    let edits = [flag("--k3s-arg", Some("--disable=metrics-server@server:0"))];
    let r = edit_folded_args(&args, &edits).unwrap();
    assert_eq!(
        r.script,
        "--agents 1\n--registry-create k3d-dev-registry:0.0.0.0:5111\n--k3s-arg --disable=metrics-server@server:0"
    );
    assert!(lint(&r.script, true).is_empty());
    assert!(!edit_folded_args(&r.script, &edits).unwrap().changed);
    // Setting the agents replaces a word; removing one takes its line.
    let r = edit_folded_args(
        &r.script,
        &[
            flag("--agents", Some("2")),
            remove("--registry-create", true),
        ],
    )
    .unwrap();
    insta::assert_snapshot!(r.script);
}

#[test]
fn folded_args_refuse_comments_and_values_that_need_quotes() {
    let e = edit_folded_args(SEED_FIX3_K3D_ARGS, &[flag("--agents", Some("2"))]).unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    let e = edit_folded_args("--agents 1", &[flag("--k3s-arg", Some("a b"))]).unwrap_err();
    assert!(e.message.contains("quoting"), "{e}");
}

#[test]
fn lint_catches_both_seed_bug_patterns() {
    let w = lint(SEED_FIX3_HELM, false);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].line, 7);
    assert_eq!(w[0].kind, WarningKind::CommentAfterContinuation);
    let w = lint(SEED_FIX3_K3D_ARGS, true);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].line, 3);
    assert_eq!(w[0].kind, WarningKind::CommentInFoldedArgs);
    // The sample workflow's own scripts are clean.
    for step in [
        "Build and push images",
        "Install PostgreSQL",
        "Helm upgrade (dev cluster)",
        "Smoke tests",
    ] {
        let s = block_scalar(SAMPLE_WORKFLOW, step, "run");
        assert!(lint(&s, false).is_empty(), "{step}");
    }
    let all: Vec<String> = lint(SEED_FIX3_HELM, false)
        .into_iter()
        .chain(lint(SEED_FIX3_K3D_ARGS, true))
        .map(|w| w.to_string())
        .collect();
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn lint_catches_comment_lines_and_trailing_blanks_in_continued_commands() {
    let w = lint(
        "helm upgrade web \\\n  # keep history\n  --atomic\nhelm upgrade web \\ \n  --wait\n",
        false,
    );
    let kinds: Vec<(usize, WarningKind)> = w.iter().map(|w| (w.line, w.kind)).collect();
    assert_eq!(
        kinds,
        [
            (2, WarningKind::CommentAfterContinuation),
            (4, WarningKind::BlankAfterBackslash)
        ]
    );
}

#[test]
fn unparsable_scripts_are_refused_with_their_line() {
    for (script, line) in [
        ("echo ok\nhelm upgrade web 'x\n", 2),
        ("if true; then\n  helm upgrade web\n", 3),
        ("helm upgrade web\necho )\n", 2),
    ] {
        let e = edit_commands(script, HELM, &[flag("--wait", None)]).unwrap_err();
        assert_eq!(e.line, Some(line), "{script:?}: {e}");
    }
}

#[test]
#[cfg_attr(
    not(has_shellcheck),
    ignore = "needs shellcheck (scripts/setup-test-tools.sh)"
)]
fn shellcheck_reports_the_findings_the_comparisons_count() {
    // The comparisons above are not vacuous: an unquoted and an unassigned variable count.
    let codes = shellcheck_codes("grep x $file\n");
    assert!(codes.contains_key("SC2086"), "{codes:?}");
    assert!(codes.contains_key("SC2154"), "{codes:?}");
    let clean = shellcheck_codes("file=a\ngrep x -- \"$file\"\n");
    assert!(clean.is_empty(), "{clean:?}");
}

#[test]
fn check_syntax_says_which_checker_ran() {
    match check_syntax("echo ok\n").unwrap() {
        SyntaxChecker::Bash => eprintln!("check_syntax: bash -n"),
        SyntaxChecker::Internal => eprintln!("check_syntax: internal (bash not found)"),
    }
    assert!(check_syntax("for x in a; do\n").is_err());
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn internal_checker_accepts_every_script_bash_accepts_here() {
    let mut scripts: Vec<String> = [
        "Build and push images",
        "Install PostgreSQL",
        "Helm upgrade (dev cluster)",
        "Smoke tests",
    ]
    .iter()
    .map(|s| block_scalar(SAMPLE_WORKFLOW, s, "run"))
    .collect();
    scripts.push(SEED_FIX3_HELM.to_string());
    scripts.push(
        r#"set -euo pipefail
arr=(a "b c") ; echo "${arr[@]}" "${#arr[@]}" "${x:-${y:-z}}"
case "$1" in
  a|b) echo ab ;;
  *) echo other ;;
esac
f() { local v; v=$(printf '%s' "$(date +%s)"); echo "$v"; }
[[ -n "$x" && "$x" =~ ^(a|b)$ ]] && f
while read -r line; do echo "$line"; done < <(ls)
echo $'tab\there' `echo old` $((1 + 2))
if ! grep -q x file 2>/dev/null; then :; elif true; then :; else :; fi
cat <<-EOF | tr a b
	indented $x
	EOF
"#
        .to_string(),
    );
    for s in &scripts {
        assert!(check_syntax(s).is_ok(), "{s}");
        check_syntax_internal(s).unwrap_or_else(|e| panic!("{e}\n{s}"));
    }
}

/// Writes `script` to a temp file and runs it with `bash -e` (GitHub's default shell).
/// The tests that call it are ignored without bash (build.rs probe).
fn run_bash(script: &str, dir: &std::path::Path) -> std::process::Output {
    require_bash();
    let path = dir.join("step.sh");
    std::fs::write(&path, script).expect("write script");
    Command::new("bash")
        .arg("-e")
        .arg(&path)
        .current_dir(dir)
        .output()
        .expect("run bash")
}

/// Second line of defence for the tests ignored without bash: a stale probe fails clearly.
fn require_bash() {
    assert_eq!(
        check_syntax("true").ok(),
        Some(SyntaxChecker::Bash),
        "build.rs found bash but check_syntax does not use it now (`touch build.rs` to re-probe)"
    );
}

#[test]
fn wrap_retry_is_marked_idempotent_and_keeps_the_script() {
    let script = block_scalar(SAMPLE_WORKFLOW, "Helm upgrade (dev cluster)", "run");
    let once = wrap_retry(&script, 3, 30).unwrap();
    assert!(once.starts_with("# patcher: retry 3x, 30s apart\n"));
    assert_eq!(wrap_retry(&once, 3, 30).unwrap(), once);
    for line in script.lines() {
        assert!(once.contains(&format!("    {line}\n")), "{line}");
    }
    assert!(lint(&once, false).is_empty());
    assert_no_new_shellcheck_findings(&script, &once);
    insta::assert_snapshot!(once);
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn wrapped_script_exits_1_after_3_failed_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let wrapped = wrap_retry(
        "echo try >> tries\nfalse\necho unreachable >> tries\n",
        3,
        0,
    )
    .unwrap();
    let out = run_bash(&wrapped, dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let tries = std::fs::read_to_string(dir.path().join("tries")).unwrap();
    // `set -e` still stops each attempt at `false`.
    assert_eq!(tries, "try\ntry\ntry\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("patcher: failed after 3 attempts (exit 1)"),
        "{stderr}"
    );
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn wrapped_script_stops_retrying_after_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let body = "echo try >> tries\n[ \"$(wc -l < tries)\" -ge 2 ]\necho done >> tries\n";
    let wrapped = wrap_retry(body, 5, 0).unwrap();
    let out = run_bash(&wrapped, dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let tries = std::fs::read_to_string(dir.path().join("tries")).unwrap();
    assert_eq!(tries, "try\ntry\ndone\n");
}

#[test]
#[cfg_attr(not(has_bash), ignore = "needs bash")]
fn wrapped_script_passes_the_last_exit_status_through() {
    let dir = tempfile::tempdir().unwrap();
    let wrapped = wrap_retry("exit 7\n", 2, 0).unwrap();
    let out = run_bash(&wrapped, dir.path());
    assert_eq!(out.status.code(), Some(7), "{out:?}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Strings made of the characters that matter to a shell, and words the editor looks for.
    fn shellish() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("helm".to_string()),
                Just(" upgrade".to_string()),
                Just(" --atomic".to_string()),
                Just(" --timeout 300s".to_string()),
                Just(" \\\n  ".to_string()),
                Just("<<EOF\n".to_string()),
                Just("EOF".to_string()),
                Just("\n".to_string()),
                Just("for i in 1; do ".to_string()),
                Just("; done".to_string()),
                "[ a-z\\-=\\\\'\"$(){}|&;<>#`\n\t]{1,6}",
            ],
            0..24,
        )
        .prop_map(|v| v.concat())
    }

    /// Like `shellish`, with whole compound commands among the pieces.
    fn structured() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                shellish(),
                Just("if a; then b; fi".to_string()),
                Just("case x in a) b;; esac".to_string()),
                Just("{ a; }".to_string()),
                Just("$(a)".to_string()),
                Just("${x:-y}".to_string()),
                Just("!".to_string()),
            ],
            0..4,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        #[cfg_attr(not(has_bash), ignore = "needs bash")]
        fn internal_checker_never_rejects_what_bash_accepts(s in structured()) {
            require_bash();
            if check_syntax(&s).is_ok() {
                prop_assert!(check_syntax_internal(&s).is_ok(), "bash accepts {:?}: {:?}", s, check_syntax_internal(&s));
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>(), folded in any::<bool>()) {
            let _ = edit_commands(&s, HELM, &[remove("--atomic", false), flag("--wait", None)]);
            let _ = edit_folded_args(&s, &[flag("--wait", None)]);
            let _ = lint(&s, folded);
            let _ = check_syntax_internal(&s);
            let _ = wrap_retry(&s, 2, 1);
        }

        #[test]
        fn shell_like_strings_never_panic_and_edits_are_idempotent(s in shellish(), folded in any::<bool>()) {
            let _ = lint(&s, folded);
            let edits = [
                remove("--atomic", false),
                flag("--wait", None),
                flag("--timeout", Some("600s")),
            ];
            // An edit keeps a valid script valid; a script bash rejects (`a()helm`) stays
            // rejected, and the planner's script check refuses it.
            let valid = check_syntax(&s).is_ok();
            if let Ok(r) = edit_commands(&s, HELM, &edits) {
                prop_assert!(!valid || check_syntax(&r.script).is_ok(), "{:?} -> {:?}", s, r.script);
                let again = edit_commands(&r.script, HELM, &edits);
                prop_assert!(matches!(&again, Ok(a) if !a.changed), "{:?} -> {:?}", r.script, again);
            }
            if let Ok(w) = wrap_retry(&s, 2, 1) {
                prop_assert!(!valid || check_syntax(&w).is_ok(), "{:?} -> {:?}", s, w);
                prop_assert_eq!(wrap_retry(&w, 2, 1).ok(), Some(w));
            }
        }
    }
}

/// Generated valid scripts, run with `helm` as a function that records its argv: the edited
/// script must pass exactly the expected argv, in every layout and context.
mod semantics {
    use super::*;
    use proptest::prelude::*;

    fn args() -> impl Strategy<Value = Vec<&'static str>> {
        let timeout = prop_oneof![
            Just(None),
            Just(Some("--timeout 300s")),
            Just(Some("--timeout=5m"))
        ];
        let others = prop::collection::vec(
            prop_oneof![
                Just("--atomic"),
                Just("--atomic=false"),
                Just("--wait"),
                Just("-f values.yaml"),
                Just("--set a=b"),
                Just("--set \"x=$HOME\""),
                Just("--description 'two words'"),
                Just("./chart"),
                Just("web"),
            ],
            0..6,
        );
        (timeout, others, any::<prop::sample::Index>()).prop_map(|(t, mut o, at)| {
            if let Some(t) = t {
                let i = at.index(o.len() + 1);
                o.insert(i, t);
            }
            o
        })
    }

    /// One `helm upgrade` invocation in some layout and context.
    fn command() -> impl Strategy<Value = String> {
        (
            args(),
            prop::collection::vec(any::<bool>(), 8),
            0..4usize,
            0..5usize,
            any::<bool>(),
        )
            .prop_map(|(args, breaks, suffix, context, comment)| {
                let mut cmd = "helm upgrade".to_string();
                for (a, br) in args.iter().zip(breaks.iter().cycle()) {
                    cmd.push_str(if *br { " \\\n      " } else { " " });
                    cmd.push_str(a);
                }
                cmd.push_str(["", " > /dev/null", " && echo ok >/dev/null", " || true"][suffix]);
                if comment {
                    cmd.push_str("  # note");
                }
                match context {
                    0 => cmd,
                    1 => format!("for i in 1 2; do\n  {cmd}\ndone"),
                    2 => format!("if true; then\n  {cmd}\nfi"),
                    3 => format!("HELM_X=1 {cmd}"),
                    _ => format!("{{\n  {cmd}\n}}"),
                }
            })
    }

    fn script() -> impl Strategy<Value = String> {
        (prop::collection::vec(command(), 1..4), any::<bool>()).prop_map(|(cmds, heredoc)| {
            let mut s = String::from("# deploy\n");
            if heredoc {
                s.push_str("cat > /dev/null <<'EOF'\nhelm upgrade web --atomic\nEOF\n");
            }
            s.push_str(&cmds.join("\n"));
            s.push('\n');
            s
        })
    }

    /// Each recorded invocation's argv.
    fn argvs(script: &str, dir: &std::path::Path) -> Vec<Vec<String>> {
        let log = dir.join("argv");
        let _ = std::fs::remove_file(&log);
        let prelude = format!(
            "helm() {{ printf '%s\\037' \"$@\" >> '{}'; echo >> '{}'; }}\n",
            log.display(),
            log.display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(prelude + script)
            .current_dir(dir)
            .output()
            .expect("run bash");
        assert!(out.status.success(), "{script}\n{out:?}");
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.split('\u{1f}')
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect()
            })
            .collect()
    }

    /// What remove-flag --atomic, flag --wait, flag --timeout 600s must do to an argv.
    fn expected(argv: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = argv.iter().peekable();
        let (mut wait, mut timeout) = (false, false);
        while let Some(a) = it.next() {
            if a == "--atomic" || a.starts_with("--atomic=") {
                continue;
            }
            wait |= a == "--wait";
            if a == "--timeout" {
                timeout = true;
                out.push(a.clone());
                it.next();
                out.push("600s".into());
                continue;
            }
            if a.starts_with("--timeout=") {
                timeout = true;
                out.push("--timeout=600s".into());
                continue;
            }
            out.push(a.clone());
        }
        if !wait {
            out.push("--wait".into());
        }
        if !timeout {
            out.extend(["--timeout".to_string(), "600s".to_string()]);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        #[cfg_attr(not(has_bash), ignore = "needs bash")]
        fn edited_scripts_pass_exactly_the_expected_arguments(s in script()) {
            require_bash();
            let edits = [
                remove("--atomic", false),
                flag("--wait", None),
                flag("--timeout", Some("600s")),
            ];
            let r = edit_commands(&s, HELM, &edits).map_err(|e| TestCaseError::fail(format!("{e}\n{s}")))?;
            let again = edit_commands(&r.script, HELM, &edits).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!again.changed, "not idempotent:\n{}", r.script);
            prop_assert!(r.script.contains("<<'EOF'\nhelm upgrade web --atomic\nEOF\n") == s.contains("<<'EOF'"));
            let dir = tempfile::tempdir().expect("tempdir");
            let before = argvs(&s, dir.path());
            let after = argvs(&r.script, dir.path());
            let want: Vec<Vec<String>> = before.iter().map(|a| expected(a)).collect();
            prop_assert_eq!(after, want, "\n--- before\n{}--- after\n{}", s, r.script);
        }
    }
}

#[test]
fn command_heads_are_the_leading_literal_words_edit_commands_matches() {
    let script = "FOO=1 helm upgrade app ./chart\nif x; then kubectl apply -f - <<EOF\nhelm install in-heredoc\nEOF\nfi\necho $(helm list) | \"$KUBECTL\" get pods\n";
    let heads = patcher::shell::command_heads(script, 2).expect("parses");
    assert_eq!(
        heads,
        vec![
            vec!["helm", "upgrade"],
            vec!["x"],
            vec!["kubectl", "apply"],
            vec!["echo"],
            vec![],
        ]
    );
    // Exactly what `edit_commands` counts as invocations.
    let r = edit_commands(script, &["helm", "upgrade"], &[]).expect("parses");
    assert_eq!(r.invocations, 1);
    assert_eq!(patcher::shell::command_heads("if true; then", 2), None);
}
