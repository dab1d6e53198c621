#!/usr/bin/env bash
# Installs the tools the tests and the demo need, at pinned versions:
# - into .tools/venv: the AWS API emulator (moto_server) and cfn-lint;
#   and ocsf-json-schema, which carries the OCSF schema of every released
#   version and turns it into the JSON Schema findings.ocsf.json is
#   validated against (tests/integration/ocsf.rs);
# - into .tools/cargo: cargo-deny, which checks the dependency tree's
#   licences, sources and bans (about 3 minutes to build on 2 cores);
# - Debian's chromium (and a font), which opens report.html in the tests and
#   takes its screenshot (scripts/screenshot.sh). Not pinned: Debian keeps
#   only the current security release of chromium in its archive.
# Idempotent: tools already at their pinned versions are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.1
CFN_LINT_VERSION=1.51.0
CARGO_DENY_VERSION=0.20.2
venv=.tools/venv
stamp="$venv/.installed-moto-$MOTO_VERSION-cfnlint-$CFN_LINT_VERSION"

if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  touch "$stamp"
  echo "installed moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION into $venv" >&2
fi

OCSF_JSON_SCHEMA_VERSION=1.2.0
# The validator the OCSF test runs the schema with: pinned here, since
# ocsf-json-schema does not depend on it and moto's copy could move.
JSONSCHEMA_VERSION=4.26.0
ocsf_stamp="$venv/.installed-ocsf-json-schema-$OCSF_JSON_SCHEMA_VERSION-jsonschema-$JSONSCHEMA_VERSION"
if [ ! -f "$ocsf_stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "ocsf-json-schema==$OCSF_JSON_SCHEMA_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
  touch "$ocsf_stamp"
  echo "installed ocsf-json-schema==$OCSF_JSON_SCHEMA_VERSION and jsonschema==$JSONSCHEMA_VERSION into $venv" >&2
fi

deny=.tools/cargo/bin/cargo-deny
if [ "$("$deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  # Built from the crate registry. Without it scripts/test.sh fails: the
  # dependency policy would go unchecked.
  if cargo install --quiet --locked --root .tools/cargo "cargo-deny@$CARGO_DENY_VERSION"; then
    echo "installed cargo-deny $CARGO_DENY_VERSION into .tools/cargo" >&2
  else
    echo "WARNING: could not install cargo-deny $CARGO_DENY_VERSION from the crate registry" >&2
  fi
fi

# Headless Chromium, from the system's packages: needs root and apt-get.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    echo "installed $(chromium --version 2>/dev/null)" >&2
  else
    echo "WARNING: chromium is not installed and cannot be from here (needs root and apt-get):" \
      "install Debian's chromium package; the report.html tests fail without it" >&2
  fi
fi
