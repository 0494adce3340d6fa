//! `patcher apply` in branch mode, end to end: real git repositories in temp dirs with a bare
//! `origin`, and a real HTTP server on 127.0.0.1 standing in for the GitHub API (it records
//! every request, so the tests assert the exact calls). Without the `git` command (the fixtures
//! use it) every test is ignored with the reason `needs git` (see build.rs).

mod git_support;

use git_support::{FakeGitHub, Fixture, RECIPE, require_git, snapshot};

const TOKEN: &str = "ghp_goodtoken0123456789abcdef";
const BRANCH: &str = "patcher/app-retries";

/// The message of a commit.
fn message(f: &Fixture, rev: &str) -> String {
    f.git(&f.work(), &["log", "-1", "--format=%B", rev])
}

fn commits_between(f: &Fixture, dir: &std::path::Path, from: &str, to: &str) -> Vec<String> {
    let out = f.git(dir, &["rev-list", "--reverse", &format!("{from}..{to}")]);
    out.lines().map(str::to_string).collect()
}

fn show_file(f: &Fixture, rev: &str, path: &str) -> String {
    f.git(&f.work(), &["show", &format!("{rev}:{path}")])
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn first_run_makes_one_commit_on_the_patcher_branch_pushes_it_and_opens_one_pr() {
    require_git("first_run");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    let main = f.rev("main");
    let run = f.patcher(
        &["apply", "--push", "--pr", "--label", "patcher"],
        &gh.env(TOKEN),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    // The diff is printed.
    assert!(
        run.stdout.contains("-retries: 1 # too few"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+retries: 3 # too few"),
        "{}",
        run.stdout
    );

    // One commit, on the base, on the branch, locally and on origin.
    let tip = f.rev(BRANCH);
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(tip.as_str()));
    assert_eq!(
        commits_between(&f, &f.work(), "main", BRANCH),
        vec![tip.clone()]
    );
    assert_eq!(f.rev(&format!("{BRANCH}^")), main);
    assert_eq!(
        show_file(&f, BRANCH, "config/app.yaml"),
        "# app settings\nname: demo\nretries: 3 # too few\ntimeout: 30"
    );
    // Only the edited file differs from the base.
    assert_eq!(
        f.git(&f.work(), &["diff", "--name-only", "main", BRANCH]),
        "config/app.yaml"
    );
    let msg = message(&f, BRANCH);
    assert!(msg.starts_with("patcher: app-retries\n"), "{msg}");
    assert!(
        msg.contains("The app gave up after one failed call"),
        "{msg}"
    );
    assert!(msg.contains("changed: config/app.yaml"), "{msg}");
    assert!(
        msg.trim_end().ends_with("Patcher-Recipes: app-retries"),
        "{msg}"
    );
    let author = f.git(
        &f.work(),
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH],
    );
    assert_eq!(
        author,
        "Pat Cher <pat@example.com>|Pat Cher <pat@example.com>"
    );

    // The current branch and HEAD are untouched.
    assert_eq!(
        f.git(&f.work(), &["symbolic-ref", "HEAD"]),
        "refs/heads/main"
    );
    assert_eq!(f.rev("HEAD"), main);

    // Exactly: look for the PR, open it, label it.
    assert_eq!(
        gh.take_calls(),
        vec![
            "GET /repos/acme/demo/pulls",
            "POST /repos/acme/demo/pulls",
            "POST /repos/acme/demo/issues/1/labels",
        ]
    );
    let prs = gh.prs();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0]["title"], "patcher: app-retries");
    assert_eq!(prs[0]["base"]["ref"], "main");
    assert_eq!(prs[0]["head"]["ref"], BRANCH);
    let body = prs[0]["body"].as_str().unwrap_or("");
    assert!(body.contains("**app-retries**: The app gave up"), "{body}");
    assert!(
        body.contains("| `config/app.yaml` | app-retries | 1 |"),
        "{body}"
    );
    assert!(
        body.contains("1 file changed, 1 insertion(+), 1 deletion(-)"),
        "{body}"
    );
    assert!(
        run.stderr.contains("opened pull request #1"),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn rerun_with_nothing_changed_is_up_to_date_and_only_looks() {
    require_git("rerun_no_change");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    let first = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(first.code, 0, "{}", first.all());
    let tip = f.rev(BRANCH);
    gh.take_calls();
    let before = snapshot(&f.origin());

    let again = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again.stderr.contains("already up to date"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("pull request #1 is up to date"),
        "{}",
        again.stderr
    );
    assert_eq!(f.rev(BRANCH), tip);
    assert_eq!(
        snapshot(&f.origin()),
        before,
        "origin must not change at all"
    );
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
    assert_eq!(gh.prs().len(), 1);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn rerun_after_the_base_moved_rebuilds_patchers_commit_on_the_new_base() {
    require_git("rerun_base_moved");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    assert_eq!(
        f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN)).code,
        0
    );
    let old_tip = f.rev(BRANCH);
    gh.take_calls();

    f.write("README.md", "demo, now with docs\n");
    f.commit_and_push_main("docs");
    let new_main = f.rev("main");

    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("rebuilding it"), "{}", run.stderr);
    let tip = f.rev(BRANCH);
    assert_ne!(tip, old_tip);
    assert_eq!(
        f.rev(&format!("{BRANCH}^")),
        new_main,
        "rebuilt on the new base"
    );
    assert_eq!(commits_between(&f, &f.work(), "main", BRANCH).len(), 1);
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(tip.as_str()));
    assert_eq!(show_file(&f, BRANCH, "README.md"), "demo, now with docs");
    // Same recipes, same diff stat: the PR needs no update.
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
    assert_eq!(gh.prs().len(), 1);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn rerun_after_the_recipes_changed_replaces_the_commit_and_updates_the_one_pr() {
    require_git("rerun_recipes_changed");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    assert_eq!(
        f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN)).code,
        0
    );
    let old_tip = f.rev(BRANCH);
    gh.take_calls();

    // An uncommitted recipe edit: recipes are read from the working tree.
    f.write(
        "recipes/app.kdl",
        &RECIPE
            .replace("set \"/retries\" 3", "set \"/retries\" 5")
            .replace("retry three times", "retry five times"),
    );
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains("uncommitted recipe edits are used: recipes/app.kdl"),
        "{}",
        run.stderr
    );
    let tip = f.rev(BRANCH);
    assert_ne!(tip, old_tip);
    assert_eq!(f.rev(&format!("{BRANCH}^")), f.rev("main"));
    assert!(show_file(&f, BRANCH, "config/app.yaml").contains("retries: 5"));
    assert!(message(&f, BRANCH).contains("retry five times"));
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(tip.as_str()));
    assert_eq!(
        gh.take_calls(),
        vec![
            "GET /repos/acme/demo/pulls",
            "PATCH /repos/acme/demo/pulls/1"
        ]
    );
    let prs = gh.prs();
    assert_eq!(prs.len(), 1, "never a second pull request");
    assert!(
        prs[0]["body"]
            .as_str()
            .unwrap_or("")
            .contains("retry five times")
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn exact_api_calls_are_one_create_then_updates_only_when_something_changed() {
    require_git("exact_api_calls");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    let env = gh.env(TOKEN);
    let args = ["apply", "--push", "--pr", "--label", "patcher"];
    assert_eq!(f.patcher(&args, &env).code, 0);
    assert_eq!(f.patcher(&args, &env).code, 0);
    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("retry three times", "retry, three times"),
    );
    assert_eq!(f.patcher(&args, &env).code, 0);
    // A label a person removed is added back; a label they added stays.
    assert_eq!(
        f.patcher(&[&args[..], &["--label", "ci"]].concat(), &env)
            .code,
        0
    );
    assert_eq!(
        gh.take_calls(),
        vec![
            // first run: look, open, label
            "GET /repos/acme/demo/pulls",
            "POST /repos/acme/demo/pulls",
            "POST /repos/acme/demo/issues/1/labels",
            // second run: look only
            "GET /repos/acme/demo/pulls",
            // recipe description changed: the body is updated
            "GET /repos/acme/demo/pulls",
            "PATCH /repos/acme/demo/pulls/1",
            // a new label: added
            "GET /repos/acme/demo/pulls",
            "POST /repos/acme/demo/issues/1/labels",
        ]
    );
    let prs = gh.prs();
    assert_eq!(prs.len(), 1);
    let labels: Vec<&str> = prs[0]["labels"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(labels, vec!["patcher", "ci"]);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_closed_pr_is_not_reopened_or_duplicated() {
    require_git("closed_pr");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    assert_eq!(
        f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN)).code,
        0
    );
    gh.close_pr(1);
    gh.take_calls();
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("closed without merging"),
        "{}",
        run.stderr
    );
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
    assert_eq!(gh.prs().len(), 1);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_human_commit_on_the_branch_is_never_rewritten() {
    require_git("human_commit");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    assert_eq!(
        f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN)).code,
        0
    );
    let patchers = f.rev(BRANCH);

    // A person adds a commit to the PR branch and pushes it.
    let other = f.clone_origin("other");
    f.git(&other, &["checkout", "-q", BRANCH]);
    std::fs::write(other.join("NOTES.md"), "reviewed\n").expect("write");
    f.git(&other, &["add", "NOTES.md"]);
    f.git(&other, &["commit", "-q", "-m", "Add review notes"]);
    f.git(&other, &["push", "-q", "origin", BRANCH]);
    let human = f.git(&other, &["rev-parse", "HEAD"]);

    // Nothing left to do: their commit stays, named in the output.
    let run = f.patcher(&["apply", "--push"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("Add review notes"), "{}", run.stderr);
    assert!(run.stderr.contains("Human Person"), "{}", run.stderr);
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(human.as_str()));

    // The recipes change: a new commit on top of theirs, a fast-forward.
    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("set \"/retries\" 3", "set \"/retries\" 4"),
    );
    let run = f.patcher(&["apply", "--push"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("adding a commit on top"),
        "{}",
        run.stderr
    );
    let tip = f.origin_rev(BRANCH).unwrap_or_default();
    let history = commits_between(&f, &f.origin(), "main", &tip);
    assert_eq!(history, vec![patchers, human.clone(), tip.clone()]);
    assert_eq!(f.rev(BRANCH), tip);
    assert!(show_file(&f, BRANCH, "config/app.yaml").contains("retries: 4"));
    assert_eq!(show_file(&f, BRANCH, "NOTES.md"), "reviewed");

    // The base moves: still not rebased over their commit.
    f.write("README.md", "moved\n");
    f.git(&f.work(), &["checkout", "-q", "--", "recipes/app.kdl"]);
    f.commit_and_push_main("move base");
    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("set \"/retries\" 3", "set \"/retries\" 4"),
    );
    let run = f.patcher(&["apply", "--push"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("not rebuilt on HEAD"), "{}", run.stderr);
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(tip.as_str()));
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_human_commit_the_recipes_cannot_build_on_stops_the_run_naming_it() {
    require_git("human_commit_breaks");
    let f = Fixture::new();
    assert_eq!(f.patcher(&["apply", "--push"], &[]).code, 0);
    let other = f.clone_origin("other");
    f.git(&other, &["checkout", "-q", BRANCH]);
    std::fs::write(other.join("config/app.yaml"), "retries: [unclosed\n").expect("write");
    f.git(&other, &["commit", "-q", "-am", "Rework app config"]);
    f.git(&other, &["push", "-q", "origin", BRANCH]);
    let human = f.git(&other, &["rev-parse", "HEAD"]);

    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("set \"/retries\" 3", "set \"/retries\" 4"),
    );
    let run = f.patcher(&["apply", "--push"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Rework app config"), "{}", run.stderr);
    assert!(run.stderr.contains(&human[..10]), "{}", run.stderr);
    assert!(run.stderr.contains("does not rewrite it"), "{}", run.stderr);
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(human.as_str()));
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_concurrent_push_is_rejected_by_the_lease_and_nothing_is_overwritten() {
    require_git("concurrent_push");
    let f = Fixture::new();
    // patcher reads the branch state through a mirror that lags behind origin (fetch url), and
    // pushes to origin (push url) — exactly the window in which someone else pushes.
    let mirror = f.tmp.path().join("mirror.git");
    let origin = f.origin().display().to_string();
    f.git(
        f.tmp.path(),
        &["clone", "-q", "--mirror", &origin, "mirror.git"],
    );
    let other = f.clone_origin("other");
    f.git(&other, &["checkout", "-q", "-b", BRANCH]);
    std::fs::write(other.join("THEIRS.md"), "theirs\n").expect("write");
    f.git(&other, &["add", "THEIRS.md"]);
    f.git(&other, &["commit", "-q", "-m", "Their work"]);
    f.git(&other, &["push", "-q", "origin", BRANCH]);
    let theirs = f.git(&other, &["rev-parse", "HEAD"]);

    f.git(
        &f.work(),
        &["remote", "set-url", "origin", &mirror.display().to_string()],
    );
    f.git(
        &f.work(),
        &["remote", "set-url", "--push", "origin", &origin],
    );
    let run = f.patcher(&["apply", "--push"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("someone else pushed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing was overwritten"),
        "{}",
        run.stderr
    );
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(theirs.as_str()));
    // The local branch was not moved either.
    assert!(
        !f.git_try(&f.work(), &["rev-parse", "--verify", "-q", BRANCH])
            .0
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn the_lease_is_checked_against_the_remote_at_push_time() {
    require_git("lease_library");
    let f = Fixture::new();
    assert_eq!(f.patcher(&["apply", "--push"], &[]).code, 0);
    let seen = f.origin_rev(BRANCH).unwrap_or_default();
    // Someone pushes after patcher read the remote tip...
    let other = f.clone_origin("other");
    f.git(&other, &["checkout", "-q", BRANCH]);
    std::fs::write(other.join("X.md"), "x\n").expect("write");
    f.git(&other, &["add", "X.md"]);
    f.git(&other, &["commit", "-q", "-m", "x"]);
    f.git(&other, &["push", "-q", "origin", BRANCH]);
    let theirs = f.git(&other, &["rev-parse", "HEAD"]);
    // ...then patcher force-pushes a rebuilt commit, expecting the tip it saw.
    let repo = git2::Repository::open(f.work()).expect("open");
    let main = repo.revparse_single("main").expect("main").id();
    let seen_id = git2::Oid::from_str(&seen).expect("oid");
    let err = patcher::git::push_with_lease(&repo, "origin", BRANCH, main, Some(seen_id), true)
        .expect_err("the lease must fail");
    assert!(
        matches!(err, patcher::git::PushError::LeaseRejected { .. }),
        "{err:?}"
    );
    assert_eq!(f.origin_rev(BRANCH).as_deref(), Some(theirs.as_str()));
    // With the right expectation the same push goes through.
    let theirs_id = git2::Oid::from_str(&theirs).expect("oid");
    patcher::git::push_with_lease(&repo, "origin", BRANCH, main, Some(theirs_id), true)
        .expect("push with a current lease");
    assert_eq!(f.origin_rev(BRANCH), Some(main.to_string()));
    // patcher's scratch ref is gone; no branch was deleted.
    assert!(
        repo.find_reference(&format!("refs/patcher/push/{BRANCH}"))
            .is_err()
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_dirty_working_tree_is_left_byte_for_byte_as_it_was() {
    require_git("dirty_tree");
    let f = Fixture::new();
    // Unstaged edit of the very file the recipe changes, a staged edit, an untracked file.
    f.write(
        "config/app.yaml",
        &format!("{}extra: local\n", git_support::APP_YAML),
    );
    f.write("README.md", "staged edit\n");
    f.git(&f.work(), &["add", "README.md"]);
    f.write("scratch.txt", "untracked\n");
    let status_before = f.git(&f.work(), &["status", "--porcelain"]);
    let bytes_before = snapshot(&f.work());
    let head_before = f.git(&f.work(), &["symbolic-ref", "HEAD"]);

    let run = f.patcher(&["apply"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("uncommitted changes"), "{}", run.stderr);
    assert!(run.stderr.contains("not included"), "{}", run.stderr);

    let mut bytes_after = snapshot(&f.work());
    // Only what a branch creation writes may differ: the new ref, its reflog, and objects.
    bytes_after.retain(|k, _| {
        !k.starts_with(".git/objects/")
            && !k.starts_with(&format!(".git/refs/heads/{BRANCH}"))
            && !k.starts_with(&format!(".git/logs/refs/heads/{BRANCH}"))
    });
    let mut expected = bytes_before.clone();
    expected.retain(|k, _| !k.starts_with(".git/objects/"));
    assert_eq!(
        bytes_after, expected,
        "work tree, index, HEAD must be byte-identical"
    );
    assert_eq!(f.git(&f.work(), &["status", "--porcelain"]), status_before);
    assert_eq!(f.git(&f.work(), &["symbolic-ref", "HEAD"]), head_before);
    // The commit is built from HEAD, not from the uncommitted edits.
    assert_eq!(
        show_file(&f, BRANCH, "config/app.yaml"),
        "# app settings\nname: demo\nretries: 3 # too few\ntimeout: 30"
    );
    assert_eq!(show_file(&f, BRANCH, "README.md"), "demo");
    assert!(
        !f.git_try(
            &f.work(),
            &["cat-file", "-e", &format!("{BRANCH}:scratch.txt")]
        )
        .0
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_stale_saved_plan_is_refused_naming_the_file() {
    require_git("stale_plan");
    let f = Fixture::new();
    let plan = f.tmp.path().join("plan.json");
    let plan_s = plan.display().to_string();
    let saved = f.patcher(&["plan", "--out", &plan_s], &[]);
    assert_eq!(saved.code, 2, "{}", saved.all());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("json");
    assert_eq!(json["format"], "patcher-plan/1");
    assert_eq!(json["files"][0]["path"], "config/app.yaml");
    assert_eq!(
        json["files"][0]["documents"][0]["patch"][0]["op"],
        "replace"
    );
    assert!(
        json["recipes"]["sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );

    // Someone changes the file and commits it: both modes refuse, naming it.
    f.write(
        "config/app.yaml",
        &git_support::APP_YAML.replace("timeout: 30", "timeout: 45"),
    );
    f.commit_and_push_main("longer timeout");
    let run = f.patcher(&["apply", &plan_s], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("config/app.yaml changed since the plan was saved"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&plan_s), "{}", run.stderr);
    assert!(
        !f.git_try(&f.work(), &["rev-parse", "--verify", "-q", BRANCH])
            .0,
        "no branch"
    );
    let before = f.read("config/app.yaml");
    let run = f.patcher(&["apply", &plan_s, "--in-place"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("config/app.yaml changed since the plan was saved"),
        "{}",
        run.stderr
    );
    assert_eq!(f.read("config/app.yaml"), before);

    // A fresh plan applies, in either mode; then a recipe edit makes it stale too.
    assert_eq!(f.patcher(&["plan", "--out", &plan_s], &[]).code, 2);
    let run = f.patcher(&["apply", &plan_s], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(show_file(&f, BRANCH, "config/app.yaml").contains("retries: 3"));
    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("set \"/retries\" 3", "set \"/retries\" 7"),
    );
    let run = f.patcher(&["apply", &plan_s, "--in-place"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("recipe file recipes/app.kdl changed"),
        "{}",
        run.stderr
    );
    f.write("recipes/app.kdl", RECIPE);
    let run = f.patcher(&["apply", &plan_s, "--in-place"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(f.read("config/app.yaml").contains("retries: 3"));
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_bad_token_gets_a_clear_401_and_is_never_printed() {
    require_git("bad_token");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    let bad = "ghp_WRONGwrongWRONG0123456789";
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(bad));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(run.stderr.contains("rejected the token"), "{}", run.stderr);
    assert!(run.stderr.contains("GITHUB_TOKEN"), "{}", run.stderr);
    assert!(!run.all().contains(bad), "the token leaked:\n{}", run.all());
    assert!(
        !run.all().contains("WRONGwrong"),
        "part of the token leaked"
    );
    // The token went only into the Authorization header of one request, not retried: a 401
    // will not get better.
    let reqs = gh.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].authorization, Some(format!("Bearer {bad}")));
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
    // The token went only into the Authorization header, never into the repository config.
    let config = std::fs::read_to_string(f.work().join(".git/config")).expect("config");
    assert!(!config.contains(bad));
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn api_500_is_retried_a_bounded_number_of_times_then_reported() {
    require_git("api_500");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    gh.fail_next(500, usize::MAX);
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("500 Internal Server Error"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("gave up after 3 attempts"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the branch itself is pushed"),
        "{}",
        run.stderr
    );
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"; 3]);
    assert!(f.origin_rev(BRANCH).is_some());

    // Two failures, then the API recovers: the retries carry the run through.
    gh.fail_next(502, 2);
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        gh.take_calls(),
        vec![
            "GET /repos/acme/demo/pulls",
            "GET /repos/acme/demo/pulls",
            "GET /repos/acme/demo/pulls",
            "POST /repos/acme/demo/pulls",
        ]
    );
    assert_eq!(gh.prs().len(), 1);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_secondary_rate_limit_is_waited_out_and_a_404_is_explained() {
    require_git("rate_limit_404");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    gh.fail_next(403, 1);
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        gh.take_calls(),
        vec![
            "GET /repos/acme/demo/pulls",
            "GET /repos/acme/demo/pulls",
            "POST /repos/acme/demo/pulls",
        ]
    );
    // A repository the API does not know (or the token cannot see).
    let mut env = gh.env(TOKEN);
    env.push(("GITHUB_REPOSITORY", "acme/nope"));
    let run = f.patcher(&["apply", "--push", "--pr"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("404 Not Found"), "{}", run.stderr);
    assert!(
        run.stderr.contains("repository acme/nope does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/nope/pulls"]);
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn nothing_to_do_creates_no_branch_and_no_pr() {
    require_git("nothing_to_do");
    let f = Fixture::new();
    f.write(
        "config/app.yaml",
        &git_support::APP_YAML.replace("retries: 1", "retries: 3"),
    );
    f.commit_and_push_main("already fixed");
    let gh = FakeGitHub::start(TOKEN);
    let run = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("nothing to do"), "{}", run.stderr);
    assert!(
        !f.git_try(&f.work(), &["rev-parse", "--verify", "-q", BRANCH])
            .0
    );
    assert_eq!(f.origin_rev(BRANCH), None);
    assert!(gh.take_calls().is_empty());
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn dry_run_says_what_it_would_do_and_writes_nothing() {
    require_git("dry_run");
    let f = Fixture::new();
    let gh = FakeGitHub::start(TOKEN);
    let before = snapshot(&f.work());
    let origin_before = snapshot(&f.origin());
    let run = f.patcher(&["apply", "--push", "--pr", "--dry-run"], &gh.env(TOKEN));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains(&format!("would push {BRANCH} to origin: (new branch)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("would set branch {BRANCH}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("would open a pull request"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&f.work()), before, "not even an object is written");
    assert_eq!(snapshot(&f.origin()), origin_before);
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
    assert!(gh.prs().is_empty());
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn unsafe_starting_points_are_refused() {
    require_git("refusals");
    let f = Fixture::new();
    // usage errors are errors (exit 1, never plan's 2)
    let run = f.patcher(&["apply", "--pr"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("--push"), "{}", run.stderr);
    let run = f.patcher(&["apply", "--in-place", "--push"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    // --base that does not resolve
    let run = f.patcher(&["apply", "--base", "no-such-rev"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("--base no-such-rev does not resolve"),
        "{}",
        run.stderr
    );
    // an invalid branch name
    let run = f.patcher(&["apply", "--branch", "bad..name"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not a valid branch name"),
        "{}",
        run.stderr
    );
    // the checked-out branch
    let run = f.patcher(&["apply", "--branch", "main"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is checked out"), "{}", run.stderr);
    assert_eq!(f.rev("main"), f.rev("origin/main"));
    // no identity anywhere
    f.git(&f.work(), &["config", "--unset", "user.name"]);
    f.git(&f.work(), &["config", "--unset", "user.email"]);
    let run = f.patcher(&["apply"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("no commit identity"), "{}", run.stderr);
    assert!(run.stderr.contains("--author"), "{}", run.stderr);
    let run = f.patcher(&["apply", "--author", "Bot <bot@example.com>"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        f.git(&f.work(), &["log", "-1", "--format=%an <%ae>", BRANCH]),
        "Bot <bot@example.com>"
    );
    let run = f.patcher(&["apply", "--author", "just a name", "--branch", "x"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("expected \"Name <email>\""),
        "{}",
        run.stderr
    );

    // an unborn HEAD
    let empty = f.tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("recipes")).expect("mkdir");
    std::fs::write(empty.join("recipes/app.kdl"), RECIPE).expect("write");
    f.git(&empty, &["init", "-q"]);
    let run = f.patcher_in(&empty, &["apply"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("HEAD is unborn"), "{}", run.stderr);

    // a bare repository: refused without --base, works with one
    let recipes = f.work().join("recipes").display().to_string();
    let bare = f.origin();
    let run = f.patcher_in(&bare, &["apply", "--recipes", &recipes], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bare repository"), "{}", run.stderr);
    let run = f.patcher_in(
        &bare,
        &[
            "apply",
            "--recipes",
            &recipes,
            "--base",
            "main",
            "--author",
            "Bot <bot@example.com>",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(f.origin_rev(BRANCH).is_some());
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn a_subdirectory_root_commits_under_its_prefix() {
    require_git("subdir_root");
    let f = Fixture::new();
    f.write("svc/config/app.yaml", git_support::APP_YAML);
    f.write("svc/recipes/app.kdl", RECIPE);
    f.commit_and_push_main("svc");
    let run = f.patcher_in(&f.work().join("svc"), &["apply"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        f.git(&f.work(), &["diff", "--name-only", "main", BRANCH]),
        "svc/config/app.yaml"
    );
}

#[test]
#[cfg_attr(not(has_git), ignore = "needs git")]
fn keep_going_commits_the_files_that_verified_and_the_pr_lists_the_refused_ones() {
    require_git("keep_going_branch");
    let f = Fixture::new();
    f.write("config/broken.yaml", "retries: [unclosed\n");
    f.write(
        "recipes/app.kdl",
        &RECIPE.replace("config/app.yaml", "config/*.yaml"),
    );
    f.commit_and_push_main("a second config file, broken");
    let gh = FakeGitHub::start(TOKEN);

    // Without the flag: nothing committed.
    let strict = f.patcher(&["apply", "--push", "--pr"], &gh.env(TOKEN));
    assert_eq!(strict.code, 1, "{}", strict.all());
    assert!(
        strict.stderr.contains("nothing was committed"),
        "{}",
        strict.all()
    );
    assert!(!f.git_try(&f.work(), &["rev-parse", "--verify", BRANCH]).0);

    let run = f.patcher(&["apply", "--push", "--pr", "--keep-going"], &gh.env(TOKEN));
    assert_eq!(run.code, 1, "refusals still fail the run: {}", run.all());
    let last = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert_eq!(last, "kept going: 1 file committed, 1 refused (see above)");
    assert_eq!(
        show_file(&f, BRANCH, "config/app.yaml"),
        "# app settings\nname: demo\nretries: 3 # too few\ntimeout: 30"
    );
    assert_eq!(
        f.git(&f.work(), &["diff", "--name-only", "main", BRANCH]),
        "config/app.yaml"
    );
    let msg = message(&f, BRANCH);
    assert!(
        msg.contains("Refused, left for a human:\n  config/broken.yaml: "),
        "{msg}"
    );
    assert!(
        msg.trim_end().ends_with("Patcher-Recipes: app-retries"),
        "{msg}"
    );

    let prs = gh.prs();
    assert_eq!(prs.len(), 1);
    let body = prs[0]["body"].as_str().unwrap_or("");
    assert!(body.contains("### Refused: left for a human"), "{body}");
    assert!(
        body.contains("| `config/broken.yaml` | app-retries | "),
        "{body}"
    );
    assert!(
        body.contains("| `config/app.yaml` | app-retries | 1 |"),
        "{body}"
    );

    // A re-run with the same refusal converges: same commit, same PR, still exit 1.
    let tip = f.rev(BRANCH);
    gh.take_calls();
    let again = f.patcher(&["apply", "--push", "--pr", "--keep-going"], &gh.env(TOKEN));
    assert_eq!(again.code, 1, "{}", again.all());
    assert!(
        again.stderr.contains("already up to date"),
        "{}",
        again.all()
    );
    assert!(
        again.stderr.contains("pull request #1 is up to date"),
        "{}",
        again.all()
    );
    assert_eq!(f.rev(BRANCH), tip);
    assert_eq!(gh.take_calls(), vec!["GET /repos/acme/demo/pulls"]);
}
