#!/usr/bin/env bash
# Sound without a sound card, for tests and the soak benchmark.
#
# Starts a PulseAudio daemon for the current user with a null sink
# ("airbridge_null", paced in real time like a sound card) and its monitor
# as the default source, and routes ALSA's default device to it, so cpal's
# ALSA host finds working "default" input and output devices.
# Also defines the unpaced ALSA device "airbridge_alsa_null" (type null).
#
# Idempotent. Never overwrites an ~/.asoundrc it did not write.
set -euo pipefail

say() { printf '[audio-test-setup] %s\n' "$*"; }
MARK="# written by airbridge scripts/audio-test-setup.sh"

if ! command -v pulseaudio >/dev/null 2>&1 || ! command -v pactl >/dev/null 2>&1; then
  say "ERROR: pulseaudio and pactl are missing; run scripts/install-deps.sh"
  exit 1
fi

if ! pactl info >/dev/null 2>&1; then
  say "starting PulseAudio with a null sink"
  # as root (CI containers) PulseAudio warns but runs for this user
  pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit=yes -n \
    --load="module-native-protocol-unix" \
    --load="module-null-sink sink_name=airbridge_null rate=48000 channels=2" \
    --load="module-always-sink" \
    --log-target=stderr 2>/dev/null || true
  for _ in $(seq 1 50); do
    pactl info >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
if ! pactl info >/dev/null 2>&1; then
  say "ERROR: PulseAudio did not start"
  exit 1
fi
if ! pactl list short sinks | grep -q airbridge_null; then
  pactl load-module module-null-sink sink_name=airbridge_null rate=48000 channels=2 >/dev/null
fi
pactl set-default-sink airbridge_null
pactl set-default-source airbridge_null.monitor
say "PulseAudio: default sink airbridge_null, source airbridge_null.monitor"

rc="$HOME/.asoundrc"
if [ -e "$rc" ] && ! grep -qF "$MARK" "$rc"; then
  say "leaving your own $rc alone (it must route pcm.!default to pulse for the audio tests)"
else
  cat >"$rc" <<ASOUND
$MARK
pcm.!default { type pulse }
ctl.!default { type pulse }
pcm.airbridge_alsa_null { type null }
ASOUND
  say "ALSA default -> PulseAudio ($rc)"
fi
