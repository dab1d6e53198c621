#!/usr/bin/env bash
# Runs every test: installs the pinned tools if missing, checks the
# dependency policy (deny.toml), then runs the unit and integration tests
# (the integration tests start moto_server themselves on free loopback
# ports; the fault suite is tests/integration/faults.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh

# cargo-deny runs offline and reads every package of the lock file, those of
# other platforms too: fetch them first, or a fresh machine fails here.
cargo fetch --locked --quiet

deny=.tools/cargo/bin/cargo-deny
if [ -x "$deny" ]; then
  # Licences, sources and duplicate versions, offline. `check advisories`
  # is left out: it needs the RustSec advisory database, cloned from
  # GitHub, which the test machines and CI cannot reach. Run
  # `.tools/cargo/bin/cargo-deny check advisories` where GitHub is reachable.
  "$deny" --log-level error --offline check bans licenses sources
else
  echo "WARNING: cargo-deny is not installed: the dependency policy (deny.toml) was NOT checked" >&2
fi

cargo test --locked "$@"
