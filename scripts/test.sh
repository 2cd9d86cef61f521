#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test: unit tests, the Tauri mock-runtime tests, the
# end-to-end CLI tests against the fake provider, the SIGKILL crash test, the real llama.cpp server
# test, sync against a real Turso server (tursodb), and the real app over WebDriver under Xvfb; then
# compiles the benchmarks (scripts/bench.sh runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh --test

(cd ui && npm run --silent check && npm run --silent test)   # type-check against the bindings; vitest
cargo build -p chipbench   # the e2e tests run this binary

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 scripts/llama_server.py "$port" > "$CARGO_TARGET_DIR/llama-server.log" 2>&1 &
llama_pid=$!
trap 'kill $llama_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $llama_pid 2>/dev/null || { cat "$CARGO_TARGET_DIR/llama-server.log"; echo "llama.cpp server died" >&2; exit 1; }
  sleep 0.5
done
export CHIPBENCH_LLAMA_URL="http://127.0.0.1:$port/v1"

export PATH="$HOME/.cargo/bin:$PATH"   # tauri-driver
export CHIPBENCH_TURSODB="$HOME/.cache/chipbench/turso/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb"
# cargo-nextest: each test in its own process, with the time limits and the UI tests' one retry of
# .config/nextest.toml (the workspace has no doctests).
xvfb-run -a --server-args="-screen 0 1280x800x24" cargo nextest run --workspace --no-fail-fast
cargo bench -p chipbench-e2e --no-run
