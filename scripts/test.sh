#!/usr/bin/env bash
# The whole AirBridge test suite, exactly as CI runs it:
# formatting, lints, every test, and a smoke run of the console under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

scripts/install-deps.sh

step "format"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "PostgreSQL test server"
AIRBRIDGE_TEST_PG=$(scripts/postgres-test-server.sh | tail -n1)
export AIRBRIDGE_TEST_PG
# In this suite nothing may skip: a missing server or LibreOffice fails the test.
export AIRBRIDGE_REQUIRE_PG=1 AIRBRIDGE_REQUIRE_LIBREOFFICE=1
# nor may the SIP tests: sipp, baresip and kamailio come with install-deps.sh
export AIRBRIDGE_REQUIRE_SIPP=1

step "speech model"
# `airbridge model fetch` downloads and converts the model once, then is a
# checksum-verified no-op; it prints the model path last. The speech tests
# fail (not skip) without it.
AIRBRIDGE_MODEL=$(cargo run --locked -q -p airbridge-console -- model fetch | tail -n1)
export AIRBRIDGE_MODEL AIRBRIDGE_REQUIRE_MODEL=1
echo "speech model: $AIRBRIDGE_MODEL"

step "sound devices (PulseAudio null sink)"
scripts/audio-test-setup.sh
export AIRBRIDGE_REQUIRE_AUDIO=1

step "tests"
cargo test --workspace --locked

step "console smoke test under Xvfb"
scripts/console-smoke.sh

step "all tests passed"
