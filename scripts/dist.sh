#!/usr/bin/env bash
# `make dist`: fully static release binaries (musl) for x86_64 and aarch64 with the web UI
# embedded, each in target/dist/brickdesk-<version>-<arch>.tar.gz with the example config, the
# systemd unit, the proxy snippets and a README, and target/dist/SHA256SUMS. Installs what is
# missing from the registries the project already uses: the rustup targets, Debian's
# musl-tools (musl-gcc builds ring's C for x86_64 musl), its aarch64 cross compiler
# (gcc-aarch64-linux-gnu links and builds ring's C for aarch64) and qemu-user
# (scripts/check-dist.sh runs the aarch64 binary under it). About 6.5 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '==> %s\n' "$*" >&2; }

TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
OUT=target/dist

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
need_apt() { # command, package
  command -v "$1" >/dev/null 2>&1 && return
  say "installing Debian's $2"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}
for target in "${TARGETS[@]}"; do
  rustup target list --installed | grep -qx "$target" || { say "adding $target"; rustup target add "$target"; }
done
need_apt x86_64-linux-musl-gcc musl-tools
need_apt aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need_apt qemu-aarch64 qemu-user
need_apt file file

# The UI first (dist/), embedded by every build below.
make ui

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=cc
# Static through and through, whatever the host's defaults; not position-independent (a
# static-pie carries half a megabyte of relocations that a server binary does not need).
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static"

mkdir -p "$OUT"
rm -f "$OUT"/*.tar.gz "$OUT/SHA256SUMS"
for target in "${TARGETS[@]}"; do
  arch=${target%%-*}
  say "building brickdesk $VERSION for $target"
  # Small for a Pi's card and a download: whole-program optimisation for size (docs/benchmarks.md
  # has what each step gave and cost). Unwinding stays: the job engine catches a panicking job.
  CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
    cargo build --release --locked -p server --target "$target"
  stage="$OUT/brickdesk-$VERSION-$arch"
  rm -rf "$stage"
  mkdir -p "$stage"
  cp "target/$target/release/brickdesk" "$stage/"
  cp assets/brickdesk.example.toml assets/brickdesk.service assets/nginx.conf assets/Caddyfile "$stage/"
  cp packaging/README.txt "$stage/README.txt"
  tar -C "$OUT" -czf "$OUT/brickdesk-$VERSION-$arch.tar.gz" "brickdesk-$VERSION-$arch"
  # The image's build context: one static binary per platform.
  platform=$([ "$arch" = x86_64 ] && echo amd64 || echo arm64)
  mkdir -p "$OUT/image/$platform"
  cp "$stage/brickdesk" "$OUT/image/$platform/brickdesk"
done
mkdir -p "$OUT/image/data"
(cd "$OUT" && sha256sum brickdesk-*.tar.gz > SHA256SUMS)
say "built:"
ls -l "$OUT"/*.tar.gz "$OUT/SHA256SUMS" >&2
scripts/check-dist.sh
