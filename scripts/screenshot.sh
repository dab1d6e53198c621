#!/usr/bin/env bash
# A screenshot of report.html for a person to check, taken by headless
# Chromium (installed by scripts/install-tools.sh).
#   scripts/screenshot.sh                      # the demo's page -> docs/report-html.png
#   scripts/screenshot.sh PAGE.html OUT.png [WIDTH HEIGHT]
# With no page given, the demo (scripts/demo.sh) runs first and its
# reports/demo/report.html is taken.
set -euo pipefail
cd "$(dirname "$0")/.."

page="${1:-}"
out="${2:-docs/report-html.png}"
width="${3:-1360}"
height="${4:-2400}"
if [ -z "$page" ]; then
  scripts/demo.sh >/dev/null
  page=reports/demo/report.html
fi
[ -f "$page" ] || { echo "screenshot: no such page: $page" >&2; exit 2; }
command -v chromium >/dev/null 2>&1 || {
  echo "screenshot: chromium is missing; install it with scripts/install-tools.sh (as root: apt-get install chromium)" >&2
  exit 1
}

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
[ -s "$out" ] || { echo "screenshot: chromium wrote no $out" >&2; exit 1; }
echo "wrote $out"
