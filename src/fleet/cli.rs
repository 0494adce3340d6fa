//! The `patcher fleet` subcommands' flags, and what each prints; the work is in [`super`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};

use super::file;
use super::matrix;
use super::report::{FleetReport, RepoReport};
use super::{Mode, Options};
use crate::engine::RunOptions;
use crate::pacer::{DEFAULT_MAX_PRS_PER_HOUR, Pacer};
use crate::render::RenderMode;

#[derive(Subcommand)]
pub enum FleetCommand {
    /// Plan every repository of the fleet. Exit 0: nothing to do anywhere; 2: changes in
    /// some; 1: a repository failed.
    Plan(RunArgs),
    /// Drift check on every repository. Exit 0: all hold; 2: drift in some; 1: a failure.
    Check(RunArgs),
    /// One patcher branch per repository (`--push`, `--pr`: one pull request each), API
    /// writes paced. Exit 0: all done; 1: a repository failed or was deferred.
    Apply(ApplyArgs),
    /// Print the repositories as GitHub Actions matrices (`{"include":[...]}`, at most 256 legs).
    List(ListArgs),
    /// Merge fleet reports (`--report` files, e.g. one per matrix leg) into one, printed as
    /// markdown (for $GITHUB_STEP_SUMMARY), json or text. Exit 1 if any repository failed.
    Summary(SummaryArgs),
}

#[derive(Args)]
pub struct SummaryArgs {
    /// patcher.fleet/v1 report files.
    #[arg(value_name = "REPORT.json", required = true)]
    reports: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
}

#[derive(Args)]
pub struct RunArgs {
    /// The fleet file (fleet.kdl).
    #[arg(value_name = "FLEET.kdl")]
    file: PathBuf,
    /// Where the repositories' clones (and the resume state) are kept.
    #[arg(long, value_name = "DIR", default_value = ".patcher-fleet-cache")]
    cache: PathBuf,
    /// Repositories cloned and planned at a time.
    #[arg(long, value_name = "N", default_value_t = 4)]
    jobs: usize,
    /// Also write the JSON report (patcher.fleet/v1) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Verify charts with `helm template`: auto, always, never.
    #[arg(long, value_enum, default_value_t = Render::Auto)]
    render: Render,
    /// Only this repository, as written in the fleet file (repeatable): one matrix leg.
    #[arg(long = "repo", value_name = "REPO")]
    repos: Vec<String>,
}

#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Push each repository's branch (under a lease) to its remote.
    #[arg(long)]
    push: bool,
    /// Open each repository's pull request, or update the open one (needs --push and a
    /// token in GITHUB_TOKEN/GH_TOKEN).
    #[arg(long, requires = "push")]
    pr: bool,
    /// Skip repositories an earlier run finished whose base has not moved; retry the rest.
    #[arg(long)]
    resume: bool,
    /// Open at most this many pull requests per hour; the rest are reported `deferred`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PRS_PER_HOUR)]
    max_prs_per_hour: usize,
    // The help is an attribute, not a doc comment: rustdoc would read `<slug …>` as HTML.
    #[arg(
        long,
        value_name = "NAME",
        help = "Branch to commit to [default: patcher/<slug of the recipe names>]"
    )]
    branch: Option<String>,
    /// Commit author and committer [default: user.name/user.email from git config].
    #[arg(long, value_name = "NAME <EMAIL>")]
    author: Option<String>,
    /// Label for the pull requests (repeatable).
    #[arg(long = "label", value_name = "LABEL", requires = "pr")]
    labels: Vec<String>,
    /// Commit the files that verified and list the refused ones (the repository is reported
    /// failed); without it one refusal commits nothing in that repository.
    #[arg(long)]
    keep_going: bool,
}

#[derive(Args)]
pub struct ListArgs {
    /// The fleet file (fleet.kdl).
    #[arg(value_name = "FLEET.kdl")]
    file: PathBuf,
    /// json: one matrix per line (JSON Lines), each at most --chunk-size legs; text: a table.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    /// Print only this matrix (0-based), as one JSON object.
    #[arg(long, value_name = "K")]
    chunk: Option<usize>,
    /// Legs per matrix (at most 256, GitHub's limit).
    #[arg(long, value_name = "N", default_value_t = matrix::MAX_CHUNK)]
    chunk_size: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Render {
    Auto,
    Always,
    Never,
}

fn say(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn load(path: &std::path::Path) -> Result<file::Fleet, String> {
    file::load(path, &file::server_from_env()).map_err(|e| e.render_plain())
}

/// Runs a `patcher fleet` subcommand; returns the exit code.
pub fn run(command: &FleetCommand) -> u8 {
    match command {
        FleetCommand::List(a) => list(a),
        FleetCommand::Summary(a) => summary(a),
        FleetCommand::Plan(a) => execute(a, Mode::Plan, None),
        FleetCommand::Check(a) => execute(a, Mode::Check, None),
        FleetCommand::Apply(a) => execute(&a.run, Mode::Apply, Some(a)),
    }
}

fn list(a: &ListArgs) -> u8 {
    let fleet = match load(&a.file) {
        Ok(f) => f,
        Err(e) => {
            say(&format!("{e}\n"));
            return 1;
        }
    };
    if a.chunk_size == 0 || a.chunk_size > matrix::MAX_CHUNK {
        say(&format!(
            "error: --chunk-size {}: GitHub runs 1 to {} jobs per matrix\n",
            a.chunk_size,
            matrix::MAX_CHUNK
        ));
        return 1;
    }
    let chunks = matrix::chunks(&fleet, a.chunk_size);
    let mut out = String::new();
    match (a.format, a.chunk) {
        (ListFormat::Json, Some(k)) => match chunks.get(k) {
            Some(m) => out = format!("{m}\n"),
            None => {
                say(&format!(
                    "error: --chunk {k}: the fleet has {} chunk(s) of at most {} (0 to {})\n",
                    chunks.len(),
                    a.chunk_size,
                    chunks.len().saturating_sub(1)
                ));
                return 1;
            }
        },
        (ListFormat::Json, None) => {
            for m in &chunks {
                out.push_str(&format!("{m}\n"));
            }
        }
        (ListFormat::Text, _) => {
            for r in &fleet.repos {
                out.push_str(&format!(
                    "{}\tgithub={}\tbase={}\troot={}\n",
                    r.spec,
                    r.github.as_deref().unwrap_or("-"),
                    r.base.as_deref().unwrap_or("(default)"),
                    r.root.as_deref().unwrap_or(".")
                ));
            }
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    0
}

fn summary(a: &SummaryArgs) -> u8 {
    let mut reports = Vec::new();
    for path in &a.reports {
        let read = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<FleetReport>(&t).map_err(|e| e.to_string()));
        match read {
            Ok(r) if r.schema == super::report::SCHEMA => reports.push(r),
            Ok(r) => {
                say(&format!(
                    "error: {}: schema {:?}, expected {}\n",
                    path.display(),
                    r.schema,
                    super::report::SCHEMA
                ));
                return 1;
            }
            Err(e) => {
                say(&format!(
                    "error: {}: not a patcher fleet report: {e}\n",
                    path.display()
                ));
                return 1;
            }
        }
    }
    let merged = FleetReport::merge(&reports);
    let out = match a.format {
        Format::Text => merged.text(),
        Format::Json => merged.json(),
        Format::Markdown => merged.markdown(),
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    merged.exit_code()
}

fn execute(a: &RunArgs, mode: Mode, apply: Option<&ApplyArgs>) -> u8 {
    let mut fleet = match load(&a.file) {
        Ok(f) => f,
        Err(e) => {
            say(&format!("{e}\n"));
            return 1;
        }
    };
    for want in &a.repos {
        if !fleet.repos.iter().any(|r| &r.spec == want) {
            say(&format!(
                "error: --repo {want}: not in {}; its repos: {}\n",
                a.file.display(),
                fleet
                    .repos
                    .iter()
                    .map(|r| r.spec.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return 1;
        }
    }
    if !a.repos.is_empty() {
        fleet.repos.retain(|r| a.repos.contains(&r.spec));
    }
    let recipes = match crate::recipe::load(&fleet.recipes) {
        Ok(r) if r.recipes.is_empty() => {
            say(&format!(
                "error: {}: no recipes in {}; add a `recipe \"name\" {{ ... }}` there\n",
                a.file.display(),
                fleet
                    .recipes
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return 1;
        }
        Ok(r) => r,
        Err(e) => {
            say(&format!("{}\n", e.render_plain()));
            return 1;
        }
    };
    if apply.is_some_and(|x| x.pr) && crate::git::env_token().is_none() {
        say(
            "error: --pr needs a GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token that may push and open pull requests in every repository of the fleet\n",
        );
        return 1;
    }
    if a.jobs == 0 {
        say("error: --jobs 0: give at least 1\n");
        return 1;
    }
    let opts = Options {
        cache: a.cache.clone(),
        jobs: a.jobs,
        push: apply.is_some_and(|x| x.push),
        pr: apply.is_some_and(|x| x.pr),
        resume: apply.is_some_and(|x| x.resume),
        branch: apply.and_then(|x| x.branch.clone()),
        author: apply.and_then(|x| x.author.clone()),
        labels: apply.map(|x| x.labels.clone()).unwrap_or_default(),
        keep_going: apply.is_some_and(|x| x.keep_going),
        run: RunOptions {
            render: match a.render {
                Render::Auto => RenderMode::Auto,
                Render::Always => RenderMode::Always,
                Render::Never => RenderMode::Never,
            },
            helm: None,
        },
    };
    let pacer = Arc::new(Pacer::from_env(
        apply.map_or(DEFAULT_MAX_PRS_PER_HOUR, |x| x.max_prs_per_hour),
    ));
    let total = fleet.repos.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |r: &RepoReport| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let pr =
            r.pr.as_ref()
                .map_or(String::new(), |p| format!(" #{} {}", p.number, p.url));
        let err = r.errors.first().map_or(String::new(), |e| {
            format!(": {}", e.lines().next().unwrap_or(""))
        });
        say(&format!(
            "[{n}/{total}] {}: {}{pr}{err}\n",
            r.repo,
            r.result.as_str()
        ));
    };
    let report = match super::run(&fleet, &recipes, mode, &opts, &pacer, &progress) {
        Ok(r) => r,
        Err(e) => {
            say(&format!("error: {e}\n"));
            return 1;
        }
    };
    if let Some(path) = &a.report
        && let Err(e) = std::fs::write(path, report.json())
    {
        say(&format!(
            "error: cannot write the report {}: {e}\n",
            path.display()
        ));
        return 1;
    }
    let out = match a.format {
        Format::Text => report.text(),
        Format::Json => report.json(),
        Format::Markdown => report.markdown(),
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    report.exit_code()
}
