#!/usr/bin/env bash
# Installs the Python tools the tests and the demo need into .tools/venv:
# the AWS API emulator (moto_server) and cfn-lint, at pinned versions.
# Idempotent: a venv that already has the pinned versions is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.1
CFN_LINT_VERSION=1.51.0
venv=.tools/venv
stamp="$venv/.installed-moto-$MOTO_VERSION-cfnlint-$CFN_LINT_VERSION"

if [ -f "$stamp" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
touch "$stamp"
echo "installed moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION into $venv" >&2
