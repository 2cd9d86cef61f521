#!/usr/bin/env bash
# Prints the benchmark figures (batch throughput vs the fake server, store speed, memory).
# CHIPBENCH_BENCH_FULL=1 adds the 1,000,000-result store figures (several minutes).
# --app also measures the desktop app over WebDriver with the release build (launch to the first
# results row, rating to the next result, the app's memory); it builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
tursodb="$HOME/.cache/chipbench/turso/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb"
[[ -x "$tursodb" ]] && export CHIPBENCH_TURSODB="$tursodb"   # installed by scripts/setup.sh --test
cargo bench -p chipbench-e2e --bench figures
if [[ "${1:-}" == "--app" ]]; then
  scripts/setup.sh --test   # WebKit, Xvfb, tauri-driver, the UI build
  export PATH="$HOME/.cargo/bin:$PATH"
  cargo build --release -p chipbench
  xvfb-run -a --server-args="-screen 0 1280x800x24" cargo bench -p chipbench-e2e --bench app
fi
