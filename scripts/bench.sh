#!/usr/bin/env bash
# Prints the benchmark figures (batch throughput vs the fake server, store speed, memory).
# CHIPBENCH_BENCH_FULL=1 adds the 1,000,000-result store figures (several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo bench -p chipbench-e2e --bench figures
