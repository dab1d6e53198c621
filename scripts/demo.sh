#!/usr/bin/env bash
# Demo: scans a seeded sample organisation on a local AWS emulator and
# writes a real report (reports/demo/findings.csv, findings.json,
# findings.ocsf.json, report.html and the evidence, facts.json.gz).
# Needs only python3 and cargo; installs the pinned emulator on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
cargo build --quiet --bin cmkscan --example sample_org

out=reports/demo
mkdir -p "$out" .tools
fifo=$(mktemp -u .tools/demo-stdin.XXXXXX)
mkfifo "$fifo"
endpoint_file=$(mktemp .tools/demo-endpoint.XXXXXX)
# The emulator serves until its stdin (the fifo) closes.
target/debug/examples/sample_org <"$fifo" >"$endpoint_file" &
emulator=$!
exec 3>"$fifo"
cleanup() { exec 3>&- || true; wait "$emulator" 2>/dev/null || true; rm -f "$fifo" "$endpoint_file"; }
trap cleanup EXIT

for _ in $(seq 1 600); do
  [ -s "$endpoint_file" ] && break
  kill -0 "$emulator" 2>/dev/null || { echo "demo: the emulator failed to start" >&2; exit 1; }
  sleep 0.1
done
endpoint=$(head -n1 "$endpoint_file")
[ -n "$endpoint" ] || { echo "demo: the emulator did not report its endpoint" >&2; exit 1; }

AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  target/debug/cmkscan scan \
    --regions us-east-1,eu-west-1,ap-east-1 \
    --external-id demo-external-id \
    --output-dir "$out" \
    "$@"
