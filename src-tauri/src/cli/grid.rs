//! `chipbench grid ...`: the prompt lab's grid runs from the command line. Run a prompt version on
//! a stored dataset with up to four models, run cells again, grade a cell by hand, show a run's
//! pass rates and grader agreement, export it. Progress goes to stderr, results to stdout.

use std::path::PathBuf;

use chipbench_core::{
    grid::{self, export, GridOutcome, GridProgress, GridRequest, GridStatus, Graders, JudgeGrader, Metric, Rerun, RuleGrader},
    llm::{settings::Env, ProviderKind},
    store::Store,
};
use clap::Subcommand;

use super::{stop_on_ctrl_c, usage, Failure};

#[derive(Subcommand, Debug)]
pub enum GridCommand {
    /// Run prompt version PROMPT (an id) on every row of DATASET (an id) with each --model.
    Run(Box<RunArgs>),
    /// Run the failed (and still queued) cells of RUN again, or only --cell.
    Again {
        run: String,
        #[arg(long, value_name = "CELL_ID")]
        cell: Option<String>,
    },
    /// Grade a cell by hand: pass, fail or unset (one grade per cell and user).
    Grade {
        cell: String,
        #[arg(value_parser = ["pass", "fail", "unset"])]
        grade: String,
        /// Whose grade (default: the rater from Settings, else the system's user).
        #[arg(long)]
        user: Option<String>,
    },
    /// Per model: cells, pass rates (rule, judge, people) and ratings; each grader's agreement with people.
    Show { run: String },
    /// Write RUN's cells to PATH (.csv or .json).
    Export {
        run: String,
        path: PathBuf,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[arg(long, value_name = "PROMPT_ID")]
    prompt: String,
    #[arg(long, value_name = "DATASET_ID")]
    dataset: String,
    /// A model (repeatable, at most 4).
    #[arg(long = "model", value_name = "ID", required = true)]
    models: Vec<String>,
    /// Grade by rule: exact, contains, regex, json, json_fields:a,b.
    #[arg(long)]
    rule: Option<String>,
    /// The dataset column with each row's expected value (or pattern).
    #[arg(long, value_name = "COLUMN", requires = "rule")]
    expected: Option<String>,
    /// Grade with this grader prompt version (an id; it shows the answer as {{output}}).
    #[arg(long, value_name = "PROMPT_ID", requires = "judge_model")]
    judge: Option<String>,
    /// The model that answers the grader prompt.
    #[arg(long, value_name = "ID", requires = "judge")]
    judge_model: Option<String>,
    /// The grade the run shows: rule, judge or manual (default: the judge's, else the rule's).
    #[arg(long, value_parser = ["rule", "judge", "manual"])]
    metric: Option<String>,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Cells run at once (default 8).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// openrouter, openai (any compatible server), or mock.
    #[arg(long, value_parser = ["openrouter", "openai", "mock"])]
    provider: Option<String>,
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Write the run to PATH (.csv or .json) when it ends.
    #[arg(long, value_name = "PATH")]
    export: Option<PathBuf>,
}

pub async fn command(store: &Store, env: &dyn Env, rater: String, command: &GridCommand) -> Result<u8, Failure> {
    match command {
        GridCommand::Run(args) => {
            let prepared = grid::prepare(store, &request(args)?, env)?;
            let outcome = execute(prepared).await?;
            if let Some(path) = &args.export {
                let n = export::export(store, &outcome.run_id, &rater, path)?;
                eprintln!("exported {n} cell(s) to {}", path.display());
            }
            show(store, &outcome.run_id)?;
            Ok(exit_code(&outcome))
        }
        GridCommand::Again { run, cell } => {
            let which = cell.clone().map_or(Rerun::Unfinished, Rerun::Cell);
            let outcome = execute(grid::prepare_rerun(store, run, &which, env)?).await?;
            show(store, &outcome.run_id)?;
            Ok(exit_code(&outcome))
        }
        GridCommand::Grade { cell, grade, user } => {
            let pass = match grade.as_str() {
                "pass" => Some(true),
                "fail" => Some(false),
                _ => None,
            };
            store.grade_cell(cell, user.as_deref().unwrap_or(&rater), pass)?;
            println!("cell {cell}: {grade}");
            Ok(0)
        }
        GridCommand::Show { run } => {
            show(store, run)?;
            Ok(0)
        }
        GridCommand::Export { run, path, user } => {
            let n = export::export(store, run, user.as_deref().unwrap_or(&rater), path)?;
            println!("exported {n} cell(s) to {}", path.display());
            Ok(0)
        }
    }
}

fn request(a: &RunArgs) -> Result<GridRequest, Failure> {
    Ok(GridRequest {
        prompt_id: a.prompt.clone(),
        dataset_id: a.dataset.clone(),
        models: a.models.clone(),
        params: grid::GridParams { temperature: a.temperature, max_tokens: a.max_tokens },
        graders: Graders {
            rule: a.rule.clone().map(|rule| RuleGrader { rule, expected: a.expected.clone() }),
            judge: a.judge.clone().zip(a.judge_model.clone()).map(|(prompt_id, model)| JudgeGrader { prompt_id, model }),
        },
        metric: a.metric.as_deref().and_then(Metric::parse),
        provider: a.provider.as_deref().map(|p| ProviderKind::parse(p).ok_or_else(|| usage(format!("provider: unknown `{p}`")))).transpose()?,
        base_url: a.base_url.clone(),
        concurrency: a.concurrency.unwrap_or(0),
    })
}

async fn execute(prepared: grid::Prepared) -> Result<GridOutcome, Failure> {
    let stop = stop_on_ctrl_c();
    let outcome = prepared
        .runner
        .execute(&prepared.run, stop, |p| match p {
            GridProgress::Started { run_id, counts } => eprintln!("grid run {run_id}: {} cell(s) queued of {}", counts.queued, counts.total),
            GridProgress::Cell { cell, counts } if cell.status != grid::CellStatus::Running => {
                let done = counts.succeeded + counts.failed;
                let detail = cell.error.clone().unwrap_or_else(|| format!("{} ms", cell.latency_ms));
                eprintln!("[{done}/{}] row {} {}: {} ({detail})", counts.total, cell.row_index + 1, cell.model, cell.status.as_str());
            }
            GridProgress::Cell { .. } => {}
            GridProgress::Stopping { reason } => eprintln!("stopping: {reason}"),
        })
        .await?;
    println!(
        "grid run {}: {} — {} succeeded, {} failed, {} queued, ${:.4} spent",
        outcome.run_id,
        outcome.status.as_str(),
        outcome.counts.succeeded,
        outcome.counts.failed,
        outcome.counts.queued,
        outcome.counts.spent_usd
    );
    if let Some(reason) = &outcome.reason {
        println!("reason: {reason}");
    }
    Ok(outcome)
}

/// 0 when every cell succeeded; 130 cancelled; 1 otherwise.
fn exit_code(o: &GridOutcome) -> u8 {
    match o.status {
        GridStatus::Completed if o.counts.failed == 0 => 0,
        GridStatus::Cancelled => 130,
        _ => 1,
    }
}

/// The run's per-model table and its graders' agreement with people.
fn show(store: &Store, run_id: &str) -> Result<(), Failure> {
    let run = store.grid(run_id)?;
    let rate = |p: chipbench_core::store::PassCount| if p.graded == 0 { "-".to_owned() } else { format!("{:.0}% of {}", 100.0 * p.passed as f64 / p.graded as f64, p.graded) };
    println!("{:<32} {:>5} {:>6} {:>11} {:>11} {:>11} {:>9} {:>9}", "model", "ok", "failed", "rule", "judge", "people", "rating", "cost");
    for s in store.grid_summary(run_id)? {
        let rating = s.avg_rating.map_or("-".to_owned(), |r| format!("{r:.2} ({})", s.rating_count));
        println!("{:<32} {:>5} {:>6} {:>11} {:>11} {:>11} {:>9} {:>9.4}", s.model, s.succeeded, s.failed, rate(s.rule), rate(s.judge), rate(s.manual), rating, s.cost_usd);
    }
    println!("showing: {} grades", run.active_metric.as_str());
    for a in store.grader_agreement(run_id)? {
        match a.agreement {
            Some(x) => {
                let kappa = x.kappa.map_or("undefined".to_owned(), |k| format!("{k:.3}"));
                println!("{} grader `{}` vs people: agreement {:.1}% over {} cell(s), Cohen's kappa {kappa}", a.metric.as_str(), a.grader, 100.0 * x.rate, x.pairs);
            }
            None => println!("{} grader `{}`: no cells graded by people yet", a.metric.as_str(), a.grader),
        }
    }
    Ok(())
}
