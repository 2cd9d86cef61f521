//! The subcommands that read the store and print it: `runs`, `leaderboard`, `export`,
//! `analytics`, the trace debugger's `search` and `trace`, and `--list-models` (the price table,
//! or what an endpoint serves). Tables go to stdout (or JSON, when
//! asked); why a table is empty goes to stderr.

use std::path::{Path, PathBuf};

use chipbench_core::{
    analytics::DayRange,
    export,
    llm::{served, FailureKind, ProviderKind, ProviderSettings},
    store::{Analytics, CallStats, GroupBy, Leaderboard, RunSummary, SearchPage, SearchQuery, StatsQuery, Store, TraceDetail, COUNT_CAP},
    trace::Span,
};
use clap::Args;

use super::Failure;

#[derive(Args, Debug)]
pub struct LeaderboardArgs {
    /// The dimension to group by.
    #[arg(long, default_value = "model", value_parser = clap::builder::PossibleValuesParser::new(GroupBy::ALL.map(GroupBy::as_str)))]
    pub by: String,
    /// Only this run's results.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Count demo (mock) runs too.
    #[arg(long)]
    pub include_demo: bool,
    /// Score by rater z-scores (a harsh and a lenient rater count alike) instead of raw ratings.
    #[arg(long)]
    pub normalise: bool,
    /// Print the leaderboard as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write it to this .csv or .json file.
    #[arg(long, value_name = "PATH")]
    pub export: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words, "a phrase", prefix*, a OR b; any other punctuation is text.
    pub text: String,
    /// Only this model's calls.
    #[arg(long)]
    pub model: Option<String>,
    /// Only this run's calls.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Only calls of this kind: generation, selection, fill, chat, or an imported type.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only failed calls.
    #[arg(long)]
    pub errors: bool,
    /// Hits to print, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print the page as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// A trace id (a test's trace id is its result id), as `search` prints it.
    pub id: String,
    /// Also print each call's messages and response.
    #[arg(long)]
    pub full: bool,
    /// Print the trace as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn runs(store: &Store, json: bool) -> Result<u8, Failure> {
    let runs = store.runs()?;
    if json {
        println!("{}", serde_json::to_string(&runs).expect("runs serialise"));
    } else if runs.is_empty() {
        eprintln!("no runs yet: start one with `chipbench --batch --model ID` (or --all)");
    } else {
        runs.iter().for_each(print_run);
    }
    Ok(0)
}

pub fn leaderboard(store: &Store, args: &LeaderboardArgs) -> Result<u8, Failure> {
    if let Some(id) = &args.run {
        store.run(id)?; // an unknown run is an error that names it, not an empty board
    }
    let group_by = GroupBy::parse(&args.by).expect("clap checked the value");
    let query = StatsQuery { group_by, run_id: args.run.clone(), include_demo: args.include_demo, normalise: args.normalise };
    let board = store.stats(&query)?;
    if let Some(path) = &args.export {
        let n = export::write_board(path, &board, &query)?;
        eprintln!("exported {n} row(s) to {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&board).expect("the leaderboard serialises"));
    } else {
        print_leaderboard(&board, &query);
    }
    Ok(0)
}

pub fn export_run(store: &Store, run_id: &str, path: &Path) -> Result<u8, Failure> {
    let n = export::export_run(store, run_id, path)?;
    println!("exported {n} result(s) of run {run_id} to {}", path.display());
    Ok(0)
}

pub fn analytics(store: &Store, range: &str, source: Option<&str>, rebuild: bool) -> Result<u8, Failure> {
    let range = DayRange::parse(range, DayRange::today())?;
    if rebuild {
        store.rebuild_analytics()?;
    }
    print_analytics(&store.analytics(range, source)?);
    Ok(0)
}

pub fn search(store: &Store, args: &SearchArgs) -> Result<u8, Failure> {
    let query = SearchQuery {
        text: args.text.clone(),
        model: args.model.clone(),
        run_id: args.run.clone(),
        kind: args.kind.clone(),
        has_error: args.errors.then_some(true),
        limit: args.limit,
        offset: 0,
    };
    let page = store.search(&query)?;
    if args.json {
        println!("{}", serde_json::to_string(&page).expect("a search page serialises"));
    } else {
        print_search(&page);
    }
    Ok(0)
}

pub fn trace(store: &Store, args: &TraceArgs) -> Result<u8, Failure> {
    let detail = store.trace(&args.id, None)?;
    if args.json {
        println!("{}", serde_json::to_string(&detail).expect("a trace serialises"));
    } else {
        print_trace(&detail, args.full);
    }
    Ok(0)
}

/// The count, then a hit's trace id and call on one line and its snippet, hits in [brackets],
/// on the next.
fn print_search(page: &SearchPage) {
    let more = if page.total_capped { format!("{COUNT_CAP}+") } else { page.total.to_string() };
    println!("{more} matching call(s)");
    for h in &page.hits {
        let failed = if h.ok { "" } else { " (failed)" };
        let call = format!("{}  {}  {} {}{failed}  {}", h.trace_id, h.started_at, h.kind, h.model.as_deref().unwrap_or("-"), h.trace_name);
        println!("{}", printable(&call));
        let snippet: String = h.snippet.iter().map(|p| if p.hit { format!("[{}]", p.text) } else { p.text.clone() }).collect();
        println!("    {}", printable(&snippet.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    if page.unindexed > 0 {
        eprintln!("{} call(s) stored but not yet searchable; they are indexed in the background", page.unindexed);
    }
}

/// The trace's totals, then a line a call in start order (with `full`, its messages and response).
fn print_trace(d: &TraceDetail, full: bool) {
    let t = &d.trace;
    println!("{} ({}): {}", t.id, t.kind.as_str(), printable(&t.name));
    println!(
        "{} call(s), {} failed, {} in / {} out tokens, ${:.5}, {} to {}",
        t.span_count, t.error_count, t.input_tokens, t.output_tokens, t.cost_usd, t.started_at, t.ended_at
    );
    for s in &d.spans {
        print_span(s, full);
    }
}

fn print_span(s: &Span, full: bool) {
    let status = if s.ok { "ok".to_owned() } else { format!("error: {}", printable(s.error.as_deref().unwrap_or(""))) };
    let retries = if s.retries.is_empty() { String::new() } else { format!(", {} retried attempt(s)", s.retries.len()) };
    println!(
        "  {}  {:<10} {:<36} {:>6} ms  {:>5}/{:<5} tok  ${:.5}  {status}{retries}",
        s.started_at,
        printable(&s.kind),
        printable(s.model.as_deref().unwrap_or("-")),
        s.latency_ms,
        s.input_tokens,
        s.output_tokens,
        s.cost_usd,
    );
    if !full {
        return;
    }
    for m in s.messages.iter().flat_map(|m| m.iter()) {
        println!("    {}: {}", m.role.as_str(), indented(&m.content));
    }
    if let Some(response) = &s.response {
        println!("    response: {}", indented(response));
    }
}

/// A prompt or response under its call's line, printable.
fn indented(text: &str) -> String {
    printable(text).replace('\n', "\n      ")
}

/// Model output and imported text are untrusted: control characters (a terminal's escape
/// sequences among them) are printed escaped, never sent to the terminal. Newlines and tabs stay.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// One line a run.
fn print_run(r: &RunSummary) {
    let demo = if r.is_demo { " (demo)" } else { "" };
    let personas = match r.persona_ids.len() {
        1 => r.persona_ids[0].clone(),
        n => format!("{n} personas"),
    };
    println!(
        "{}  {}  {:<11} {:>6}/{:<6} {:>6} with errors  ${:<9.4} {}{demo}  {} · {personas}",
        r.id,
        r.started_at,
        r.status.as_str(),
        r.result_count,
        r.total_tests,
        r.error_count,
        r.total_cost_usd,
        r.provider,
        r.models.join(", "),
    );
}

/// The leaderboard as a table, then rater agreement; says why it is empty when it is.
fn print_leaderboard(board: &Leaderboard, q: &StatsQuery) {
    if board.stats.is_empty() {
        let demo = if q.include_demo || q.run_id.is_some() { "" } else { " (mock runs are demo runs, left out unless --include-demo)" };
        eprintln!("no results to rank{demo}");
        return;
    }
    let score = if q.normalise { "z-score" } else { "rating" };
    println!(
        "{:>4}  {:<36} {:>7} {:>13} {:>6} {:>8} {:>7} {:>6} {:>10} {:>7} {:>9} {:>8} {:>13}",
        "rank", q.group_by.as_str(), score, "95% interval", "rated", "results", "parsed", "count", "constraint", "errors", "cost", "latency", "tokens in/out"
    );
    let num = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    let pct = |v: f64| format!("{:.0}%", 100.0 * v);
    let whole = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    for r in &board.stats {
        let (value, interval) = r.score(q.normalise);
        let front = if r.pareto { " *" } else { "" };
        println!(
            "{:>4}  {:<36} {:>7} {:>13} {:>6} {:>8} {:>7} {:>6} {:>10} {:>7} {:>9} {:>8} {:>13}",
            r.rank.map_or("-".to_owned(), |n| n.to_string()),
            format!("{}{front}", r.value()),
            num(value),
            interval.map_or("-".to_owned(), |(lo, hi)| format!("{lo:.2}-{hi:.2}")),
            r.rated_count,
            r.result_count,
            pct(r.parsed_rate),
            pct(r.count_met_rate),
            pct(r.constraint_met_rate),
            pct(r.error_rate),
            format!("${:.4}", r.total_cost_usd),
            r.avg_latency_ms.map_or("-".to_owned(), |ms| format!("{ms:.0} ms")),
            format!("{}/{}", whole(r.avg_tokens.input), whole(r.avg_tokens.output)),
        );
    }
    println!("* on the Pareto front: nothing is both cheaper and better rated");
    match board.agreement {
        Some(alpha) => println!("rater agreement (Krippendorff's alpha, ordinal): {alpha:.2} over {} results rated twice or more", board.agreement_units),
        None => println!("rater agreement: needs results rated by two or more raters ({} so far)", board.agreement_units),
    }
}

/// A table per grouping: calls, errors, tokens, cost and latency.
fn print_analytics(a: &Analytics) {
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let line = |key: &str, s: &CallStats| {
        let rating = s.mean_rating.map_or("-".to_owned(), |r| format!("{r:.2}"));
        println!(
            "{key:<32} {:>8} {:>7} {:>6.1}% {:>10} {:>10} {:>10.4} {:>7} {:>7} {:>8} {:>8} {:>6}",
            s.calls, s.errors, 100.0 * s.error_rate, s.input_tokens, s.output_tokens, s.cost_usd, ms(s.p50_latency_ms), ms(s.p95_latency_ms), s.results, s.ratings, rating
        )
    };
    let header = |title: &str| {
        let columns = ["calls", "errors", "rate", "in tok", "out tok", "cost $", "p50 ms", "p95 ms", "results", "ratings", "mean"];
        println!("{title:<32} {:>8} {:>7} {:>7} {:>10} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8} {:>6}", columns[0], columns[1], columns[2], columns[3], columns[4], columns[5], columns[6], columns[7], columns[8], columns[9], columns[10]);
    };
    header("day");
    a.days.iter().for_each(|g| line(&g.key, &g.stats));
    header("model");
    a.models.iter().for_each(|g| line(if g.key.is_empty() { "(no model)" } else { &g.key }, &g.stats));
    line("total", &a.total);
}

/// The price table.
pub fn price_table(store: &Store) -> Result<u8, Failure> {
    for m in store.models()? {
        println!("{:<36} {:<26} ${:>6}/M in  ${:>6}/M out", m.id, m.name, m.input_price, m.output_price);
    }
    Ok(0)
}

/// What the provider's endpoint serves, each model marked when it is in the price table, and how
/// to add one that is not.
pub async fn served_models(store: &Store, settings: &ProviderSettings, json: bool) -> Result<u8, Failure> {
    // Refused credentials are a configuration error, as for a batch, and the mock, which has no
    // endpoint, a usage error (exit code 2).
    let served = served::served_models(settings).await.map_err(|e| Failure {
        exit: if e.kind == FailureKind::Auth || settings.kind == ProviderKind::Mock { 2 } else { 1 },
        message: e.message,
    })?;
    let known: std::collections::HashSet<String> = store.models()?.into_iter().map(|m| m.id).collect();
    if json {
        let models: Vec<_> = served.models.iter().map(|m| serde_json::json!({"id": m.id, "name": m.name, "price": m.price, "in_price_table": known.contains(&m.id)})).collect();
        println!("{}", serde_json::json!({"url": served.url, "latency_ms": served.latency_ms, "models": models, "credit": served.credit}));
        return Ok(0);
    }
    println!("{} answered in {} ms: {}", served.url, served.latency_ms, super::counted(served.models.len() as u64, "model"));
    if let Some(c) = served.credit {
        let limit = c.limit_usd.map_or_else(|| "no limit set".to_owned(), |l| format!("a ${l} limit"));
        println!("the key works: ${} spent, {limit}", c.usage_usd);
    }
    for m in &served.models {
        let price = m.price.map_or_else(|| "price not given".to_owned(), |p| format!("${}/M in  ${}/M out", p.input, p.output));
        let listed = if known.contains(&m.id) { "in the price table" } else { "not in the price table" };
        println!("  {:<40} {price:<28} {listed}", m.id);
    }
    if let Some(m) = served.models.iter().find(|m| !known.contains(&m.id)) {
        let p = m.price.unwrap_or(chipbench_core::llm::Price { input: 0.0, output: 0.0 });
        eprintln!("add one to benchmark it: chipbench add-model {} --input-price {} --output-price {}", m.id, p.input, p.output);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_printed_escaped_and_lines_stay() {
        assert_eq!(printable("red\u{1b}[31m text\u{7}\nnext\tcell"), "red\\u{1b}[31m text\\u{7}\nnext\tcell");
        assert_eq!(indented("a\nb"), "a\n      b");
    }
}
