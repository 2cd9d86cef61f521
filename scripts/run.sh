#!/usr/bin/env bash
# Sets up and launches the Chipbench app (local SQLite; the offline mock provider unless
# OPENROUTER_API_KEY is set). Extra arguments go to chipbench, e.g. `scripts/run.sh --db my.db`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo build -p chipbench
exec "$CARGO_TARGET_DIR/debug/chipbench" "$@"
