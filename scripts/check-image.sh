#!/usr/bin/env bash
# Builds the OCI image from make dist's binaries (scripts/image.sh, amd64 and arm64) and checks
# it: a non-root user, the health check through `brickdesk healthcheck`, the /data volume; then
# runs the amd64 image and asks it /healthz and its health check. `make test` runs it with
# --if-built: without podman/buildah or make dist's binaries it says it skipped. Where the
# machine cannot run containers (no rlimits for crun, say) it says so and checks the image only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '==> %s\n' "$*" >&2; }
NAME=localhost/brickdesk:check
if [ "${1:-}" = --if-built ]; then
  if ! command -v podman >/dev/null 2>&1 || [ ! -x target/dist/image/amd64/brickdesk ] \
    || [ ! -x target/dist/image/arm64/brickdesk ]; then
    say "image check skipped: no podman or no make dist binaries (make image builds it)"
    exit 0
  fi
fi
scripts/image.sh "$NAME" >/dev/null
for arch in amd64 arm64; do
  facts=$(podman image inspect --format \
    '{{.Architecture}} {{.Config.User}} {{json .Config.Healthcheck.Test}} {{json .Config.Volumes}}' \
    "$NAME-$arch")
  case "$facts" in
    "$arch 10001:10001 [\"CMD\",\"/brickdesk\",\"healthcheck\"] {\"/data\":{}}") say "image $arch: $facts" ;;
    *) say "image $arch is not as built: $facts"; exit 1 ;;
  esac
done
name=brickdesk-check-$$
if ! podman run -d --name "$name" -p 127.0.0.1::8080 "$NAME-amd64" >/tmp/$name.log 2>&1; then
  say "the image builds, but this machine cannot run containers: $(grep -v 'Removing timer' /tmp/$name.log | tail -1)"
  podman rm -f "$name" >/dev/null 2>&1 || true
  exit 0
fi
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
port=$(podman port "$name" 8080 | sed 's/.*://')
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"ok"'
podman exec "$name" /brickdesk healthcheck
say "image amd64: serves /healthz and its health check passes"
