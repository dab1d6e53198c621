#!/usr/bin/env bash
# Organisation-scale benchmark (not part of the test command): seeds the
# emulator with a synthetic organisation and scans it with the release
# binary, raw and then paced by AWS-like latency and quotas.
#   scripts/bench.sh                 # 200 accounts x 4 regions, 50 ms
#   scripts/bench.sh 1000            # 1,000 accounts
#   scripts/bench.sh 1000 4 50 64    # accounts regions latency-ms concurrency
#   scripts/bench.sh large           # 10,000 accounts x 17 regions, synthetic
# CMKSCAN_BENCH_MODES=raw (or paced) runs one of the two scans;
# CMKSCAN_BENCH_MODES=synthetic scripts/bench.sh 500 17 runs the synthetic
# mode at another size (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
if [ "${1:-}" = large ]; then
  # 100 members seeded and recorded, 10,000 answered from their recordings
  # in a synthetic OU tree, with the Security Hub import.
  shift
  export CMKSCAN_BENCH_MODES="${CMKSCAN_BENCH_MODES:-synthetic}"
  set -- "${1:-10000}" "${2:-17}" "${3:-50}" "${4:-64}"
fi
export CMKSCAN_BENCH_ACCOUNTS="${1:-${CMKSCAN_BENCH_ACCOUNTS:-200}}"
export CMKSCAN_BENCH_REGIONS="${2:-${CMKSCAN_BENCH_REGIONS:-4}}"
export CMKSCAN_BENCH_LATENCY_MS="${3:-${CMKSCAN_BENCH_LATENCY_MS:-50}}"
export CMKSCAN_BENCH_CONCURRENCY="${4:-${CMKSCAN_BENCH_CONCURRENCY:-64}}"
exec cargo bench --locked --bench scan
