//! The headless CLI (`chipbench --batch ...`): parses flags, calls core, prints progress to
//! stderr and the summary to stdout. Exit codes: 0 every test stored without errors; 1 the run
//! ended with content errors or failed tests (or a provider/storage failure); 2 usage or
//! configuration error (including credentials the provider refused); 3 stopped by the budget;
//! 130 interrupted (a second Ctrl-C quits at once).

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chipbench_core::{
    bench::{self, Axes, BatchRequest, Outcome, Progress, StopCause},
    dataset, export, grade,
    llm::{
        settings::{Env, ProcessEnv},
        ProviderKind, ProviderSettings,
    },
    personas,
    settings::SettingsFiles,
    store::{Model, RunStatus, Store},
    sync,
    trace::diff::{text_diff, Change},
    Coded, ErrorCode,
};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod data;
mod grid;
mod report;

#[derive(Parser, Debug)]
#[command(name = "chipbench", version, about = "Benchmark LLMs on the chip benchmark; no arguments opens the app")]
pub struct Cli {
    /// Database file (default: CHIPBENCH_DB, else the app data dir). Works for every mode.
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Run a benchmark batch headless (implied by any batch flag).
    #[arg(long)]
    batch: bool,
    /// Model to benchmark (repeatable).
    #[arg(long = "model", value_name = "ID", conflicts_with = "all")]
    models: Vec<String>,
    /// Benchmark every model in the price table.
    #[arg(long)]
    all: bool,
    /// Only this persona (repeatable).
    #[arg(long = "persona", value_name = "ID")]
    personas: Vec<String>,
    /// Continue a run: the given one, or the latest unfinished run of this installation, exactly
    /// as recorded (matrix, provider, concurrency, budget).
    #[arg(long, value_name = "RUN_ID", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["models", "all", "personas", "provider", "base_url", "dry_run", "selector", "concurrency", "max_cost", "personas_file"])]
    resume: Option<String>,
    /// Print the matrix size, call count, estimated cost and time; no network, no writes.
    #[arg(long)]
    dry_run: bool,
    /// List the models of the price table and exit; with --provider or --base-url, the models that
    /// endpoint serves (checking its URL, and OpenRouter's key), marked when in the price table.
    #[arg(long)]
    list_models: bool,
    /// openrouter (default when OPENROUTER_API_KEY is set), openai (any compatible server), or mock.
    #[arg(long, value_parser = ["openrouter", "openai", "mock"])]
    provider: Option<String>,
    /// Base URL of the provider's API (e.g. http://127.0.0.1:8080/v1).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The model that plays the persona in enriched tests.
    #[arg(long, value_name = "ID")]
    selector: Option<String>,
    /// Tests run at once.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Stop scheduling tests once this many dollars are spent.
    #[arg(long, value_name = "USD")]
    max_cost: Option<f64>,
    /// Print one machine-readable JSON summary on stdout (and nothing else there).
    #[arg(long)]
    json: bool,
    /// Write the run's results to PATH (.json or .csv) when the batch ends.
    #[arg(long, value_name = "PATH")]
    export: Option<PathBuf>,
    /// Sync with the shared Turso database when the batch ends (TURSO_DATABASE_URL; demo runs stay
    /// local). A failed sync is reported and turns exit code 0 into 1.
    #[arg(long)]
    sync: bool,
    /// Do not record a span per LLM call (saves about 1-2 KB of disk and 20 µs of CPU per call on
    /// huge batches; the trace debugger then has nothing for this run's tests).
    #[arg(long)]
    no_spans: bool,
    /// Personas file (default: the built-in personas.json).
    #[arg(long = "personas-file", value_name = "PATH")]
    personas_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Add a model to the price table or change its prices (dollars per million tokens).
    AddModel {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 0.0)]
        input_price: f64,
        #[arg(long, default_value_t = 0.0)]
        output_price: f64,
    },
    /// Remove a model from the price table (its results stay; add-model brings it back). Syncs.
    RemoveModel { id: String },
    /// Sync this database once with the shared Turso database (TURSO_DATABASE_URL, and
    /// TURSO_AUTH_TOKEN unless the server is local) and print what moved.
    Sync {
        /// Also sync demo (mock) runs, including those passed over before.
        #[arg(long)]
        include_demo: bool,
    },
    /// Prompt versions: list, save a file's text as a version, use an older one, rename, diff two.
    #[command(subcommand)]
    Prompt(PromptCommand),
    /// Grid runs of the prompt lab: a prompt version x a stored dataset's rows x up to 4 models.
    #[command(subcommand)]
    Grid(grid::GridCommand),
    /// Import traces from another tool.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Every run, newest first: its id, start, status, tests stored of planned, results with
    /// content errors, cost, provider and what it tests.
    Runs {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a run, or every run started before a date, with its results and their ratings
    /// (tombstones that sync); prints what would go unless --yes.
    DeleteRuns(data::DeleteRunsArgs),
    /// Undo a deletion: the runs and everything under them come back, here and after a sync everywhere.
    RestoreRuns {
        #[arg(required = true)]
        run_ids: Vec<String>,
    },
    /// Delete traces that belong to no run (playground sessions, replays, imports) with their
    /// calls (tombstones that sync); prints what would go unless --yes.
    DeleteTraces(data::DeleteTracesArgs),
    /// Undo a trace deletion, here and after a sync everywhere.
    RestoreTraces {
        #[arg(required = true)]
        trace_ids: Vec<String>,
    },
    /// What the database holds: its size, live runs, results, ratings, models and prompts, traces
    /// and their calls, and the oldest and newest run.
    Database {
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The leaderboard: per model (or another dimension) the mean rating with its 95% interval and
    /// rank, rater agreement, the Pareto front of rating against cost, and the objective metrics.
    Leaderboard(report::LeaderboardArgs),
    /// Full-text search over the recorded calls (prompts, responses, errors, trace names),
    /// newest first, each with its trace id and a snippet.
    Search(report::SearchArgs),
    /// One trace: its totals and its calls in the order they started.
    Trace(report::TraceArgs),
    /// Write a stored run's results to PATH: JSON or CSV, by its extension (.json, .csv).
    Export { run_id: String, path: PathBuf },
    /// LLM calls, results and ratings over time from the daily aggregates: per day, per model, and in total.
    Analytics {
        /// 24h, 7d, 30d, all, or FROM..TO (dates, YYYY-MM-DD).
        #[arg(long, default_value = "7d")]
        range: String,
        /// Only calls of one source: test (benchmark runs), playground, replay, import.
        #[arg(long, value_parser = ["test", "playground", "replay", "import"])]
        source: Option<String>,
        /// Recompute the aggregates from the spans first.
        #[arg(long)]
        rebuild: bool,
    },
    /// Check a dataset file (CSV, JSON array of objects, JSON Lines): its columns, row count and
    /// first rows, and whether a prompt's {{placeholders}} are columns; --import also stores it.
    Dataset {
        file: PathBuf,
        /// Store the dataset (all rows or, on any problem, none) after the checks pass.
        #[arg(long)]
        import: bool,
        /// The stored dataset's name (default: the file name without its extension).
        #[arg(long, requires = "import")]
        name: Option<String>,
        /// Grade the outputs this column already holds, row by row, and print the pass rate.
        #[arg(long, value_name = "OUTPUT_COLUMN")]
        grade: Option<String>,
        /// The grading rule: exact, contains, regex, json, json_fields:a,b.
        #[arg(long, default_value = "exact", requires = "grade")]
        rule: String,
        /// The column with the expected value (or the pattern, for regex).
        #[arg(long, value_name = "COLUMN", requires = "grade")]
        expected: Option<String>,
        /// A column of people's grades (pass, fail, or empty): prints how often the grader agrees.
        #[arg(long, value_name = "COLUMN", requires = "grade")]
        human: Option<String>,
        /// A prompt template whose placeholders every row must fill.
        #[arg(long)]
        prompt: Option<String>,
        /// Rows to show.
        #[arg(long, default_value_t = 5)]
        preview: usize,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// One import from Langfuse (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL):
    /// sessions, then traces and observations since the last import; prints what it brought.
    Langfuse,
}

#[derive(Subcommand, Debug)]
enum PromptCommand {
    /// Every version of a prompt, oldest (1) first, with its id; * marks the current one.
    Versions { name: String },
    /// Save FILE's text as a version of NAME (the same text is the same version) and make it
    /// current: the benchmark runs its prompts' current versions.
    Save { name: String, file: PathBuf },
    /// Make version ID its prompt's current version again.
    Use { id: String },
    /// Start prompt TO from FROM's current text: TO numbers from 1 and keeps the link to FROM.
    Rename { from: String, to: String },
    /// A word diff from version A to version B (ids): [-removed-] {+added+}.
    Diff { a: String, b: String },
}

const DEFAULT_CONCURRENCY: usize = 16;

impl Cli {
    /// True when the arguments ask for a headless action; otherwise the window opens.
    pub fn headless(&self) -> bool {
        self.batch || self.sync || self.list_models || self.dry_run || self.resume.is_some() || self.all || !self.models.is_empty() || self.command.is_some()
    }
}

/// A failure with its exit code.
struct Failure {
    exit: u8,
    message: String,
}

impl<E: Coded> From<E> for Failure {
    fn from(e: E) -> Self {
        let exit = match e.code() {
            ErrorCode::Validation | ErrorCode::NotFound | ErrorCode::Conflict | ErrorCode::Config => 2,
            ErrorCode::Provider | ErrorCode::Storage | ErrorCode::Sync => 1,
        };
        Failure { exit, message: e.to_string() }
    }
}

fn prompt_command(store: &Store, command: &PromptCommand) -> Result<u8, Failure> {
    match command {
        PromptCommand::Versions { name } => {
            let current = store.current_prompt(name)?.id;
            for v in store.prompt_versions(name)? {
                let mark = if v.prompt.id == current { "*" } else { " " };
                println!("{:>3}{mark} {}  {}  {}", v.number, v.prompt.id, v.prompt.version, v.created_at);
            }
            let lineage = store.prompt_lineage(name)?;
            if !lineage.is_empty() {
                println!("renamed from: {}", lineage.join(" <- "));
            }
        }
        PromptCommand::Save { name, file } => {
            let text = std::fs::read_to_string(file).map_err(|e| usage(format!("file: cannot read `{}`: {e}", file.display())))?;
            let v = store.save_prompt(name, &text)?;
            println!("{} version {}: {}", v.prompt.name, v.number, v.prompt.id);
        }
        PromptCommand::Use { id } => {
            let p = store.prompt(id)?;
            let v = store.save_prompt(&p.name, &p.text)?;
            println!("{} version {} is current: {}", v.prompt.name, v.number, v.prompt.id);
        }
        PromptCommand::Rename { from, to } => {
            let v = store.rename_prompt(from, to)?;
            println!("{} version {}: {} (renamed from {from})", v.prompt.name, v.number, v.prompt.id);
        }
        PromptCommand::Diff { a, b } => {
            let (a, b) = (store.prompt(a)?, store.prompt(b)?);
            for part in text_diff(&a.text, &b.text) {
                match part.change {
                    Change::Kept => print!("{}", part.text),
                    Change::Removed => print!("[-{}-]", part.text),
                    Change::Added => print!("{{+{}+}}", part.text),
                }
            }
            println!();
        }
    }
    Ok(0)
}

/// `chipbench dataset FILE`: fails (exit 2) unless the file reads cleanly and fills the prompt.
fn check_dataset(file: &Path, prompt: Option<&str>, preview: usize) -> Result<(), Failure> {
    let name = file.display().to_string();
    let (format, opened) = dataset::open(file)?;
    let summary = dataset::summarize(opened, format, preview).map_err(|e| {
        let mut failure = Failure::from(e);
        failure.message = format!("{name}: {}", failure.message);
        failure
    })?;
    println!("{name}: {} rows, columns: {}", summary.row_count, summary.headers.join(", "));
    for row in &summary.preview {
        println!("  {}", row.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(" | "));
    }
    let missing = prompt.map(|p| dataset::missing_columns(p, &summary.headers)).unwrap_or_default();
    if !missing.is_empty() {
        return Err(usage(format!("prompt: placeholder(s) {} are not columns of `{name}`", dataset::quote_placeholders(&missing))));
    }
    Ok(())
}

/// `chipbench dataset FILE --grade COLUMN`: the pass rate and, with people's grades, agreement.
fn grade_dataset(file: &Path, rule: &grade::Rule, columns: grade::Columns) -> Result<(), Failure> {
    let (format, opened) = dataset::open(file)?;
    let g = grade::grade_file(opened, format, rule, columns)?;
    let share = |k: u64, n: u64| if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 };
    println!("graded {} rows: {} passed ({:.1}%)", g.graded, g.passed, share(g.passed, g.graded));
    if let Some(a) = g.agreement {
        let kappa = a.kappa.map_or("undefined (everyone gave one grade)".to_owned(), |k| format!("{k:.3}"));
        println!("grader vs people over {} rows: agreement {:.1}%, Cohen's kappa {kappa}", a.pairs, 100.0 * a.rate);
    }
    Ok(())
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { exit: 2, message: message.into() }
}

/// "1 run", "3 runs".
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Output to a closed pipe (`chipbench runs | head -1`) ends the process quietly, as it does for
/// other Unix tools, where println! would panic. Rust starts programs with SIGPIPE ignored; sockets
/// are not affected either way (the standard library sends with MSG_NOSIGNAL).
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: sets one signal's disposition, before the runtime starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if std::env::var_os("CI").is_some() || !std::io::stderr().is_terminal() { builder.json().try_init() } else { builder.try_init() };
}

pub fn main(cli: Cli) -> ExitCode {
    end_quietly_on_closed_pipe();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let db = crate::paths::database(cli.db.clone());
    if cli.dry_run {
        return dry_run(&cli, &db);
    }
    if let Some(Command::Dataset { file, prompt, preview, import, name, grade, rule, expected, human }) = &cli.command {
        check_dataset(file, prompt.as_deref(), *preview)?;
        if let Some(output) = grade {
            let columns = grade::Columns { output, expected: expected.as_deref(), human: human.as_deref() };
            grade_dataset(file, &grade::Rule::parse(rule)?, columns)?;
        }
        if *import {
            let stored = Store::open(&db)?.import_dataset_file(file, name.as_deref())?;
            println!("stored dataset {} `{}`: {} rows", stored.id, stored.name, stored.row_count);
        }
        return Ok(0);
    }
    let store = Store::open(&db)?;
    if let Some(Command::AddModel { id, name, input_price, output_price }) = &cli.command {
        store.upsert_model(&Model { id: id.clone(), name: name.clone().unwrap_or_else(|| id.clone()), input_price: *input_price, output_price: *output_price })?;
        println!("model {id}: ${input_price}/M input, ${output_price}/M output");
        return Ok(0);
    }
    if let Some(Command::RemoveModel { id }) = &cli.command {
        store.delete_model(id)?;
        println!("model {id}: removed from the price table");
        return Ok(0);
    }
    let files = SettingsFiles::new(crate::paths::config_dir());
    if let Some(Command::Prompt(command)) = &cli.command {
        return prompt_command(&store, command);
    }
    if let Some(Command::Grid(command)) = &cli.command {
        let settings = files.load()?;
        let rater = settings.rater.clone().unwrap_or_else(|| chipbench_core::identity::default_rater(&chipbench_core::identity::System));
        return grid::command(&store, &files.env(Arc::new(ProcessEnv))?, rater, command).await;
    }
    match &cli.command {
        Some(Command::Runs { json }) => return report::runs(&store, *json),
        Some(Command::DeleteRuns(args)) => return data::delete_runs(&store, args),
        Some(Command::RestoreRuns { run_ids }) => return data::restore_runs(&store, run_ids),
        Some(Command::DeleteTraces(args)) => return data::delete_traces(&store, args),
        Some(Command::RestoreTraces { trace_ids }) => return data::restore_traces(&store, trace_ids),
        Some(Command::Database { json }) => return data::database(&store, &db, *json),
        Some(Command::Leaderboard(args)) => return report::leaderboard(&store, args),
        Some(Command::Export { run_id, path }) => return report::export_run(&store, run_id, path),
        Some(Command::Search(args)) => return report::search(&store, args),
        Some(Command::Trace(args)) => return report::trace(&store, args),
        Some(Command::Analytics { range, source, rebuild }) => return report::analytics(&store, range, source.as_deref(), *rebuild),
        _ => {}
    }
    if let Some(Command::Import(ImportCommand::Langfuse)) = &cli.command {
        let client = chipbench_core::langfuse::Client::from_env(&files.env(Arc::new(ProcessEnv))?)?;
        eprintln!("importing from {}", client.base_url());
        let imported = chipbench_core::langfuse::import(&store, &client, &stop_on_ctrl_c(), |line| eprintln!("{line}")).await?;
        let c = imported.counts;
        println!("imported {} sessions, {} traces, {} observations ({} partial); {}", c.sessions, c.traces, c.observations, c.partial, imported.verification);
        return Ok(0);
    }
    if let Some(Command::Sync { include_demo }) = &cli.command {
        let options = sync::SyncOptions { include_demo: *include_demo, ..sync::SyncOptions::from_settings(&files.load()?) };
        println!("{}", sync_once(&store, &files.env(Arc::new(ProcessEnv))?, options).await?);
        return Ok(0);
    }
    let env = files.env(Arc::new(ProcessEnv))?;
    if cli.list_models {
        if cli.provider.is_none() && cli.base_url.is_none() {
            return report::price_table(&store);
        }
        // A URL alone is an OpenAI-compatible server's.
        let kind = provider(&cli).or(Some(ProviderKind::Openai));
        return report::served_models(&store, &ProviderSettings::resolve(kind, cli.base_url.clone(), &env)?, cli.json).await;
    }
    let prepared = match &cli.resume {
        Some(id) => bench::prepare_resume(&store, Some(id.as_str()).filter(|id| !id.is_empty()), &env)?,
        None => bench::prepare_new(&store, &request(&cli, &files)?, &env, &load_personas(&cli)?)?,
    };
    let code = execute(&cli, &store, &db, prepared).await?;
    if !cli.sync {
        return Ok(code);
    }
    // After a batch the summary owns stdout (it may be JSON): the sync reports on stderr.
    let options = sync::SyncOptions { include_demo: false, ..sync::SyncOptions::from_settings(&files.load()?) };
    match sync_once(&store, &env, options).await {
        Ok(line) => eprintln!("{line}"),
        Err(f) => {
            eprintln!("error: sync after the batch failed: {}", f.message);
            return Ok(code.max(1));
        }
    }
    Ok(code)
}

/// One sync (`chipbench sync`, or `--sync` after a batch); says what moved and what is pending.
async fn sync_once(store: &Store, env: &dyn Env, options: sync::SyncOptions) -> Result<String, Failure> {
    let remote = sync::remote_from_env(env)?.ok_or_else(|| usage("sync needs TURSO_DATABASE_URL (libsql://…, https://… or http://… for a local server)"))?;
    let report = sync::sync_recorded(store, &remote, options).await?;
    let created = match (&report.adopted, report.created_schema) {
        (Some(a), _) => format!("adopted the seed-era database ({} runs, {} results, {} ratings kept); ", a.runs, a.results, a.ratings),
        (None, true) => "created the shared schema; ".to_owned(),
        (None, false) => String::new(),
    };
    let status = store.sync_status()?;
    let refused = if status.quarantined > 0 { format!("; {} row(s) refused by the server and kept local", status.quarantined) } else { String::new() };
    Ok(format!("synced: {created}pushed {} row(s), pulled {} row(s); {} pending{refused}", report.pushed, report.pulled, status.pending))
}

fn load_personas(cli: &Cli) -> Result<Vec<personas::Persona>, Failure> {
    Ok(match &cli.personas_file {
        Some(path) => personas::load(path)?,
        None => personas::built_in(),
    })
}

fn request(cli: &Cli, files: &SettingsFiles) -> Result<BatchRequest, Failure> {
    if cli.models.is_empty() && !cli.all {
        return Err(usage("choose models: --model ID (repeatable) or --all; --list-models shows them"));
    }
    Ok(BatchRequest {
        models: cli.models.clone(),
        persona_ids: cli.personas.clone(),
        axes: Axes::default(),
        provider: provider(cli),
        base_url: cli.base_url.clone(),
        selector_model: cli.selector.clone(),
        concurrency: cli.concurrency.or(files.load()?.default_concurrency.map(|c| c as usize)).unwrap_or(DEFAULT_CONCURRENCY),
        max_cost_usd: cli.max_cost,
    })
}

fn provider(cli: &Cli) -> Option<ProviderKind> {
    cli.provider.as_deref().map(|p| ProviderKind::parse(p).expect("clap checked the value"))
}

/// Estimates without the network. An existing database is opened for the price table the user may
/// have edited (nothing is written to a current one); a missing one is not created.
fn dry_run(cli: &Cli, db: &Path) -> Result<u8, Failure> {
    let store = if db.exists() { Store::open(db)? } else { Store::open_in_memory()? };
    let files = SettingsFiles::new(crate::paths::config_dir());
    let (e, config) = bench::estimate_request(&store, &request(cli, &files)?, &files.env(Arc::new(ProcessEnv))?, &load_personas(cli)?)?;
    if cli.json {
        println!("{}", serde_json::json!({"dry_run": true, "provider": config.provider, "matrix": config.matrix, "estimate": e}));
    } else {
        println!(
            "{} tests ({} models x {} personas x {} variants), {} calls (up to {} with fills), ~${:.4}, {} at concurrency {} on {}",
            e.tests,
            config.matrix.models.len(),
            config.matrix.persona_ids.len(),
            config.matrix.axes.tests_per_persona(),
            e.calls,
            e.max_calls,
            e.cost_usd,
            e.duration,
            config.concurrency,
            config.provider.as_str()
        );
    }
    Ok(0)
}

async fn execute(cli: &Cli, store: &Store, db: &Path, mut prepared: bench::Prepared) -> Result<u8, Failure> {
    prepared.runner.record_spans = !cli.no_spans;
    let stop = stop_on_ctrl_c();
    let reporter = Reporter::new(cli.json);
    let outcome = prepared.runner.execute(&prepared.run, stop, |p| reporter.report(p)).await?;
    reporter.finish();
    if let Some(path) = &cli.export {
        let n = export::export_run(store, &outcome.run_id, path)?;
        eprintln!("exported {n} result(s) to {}", path.display());
    }
    let code = exit_code(&outcome);
    print_summary(cli, db, &outcome, code);
    Ok(code)
}

/// Cancelled by the first Ctrl-C; a second one quits at once.
fn stop_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
            eprintln!("stopping: press Ctrl-C again to quit at once (the run then shows as interrupted once its heartbeat is stale)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    stop
}

fn exit_code(o: &Outcome) -> u8 {
    match (o.stop, o.status) {
        (Some(StopCause::User), _) => 130,
        (Some(StopCause::Budget), _) => 3,
        (Some(StopCause::Auth), _) => 2,
        (Some(StopCause::Unreachable | StopCause::Storage), _) => 1,
        (_, RunStatus::Completed) if o.with_errors == 0 => 0,
        _ => 1,
    }
}

fn print_summary(cli: &Cli, db: &Path, o: &Outcome, code: u8) {
    let resume = format!("chipbench --batch --resume {} --db {}", o.run_id, shell_quote(&db.display().to_string()));
    if cli.json {
        let resumable = matches!(o.status, RunStatus::Interrupted | RunStatus::Failed);
        println!(
            "{}",
            serde_json::json!({
                "run_id": o.run_id, "status": o.status, "reason": o.reason, "total": o.total, "stored": o.stored,
                "failed": o.failed, "with_errors": o.with_errors, "spent_usd": o.spent_usd, "exit_code": code,
                "database": db, "resume_command": resumable.then_some(&resume),
            })
        );
        return;
    }
    println!(
        "run {}: {} — {} of {} tests stored, {} with content errors, {} failed, ${:.4} spent",
        o.run_id,
        o.status.as_str(),
        o.stored,
        o.total,
        o.with_errors,
        o.failed,
        o.spent_usd
    );
    if let Some(reason) = &o.reason {
        println!("reason: {reason}");
    }
    if matches!(o.status, RunStatus::Interrupted | RunStatus::Failed) {
        println!("resume with: {resume}");
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Progress on stderr: a bar on a terminal, otherwise a plain line at most every two seconds.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    /// Results stored before this session (a resume), left out of the rate.
    stored_before: std::sync::atomic::AtomicU64,
    last_line: Mutex<Option<Instant>>,
}

impl Reporter {
    fn new(json: bool) -> Reporter {
        let bar = (std::io::stderr().is_terminal() && !json).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tests  {per_sec}  {msg}  ETA {eta}").expect("valid template"),
            );
            bar
        });
        Reporter { bar, started: Instant::now(), stored_before: Default::default(), last_line: Mutex::new(None) }
    }

    fn report(&self, p: Progress) {
        let counts = match p {
            Progress::Started { run_id, counts } => {
                eprintln!("run {run_id}: {} tests, {} already stored", counts.total, counts.done);
                self.stored_before.store(counts.done, std::sync::atomic::Ordering::Relaxed);
                if let Some(bar) = &self.bar {
                    bar.set_length(counts.total);
                }
                counts
            }
            Progress::TestDone { counts, .. } => counts,
            Progress::TestFailed { key, error, counts } => {
                self.line(&format!("test failed [{key}]: {error}"));
                counts
            }
            Progress::Stopping { reason } => {
                self.line(&format!("stopping: {reason}; letting calls in flight finish for up to {}s", bench::GRACE.as_secs()));
                return;
            }
        };
        let msg = format!("${:.4}  errors {}  failed {}", counts.spent_usd, counts.with_errors, counts.failed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(counts.done);
                bar.set_message(msg);
            }
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
                let finished = counts.done + counts.failed == counts.total;
                if finished || last.is_none_or(|t| t.elapsed() >= Duration::from_secs(2)) {
                    let new = counts.done - self.stored_before.load(std::sync::atomic::Ordering::Relaxed);
                    let rate = new as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
                    eprintln!("[{}/{}] {rate:.1} tests/s  {msg}", counts.done, counts.total);
                    *last = Some(Instant::now());
                }
            }
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("chipbench").chain(args.iter().copied()))
    }

    #[test]
    fn no_arguments_opens_the_window_and_batch_flags_run_headless() {
        assert!(!parse(&[]).unwrap().headless());
        assert!(!parse(&["--db", "x.db"]).unwrap().headless(), "--db alone opens the window on that database");
        for args in [&["--batch"][..], &["--list-models"], &["--model", "m"], &["--resume"], &["--all", "--dry-run"]] {
            assert!(parse(args).unwrap().headless(), "{args:?}");
        }
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        for args in [&["--all", "--model", "m"][..], &["--resume", "--model", "m"], &["--resume", "abc", "--all"]] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?} must be a usage error");
        }
        assert_eq!(parse(&["--resume"]).unwrap().resume.as_deref(), Some(""), "bare --resume means the latest run");
        assert_eq!(parse(&["--resume", "r1"]).unwrap().resume.as_deref(), Some("r1"));
    }

    fn outcome(status: RunStatus, stop: Option<StopCause>, with_errors: u64) -> Outcome {
        Outcome { run_id: "r".into(), status, reason: None, stop, total: 1, stored: 1, failed: 0, with_errors, spent_usd: 0.0 }
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        assert_eq!(exit_code(&outcome(RunStatus::Completed, None, 0)), 0);
        assert_eq!(exit_code(&outcome(RunStatus::Completed, None, 2)), 1);
        assert_eq!(exit_code(&outcome(RunStatus::Interrupted, None, 0)), 1, "failed tests");
        assert_eq!(exit_code(&outcome(RunStatus::Interrupted, Some(StopCause::Budget), 0)), 3);
        assert_eq!(exit_code(&outcome(RunStatus::Interrupted, Some(StopCause::User), 0)), 130);
        assert_eq!(exit_code(&outcome(RunStatus::Failed, Some(StopCause::Auth), 0)), 2);
    }

    #[test]
    fn resume_commands_quote_paths() {
        assert_eq!(shell_quote("/tmp/a.db"), "/tmp/a.db");
        assert_eq!(shell_quote("/tmp/my runs/a.db"), "'/tmp/my runs/a.db'");
    }
}
