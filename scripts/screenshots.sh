#!/usr/bin/env bash
# Refreshes the screenshots the README shows (docs/screenshots/) from the WebDriver UI tests,
# which save them under $CARGO_TARGET_DIR/screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CHIPBENCH_TURSODB="$HOME/.cache/chipbench/turso/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb"  # the sync view
cargo build -p chipbench
xvfb-run -a --server-args="-screen 0 1280x800x24" cargo test -p chipbench-e2e --test e2e ui::
mkdir -p docs/screenshots
cp "$CARGO_TARGET_DIR"/screenshots/*.png docs/screenshots/
ls docs/screenshots
