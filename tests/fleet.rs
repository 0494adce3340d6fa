//! `patcher fleet` end to end: local bare repositories (file paths and `file://` URLs on a
//! `GITHUB_SERVER_URL` of their own) and the GitHub API stand-in serving pull requests per
//! repository, recording when each request arrived.

mod git_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use git_support::fake_github::Options as GhOptions;
use git_support::{FakeGitHub, Fixture, RECIPE, Run, require_git};
use serde_json::Value;

const TOKEN: &str = "fleet-token";
const BRANCH: &str = "patcher/app-retries";
const AUTHOR: &str = "Fleet Bot <fleet@example.com>";

/// Bare repositories under `srv/acme/`, recipes in `fleet-recipes/`, the clones in `cache/`.
struct Fleet {
    f: Fixture,
}

impl Fleet {
    fn new() -> Fleet {
        let f = Fixture::new();
        let fleet = Fleet { f };
        std::fs::create_dir_all(fleet.path("fleet-recipes")).unwrap();
        std::fs::write(fleet.path("fleet-recipes/app.kdl"), RECIPE).unwrap();
        fleet
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.f.tmp.path().join(rel)
    }

    fn bare(&self, name: &str) -> PathBuf {
        self.path(&format!("srv/acme/{name}.git"))
    }

    /// `acme/<name>` with `config/app.yaml` (under `root/` when given) on `main`.
    fn add_repo(&self, name: &str, retries: u32, root: Option<&str>) {
        let src = self.path(&format!("src-{name}"));
        std::fs::create_dir_all(&src).unwrap();
        let g = |args: &[&str]| self.f.git(&src, args);
        g(&["init", "-q", "-b", "main"]);
        g(&["config", "user.name", "Repo Owner"]);
        g(&["config", "user.email", "owner@example.com"]);
        let rel = match root {
            Some(r) => format!("{r}/config/app.yaml"),
            None => "config/app.yaml".into(),
        };
        let file = src.join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, format!("name: {name}\nretries: {retries}\n")).unwrap();
        g(&["add", "."]);
        g(&["commit", "-q", "-m", "initial"]);
        let bare = self.bare(name);
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        self.f.git(
            bare.parent().unwrap(),
            &["init", "-q", "--bare", "-b", "main", &format!("{name}.git")],
        );
        g(&["push", "-q", &bare.display().to_string(), "main"]);
    }

    fn write_fleet(&self, repos: &[&str]) -> PathBuf {
        let mut text = String::from("fleet \"test-fleet\" {\n    recipes \"fleet-recipes/\"\n");
        for r in repos {
            text.push_str(&format!("    repo {r}\n"));
        }
        text.push_str("}\n");
        let p = self.path("fleet.kdl");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn env<'a>(&'a self, gh: &'a FakeGitHub, server: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("GITHUB_SERVER_URL", server),
            ("GITHUB_API_URL", gh.url.as_str()),
            ("GITHUB_TOKEN", TOKEN),
            ("PATCHER_FLEET_WRITE_INTERVAL_MS", "50"),
        ]
    }

    fn server(&self) -> String {
        format!("file://{}", self.path("srv").display())
    }

    /// `patcher fleet <args> fleet.kdl --cache cache` with the stand-in's environment, then
    /// `extra` (later entries win).
    fn run(&self, args: &[&str], gh: &FakeGitHub, extra: &[(&str, &str)]) -> Run {
        let server = self.server();
        let mut env = self.env(gh, &server);
        env.extend_from_slice(extra);
        let mut c = self.f.patcher_cmd(self.f.tmp.path(), &env);
        c.arg("fleet")
            .arg(args[0])
            .arg("fleet.kdl")
            .args(["--cache", "cache"])
            .args(&args[1..]);
        let out = c.output().expect("run patcher");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Where the patcher branch points in `acme/<name>`.
    fn tip(&self, name: &str) -> Option<String> {
        let (ok, out) = self.f.git_try(
            &self.bare(name),
            &[
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{BRANCH}"),
            ],
        );
        ok.then_some(out)
    }

    fn report(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(self.path(file)).expect("the report file");
        serde_json::from_str(&text).expect("report JSON")
    }
}

fn apply_args(report: &'static str, extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = vec![
        "apply", "--push", "--pr", "--author", AUTHOR, "--report", report,
    ];
    v.extend_from_slice(extra);
    v
}

/// `repo` → `result` of a report.
fn results(report: &Value) -> Vec<(String, String)> {
    report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["repo"].as_str().unwrap().to_string(),
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compile the fleet report schema")
}

fn assert_valid(report: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report does not validate:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// The stand-in serving every repository.
fn any() -> GhOptions {
    GhOptions {
        any_repository: true,
        ..GhOptions::default()
    }
}

/// Five repositories: four need the recipe (one with its files under `deploy/`), one holds.
fn five(t: &Fleet) {
    for n in ["api", "web", "billing"] {
        t.add_repo(n, 1, None);
    }
    t.add_repo("done", 3, None);
    t.add_repo("charts", 1, Some("deploy"));
    let local = t.bare("billing").display().to_string();
    t.write_fleet(&[
        "\"acme/api\"",
        "\"acme/web\" base=\"main\"",
        &format!("{local:?} github=\"acme/billing\""),
        "\"acme/done\"",
        "\"acme/charts\" root=\"deploy\"",
    ]);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn first_apply_opens_one_pr_where_needed_and_a_second_run_opens_none_and_moves_no_branch() {
    require_git("first_apply_opens_one_pr_where_needed");
    let t = Fleet::new();
    five(&t);
    let gh = FakeGitHub::start_with(TOKEN, any());

    let run = t.run(&apply_args("r1.json", &[]), &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let r1 = t.report("r1.json");
    assert_valid(&r1);
    let billing = t.bare("billing").display().to_string();
    assert_eq!(
        results(&r1),
        pairs(&[
            ("acme/api", "opened"),
            ("acme/web", "opened"),
            (billing.as_str(), "opened"),
            ("acme/done", "no-changes"),
            ("acme/charts", "opened"),
        ])
    );
    for n in ["api", "web", "billing", "charts"] {
        let prs = gh.prs_of(&format!("acme/{n}"));
        assert_eq!(prs.len(), 1, "acme/{n}: {prs:?}");
        assert_eq!(prs[0]["head"]["ref"], BRANCH);
        assert_eq!(prs[0]["base"]["ref"], "main");
    }
    assert!(gh.prs_of("acme/done").is_empty());
    assert_eq!(t.tip("done"), None, "no branch where the recipes hold");
    // The branch holds the edit, in the root the fleet file named.
    let charts_tip = t.tip("charts").unwrap();
    let shown = t.f.git(
        &t.bare("charts"),
        &["show", &format!("{charts_tip}:deploy/config/app.yaml")],
    );
    assert_eq!(shown, "name: charts\nretries: 3");
    let api = &r1["repositories"][0];
    assert_eq!(api["github"], "acme/api");
    assert_eq!(api["pr"]["number"], 1);
    assert_eq!(api["pr"]["url"], "https://github.example/acme/api/pull/1");
    assert_eq!(api["commit"].as_str(), t.tip("api").as_deref());

    let tips: Vec<Option<String>> = ["api", "web", "billing", "charts"]
        .iter()
        .map(|n| t.tip(n))
        .collect();
    gh.take_calls();
    let run = t.run(&apply_args("r2.json", &[]), &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let r2 = t.report("r2.json");
    assert_valid(&r2);
    assert_eq!(
        results(&r2),
        pairs(&[
            ("acme/api", "up-to-date"),
            ("acme/web", "up-to-date"),
            (billing.as_str(), "up-to-date"),
            ("acme/done", "no-changes"),
            ("acme/charts", "up-to-date"),
        ])
    );
    let after: Vec<Option<String>> = ["api", "web", "billing", "charts"]
        .iter()
        .map(|n| t.tip(n))
        .collect();
    assert_eq!(after, tips, "no branch moved");
    assert_eq!(gh.prs().len(), 4, "no pull request opened");
    let writes: Vec<String> = gh
        .requests()
        .iter()
        .filter(|r| r.mutating())
        .map(|r| r.call())
        .collect();
    assert!(writes.is_empty(), "a re-run writes nothing: {writes:?}");
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_persons_commit_on_the_patcher_branch_is_kept() {
    require_git("a_persons_commit_on_the_patcher_branch_is_kept");
    let t = Fleet::new();
    five(&t);
    let gh = FakeGitHub::start_with(TOKEN, any());
    let run = t.run(&apply_args("r1.json", &[]), &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());

    // A person adds a commit to acme/api's patcher branch.
    let person = t.path("person");
    let url = t.bare("api").display().to_string();
    t.f.git(
        t.f.tmp.path(),
        &["clone", "-q", "-b", BRANCH, &url, "person"],
    );
    t.f.git(&person, &["config", "user.name", "Human Person"]);
    t.f.git(&person, &["config", "user.email", "human@example.com"]);
    std::fs::write(person.join("NOTES.md"), "reviewed\n").unwrap();
    t.f.git(&person, &["add", "."]);
    t.f.git(&person, &["commit", "-q", "-m", "a note from a person"]);
    t.f.git(&person, &["push", "-q", "origin", BRANCH]);
    let theirs = t.f.git(&person, &["rev-parse", "HEAD"]);
    // ... and the base moves, which would make patcher rebuild a branch of its own.
    let src = t.path("src-api");
    std::fs::write(src.join("README.md"), "new on main\n").unwrap();
    t.f.git(&src, &["add", "."]);
    t.f.git(&src, &["commit", "-q", "-m", "main moves"]);
    t.f.git(&src, &["push", "-q", &url, "main"]);

    let run = t.run(&apply_args("r2.json", &[]), &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let tip = t.tip("api").unwrap();
    let (kept, _) = t.f.git_try(
        &t.bare("api"),
        &["merge-base", "--is-ancestor", &theirs, &tip],
    );
    assert!(
        kept,
        "the person's commit {theirs} is still on the branch ({tip})"
    );
    assert_eq!(gh.prs_of("acme/api").len(), 1, "still one pull request");
    assert_eq!(
        tip, theirs,
        "nothing added on top: the recipes hold on the person's tip"
    );
    // The moved base changes the pull request's diff stat: its body is refreshed.
    assert_eq!(results(&t.report("r2.json"))[0].1, "updated");
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn an_unreachable_and_a_forbidden_repository_are_reported_while_the_others_complete_and_resume_retries_them()
 {
    require_git("unreachable_and_forbidden");
    let t = Fleet::new();
    for n in ["api", "web", "billing", "locked"] {
        t.add_repo(n, 1, None);
    }
    t.write_fleet(&[
        "\"acme/api\"",
        "\"acme/gone\"",
        "\"acme/web\"",
        "\"acme/locked\"",
        "\"acme/billing\"",
    ]);
    let gh = FakeGitHub::start_with(
        TOKEN,
        GhOptions {
            any_repository: true,
            forbidden: vec!["acme/locked".into()],
            ..GhOptions::default()
        },
    );
    let run = t.run(
        &apply_args("r1.json", &[]),
        &gh,
        &[("PATCHER_HTTP_RETRY_DELAY_MS", "1")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let r1 = t.report("r1.json");
    assert_valid(&r1);
    assert_eq!(
        results(&r1),
        pairs(&[
            ("acme/api", "opened"),
            ("acme/gone", "failed"),
            ("acme/web", "opened"),
            ("acme/locked", "failed"),
            ("acme/billing", "opened"),
        ])
    );
    let gone = r1["repositories"][1]["errors"][0].as_str().unwrap();
    assert!(gone.contains("acme/gone.git"), "{gone}");
    let locked = r1["repositories"][3]["errors"][0].as_str().unwrap();
    assert!(
        locked.contains("403 Forbidden") && locked.contains("acme/locked"),
        "{locked}"
    );
    // Text output names both failures too.
    assert!(run.stdout.contains("acme/gone: failed"), "{}", run.stdout);
    assert!(
        run.stdout.contains("3 opened, 2 failed") || run.stdout.contains("2 failed, 3 opened"),
        "{}",
        run.stdout
    );

    // The missing repository appears; --resume redoes only the failed ones.
    t.add_repo("gone", 1, None);
    gh.take_calls();
    let resume = apply_args("r2.json", &["--resume"]);
    let run = t.run(&resume, &gh, &[("PATCHER_HTTP_RETRY_DELAY_MS", "1")]);
    assert_eq!(run.code, 1, "acme/locked still fails: {}", run.all());
    let r2 = t.report("r2.json");
    assert_valid(&r2);
    assert_eq!(
        results(&r2),
        pairs(&[
            ("acme/api", "opened"),
            ("acme/gone", "opened"),
            ("acme/web", "opened"),
            ("acme/locked", "failed"),
            ("acme/billing", "opened"),
        ])
    );
    let resumed: Vec<bool> = r2["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resumed"].as_bool().unwrap())
        .collect();
    assert_eq!(resumed, vec![true, false, true, false, true]);
    let touched: std::collections::BTreeSet<String> =
        gh.requests().iter().filter_map(|r| r.repo()).collect();
    assert_eq!(
        touched.into_iter().collect::<Vec<_>>(),
        vec!["acme/gone".to_string(), "acme/locked".to_string()]
    );
    assert_eq!(gh.prs_of("acme/gone").len(), 1);
}

/// The mutating requests' arrival times, in order.
fn write_times(gh: &FakeGitHub) -> Vec<(Instant, String, u16)> {
    let mut v: Vec<(Instant, String, u16)> = gh
        .requests()
        .iter()
        .filter(|r| r.mutating())
        .map(|r| (r.at, r.call(), 0))
        .collect();
    v.sort_by_key(|(at, _, _)| *at);
    v
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn mutating_calls_are_spaced_across_parallel_jobs_and_a_retry_after_is_honoured() {
    require_git("mutating_calls_are_spaced");
    let t = Fleet::new();
    let names = ["a1", "a2", "a3", "a4", "a5"];
    for n in names {
        t.add_repo(n, 1, None);
    }
    let lines: Vec<String> = names.iter().map(|n| format!("\"acme/{n}\"")).collect();
    t.write_fleet(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    let gh = FakeGitHub::start_with(
        TOKEN,
        GhOptions {
            any_repository: true,
            retry_after_once: Some(2),
            ..GhOptions::default()
        },
    );
    let interval = Duration::from_millis(300);
    let run_args = apply_args("r.json", &["--label", "fleet", "--jobs", "5"]);
    let run = t.run(
        &run_args,
        &gh,
        &[("PATCHER_FLEET_WRITE_INTERVAL_MS", "300")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    for n in names {
        assert_eq!(gh.prs_of(&format!("acme/{n}")).len(), 1, "acme/{n}");
    }
    // 5 × (open + label) + the one answered 429.
    let writes = write_times(&gh);
    assert_eq!(writes.len(), 11, "{writes:?}");
    for w in writes.windows(2) {
        let gap = w[1].0.duration_since(w[0].0);
        assert!(
            gap >= interval,
            "{} then {} only {gap:?} apart",
            w[0].1,
            w[1].1
        );
    }
    // The first write was answered 429 with Retry-After: 2; nothing was written before it
    // passed.
    let gap = writes[1].0.duration_since(writes[0].0);
    assert!(
        gap >= Duration::from_secs(2),
        "Retry-After: 2 not honoured: {gap:?}"
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn by_default_mutating_calls_are_a_full_second_apart() {
    require_git("by_default_mutating_calls_are_a_full_second_apart");
    let t = Fleet::new();
    for n in ["one", "two", "three"] {
        t.add_repo(n, 1, None);
    }
    t.write_fleet(&["\"acme/one\"", "\"acme/two\"", "\"acme/three\""]);
    let gh = FakeGitHub::start_with(TOKEN, any());
    let run_args = apply_args("r.json", &["--jobs", "3"]);
    // No interval override: the real default.
    let mut c = t.f.patcher_cmd(
        t.f.tmp.path(),
        &[
            ("GITHUB_SERVER_URL", t.server().as_str()),
            ("GITHUB_API_URL", gh.url.as_str()),
            ("GITHUB_TOKEN", TOKEN),
        ],
    );
    c.env_remove("PATCHER_FLEET_WRITE_INTERVAL_MS")
        .arg("fleet")
        .arg(run_args[0])
        .args(["fleet.kdl", "--cache", "cache"])
        .args(&run_args[1..]);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let writes = write_times(&gh);
    assert_eq!(writes.len(), 3, "{writes:?}");
    for w in writes.windows(2) {
        let gap = w[1].0.duration_since(w[0].0);
        assert!(gap >= Duration::from_secs(1), "{gap:?}");
    }
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn resume_after_a_killed_run_does_only_the_rest() {
    require_git("resume_after_a_killed_run_does_only_the_rest");
    let t = Fleet::new();
    let names = ["k1", "k2", "k3", "k4", "k5", "k6"];
    for n in names {
        t.add_repo(n, 1, None);
    }
    let lines: Vec<String> = names.iter().map(|n| format!("\"acme/{n}\"")).collect();
    t.write_fleet(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    let gh = FakeGitHub::start_with(TOKEN, any());
    // One repository at a time, writes 700 ms apart: slow enough to kill it halfway.
    let server = t.server();
    let mut env = t.env(&gh, &server);
    env.push(("PATCHER_FLEET_WRITE_INTERVAL_MS", "700"));
    let mut c = t.f.patcher_cmd(t.f.tmp.path(), &env);
    c.args([
        "fleet",
        "apply",
        "fleet.kdl",
        "--cache",
        "cache",
        "--jobs",
        "1",
    ])
    .args(["--push", "--pr", "--author", AUTHOR])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let state_file = t.path("cache/test-fleet.state.json");
    let done_in = |v: &Value| -> Vec<String> {
        v["repositories"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, e)| e["result"] == "opened")
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state: Value = std::fs::read_to_string(&state_file)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        if done_in(&state).len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the first run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let done = done_in(&state);
    assert!(done.len() < names.len(), "killed too late: {done:?}");

    gh.take_calls();
    let resume = apply_args("r.json", &["--resume"]);
    let run = t.run(&resume, &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let touched: std::collections::BTreeSet<String> =
        gh.requests().iter().filter_map(|r| r.repo()).collect();
    for d in &done {
        assert!(
            !touched.contains(d),
            "{d} was done before the kill but was visited again"
        );
    }
    for n in names {
        let repo = format!("acme/{n}");
        assert_eq!(
            gh.prs_of(&repo).len(),
            1,
            "{repo}: one pull request, no duplicate"
        );
        if !done.contains(&repo) {
            assert!(
                touched.contains(&repo),
                "{repo} was left for the resumed run"
            );
        }
    }
    let report = t.report("r.json");
    assert_valid(&report);
    for r in report["repositories"].as_array().unwrap() {
        let repo = r["repo"].as_str().unwrap().to_string();
        assert_eq!(r["resumed"].as_bool(), Some(done.contains(&repo)), "{repo}");
        assert!(r["pr"]["number"].is_u64(), "{repo}: {r}");
    }
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn the_hourly_cap_defers_the_rest_and_resume_opens_them_later() {
    require_git("the_hourly_cap_defers_the_rest");
    let t = Fleet::new();
    for n in ["c1", "c2", "c3"] {
        t.add_repo(n, 1, None);
    }
    t.write_fleet(&["\"acme/c1\"", "\"acme/c2\"", "\"acme/c3\""]);
    let gh = FakeGitHub::start_with(TOKEN, any());
    let capped = apply_args("r1.json", &["--jobs", "1", "--max-prs-per-hour", "2"]);
    let run = t.run(&capped, &gh, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let r1 = t.report("r1.json");
    assert_valid(&r1);
    assert_eq!(
        results(&r1),
        pairs(&[
            ("acme/c1", "opened"),
            ("acme/c2", "opened"),
            ("acme/c3", "deferred")
        ])
    );
    let why = r1["repositories"][2]["errors"][0].as_str().unwrap();
    assert!(why.contains("--max-prs-per-hour"), "{why}");
    assert!(gh.prs_of("acme/c3").is_empty());

    let resume = apply_args("r2.json", &["--resume"]);
    let run = t.run(&resume, &gh, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(results(&t.report("r2.json"))[2].1, "opened");
    assert_eq!(gh.prs_of("acme/c3").len(), 1);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn fleet_plan_and_check_exit_2_where_recipes_do_not_hold_and_write_nothing() {
    require_git("fleet_plan_and_check");
    let t = Fleet::new();
    t.add_repo("api", 1, None);
    t.add_repo("done", 3, None);
    t.write_fleet(&["\"acme/api\"", "\"acme/done\""]);
    let gh = FakeGitHub::start_with(TOKEN, any());
    let run = t.run(&["plan", "--report", "p.json"], &gh, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout.contains("=== acme/api ===") && run.stdout.contains("+retries: 3"),
        "{}",
        run.stdout
    );
    let p = t.report("p.json");
    assert_valid(&p);
    assert_eq!(
        results(&p),
        pairs(&[("acme/api", "changes"), ("acme/done", "no-changes")])
    );
    let run = t.run(&["check", "--format", "json"], &gh, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    let c: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid(&c);
    assert_eq!(
        results(&c),
        pairs(&[("acme/api", "drift"), ("acme/done", "no-changes")])
    );
    let run = t.run(&["check", "--format", "markdown"], &gh, &[]);
    assert!(
        run.stdout.contains("| acme/api | — | drift |"),
        "{}",
        run.stdout
    );
    assert_eq!(t.tip("api"), None);
    assert!(
        gh.requests().is_empty(),
        "plan and check never call the API"
    );
}

#[test]
fn fleet_list_prints_valid_matrices_of_at_most_256_legs() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("fleet \"big\" {\n    recipes \"r/\"\n");
    for i in 0..600 {
        text.push_str(&format!(
            "    repo \"acme/r{i}\" base=\"main\" root=\"deploy\"\n"
        ));
    }
    text.push_str("    repo \"https://git.example.com/acme/billing.git\"\n}\n");
    std::fs::write(dir.path().join("fleet.kdl"), text).unwrap();
    let list = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_patcher"))
            .current_dir(dir.path())
            .args(["fleet", "list", "fleet.kdl", "--format", "json"])
            .args(extra)
            .env_remove("GITHUB_SERVER_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = list(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    let matrices: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sizes: Vec<usize> = matrices
        .iter()
        .map(|m| m["include"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![256, 256, 89]);
    let first = &matrices[0]["include"][0];
    assert_eq!(
        first,
        &serde_json::json!({"repo": "acme/r0", "github": "acme/r0", "url": "https://github.com/acme/r0.git", "base": "main", "root": "deploy"})
    );
    let last = &matrices[2]["include"][88];
    assert_eq!(last["github"], "acme/billing");
    assert_eq!(
        (last["base"].as_str(), last["root"].as_str()),
        (Some(""), Some("."))
    );
    // Every leg has exactly the keys a workflow reads.
    for m in &matrices {
        assert_eq!(m.as_object().unwrap().len(), 1);
        for leg in m["include"].as_array().unwrap() {
            let keys: Vec<&String> = leg.as_object().unwrap().keys().collect();
            assert_eq!(keys, vec!["repo", "github", "url", "base", "root"]);
        }
    }

    let (code, stdout, _) = list(&["--chunk", "2"]);
    assert_eq!(code, Some(0));
    let one: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(one, matrices[2]);
    let (code, _, stderr) = list(&["--chunk", "3"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--chunk 3: the fleet has 3 chunk(s)"),
        "{stderr}"
    );
    let (code, _, stderr) = list(&["--chunk-size", "300"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("1 to 256 jobs per matrix"), "{stderr}");
    let (_, stdout, _) = list(&["--chunk-size", "100"]);
    assert_eq!(stdout.lines().count(), 7);
}

#[test]
fn a_bad_fleet_file_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.kdl"),
        "fleet \"f\" {\n    recipes \"r/\"\n    repo \"acme/a\" bse=\"main\"\n}\n",
    )
    .unwrap();
    for sub in ["list", "plan", "apply"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_patcher"))
            .current_dir(dir.path())
            .args(["fleet", sub, "fleet.kdl"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sub}: {stderr}");
        assert!(
            stderr.contains("fleet.kdl:3: unknown property `bse`"),
            "{sub}: {stderr}"
        );
        assert!(stderr.contains("did you mean `base`?"), "{sub}: {stderr}");
    }
    assert!(
        !dir.path().join(".patcher-fleet-cache").exists(),
        "nothing written"
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn one_leg_per_repository_with_repo_and_the_legs_reports_merged_by_summary() {
    require_git("one_leg_per_repository");
    let t = Fleet::new();
    t.add_repo("api", 1, None);
    t.add_repo("web", 1, None);
    t.add_repo("done", 3, None);
    t.write_fleet(&["\"acme/api\"", "\"acme/web\"", "\"acme/done\""]);
    let gh = FakeGitHub::start_with(TOKEN, any());
    // Two legs, as two matrix jobs would run them.
    for (repo, report) in [("acme/api", "leg0.json"), ("acme/done", "leg1.json")] {
        let run = t.run(&apply_args(report, &["--repo", repo]), &gh, &[]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert_eq!(results(&t.report(report)).len(), 1);
    }
    assert!(
        gh.prs_of("acme/web").is_empty(),
        "a leg touches its repository only"
    );
    assert_eq!(gh.prs_of("acme/api").len(), 1);

    let summary = |format: &str| {
        let mut c = t.f.patcher_cmd(t.f.tmp.path(), &[]);
        c.args([
            "fleet",
            "summary",
            "leg0.json",
            "leg1.json",
            "--format",
            format,
        ]);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, json) = summary("json");
    assert_eq!(code, Some(0));
    let merged: Value = serde_json::from_str(&json).unwrap();
    assert_valid(&merged);
    assert_eq!(
        results(&merged),
        pairs(&[("acme/api", "opened"), ("acme/done", "no-changes")])
    );
    assert_eq!(
        merged["summary"],
        serde_json::json!({"opened": 1, "no-changes": 1})
    );
    let (_, md) = summary("markdown");
    assert!(
        md.contains("| acme/api | [#1](https://github.example/acme/api/pull/1) | opened |"),
        "{md}"
    );

    let run = t.run(&["plan", "--repo", "acme/nope"], &gh, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "--repo acme/nope: not in fleet.kdl; its repos: acme/api, acme/web, acme/done"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn the_readme_fleet_example_is_a_valid_fleet_file() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("```kdl title=\"fleet.kdl\"\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the README's Fleet section has its fleet.kdl");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleet.kdl"), block).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_patcher"))
        .current_dir(dir.path())
        .args([
            "fleet",
            "list",
            "fleet.kdl",
            "--format",
            "json",
            "--chunk",
            "0",
        ])
        .env_remove("GITHUB_SERVER_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let github: Vec<&str> = m["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["github"].as_str().unwrap())
        .collect();
    assert_eq!(
        github,
        vec!["acme/api", "acme/web", "acme/billing", "acme/cart"]
    );
}
