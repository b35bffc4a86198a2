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
# Containers need a runtime that can start them here. Debian's crun cannot set the rlimits it
# copies from the host in some VMs, nor use hybrid cgroups; runc with explicit limits can. Where
# neither works the image is checked as built only.
probe() { podman run --rm "$NAME-amd64" --version >/tmp/brickdesk-probe.log 2>&1; }
if probe; then
  :
elif command -v runc >/dev/null 2>&1 && {
  export CONTAINERS_CONF=$ROOT/target/dist/containers.conf
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' \
    >"$CONTAINERS_CONF"
  crun_said=$(grep -v 'level=' /tmp/brickdesk-probe.log | tail -1)
  probe
}; then
  say "containers run here with runc and explicit limits (the default runtime said: $crun_said)"
else
  say "the image builds, but this machine cannot run containers: $(grep -v 'level=' /tmp/brickdesk-probe.log | tail -1)"
  exit 0
fi
podman run --rm "$NAME-amd64" --version 2>/dev/null | grep -q '^brickdesk ' \
  || { say "the image's binary does not say its version"; exit 1; }

name=brickdesk-check-$$
volume=brickdesk-check-$$
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
quiet() { "$@" 2>&1 | grep -v 'level=' || true; }
start() {
  quiet podman run -d --name "$name" -p 127.0.0.1::8080 -v "$volume:/data" "$NAME-amd64" >/dev/null
  port=$(podman port "$name" 8080 | sed 's/.*://')
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  podman logs "$name" >&2 || true
  say "the container never answered /healthz"
  exit 1
}
start
curl -fsS "$base/healthz" | grep -q '"ok"'
podman exec "$name" /brickdesk healthcheck
podman healthcheck run "$name" >/dev/null 2>&1 || { say "the image's health check fails"; exit 1; }
# First run through the published port: the request is not from loopback inside the
# container, so the setup code the log names (and `brickdesk setup-code`) is needed.
code=$(podman exec "$name" /brickdesk setup-code 2>/dev/null | grep -o '[A-Z0-9]\{4\}-[A-Z0-9]\{4\}' | head -1)
[ -n "$code" ] || { say "no setup code in the container"; exit 1; }
curl -fsS -H 'content-type: application/json' \
  -d "{\"username\":\"anna\",\"email\":\"anna@example.com\",\"password\":\"correct horse battery\",\"setup_code\":\"$code\"}" \
  "$base/api/setup" | grep -q '"username":"anna"'
podman logs "$name" 2>&1 | grep -q $'\e\[' && { say "the container's log has terminal colours in it"; exit 1; }
# The data outlives the container: a new container on the same volume knows the user.
podman rm -f "$name" >/dev/null 2>&1
start
curl -fsS -H 'content-type: application/json' \
  -d '{"login":"anna","password":"correct horse battery"}' "$base/api/session" | grep -q '"is_admin":true'
say "image amd64 runs: /healthz, its health check, setup with the setup code, and a login in a new container on the same volume"
podman rm -f "$name" >/dev/null 2>&1

# compose.yaml as a user would run it (podman-compose from Debian, where installed).
if command -v podman-compose >/dev/null 2>&1; then
  project=brickdesk-check-$$
  export BRICKDESK_IMAGE="$NAME-amd64" BRICKDESK_HOST_PORT=127.0.0.1:18080
  compose() { podman-compose -p "$project" -f compose.yaml "$@" >/tmp/brickdesk-compose.log 2>&1; }
  compose_down() { compose down -v || true; }
  trap 'cleanup; compose_down' EXIT
  compose up -d --no-build || { cat /tmp/brickdesk-compose.log >&2; say "compose up failed"; exit 1; }
  for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:18080/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS http://127.0.0.1:18080/api/setup | grep -q '"needed":true' \
    || { cat /tmp/brickdesk-compose.log >&2; say "compose's brickdesk does not answer"; exit 1; }
  compose_down
  say "compose.yaml: up, the first-run page answers on the published port, down"
else
  say "compose check skipped: no podman-compose (apt-get install podman-compose)"
fi
