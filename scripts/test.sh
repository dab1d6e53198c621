#!/usr/bin/env bash
# Runs every test: installs the pinned emulator and cfn-lint if missing,
# then the unit and integration tests (the integration tests start
# moto_server themselves on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
cargo test --locked "$@"
