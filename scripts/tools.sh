#!/usr/bin/env bash
# Installs what building and testing brickdesk needs, and only what is missing, so a second run
# takes a second. Tools live outside the work tree (~/.cargo/bin, ~/.cache/brickdesk-tools) so
# a fresh clone on the same machine reuses them.
#
#   scripts/tools.sh build   wasm32 target, wasm-split-cli, wasm-bindgen-cli, wasm-opt
#   scripts/tools.sh test    the above plus Debian's chromium and chromium-driver
#
# Versions, and why (see docs/toolchain.md):
#   wasm-split-cli     wasm_split_cli_support 0.2.4: cuts the wasm at Leptos' lazy routes
#   wasm-bindgen-cli   exactly the wasm-bindgen version Cargo.lock resolves; no --locked
#   binaryen 132 (npm) Debian's binaryen 108 emits a wasm that fails at runtime
set -euo pipefail

WASM_SPLIT_VERSION=0.2.4
BINARYEN_VERSION=132.0.0
TOOLS_DIR="${BRICKDESK_TOOLS_DIR:-$HOME/.cache/brickdesk-tools}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/binaryen/node_modules/.bin:$PATH"

say() { printf '==> %s\n' "$*" >&2; }

has_version() { # command, expected substring of its --version
  command -v "$1" >/dev/null 2>&1 && command "$1" --version 2>/dev/null | grep -qF "$2"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_wasm_split() {
  # It prints no version; the install records one.
  cargo install --list 2>/dev/null | grep -qF "wasm_split_cli_support v$WASM_SPLIT_VERSION:" &&
    command -v wasm-split-cli >/dev/null && return
  say "installing wasm-split-cli $WASM_SPLIT_VERSION (about 2 minutes)"
  # Installed tools need no speed: a quick, unoptimised-LTO build shortens the install.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked wasm_split_cli_support --version "=$WASM_SPLIT_VERSION" \
    --features build-binary --force
}

ensure_wasm_bindgen() {
  local version
  version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' \
    "$ROOT/Cargo.lock")
  [ -n "$version" ] || { say "Cargo.lock names no wasm-bindgen"; exit 1; }
  has_version wasm-bindgen "$version" && return
  say "installing wasm-bindgen-cli $version (about 3 minutes)"
  # Not --locked: its own lockfile pins a webpki-roots release the registry no longer serves.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install wasm-bindgen-cli --version "=$version" --force
}

ensure_wasm_opt() {
  has_version wasm-opt "version ${BINARYEN_VERSION%%.*}" && return
  command -v npm >/dev/null || { say "npm is needed for wasm-opt (apt-get install npm)"; exit 1; }
  say "installing wasm-opt from npm's binaryen $BINARYEN_VERSION"
  mkdir -p "$TOOLS_DIR/binaryen"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/binaryen" \
    "binaryen@$BINARYEN_VERSION"
}

ensure_chromium() {
  if [ -x /usr/bin/chromedriver ] && [ -x /usr/lib/chromium/chromium ]; then return; fi
  say "installing Debian's chromium and chromium-driver (about a minute)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

case "${1:-build}" in
  build) ensure_wasm_target; ensure_wasm_split; ensure_wasm_bindgen; ensure_wasm_opt ;;
  test) ensure_wasm_target; ensure_wasm_split; ensure_wasm_bindgen; ensure_wasm_opt; ensure_chromium ;;
  *) say "usage: $0 build|test"; exit 2 ;;
esac
