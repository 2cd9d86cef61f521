#!/usr/bin/env bash
# Prints the benchmark figures (batch throughput vs the fake server, span recording and its cost
# on the writer thread alone, search, store speed, memory, dataset import, a Langfuse import, a
# grid run, sync).
# CHIPBENCH_BENCH_FULL=1 adds the 1,000,000-result and 1,000,000-span figures (several minutes).
# Section names run only those: `scripts/bench.sh traces`.
# CHIPBENCH_SPAN_PAIRS=100 runs the spans figure's batches in 100 pairs instead of 15 (about 18
# minutes): single runs move by 10-20%, and 15 pairs cannot tell 10% from 15%.
# --app also measures the desktop app over WebDriver with the release build (launch to the first
# results row, rating to the next result, the app's memory); it builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
tursodb="$HOME/.cache/chipbench/turso/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb"
[[ -x "$tursodb" ]] && export CHIPBENCH_TURSODB="$tursodb"   # installed by scripts/setup.sh --test
# The batch CPU and memory figures time the release binary, which embeds the UI build.
[[ -f ui/dist/index.html ]] || (cd ui && npm ci && npm run build)
cargo build --release -p chipbench
cargo bench -p chipbench-e2e --bench figures -- "${@/--app/}"
if [[ " $* " == *" --app "* ]]; then
  scripts/setup.sh --test   # WebKit, Xvfb, tauri-driver, the UI build
  export PATH="$HOME/.cargo/bin:$PATH"
  xvfb-run -a --server-args="-screen 0 1280x800x24" cargo bench -p chipbench-e2e --bench app
fi
