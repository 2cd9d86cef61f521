//! Data management for scripts, as the window does it: what the database holds, deleting runs
//! (one, or every run started before a date) or traces that belong to no run after a look at
//! what would go, and undoing a deletion.

use std::path::Path;

use chipbench_core::store::{DeletionPlan, RunSelection, Store, TraceDeletion};
use clap::Args;

use super::{counted, usage, Failure};

#[derive(Args, Debug)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["run_id", "started_before"])))]
pub struct DeleteRunsArgs {
    /// The run to delete (`chipbench runs` lists them).
    pub run_id: Option<String>,
    /// Every run started before this date (2026-01-31, its start in UTC) or RFC 3339 time.
    #[arg(long)]
    pub started_before: Option<String>,
    /// Delete them; without it, only print what would go.
    #[arg(long)]
    pub yes: bool,
    /// Print what went (or would go) and the run ids as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[group(skip)]
pub struct DeleteTracesArgs {
    /// The traces to delete: playground sessions, replays, imports (`chipbench search` prints
    /// trace ids). A benchmark test's trace goes with its run (`delete-runs`).
    #[arg(required = true)]
    pub trace_ids: Vec<String>,
    /// Delete them; without it, only print what would go.
    #[arg(long)]
    pub yes: bool,
    /// Print what went (or would go) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints what a deletion without --yes would take.
fn preview(json: bool, plan: &impl serde::Serialize, what: &str) {
    if json {
        println!("{}", serde_json::json!({"deleted": false, "would_take": plan}));
    } else {
        println!("would delete {what}, here and, after the next sync, everywhere; add --yes to delete");
    }
}

/// "N traces with N calls and N ratings".
fn traces_taken(p: &TraceDeletion) -> String {
    format!("{} with {} and {}", counted(p.traces, "trace"), counted(p.calls, "call"), counted(p.ratings, "rating"))
}

/// Deletes traces after a look, as `delete-runs` does runs; an unknown, deleted or test trace is
/// a usage error and deletes nothing.
pub fn delete_traces(store: &Store, args: &DeleteTracesArgs) -> Result<u8, Failure> {
    let plan = store.trace_deletion_plan(&args.trace_ids)?;
    if !args.yes {
        preview(args.json, &plan, &traces_taken(&plan));
        return Ok(0);
    }
    let taken = store.delete_traces(&args.trace_ids)?;
    if args.json {
        println!("{}", serde_json::json!({"deleted": true, "taken": taken}));
    } else {
        println!("deleted {}; the deletion syncs as tombstones", traces_taken(&taken));
        eprintln!("undo: chipbench restore-traces {}", args.trace_ids.join(" "));
    }
    Ok(0)
}

/// Undoes a trace deletion; asking for traces none of which is deleted is a usage error.
pub fn restore_traces(store: &Store, trace_ids: &[String]) -> Result<u8, Failure> {
    match store.restore_traces(trace_ids)? {
        0 => Err(usage(format!("trace_ids: none of {} is a deleted trace here: nothing to restore", trace_ids.join(", ")))),
        n => {
            println!("restored {}", counted(n, "trace"));
            Ok(0)
        }
    }
}

/// "N runs with N results and N ratings".
fn what(p: &DeletionPlan) -> String {
    format!("{} with {} and {}", counted(p.runs, "run"), counted(p.results, "result"), counted(p.ratings, "rating"))
}

pub fn delete_runs(store: &Store, args: &DeleteRunsArgs) -> Result<u8, Failure> {
    let sel = RunSelection { run_id: args.run_id.clone(), started_before: args.started_before.clone() };
    let plan = store.deletion_plan(&sel)?;
    if plan.runs == 0 {
        return match &args.run_id {
            Some(id) => Err(usage(format!("run_id: no run `{id}` here, or it is deleted already (`chipbench runs` lists them)"))),
            None => {
                eprintln!("no runs started before {}: nothing to delete", args.started_before.as_deref().unwrap_or_default());
                Ok(0)
            }
        };
    }
    if !args.yes {
        preview(args.json, &plan, &what(&plan));
        return Ok(0);
    }
    let deleted = store.delete_runs(&sel)?;
    if args.json {
        println!("{}", serde_json::json!({"deleted": true, "taken": deleted.taken, "run_ids": deleted.run_ids}));
    } else {
        println!("deleted {}; the deletion syncs as tombstones", what(&deleted.taken));
        eprintln!("undo: chipbench restore-runs {}", deleted.run_ids.join(" "));
    }
    Ok(0)
}

/// Undoes a deletion; asking for runs none of which is deleted is a usage error.
pub fn restore_runs(store: &Store, run_ids: &[String]) -> Result<u8, Failure> {
    match store.restore_runs(run_ids)? {
        0 => Err(usage(format!("run_ids: none of {} is a deleted run here: nothing to restore", run_ids.join(", ")))),
        n => {
            println!("restored {} with everything under {}", counted(n, "run"), if n == 1 { "it" } else { "them" });
            Ok(0)
        }
    }
}

/// What the database holds: its size on disk, live rows, traces and calls, and its oldest and newest run.
pub fn database(store: &Store, db: &Path, json: bool) -> Result<u8, Failure> {
    let s = store.database_stats()?;
    if json {
        println!("{}", serde_json::to_string(&s).expect("database stats serialise"));
        return Ok(0);
    }
    println!("{}: {:.1} MB", db.display(), s.bytes as f64 / 1e6);
    println!("{} runs, {} results, {} ratings, {} models, {} prompts", s.runs, s.results, s.ratings, s.models, s.prompts);
    println!("{} with {}", counted(s.traces, "trace"), counted(s.calls, "call"));
    match (&s.oldest_run, &s.newest_run) {
        (Some(oldest), Some(newest)) => println!("runs started from {oldest} to {newest}"),
        _ => println!("no runs yet"),
    }
    Ok(0)
}
