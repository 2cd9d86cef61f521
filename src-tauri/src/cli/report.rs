//! The subcommands that read the store and print it: `runs`, `leaderboard`, `export`,
//! `analytics`. Tables go to stdout (or JSON, when asked); why a table is empty goes to stderr.

use std::path::Path;

use chipbench_core::{
    analytics::DayRange,
    export,
    store::{Analytics, CallStats, GroupBy, Leaderboard, RunSummary, StatsQuery, Store},
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
}

pub fn runs(store: &Store, json: bool) -> Result<u8, Failure> {
    let runs = store.runs()?;
    if json {
        println!("{}", serde_json::to_string(&runs).expect("runs serialise"));
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
    if args.json {
        println!("{}", serde_json::to_string(&board).expect("the leaderboard serialises"));
    } else {
        print_leaderboard(&board, &query);
    }
    Ok(0)
}

pub fn export_run(store: &Store, run_id: &str, path: &Path) -> Result<u8, Failure> {
    store.run(run_id)?; // an unknown run is an error that names it, not an empty file
    let results = store.run_results(run_id)?;
    export::write(path, &results)?;
    println!("exported {} result(s) of run {run_id} to {}", results.len(), path.display());
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
        let (value, interval) = if q.normalise { (r.z_score, r.z_interval) } else { (r.avg_rating, r.rating_interval) };
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

