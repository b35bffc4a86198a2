#!/usr/bin/env bash
# Checks what `make dist` built: both binaries are static (file, ldd), their sizes, the
# checksums, and the aarch64 binary really runs on arm64 under qemu-user: --version,
# `serve --demo` on a loopback port, /healthz, first-run setup and a login through the API
# (cold start time and idle RSS reported). `make test` runs it with --if-built: without the
# tarballs or qemu it says it skipped and succeeds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '==> %s\n' "$*" >&2; }
OUT=target/dist
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
X86="$OUT/brickdesk-$VERSION-x86_64/brickdesk"
ARM="$OUT/brickdesk-$VERSION-aarch64/brickdesk"

if [ "${1:-}" = --if-built ]; then
  if [ ! -x "$ARM" ] || [ ! -x "$X86" ] || ! command -v qemu-aarch64 >/dev/null 2>&1; then
    say "dist check skipped: no target/dist binaries or no qemu-aarch64 (make dist builds and checks them)"
    exit 0
  fi
fi

(cd "$OUT" && sha256sum --quiet -c SHA256SUMS)
for bin in "$X86" "$ARM"; do
  described=$(file -b "$bin")
  case "$described" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) say "$bin is not static: $described"; exit 1 ;;
  esac
  if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -q "not a dynamic executable\|statically linked"; then
    say "$bin links libraries: $(ldd "$bin")"; exit 1
  fi
  bytes=$(stat -c %s "$bin")
  goal=$([ "$bytes" -le 12000000 ] && echo "within" || echo "OVER")
  say "$(basename "$(dirname "$bin")"): $(awk "BEGIN { printf \"%.1f\", $bytes / 1e6 }") MB ($goal the 12 MB goal), $described"
done

# The systemd unit as shipped, pointed at this binary: systemd's own check of its directives.
if command -v systemd-analyze >/dev/null 2>&1; then
  unit_dir=$(mktemp -d)
  sed "s#/usr/local/bin/brickdesk#$(realpath "$X86")#" assets/brickdesk.service >"$unit_dir/brickdesk.service"
  systemd-analyze verify "$unit_dir/brickdesk.service" \
    || { say "systemd-analyze finds fault with assets/brickdesk.service"; exit 1; }
  rm -rf "$unit_dir"
  say "systemd unit: systemd-analyze verify finds nothing wrong"
else
  say "systemd unit check skipped: no systemd-analyze"
fi

"$X86" --version | grep -q "x86_64-unknown-linux-musl" || { say "x86_64 --version"; exit 1; }
said=$(qemu-aarch64 "$ARM" --version)
echo "$said" | grep -q "aarch64-unknown-linux-musl" || { say "aarch64 --version said: $said"; exit 1; }
say "aarch64 under qemu: $said"

data=$(mktemp -d)
log=$(mktemp)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data" "$log"; }
trap cleanup EXIT
started=$(date +%s%N)
BRICKDESK_LOG=warn qemu-aarch64 "$ARM" serve --demo --listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
pid=$!
base=""
for _ in $(seq 1 600); do
  base=$(sed -n 's/^listening on //p' "$log" | head -1)
  [ -n "$base" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; say "the aarch64 server exited"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { cat "$log" >&2; say "the aarch64 server never listened"; exit 1; }
listening_ms=$(( ($(date +%s%N) - started) / 1000000 ))
curl -fsS "$base/healthz" | grep -q '"ok"'
jar=$(mktemp)
curl -fsS -c "$jar" -H 'content-type: application/json' \
  -d '{"login":"demo","password":"demo"}' "$base/api/session" | grep -q '"username":"demo"'
curl -fsS -b "$jar" "$base/api/me" | grep -q '"username":"demo"'
rm -f "$jar"
sleep 5
rss_kib=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
say "aarch64 under qemu: listening after ${listening_ms} ms, demo login works, idle RSS $(( rss_kib / 1024 )) MiB (qemu's own included)"
kill "$pid"; wait "$pid" 2>/dev/null || true

# A real first run: setup through the API, then a login.
rm -rf "$data"; mkdir -p "$data"; : >"$log"
BRICKDESK_LOG=warn qemu-aarch64 "$ARM" serve --listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
pid=$!
base=""
for _ in $(seq 1 600); do
  base=$(sed -n 's/^listening on //p' "$log" | head -1)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$log" >&2; say "the aarch64 server never listened"; exit 1; }
curl -fsS "$base/api/setup" | grep -q '"needed":true'
curl -fsS -H 'content-type: application/json' \
  -d '{"username":"anna","email":"anna@example.com","password":"correct horse battery"}' \
  "$base/api/setup" | grep -q '"username":"anna"'
curl -fsS -H 'content-type: application/json' \
  -d '{"login":"anna","password":"correct horse battery"}' "$base/api/session" | grep -q '"is_admin":true'
say "aarch64 under qemu: setup and login through the API work"
