#!/usr/bin/env bash
# Opens the console on the demo show in a virtual display, takes a
# screenshot after a few seconds and checks that the window drew a board
# (not a blank frame) with the Chinese font loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/smoke}
mkdir -p "$out"
rm -f "$out/console.png"
export AIRBRIDGE_DATA_DIR
AIRBRIDGE_DATA_DIR=$(mktemp -d)
trap 'rm -rf "$AIRBRIDGE_DATA_DIR"' EXIT

# Same feature set as the test step, so nothing is rebuilt when it ran before.
cargo test --workspace --locked --no-run
xvfb-run -a -s "-screen 0 1440x900x24" \
  timeout 120 target/debug/airbridge --demo --role screener \
  --screenshot-after 3 --screenshot-path "$out/console.png" 2> "$out/console.log" || {
    echo "console smoke run failed; its log:"; cat "$out/console.log"; exit 1; }

[ -s "$out/console.png" ] || { echo "no screenshot written"; cat "$out/console.log"; exit 1; }
grep -q "CJK font loaded" "$out/console.log" || { echo "no CJK font was loaded"; cat "$out/console.log"; exit 1; }
colours=$(identify -format '%k' "$out/console.png")
size=$(identify -format '%wx%h' "$out/console.png")
echo "screenshot $out/console.png: $size, $colours colours"
# A drawn board has text and widgets: hundreds of distinct colours (anti-aliased glyphs).
[ "$colours" -gt 50 ] || { echo "the screenshot looks blank ($colours colours)"; exit 1; }
# The demo journal now holds the show-opened event.
target/debug/airbridge journal verify --journal "$AIRBRIDGE_DATA_DIR/journal/demo.db"
