//! The `chipbench` binary: with no action flag it opens the desktop app; with `--batch` (or any
//! batch flag, `--list-models`, or a subcommand) it runs headless and never initialises GTK.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod cli;
mod commands;
mod paths;

use clap::Parser;

// mimalloc serves Rust's allocations (SQLite and the GTK/WebKit libraries keep glibc's malloc):
// glibc's malloc and free were the largest part of what a batch's spans cost in a profile. A
// 2,880-test batch against the fake server (`scripts/bench.sh spans`, 100 runs each way) fell from
// 1.07 s to 0.79 s of CPU without spans and from 1.20 s to 0.91 s with them; 3,137M to 2,659M
// instructions. mimalloc's version 2 gives freed memory back after 10 ms; version 3 waits a
// second, and a 10,080-test batch then peaked at 157 MB instead of 124 MB (glibc: 121 MB). The
// window keeps about 20 MB more than with glibc (299 vs 279 MB PSS with its WebKit processes).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    if args.headless() {
        cli::main(args)
    } else {
        app::run(args.db)
    }
}
