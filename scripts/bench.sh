#!/usr/bin/env bash
# Organisation-scale benchmark (not part of the test command): seeds the
# emulator with a synthetic organisation and scans it with the release
# binary, raw and then paced by AWS-like latency and quotas.
#   scripts/bench.sh                 # 200 accounts x 4 regions, 50 ms
#   scripts/bench.sh 1000            # 1,000 accounts
#   scripts/bench.sh 1000 4 50 64    # accounts regions latency-ms concurrency
# CMKSCAN_BENCH_MODES=raw (or paced) runs one of the two scans.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
export CMKSCAN_BENCH_ACCOUNTS="${1:-${CMKSCAN_BENCH_ACCOUNTS:-200}}"
export CMKSCAN_BENCH_REGIONS="${2:-${CMKSCAN_BENCH_REGIONS:-4}}"
export CMKSCAN_BENCH_LATENCY_MS="${3:-${CMKSCAN_BENCH_LATENCY_MS:-50}}"
export CMKSCAN_BENCH_CONCURRENCY="${4:-${CMKSCAN_BENCH_CONCURRENCY:-64}}"
exec cargo bench --locked --bench scan
