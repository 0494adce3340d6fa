//! The `patcher diagnose` command: reads the logs (files, `-`, or a run's failed jobs through
//! the Actions API), loads signatures and, inside a repository, its recipes, and writes the
//! report. Returns what to print and the exit code (0 no known cause, 2 known causes, 1 error).

use std::path::{Path, PathBuf};

use super::fixes::Repository;
use super::report;
use crate::causes::log::{self, Log};
use crate::causes::{scan, signature};
use crate::engine::RunOptions;
use crate::github::actions_api::{Actions, parse_run};
use crate::recipe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
}

pub struct Options {
    /// Log files or archives; `-` is standard input.
    pub logs: Vec<PathBuf>,
    /// `--run ID|URL`: the failed jobs of one Actions run.
    pub run: Option<String>,
    pub root: PathBuf,
    /// `--recipes`; empty: `<root>/recipes` when it exists.
    pub recipes: Vec<PathBuf>,
    pub format: Format,
    /// `$GITHUB_STEP_SUMMARY` for the github format.
    pub step_summary: Option<PathBuf>,
    pub run_options: RunOptions,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Output {
    fn error(msg: String) -> Output {
        Output {
            stdout: String::new(),
            stderr: format!("{msg}\n"),
            code: 1,
        }
    }
}

pub fn run(opts: &Options) -> Output {
    match run_inner(opts) {
        Ok(out) => out,
        Err(msg) => Output::error(msg),
    }
}

fn run_inner(opts: &Options) -> Result<Output, String> {
    let logs = read_logs(opts)?;
    let signatures = signature::load(&opts.root).map_err(|e| render(&e))?;
    let (hits, unmatched) = scan::scan(&signatures, &logs);
    let recipe_paths = if opts.recipes.is_empty() {
        let default = opts.root.join("recipes");
        if default.is_dir() {
            vec![default]
        } else {
            Vec::new()
        }
    } else {
        opts.recipes.clone()
    };
    let recipes = if recipe_paths.is_empty() {
        None
    } else {
        Some(recipe::load(&recipe_paths).map_err(|e| e.render_plain())?)
    };
    let check = match &recipes {
        Some(set) if !hits.is_empty() => Some(super::check_named(
            &opts.root,
            set,
            &hits,
            &opts.run_options,
        )),
        _ => None,
    };
    let repo = recipes.as_ref().map(|set| Repository {
        recipes: set,
        check: check.as_ref(),
    });
    let diagnosis = super::diagnose(hits, unmatched, logs.len(), repo.as_ref());
    let mut out = Output {
        stdout: String::new(),
        stderr: String::new(),
        code: diagnosis.exit_code(),
    };
    match opts.format {
        Format::Text => out.stdout = report::text(&diagnosis),
        Format::Json => {
            out.stdout = format!(
                "{}\n",
                serde_json::to_string_pretty(&report::json(&diagnosis)).unwrap_or_default()
            );
        }
        Format::Github => {
            out.stdout = report::annotations(&diagnosis);
            if let Some(path) = &opts.step_summary
                && let Err(e) = crate::report::github::append_step_summary(
                    path,
                    &report::step_summary(&diagnosis),
                )
            {
                out.stderr = format!(
                    "warning: cannot write the step summary {}: {e}\n",
                    path.display()
                );
            }
        }
    }
    Ok(out)
}

/// The logs of a run's failed jobs (latest attempt), one [`Log`] per job.
fn failed_job_logs(run: &str, root: &Path) -> Result<Vec<Log>, String> {
    let (id, repo) = parse_run(run)?;
    let client = Actions::from_env(repo, root)?;
    let jobs = client.failed_jobs(id)?;
    if jobs.is_empty() {
        return Err(format!(
            "error: run {id} of {} has no failed job (yet); diagnose a failed run, or wait until it has finished",
            client.slug()
        ));
    }
    Ok(jobs
        .into_iter()
        .map(|(job, text)| log::of_job(job, &text))
        .collect())
}

fn read_logs(opts: &Options) -> Result<Vec<Log>, String> {
    let mut logs = Vec::new();
    if let Some(run) = &opts.run {
        logs.extend(failed_job_logs(run, &opts.root)?);
    }
    if opts.logs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err("error: `-` (standard input) is given twice; pass it once".into());
    }
    for path in &opts.logs {
        logs.extend(log::read_path(path)?);
    }
    if opts.logs.is_empty() && opts.run.is_none() {
        return Err(
            "error: no logs: pass log files or zip archives, `-` for standard input, or --run ID|URL"
                .into(),
        );
    }
    Ok(logs)
}

fn render(e: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    if handler.render_report(&mut out, e).is_err() {
        out = e.to_string();
    }
    out
}

/// For tests and callers that diagnose logs they hold in memory.
pub fn diagnose_logs(root: &Path, logs: &[Log]) -> Result<super::Diagnosis, String> {
    let signatures = signature::load(root).map_err(|e| render(&e))?;
    let (hits, unmatched) = scan::scan(&signatures, logs);
    Ok(super::diagnose(hits, unmatched, logs.len(), None))
}
