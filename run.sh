#!/usr/bin/env bash
# Sets up everything AirBridge needs on this machine, builds it, and opens
# the console on the built-in demo show. Safe to run again: each step skips
# what is already done.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh

echo "[run] building AirBridge (release)…"
cargo build --release --locked -p airbridge-console --bin airbridge
bin=target/release/airbridge

# Speech model: prepared by `airbridge model fetch` once this build has it.
if "$bin" model --help >/dev/null 2>&1; then
  "$bin" model fetch
else
  echo "[run] speech model: this build has no 'model' command yet; the console runs without speech-to-text"
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "[run] no display found: starting the console in a virtual display (Xvfb)"
  exec xvfb-run -a -s "-screen 0 1440x900x24" "$bin" --demo "$@"
fi
exec "$bin" --demo "$@"
