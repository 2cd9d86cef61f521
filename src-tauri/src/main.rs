//! The `chipbench` binary: with no action flag it opens the desktop app; with `--batch` (or any
//! batch flag, `--list-models`, or a subcommand) it runs headless and never initialises GTK.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod cli;
mod commands;
mod paths;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    if args.headless() {
        cli::main(args)
    } else {
        app::run(args.db)
    }
}
