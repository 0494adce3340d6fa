//! The `patcher` command line: parses arguments, calls the library, maps outcomes to exit
//! codes (0 nothing to do, 2 changes pending or drift, 1 error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use patcher::apply;
use patcher::check;
use patcher::engine;
use patcher::outcome::Outcome;
use patcher::recipe::{self, RecipeSet};
use patcher::render::RenderMode;
use patcher::report::{self, Color};
use patcher::saved_plan::{PlanError, RecipeInputs, SavedPlan};

// mimalloc: planning allocates many small strings and JSON values; the system allocator
// spent ~30 % of a corpus plan's cycles in malloc/free (issue 10).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "patcher",
    // The commit too (build.rs): a bug report names the exact build.
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PATCHER_COMMIT"), ")"),
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
        /// Also save the plan (ops, file and recipe hashes) for `patcher apply FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Make the planned changes: one commit on a patcher branch (default), or in the working
    /// tree (--in-place). Exit 0: done or nothing to do; 1: error.
    Apply {
        /// A plan saved by `patcher plan --out`: apply exactly it, refused if anything changed.
        #[arg(value_name = "PLAN")]
        plan: Option<PathBuf>,
        #[command(flatten)]
        sel: Selection,
        /// Write the changes into the working tree (all files or none).
        #[arg(long)]
        in_place: bool,
        /// Write (or commit) every file whose edits verified, skip the refused ones, and exit
        /// 1 listing them; without it one refusal writes nothing.
        #[arg(long)]
        keep_going: bool,
        #[command(flatten)]
        branch: BranchArgs,
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
    /// Propose catalogue recipes for this repository: finds its charts and workflows, plans
    /// every catalogue recipe with parameters filled from them, and lists the ones that would
    /// change something. Exit 0, or 1 on error.
    Init {
        /// Repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Create recipes/patcher.kdl with one commented `use` per finding (never overwrites:
        /// if it exists, prints what it would add).
        #[arg(long)]
        write: bool,
    },
    /// List the recipes (the catalogue's and the repository's), or show one: its
    /// description, parameters and KDL. Exit 0; 1: error (bad recipes, unknown name).
    Recipes {
        #[command(subcommand)]
        action: RecipesAction,
    },
    /// Read CI failure logs (files, zip archives, `-`, or --run) and name the known causes
    /// and the recipes that fix them, with whether each holds. Exit 0: no known cause;
    /// 2: known causes found; 1: error.
    Diagnose(DiagnoseArgs),
    /// A workflow's first-attempt and eventual success rates (Wilson 95% intervals) from the
    /// Actions API, before and after a fix (--pr, --after, --before) with Fisher's exact test.
    Stats(StatsArgs),
    /// The same recipes on many repositories (fleet.kdl), one pull request each.
    Fleet {
        #[command(subcommand)]
        command: patcher::fleet::cli::FleetCommand,
    },
    /// Print a shell completion script: bash, zsh, fish or powershell (see the README's
    /// Install section for where each goes).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `patcher man > ~/.local/share/man/man1/patcher.1`;
    /// with a subcommand, its own page (patcher-plan(1), ...).
    Man {
        #[arg(value_parser = ["plan", "apply", "check", "recipes", "init", "diagnose", "stats", "fleet", "completions", "man"])]
        subcommand: Option<String>,
    },
}

#[derive(Subcommand)]
enum RecipesAction {
    /// Every recipe: name, where it comes from (catalog or file:line), what it does.
    List {
        #[command(flatten)]
        from: RecipeFiles,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One recipe (`NAME`, or `catalog:NAME` for the catalogue's when the repository has
    /// one of the same name): description, parameters, KDL.
    Show {
        name: String,
        #[command(flatten)]
        from: RecipeFiles,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Where `patcher recipes` finds the repository's recipes.
#[derive(Args)]
struct RecipeFiles {
    /// Repository root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Recipe files or directories [default: <root>/recipes, when it exists].
    #[arg(long = "recipes")]
    recipes: Vec<PathBuf>,
}

#[derive(Args)]
struct DiagnoseArgs {
    /// Log files or zip archives of Actions logs; `-` reads standard input.
    #[arg(value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// Fetch the failed jobs' logs of this Actions run (an id or the run's URL).
    #[arg(long, value_name = "ID|URL")]
    run: Option<String>,
    /// Repository root: its recipes are checked, its .patcher/signatures/ read.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Recipe files or directories [default: <root>/recipes when it exists].
    #[arg(long = "recipes")]
    recipes: Vec<PathBuf>,
    /// Output format; `github` also appends a table to $GITHUB_STEP_SUMMARY when set.
    #[arg(long, value_enum, default_value_t = DiagnoseFormat::Text)]
    format: DiagnoseFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiagnoseFormat {
    Text,
    Json,
    Github,
}

#[derive(Args)]
struct StatsArgs {
    /// The workflow: its file name (`dev-ci.yml`) or id.
    workflow: String,
    /// Branch whose runs count [default: the repository's default branch].
    #[arg(long)]
    branch: Option<String>,
    /// Only runs created on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Split at a merged pull request: runs of its merge commit and descendants are "after".
    #[arg(long, value_name = "N", conflicts_with_all = ["after", "before"])]
    pr: Option<u64>,
    /// Split at a commit: it and its descendants are "after".
    #[arg(long, value_name = "REF", conflicts_with = "before")]
    after: Option<String>,
    /// Split at a commit: it and its ancestors are "before".
    #[arg(long, value_name = "REF")]
    before: Option<String>,
    /// Repository root (for commit ancestry and the `origin` remote).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    format: StatsFormat,
    /// Also diagnose the failed jobs' logs of each period's N most recent failed runs and
    /// list the most frequent causes.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20")]
    diagnose: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsFormat {
    Text,
    Json,
    Markdown,
}

/// The branch mode's flags (`patcher apply` without `--in-place`).
#[derive(Args)]
struct BranchArgs {
    /// Commit on top of this revision [default: HEAD].
    #[arg(long, value_name = "REV", conflicts_with = "in_place")]
    base: Option<String>,
    /// Branch to commit to [default: patcher/<slug of the selected recipe names>].
    #[arg(long, value_name = "NAME", conflicts_with = "in_place")]
    branch: Option<String>,
    /// Commit author and committer [default: user.name/user.email from git config].
    #[arg(long, value_name = "NAME <EMAIL>", conflicts_with = "in_place")]
    author: Option<String>,
    /// Push the branch (under a lease) to REMOTE, a remote name or URL.
    #[arg(long, value_name = "REMOTE", num_args = 0..=1, default_missing_value = "origin", conflicts_with = "in_place")]
    push: Option<String>,
    /// Open the pull request for the branch, or update the open one (needs --push).
    #[arg(long, requires = "push")]
    pr: bool,
    /// Label for the pull request (repeatable).
    #[arg(long = "label", value_name = "LABEL", requires = "pr")]
    labels: Vec<String>,
    /// Print what would happen to the branch, the remote and the pull request; write nothing.
    #[arg(long, conflicts_with = "in_place")]
    dry_run: bool,
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
    /// Verify charts with `helm template` before and after (PATCHER_HELM, else helm on PATH):
    /// auto (when a helm is found), always (a missing helm is an error), never.
    #[arg(long, value_enum, default_value_t = RenderChoice::Auto)]
    render: RenderChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum RenderChoice {
    Auto,
    Always,
    Never,
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
    fn run_options(&self) -> engine::RunOptions {
        engine::RunOptions {
            render: match self.render {
                RenderChoice::Auto => RenderMode::Auto,
                RenderChoice::Always => RenderMode::Always,
                RenderChoice::Never => RenderMode::Never,
            },
            helm: None,
        }
    }

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

    /// The recipe paths: `--recipes`, else `<root>/recipes` (in the working tree).
    fn recipe_paths(&self) -> Vec<PathBuf> {
        if self.recipes.is_empty() {
            vec![self.root.join("recipes")]
        } else {
            self.recipes.clone()
        }
    }

    /// The root must be a directory: said as such, before recipes are looked for in it.
    fn check_root(&self) -> Result<(), String> {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(format!(
                "error: --root {}: not a directory; pass the repository's top directory",
                self.root.display()
            )),
            Err(e) => Err(format!(
                "error: --root {}: {}; pass the repository's top directory",
                self.root.display(),
                io_reason(&e)
            )),
        }
    }

    /// Loads the recipes and applies `--only`. Finding no recipe at all is an error: a run
    /// that checks nothing must not pass as "every recipe holds".
    fn load(&self) -> Result<RecipeSet, String> {
        self.check_root()?;
        let paths = self.recipe_paths();
        let mut set = recipe::load(&paths).map_err(|e| render_diagnostic(&e, self.color()))?;
        if set.recipes.is_empty() {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(format!(
                "error: no recipes in {}; add a `recipe \"name\" {{ ... }}` to a *.kdl file there (see the README's Recipes section), or pass --recipes",
                shown.join(", ")
            ));
        }
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

/// An I/O error without Rust's "(os error 2)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
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
    // A usage error is an error (1): clap's own 2 would read as "changes pending".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let code = match &cli.command {
        Command::Plan { sel, format, out } => plan(sel, *format, out.as_deref()),
        Command::Apply {
            plan,
            sel,
            in_place,
            keep_going,
            branch,
        } => apply(sel, *in_place, *keep_going, plan.as_deref(), branch),
        Command::Check { sel, format } => check(sel, *format),
        Command::Init { root, write } => init(root, *write),
        Command::Recipes { action } => recipes_cmd(action),
        Command::Diagnose(args) => diagnose(args),
        Command::Stats(args) => stats(args),
        Command::Fleet { command } => patcher::fleet::cli::run(command),
        Command::Completions { shell } => completions(*shell),
        Command::Man { subcommand } => man(subcommand.as_deref()),
    };
    ExitCode::from(code)
}

fn init(root: &std::path::Path, write: bool) -> u8 {
    if !root.is_dir() {
        emit(
            "",
            &format!(
                "error: --root {}: not a directory; pass the repository's top directory\n",
                root.display()
            ),
        );
        return 1;
    }
    let report = match patcher::init::run(root) {
        Ok(r) => r,
        Err(e) => {
            emit("", &format!("error: {e}\n"));
            return 1;
        }
    };
    let mut out = patcher::init::render_text(&report);
    if !write {
        if !report.findings.is_empty() {
            out.push_str("\nNext: `patcher init --write` records these in recipes/patcher.kdl; read it, then `patcher plan`.\n");
        }
        emit(&out, "");
        return 0;
    }
    match patcher::init::write(root, &report) {
        Ok(patcher::init::Written::Created(path)) => {
            out.push_str(&format!("\nwrote {path}: read it, then `patcher plan`\n"));
            emit(&out, "");
            0
        }
        Ok(patcher::init::Written::Nothing) => {
            emit(&out, "");
            0
        }
        Ok(patcher::init::Written::Exists(text)) => {
            out.push_str(&format!(
                "\n{} exists and was not changed; add what you want of this to it:\n\n{text}",
                patcher::init::RECIPE_FILE
            ));
            emit(&out, "");
            0
        }
        Err(e) => {
            emit(&out, &format!("error: {e}\n"));
            1
        }
    }
}

fn completions(shell: clap_complete::Shell) -> u8 {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "patcher", &mut std::io::stdout());
    0
}

/// Each subcommand's man page name.
const MAN_PAGES: [(&str, &str); 10] = [
    ("plan", "patcher-plan"),
    ("apply", "patcher-apply"),
    ("check", "patcher-check"),
    ("recipes", "patcher-recipes"),
    ("init", "patcher-init"),
    ("diagnose", "patcher-diagnose"),
    ("stats", "patcher-stats"),
    ("fleet", "patcher-fleet"),
    ("completions", "patcher-completions"),
    ("man", "patcher-man"),
];

fn man(subcommand: Option<&str>) -> u8 {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    if let Some(name) = subcommand {
        cmd.build();
        let Some(sub) = cmd.find_subcommand(name) else {
            return 1; // the value parser lists the subcommands
        };
        // git's convention: `patcher plan` is documented as patcher-plan(1).
        let page = MAN_PAGES
            .iter()
            .find(|(sub, _)| *sub == name)
            .map_or("patcher", |(_, page)| page);
        cmd = sub.clone().name(page);
    }
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        emit("", &format!("error: {e}\n"));
        return 1;
    }
    let _ = std::io::stdout().write_all(&out);
    0
}

fn recipes_cmd(action: &RecipesAction) -> u8 {
    use patcher::listing;
    let (from, format, name) = match action {
        RecipesAction::List { from, format } => (from, *format, None),
        RecipesAction::Show { name, from, format } => (from, *format, Some(name.as_str())),
    };
    let set = match listing::repository(&from.root, &from.recipes) {
        Ok(set) => set,
        Err(e) => {
            emit("", &format!("{}\n", render_diagnostic(&e, Color::Never)));
            return 1;
        }
    };
    let entries = listing::entries(&from.root, &set);
    let out = match name {
        None => match format {
            Format::Text => listing::list_text(&entries),
            Format::Json => pretty(&listing::list_json(&entries)),
        },
        Some(name) => match listing::find(&entries, name) {
            Some(e) => match format {
                Format::Text => listing::show_text(e),
                Format::Json => pretty(&listing::show_json(e)),
            },
            None => {
                let hint = match listing::suggest(&entries, name) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                emit(
                    "",
                    &format!(
                        "error: no recipe `{name}`; {hint}`patcher recipes list` shows them all\n"
                    ),
                );
                return 1;
            }
        },
    };
    emit(&out, "");
    0
}

fn pretty(v: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

fn emit(out: &str, err: &str) {
    let _ = std::io::stdout().write_all(out.as_bytes());
    let _ = std::io::stderr().write_all(err.as_bytes());
}

fn plan(sel: &Selection, format: Format, out: Option<&std::path::Path>) -> u8 {
    let recipes = match sel.load() {
        Ok(r) => r,
        Err(msg) => {
            emit("", &format!("{msg}\n"));
            return 1;
        }
    };
    let outcome = engine::run_with(&sel.root, &recipes, &sel.run_options());
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
    if let Some(path) = out {
        if !outcome.errors.is_empty() {
            emit(
                "",
                &format!(
                    "plan not saved to {}: fix the errors first\n",
                    path.display()
                ),
            );
            return 1;
        }
        let saved = RecipeInputs::compute(&sel.root, &sel.recipe_paths(), &recipes)
            .and_then(|inputs| SavedPlan::new(&outcome, inputs).write(path));
        match saved {
            Ok(()) => emit("", &format!("plan saved to {}\n", path.display())),
            Err(e) => {
                emit("", &format!("error: {e}\n"));
                return 1;
            }
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

/// The recipes to apply: from a saved plan (with its inputs, for the staleness check), or
/// from the selection flags.
fn load_for_apply(
    sel: &Selection,
    plan: Option<&std::path::Path>,
) -> Result<(RecipeSet, Option<(SavedPlan, RecipeInputs)>), String> {
    let Some(path) = plan else {
        return Ok((sel.load()?, None));
    };
    sel.check_root()?;
    if !sel.recipes.is_empty() || !sel.only.is_empty() {
        return Err(format!(
            "error: {} already names its recipes; drop --recipes/--only",
            path.display()
        ));
    }
    let saved = SavedPlan::read(path).map_err(|e| format!("error: {e}"))?;
    let (paths, set) = saved.load_recipes(&sel.root, path).map_err(|e| match e {
        PlanError::Recipes(e) => render_diagnostic(&e, sel.color()),
        PlanError::Refused(m) => format!("error: {m}"),
    })?;
    let inputs =
        RecipeInputs::compute(&sel.root, &paths, &set).map_err(|e| format!("error: {e}"))?;
    Ok((set, Some((saved, inputs))))
}

fn apply(
    sel: &Selection,
    in_place: bool,
    keep_going: bool,
    plan: Option<&std::path::Path>,
    b: &BranchArgs,
) -> u8 {
    let (recipes, saved) = match load_for_apply(sel, plan) {
        Ok(r) => r,
        Err(msg) => {
            emit("", &format!("{msg}\n"));
            return 1;
        }
    };
    let saved_ref = match (&saved, plan) {
        (Some((p, inputs)), Some(path)) => Some(apply::Saved {
            plan: p,
            path,
            recipes: inputs,
        }),
        _ => None,
    };
    if !in_place {
        let opts = apply::Options {
            root: sel.root.clone(),
            base: b.base.clone(),
            branch: b.branch.clone(),
            author: b.author.clone(),
            push: b.push.clone(),
            pr: b.pr,
            labels: b.labels.clone(),
            dry_run: b.dry_run,
            keep_going,
            color: Some(sel.color()),
            run: sel.run_options(),
            ..apply::Options::default()
        };
        return apply::run(&opts, &recipes, saved_ref);
    }
    let outcome = engine::run_with(&sel.root, &recipes, &sel.run_options());
    if let Some(s) = saved_ref
        && let Err(msg) = s.plan.check(s.path, s.recipes, &sel.root, &outcome)
    {
        emit("", &format!("error: {msg}\n"));
        return 1;
    }
    let (out, err) = report::text(&outcome, sel.color());
    emit(&out, &err);
    let refused = !outcome.errors.is_empty();
    if refused && !keep_going {
        emit(
            "",
            "nothing was written: fix the errors above first (--keep-going writes the files that verified)\n",
        );
        return 1;
    }
    if outcome.changes.is_empty() {
        if refused {
            emit("", &format!("{}\n", outcome.kept_going_line("written")));
            return 1;
        }
        emit("", "nothing to do: every recipe holds\n");
        return 0;
    }
    if let Err(e) = patcher::write::write_in_place(&sel.root, &outcome.changes) {
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
    if refused {
        msg.push_str(&outcome.kept_going_line("written"));
        msg.push('\n');
    }
    emit("", &msg);
    u8::from(refused)
}

fn check(sel: &Selection, format: CheckFormat) -> u8 {
    let report = match sel.load() {
        Ok(recipes) => check::evaluate_with(&sel.root, &recipes, &sel.run_options()),
        Err(msg) => report::drift::CheckReport::failed(msg),
    };
    let format = match format {
        CheckFormat::Text => report::check_format::Format::Text,
        CheckFormat::Json => report::check_format::Format::Json,
        CheckFormat::Github => report::check_format::Format::Github,
        CheckFormat::Sarif => report::check_format::Format::Sarif,
    };
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let out = report::check_format::output(&report, format, sel.color(), summary.as_deref());
    emit(&out.stdout, &out.stderr);
    out.code
}

fn diagnose(a: &DiagnoseArgs) -> u8 {
    use patcher::diagnose::command::{self, Format};
    let out = command::run(&command::Options {
        logs: a.logs.clone(),
        run: a.run.clone(),
        root: a.root.clone(),
        recipes: a.recipes.clone(),
        format: match a.format {
            DiagnoseFormat::Text => Format::Text,
            DiagnoseFormat::Json => Format::Json,
            DiagnoseFormat::Github => Format::Github,
        },
        step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        // Whether a recipe holds is the planner's answer; render verification checks edits.
        run_options: engine::RunOptions {
            render: RenderMode::Never,
            helm: None,
        },
    });
    emit(&out.stdout, &out.stderr);
    out.code
}

fn stats(a: &StatsArgs) -> u8 {
    use patcher::stats::command::{self, Format};
    let (out, err, code) = command::run(&command::Options {
        workflow: a.workflow.clone(),
        branch: a.branch.clone(),
        since: a.since.clone(),
        before: a.before.clone(),
        after: a.after.clone(),
        pr: a.pr,
        root: a.root.clone(),
        format: match a.format {
            StatsFormat::Text => Format::Text,
            StatsFormat::Json => Format::Json,
            StatsFormat::Markdown => Format::Markdown,
        },
        diagnose: a.diagnose,
    });
    emit(&out, &err);
    code
}
