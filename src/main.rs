//! The `patcher` command line: parses arguments, calls the library, maps outcomes to exit
//! codes (0 nothing to do, 2 changes pending or drift, 1 error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use patcher::check;
use patcher::engine::{self, Outcome};
use patcher::recipe::{self, RecipeSet};
use patcher::report::{self, Color};

#[derive(Parser)]
#[command(
    name = "patcher",
    version,
    about = "Keeps CI workflows and Helm charts in a known-good shape, as code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dry run: print the diff that would make the files satisfy the recipes.
    /// Exit 0: nothing to do; 2: changes pending; 1: error.
    Plan {
        #[command(flatten)]
        sel: Selection,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Make the planned changes.
    Apply {
        #[command(flatten)]
        sel: Selection,
        /// Write the changes into the working tree (all files or none).
        #[arg(long)]
        in_place: bool,
    },
    /// Drift check: does every recipe still hold? Exit 0: all hold (or are not applicable);
    /// 2: drift; 1: error. `github` also appends a table to $GITHUB_STEP_SUMMARY when set.
    Check {
        #[command(flatten)]
        sel: Selection,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
}

#[derive(Args)]
struct Selection {
    /// Repository root; recipe globs are relative to it.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Recipe files or directories [default: <root>/recipes].
    #[arg(long = "recipes")]
    recipes: Vec<PathBuf>,
    /// Only run the named recipe (repeatable).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Color the diff: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Github,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl Selection {
    fn color(&self) -> Color {
        match self.color {
            ColorChoice::Always => Color::Always,
            ColorChoice::Never => Color::Never,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                if !no_color && std::io::stdout().is_terminal() {
                    Color::Always
                } else {
                    Color::Never
                }
            }
        }
    }

    /// Loads the recipes and applies `--only`.
    fn load(&self) -> Result<RecipeSet, String> {
        let paths = if self.recipes.is_empty() {
            vec![self.root.join("recipes")]
        } else {
            self.recipes.clone()
        };
        let mut set = recipe::load(&paths).map_err(|e| render_diagnostic(&e, self.color()))?;
        if !self.only.is_empty() {
            for name in &self.only {
                if !set.recipes.iter().any(|r| &r.name == name) {
                    let names: Vec<&str> = set.recipes.iter().map(|r| r.name.as_str()).collect();
                    return Err(format!(
                        "error: --only {name}: no such recipe; recipes: {}",
                        names.join(", ")
                    ));
                }
            }
            set.recipes.retain(|r| self.only.contains(&r.name));
        }
        Ok(set)
    }
}

fn render_diagnostic(e: &dyn miette::Diagnostic, color: Color) -> String {
    let theme = match color {
        Color::Always => miette::GraphicalTheme::unicode(),
        Color::Never => miette::GraphicalTheme::unicode_nocolor(),
    };
    let mut out = String::new();
    if miette::GraphicalReportHandler::new_themed(theme)
        .render_report(&mut out, e)
        .is_err()
    {
        out = e.to_string();
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Plan { sel, format } => plan(sel, *format),
        Command::Apply { sel, in_place } => apply(sel, *in_place),
        Command::Check { sel, format } => check(sel, *format),
    };
    ExitCode::from(code)
}

fn emit(out: &str, err: &str) {
    let _ = std::io::stdout().write_all(out.as_bytes());
    let _ = std::io::stderr().write_all(err.as_bytes());
}

fn plan(sel: &Selection, format: Format) -> u8 {
    let recipes = match sel.load() {
        Ok(r) => r,
        Err(msg) => {
            emit("", &format!("{msg}\n"));
            return 1;
        }
    };
    let outcome = engine::run(&sel.root, &recipes);
    match format {
        Format::Text => {
            let (out, err) = report::text(&outcome, sel.color());
            emit(&out, &err);
        }
        Format::Json => {
            let text = serde_json::to_string_pretty(&report::json(&outcome)).unwrap_or_default();
            emit(&format!("{text}\n"), "");
        }
    }
    exit_code(&outcome)
}

fn exit_code(outcome: &Outcome) -> u8 {
    if !outcome.errors.is_empty() {
        1
    } else if outcome.changes.iter().any(|c| c.old_text != c.new_text) {
        2
    } else {
        0
    }
}

fn apply(sel: &Selection, in_place: bool) -> u8 {
    if !in_place {
        emit(
            "",
            "error: only `patcher apply --in-place` is available in this version (branch/PR mode is not built yet)\n",
        );
        return 1;
    }
    let recipes = match sel.load() {
        Ok(r) => r,
        Err(msg) => {
            emit("", &format!("{msg}\n"));
            return 1;
        }
    };
    let outcome = engine::run(&sel.root, &recipes);
    let (out, err) = report::text(&outcome, sel.color());
    emit(&out, &err);
    if !outcome.errors.is_empty() {
        emit("", "nothing was written: fix the errors above first\n");
        return 1;
    }
    if outcome.changes.is_empty() {
        emit("", "nothing to do: every recipe holds\n");
        return 0;
    }
    if let Err(e) = engine::write_in_place(&sel.root, &outcome.changes) {
        emit("", &format!("error: {e}\n"));
        return 1;
    }
    let mut msg = String::new();
    for c in &outcome.changes {
        msg.push_str(&format!(
            "wrote {}{} ({})\n",
            c.path,
            if c.created { " (new)" } else { "" },
            c.recipes().join(", ")
        ));
    }
    emit("", &msg);
    0
}

fn check(sel: &Selection, format: CheckFormat) -> u8 {
    let report = match sel.load() {
        Ok(recipes) => check::evaluate(&sel.root, &recipes),
        Err(msg) => check::CheckReport::failed(msg),
    };
    let format = match format {
        CheckFormat::Text => check::Format::Text,
        CheckFormat::Json => check::Format::Json,
        CheckFormat::Github => check::Format::Github,
        CheckFormat::Sarif => check::Format::Sarif,
    };
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let out = check::output(&report, format, sel.color(), summary.as_deref());
    emit(&out.stdout, &out.stderr);
    out.code
}
