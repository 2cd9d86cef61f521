//! The prompt lab's grid runs: one prompt version on every row of a dataset by up to four
//! models. Each (row, model) is a cell; a cell's output is graded by a rule on a dataset column
//! and, optionally, by a grader prompt (LLM as judge); people may grade cells by hand.
//! [`prepare`] validates a request and stores the run with its cells queued, [`prepare_rerun`]
//! queues one cell or the unfinished ones again, [`runner`] executes queued cells, [`export`]
//! writes a run as CSV or JSON.

pub mod export;
pub mod runner;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use runner::{GridCounts, GridOutcome, GridProgress, GridRunner};

use crate::{
    dataset,
    grade::{GradeError, Rule},
    llm::{settings::Env, ProviderKind, ProviderSettings, RetryPolicy, SettingsError},
    store::{DatasetSummary, GraderAgreement, GridCell, ModelSummary, PromptVersion, Store, StoreError},
};

/// At most this many models answer in one grid run.
pub const MAX_GRID_MODELS: usize = 4;
/// The placeholder a grader prompt uses for the output it grades.
pub const OUTPUT_PLACEHOLDER: &str = "output";

#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Grade(#[from] GradeError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
}

impl crate::error::Coded for GridError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Invalid(_) => crate::ErrorCode::Validation,
            Self::Grade(e) => e.code(),
            Self::Settings(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Export(e) => e.code(),
        }
    }
}

/// A rule-based grader: a rule (`exact`, `contains`, `regex`, `json`, `json_fields:a,b`) and the
/// dataset column holding each row's expected value (`json` needs none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleGrader {
    pub rule: String,
    pub expected: Option<String>,
}

impl RuleGrader {
    /// The grader's version: its rule and column (the same text grades the same way).
    pub fn version(&self) -> String {
        match &self.expected {
            Some(column) => format!("{} on {column}", self.rule),
            None => self.rule.clone(),
        }
    }
}

/// A grader prompt (a prompt version with `{{output}}` and any dataset columns) and the model
/// that answers it with `{pass, rationale}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JudgeGrader {
    pub prompt_id: String,
    pub model: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Graders {
    pub rule: Option<RuleGrader>,
    pub judge: Option<JudgeGrader>,
}

/// Which grade the grid shows: the rule's, the judge's, or people's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Rule,
    Judge,
    Manual,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Judge => "judge",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        [Self::Rule, Self::Judge, Self::Manual].into_iter().find(|m| m.as_str() == s)
    }
}

/// Per-run call parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridParams {
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// What a user asks for when starting a grid run.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct GridRequest {
    /// The prompt version to run.
    pub prompt_id: String,
    pub dataset_id: String,
    pub models: Vec<String>,
    pub params: GridParams,
    pub graders: Graders,
    /// None: the judge's when there is one, else the rule's, else people's.
    pub metric: Option<Metric>,
    pub provider: Option<ProviderKind>,
    pub base_url: Option<String>,
    /// 0 means the default, 8.
    pub concurrency: usize,
}

const DEFAULT_CONCURRENCY: usize = 8;

/// A stored grid run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridRun {
    pub id: String,
    pub prompt_id: String,
    pub dataset_id: String,
    pub models: Vec<String>,
    pub params: GridParams,
    pub graders: Graders,
    pub active_metric: Metric,
    pub provider: ProviderKind,
    pub base_url: Option<String>,
    pub concurrency: u32,
    pub status: GridStatus,
    pub status_reason: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// The run's heartbeat while it runs: a running run whose heartbeat is stale was interrupted.
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum GridStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl GridStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<GridStatus> {
        [Self::Running, Self::Completed, Self::Cancelled, Self::Failed].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    #[default]
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<CellStatus> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed].into_iter().find(|m| m.as_str() == s)
    }
}

/// A run ready to execute, with the runner for its provider.
pub struct Prepared {
    pub run: GridRun,
    pub runner: GridRunner,
}

/// Validates a request (prompt, dataset columns, models, graders) and stores the run with every
/// cell queued, in one transaction. Nothing is stored when anything is wrong.
pub fn prepare(store: &Store, req: &GridRequest, env: &dyn Env) -> Result<Prepared, GridError> {
    let invalid = |m: String| Err(GridError::Invalid(m));
    let settings = ProviderSettings::resolve(req.provider, req.base_url.clone(), env)?;
    let prompt = store.prompt(&req.prompt_id)?;
    let dataset = store.dataset(&req.dataset_id)?;
    let missing = dataset::missing_columns(&prompt.text, &dataset.headers);
    if !missing.is_empty() {
        return invalid(format!("prompt `{}`: dataset `{}` has no column {}", prompt.name, dataset.name, dataset::quote_placeholders(&missing)));
    }
    check_models(store, &req.models)?;
    check_graders(store, &req.graders, &dataset.headers)?;
    if dataset.row_count == 0 {
        return invalid(format!("dataset `{}` has no rows", dataset.name));
    }
    let metric = req.metric.unwrap_or(match (&req.graders.judge, &req.graders.rule) {
        (Some(_), _) => Metric::Judge,
        (None, Some(_)) => Metric::Rule,
        (None, None) => Metric::Manual,
    });
    match metric {
        Metric::Rule if req.graders.rule.is_none() => return invalid("metric: `rule` needs a rule grader".into()),
        Metric::Judge if req.graders.judge.is_none() => return invalid("metric: `judge` needs a grader prompt".into()),
        _ => {}
    }
    let concurrency = match req.concurrency {
        0 => DEFAULT_CONCURRENCY,
        n @ 1..=256 => n,
        n => return invalid(format!("concurrency: {n} must be between 1 and 256")),
    };
    let now = crate::clock::now();
    let run = GridRun {
        id: crate::ids::new_id(),
        prompt_id: prompt.id,
        dataset_id: dataset.id,
        models: req.models.clone(),
        params: req.params,
        graders: req.graders.clone(),
        active_metric: metric,
        provider: settings.kind,
        base_url: settings.base_url.clone(),
        concurrency: concurrency as u32,
        status: GridStatus::Running,
        status_reason: None,
        created_at: now.clone(),
        completed_at: None,
        updated_at: now,
    };
    store.create_grid(&run, dataset.row_count)?;
    Ok(Prepared { run, runner: runner(store, &settings) })
}

/// One dataset row of a grid page: its values (in column order) and its cells (in model order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridRow {
    pub index: u64,
    pub values: Vec<String>,
    pub cells: Vec<GridCell>,
}

/// What the grid view shows of a run: the run, its prompt versions and dataset, a page of rows
/// with their cells, the per-model summary and each grader's agreement with people.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridPage {
    pub run: GridRun,
    pub prompt: PromptVersion,
    pub judge: Option<PromptVersion>,
    pub dataset: DatasetSummary,
    pub rows: Vec<GridRow>,
    pub summary: Vec<ModelSummary>,
    pub agreement: Vec<GraderAgreement>,
    /// Marked running, but its process stopped beating: it can be run again.
    pub interrupted: bool,
}

/// Rows `offset..offset + limit` of a run's grid, with `user`'s own grades.
pub fn page(store: &Store, run_id: &str, user: &str, offset: u64, limit: u32) -> Result<GridPage, GridError> {
    let run = store.grid(run_id)?;
    let dataset = store.dataset(&run.dataset_id)?;
    let values = store.dataset_rows(&dataset.id, offset, limit)?;
    let mut cells = store.grid_cells(run_id, user, offset..offset + u64::from(limit))?.into_iter().peekable();
    let rows = (offset..)
        .zip(values)
        .map(|(index, values)| {
            let mut mine = Vec::new();
            while let Some(cell) = cells.next_if(|c| c.row_index == index) {
                mine.push(cell);
            }
            GridRow { index, values, cells: mine }
        })
        .collect();
    Ok(GridPage {
        prompt: store.prompt_version(&run.prompt_id)?,
        judge: run.graders.judge.as_ref().map(|j| store.prompt_version(&j.prompt_id)).transpose()?,
        dataset,
        rows,
        summary: store.grid_summary(run_id)?,
        agreement: store.grader_agreement(run_id)?,
        interrupted: run.status == GridStatus::Running && run.updated_at < crate::store::stale_before(),
        run,
    })
}

/// Which cells to run again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Rerun {
    /// One cell, whatever its state.
    Cell(String),
    /// Every cell that failed, and any left queued by a cancel.
    Unfinished,
}

/// Queues cells of a finished run again and claims the run; the provider is resolved first, so a
/// missing key changes nothing.
pub fn prepare_rerun(store: &Store, run_id: &str, which: &Rerun, env: &dyn Env) -> Result<Prepared, GridError> {
    let run = store.grid(run_id)?;
    let settings = ProviderSettings::resolve(Some(run.provider), run.base_url.clone(), env)?;
    let run = store.requeue_cells(run_id, which)?;
    Ok(Prepared { run, runner: runner(store, &settings) })
}

fn runner(store: &Store, settings: &ProviderSettings) -> GridRunner {
    GridRunner { store: store.clone(), provider: Arc::new(settings.build()), policy: RetryPolicy::default(), observer: None }
}

fn check_models(store: &Store, models: &[String]) -> Result<(), GridError> {
    let invalid = |m: String| Err(GridError::Invalid(m));
    match models.len() {
        0 => return invalid("models: choose at least one model".into()),
        n if n > MAX_GRID_MODELS => return invalid(format!("models: {n} models chosen; a grid runs at most {MAX_GRID_MODELS}")),
        _ => {}
    }
    let prices = store.price_table()?;
    for (i, model) in models.iter().enumerate() {
        if prices.get(model).is_none() {
            return invalid(format!("models: unknown model `{model}`; add it to the price table in Settings first"));
        }
        if models[..i].contains(model) {
            return invalid(format!("models: `{model}` is chosen twice"));
        }
    }
    Ok(())
}

fn check_graders(store: &Store, graders: &Graders, headers: &[String]) -> Result<(), GridError> {
    if let Some(g) = &graders.rule {
        let rule = Rule::parse(&g.rule)?;
        match (&g.expected, rule) {
            (None, Rule::ValidJson) => {}
            (None, _) => return Err(GridError::Invalid(format!("grader: rule `{}` needs the column of expected values", g.rule))),
            (Some(column), _) if !headers.contains(column) => {
                return Err(GridError::Invalid(format!("grader: the dataset has no column `{column}` (columns: {})", headers.join(", "))))
            }
            (Some(_), _) => {}
        }
    }
    if let Some(j) = &graders.judge {
        let prompt = store.prompt(&j.prompt_id)?;
        let mut known = headers.to_vec();
        known.push(OUTPUT_PLACEHOLDER.into());
        let missing = dataset::missing_columns(&prompt.text, &known);
        if !missing.is_empty() {
            return Err(GridError::Invalid(format!("grader prompt `{}`: no column {} (it may use the dataset's columns and {{{{output}}}})", prompt.name, dataset::quote_placeholders(&missing))));
        }
        if !dataset::placeholders(&prompt.text).iter().any(|p| p == OUTPUT_PLACEHOLDER) {
            return Err(GridError::Invalid(format!("grader prompt `{}` never shows the output: add {{{{output}}}}", prompt.name)));
        }
        if store.price_table()?.get(&j.model).is_none() {
            return Err(GridError::Invalid(format!("grader: unknown model `{}`; add it to the price table in Settings first", j.model)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{dataset::Format, store::tests::temp_store};

    const MODELS: [&str; 2] = ["openai/gpt-5-mini", "anthropic/claude-haiku-4.5"];

    fn instant() -> HashMap<&'static str, &'static str> {
        [("CHIPBENCH_MOCK_LATENCY_SCALE", "0")].into()
    }

    /// A 3-row dataset, a prompt with its placeholder and a grader prompt.
    fn lab(store: &Store) -> GridRequest {
        let csv = "question,expected\nWhat limits throughput?,throughput\n\"Say \"\"hi\"\", then stop\",hi\nName a KPI,revenue\n";
        let dataset = store.import_dataset("questions", "q.csv", Format::Csv, csv.as_bytes()).unwrap();
        let prompt = store.save_prompt("answer", "Answer briefly: {{question}}").unwrap();
        let judge = store.save_prompt("judge", "Question: {{question}}\nAnswer: {{output}}\nDoes the answer address the question?").unwrap();
        GridRequest {
            prompt_id: prompt.prompt.id,
            dataset_id: dataset.id,
            models: MODELS.map(String::from).to_vec(),
            graders: Graders {
                rule: Some(RuleGrader { rule: "contains".into(), expected: Some("expected".into()) }),
                judge: Some(JudgeGrader { prompt_id: judge.prompt.id, model: MODELS[0].into() }),
            },
            ..GridRequest::default()
        }
    }

    async fn run(store: &Store, req: &GridRequest) -> (GridRun, GridOutcome) {
        let Prepared { run, runner } = prepare(store, req, &instant()).unwrap();
        let outcome = runner.execute(&run, tokio_util::sync::CancellationToken::new(), |_| {}).await.unwrap();
        (run, outcome)
    }

    #[tokio::test]
    async fn a_grid_answers_and_grades_every_row_with_every_model() {
        let (_d, store) = temp_store();
        let req = lab(&store);
        let (run, outcome) = run(&store, &req).await;
        assert_eq!((outcome.status, outcome.counts.succeeded, outcome.counts.total), (GridStatus::Completed, 6, 6));
        assert_eq!(run.active_metric, Metric::Judge, "the judge's grade is shown when there is one");
        let cells = store.grid_cells(&run.id, "ada", ..).unwrap();
        let order: Vec<(u64, &str)> = cells.iter().map(|c| (c.row_index, c.model.as_str())).collect();
        assert_eq!(order, vec![(0, MODELS[0]), (0, MODELS[1]), (1, MODELS[0]), (1, MODELS[1]), (2, MODELS[0]), (2, MODELS[1])]);
        for c in &cells {
            assert_eq!(c.status, CellStatus::Succeeded);
            assert!(c.output.as_deref().unwrap().contains("mock reply"));
            assert!(c.rule_pass.is_some() && c.judge_pass.is_some(), "both graders gave a verdict: {c:?}");
            let events: Vec<String> = store.cell_events(&c.id).unwrap().into_iter().map(|e| e.event).collect();
            assert_eq!(events, ["queued", "started", "succeeded", "graded", "graded"]);
            let trace = store.trace(&c.id, None).unwrap();
            let kinds: Vec<&str> = trace.spans.iter().map(|s| s.kind.as_str()).collect();
            assert_eq!(kinds, ["chat", "grade"], "the answer and the judge's call are spans of the cell's trace");
            assert!(trace.spans[0].messages.as_ref().unwrap()[0].content.starts_with("Answer briefly: "), "the prompt was rendered");
            assert!(trace.spans[1].messages.as_ref().unwrap()[0].content.contains(c.output.as_deref().unwrap()), "the judge saw the output");
        }
        // The mock answers with words of the question: row 0 contains "throughput", row 2 cannot say "revenue".
        assert_eq!(cells[0].rule_pass, Some(cells[0].output.as_deref().unwrap().to_lowercase().contains("throughput")));
        assert_eq!(cells[4].rule_pass, Some(false));
        let summary = store.grid_summary(&run.id).unwrap();
        assert_eq!(summary.iter().map(|s| (s.model.as_str(), s.succeeded, s.judge.graded)).collect::<Vec<_>>(), vec![(MODELS[0], 3, 3), (MODELS[1], 3, 3)]);
        let second = page(&store, &run.id, "ada", 1, 1).unwrap();
        assert_eq!(second.rows.len(), 1);
        assert_eq!((second.rows[0].index, second.rows[0].values[0].as_str()), (1, "Say \"hi\", then stop"));
        assert_eq!(second.rows[0].cells, cells[2..4], "the row's cells, in model order");
        assert_eq!((second.prompt.number, second.judge.unwrap().prompt.name.as_str()), (1, "judge"));
    }

    #[tokio::test]
    async fn bad_requests_are_named_and_store_nothing() {
        let (_d, store) = temp_store();
        let good = lab(&store);
        let env = instant();
        let refuse = |req: GridRequest| prepare(&store, &req, &env).err().expect("refused").to_string();
        let unknown_column = store.save_prompt("persona", "As {{persona}}, answer {{question}} in {{tone}}").unwrap().prompt.id;
        assert_eq!(refuse(GridRequest { prompt_id: unknown_column, ..good.clone() }), "prompt `persona`: dataset `questions` has no column {{persona}}, {{tone}}");
        let five = ["openai/gpt-5-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash", "meta-llama/llama-4-maverick", "x-ai/grok-4-fast"];
        assert_eq!(refuse(GridRequest { models: five.map(String::from).to_vec(), ..good.clone() }), "models: 5 models chosen; a grid runs at most 4");
        assert_eq!(refuse(GridRequest { models: vec![], ..good.clone() }), "models: choose at least one model");
        assert!(refuse(GridRequest { models: vec!["nope/x".into()], ..good.clone() }).contains("unknown model `nope/x`"));
        assert_eq!(refuse(GridRequest { models: vec![MODELS[0].into(), MODELS[0].into()], ..good.clone() }), format!("models: `{}` is chosen twice", MODELS[0]));
        let rule = |rule: &str, expected: Option<&str>| Graders { rule: Some(RuleGrader { rule: rule.into(), expected: expected.map(String::from) }), judge: None };
        assert_eq!(refuse(GridRequest { graders: rule("contains", None), ..good.clone() }), "grader: rule `contains` needs the column of expected values");
        assert_eq!(refuse(GridRequest { graders: rule("exact", Some("answer")), ..good.clone() }), "grader: the dataset has no column `answer` (columns: question, expected)");
        assert!(refuse(GridRequest { graders: rule("fuzzy", Some("expected")), ..good.clone() }).contains("fuzzy"));
        let blind = store.save_prompt("blind judge", "Is this good? {{question}}").unwrap().prompt.id;
        let judge = |prompt_id: String, model: &str| Graders { rule: None, judge: Some(JudgeGrader { prompt_id, model: model.into() }) };
        assert_eq!(refuse(GridRequest { graders: judge(blind, MODELS[0]), ..good.clone() }), "grader prompt `blind judge` never shows the output: add {{output}}");
        let judge_id = good.graders.judge.clone().unwrap().prompt_id;
        assert!(refuse(GridRequest { graders: judge(judge_id, "nope/y"), ..good.clone() }).contains("grader: unknown model `nope/y`"));
        assert_eq!(refuse(GridRequest { metric: Some(Metric::Rule), graders: Graders::default(), ..good.clone() }), "metric: `rule` needs a rule grader");
        assert_eq!(refuse(GridRequest { concurrency: 1000, ..good.clone() }), "concurrency: 1000 must be between 1 and 256");
        assert!(refuse(GridRequest { dataset_id: "missing".into(), ..good.clone() }).contains("dataset `missing` not found"));
        assert!(store.grids().unwrap().is_empty(), "nothing stored");
    }

    #[tokio::test]
    async fn people_grade_cells_and_agreement_follows_per_grader_version() {
        let (_d, store) = temp_store();
        let req = lab(&store);
        let (run, _) = run(&store, &req).await;
        let cells = store.grid_cells(&run.id, "ada", ..).unwrap();
        let agreement = |store: &Store| store.grader_agreement(&run.id).unwrap();
        assert!(agreement(&store).iter().all(|a| a.agreement.is_none()), "no pairs before anyone grades");
        assert_eq!(agreement(&store)[0].grader, "contains on expected");
        assert_eq!(agreement(&store)[1].grader, format!("judge v1 with {}", MODELS[0]));
        // Ada agrees with the rule on two cells, then disagrees on a third.
        store.grade_cell(&cells[0].id, "ada", cells[0].rule_pass).unwrap();
        store.grade_cell(&cells[1].id, "ada", cells[1].rule_pass).unwrap();
        assert_eq!(agreement(&store)[0].agreement.unwrap().rate, 1.0);
        store.grade_cell(&cells[2].id, "ada", cells[2].rule_pass.map(|p| !p)).unwrap();
        let rule = agreement(&store)[0].agreement.unwrap();
        assert_eq!((rule.pairs, (rule.rate * 3.0).round()), (3, 2.0));
        // Unset withdraws the pair; one grade per cell and user.
        store.grade_cell(&cells[2].id, "ada", None).unwrap();
        store.grade_cell(&cells[0].id, "ada", Some(true)).unwrap();
        store.grade_cell(&cells[0].id, "ada", cells[0].rule_pass).unwrap();
        assert_eq!(agreement(&store)[0].agreement.unwrap().pairs, 2);
        assert_eq!(store.grid_cells(&run.id, "ada", ..).unwrap()[0].my_grade, cells[0].rule_pass);
        assert_eq!(store.grid_cells(&run.id, "bob", ..).unwrap()[0].my_grade, None, "grades are per user");
        // A second run with the same graders counts towards the same versions.
        let (second, _) = self::run(&store, &req).await;
        let other = store.grid_cells(&second.id, "bob", ..).unwrap();
        store.grade_cell(&other[0].id, "bob", other[0].rule_pass).unwrap();
        assert_eq!(store.grader_agreement(&second.id).unwrap()[0].agreement.unwrap().pairs, 3);
        let summary = store.grid_summary(&run.id).unwrap();
        assert_eq!(summary[0].manual.graded + summary[1].manual.graded, 2);
        assert!(store.grade_cell("missing", "ada", Some(true)).unwrap_err().to_string().contains("grid cell `missing` not found"));
    }

    #[tokio::test]
    async fn a_cancel_leaves_cells_to_run_again_and_a_cell_can_be_rerun() {
        let (_d, store) = temp_store();
        let req = GridRequest { concurrency: 1, ..lab(&store) };
        let env: HashMap<&str, &str> = [("CHIPBENCH_MOCK_LATENCY_SCALE", "0.2")].into();
        let Prepared { run, runner } = prepare(&store, &req, &env).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let outcome = runner
            .execute(&run, stop.clone(), |p| {
                if let GridProgress::Cell { counts, .. } = p {
                    if counts.succeeded == 1 {
                        stop.cancel();
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(outcome.status, GridStatus::Cancelled);
        assert_eq!(store.grid(&run.id).unwrap().status, GridStatus::Cancelled);
        let cells = store.grid_cells(&run.id, "", ..).unwrap();
        let done = cells.iter().filter(|c| c.status == CellStatus::Succeeded).count();
        assert!(done >= 1 && cells.iter().any(|c| c.status == CellStatus::Queued), "{cells:?}");
        assert!(cells.iter().all(|c| c.status != CellStatus::Running), "nothing is left running");

        let again = prepare_rerun(&store, &run.id, &Rerun::Unfinished, &instant()).unwrap();
        let outcome = again.runner.execute(&again.run, Default::default(), |_| {}).await.unwrap();
        assert_eq!((outcome.status, outcome.counts.succeeded), (GridStatus::Completed, 6));
        let err = prepare_rerun(&store, &run.id, &Rerun::Unfinished, &instant()).err().unwrap();
        assert!(err.to_string().contains("every cell succeeded; nothing to run again"), "{err}");

        let first = &cells[0];
        let one = prepare_rerun(&store, &run.id, &Rerun::Cell(first.id.clone()), &instant()).unwrap();
        one.runner.execute(&one.run, Default::default(), |_| {}).await.unwrap();
        let rerun = store.grid_cells(&run.id, "", ..).unwrap().into_iter().find(|c| c.id == first.id).unwrap();
        assert_eq!(rerun.attempts, 2);
        let chats = store.trace(&first.id, None).unwrap().spans.iter().filter(|s| s.kind == "chat").count();
        assert_eq!(chats, 2, "both attempts are in the cell's trace");
        assert!(prepare_rerun(&store, &run.id, &Rerun::Cell("nope".into()), &instant()).is_err());
    }

    #[tokio::test]
    async fn a_run_whose_process_died_is_taken_over_and_a_live_one_is_refused() {
        let (_d, store) = temp_store();
        let Prepared { run, .. } = prepare(&store, &lab(&store), &instant()).unwrap();
        let err = prepare_rerun(&store, &run.id, &Rerun::Unfinished, &instant()).err().unwrap();
        assert!(err.to_string().contains("is running; cancel it first"), "a fresh run belongs to its runner: {err}");
        // The runner's process died: its heartbeat stopped a minute ago.
        store.write(|tx| Ok(tx.execute("UPDATE grid_runs SET updated_at = '2026-01-01T00:00:00.000Z'", [])?)).unwrap();
        let again = prepare_rerun(&store, &run.id, &Rerun::Unfinished, &instant()).unwrap();
        let outcome = again.runner.execute(&again.run, Default::default(), |_| {}).await.unwrap();
        assert_eq!((outcome.status, outcome.counts.succeeded), (GridStatus::Completed, 6));
    }

    #[tokio::test]
    async fn a_run_exports_as_csv_and_json() {
        let (dir, store) = temp_store();
        let (run, _) = run(&store, &lab(&store)).await;
        let csv_path = dir.path().join("grid.csv");
        assert_eq!(export::export(&store, &run.id, "ada", &csv_path).unwrap(), 6);
        let mut reader = csv::Reader::from_path(&csv_path).unwrap();
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(&headers[..5], ["question", "expected", "cell_id", "row_index", "model"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 6);
        assert_eq!(&records[2][0], "Say \"hi\", then stop", "quotes survive the round trip");
        let json_path = dir.path().join("grid.json");
        export::export(&store, &run.id, "ada", &json_path).unwrap();
        let json: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
        assert_eq!((json.len(), json[5]["row"]["expected"].as_str(), json[5]["model"].as_str()), (6, Some("revenue"), Some(MODELS[1])));
        let err = export::export(&store, &run.id, "ada", &dir.path().join("grid.xlsx")).unwrap_err();
        assert!(err.to_string().contains("unknown extension"), "{err}");
    }
}
