#!/usr/bin/env bash
# Builds the OCI image for amd64 and arm64 from the binaries `make dist` made, as one manifest
# list (each platform also tagged `<name:tag>-<arch>`), with podman (or buildah):
# `scripts/image.sh [name:tag]` (default brickdesk:latest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NAME=${1:-brickdesk:latest}
[ -x target/dist/image/amd64/brickdesk ] && [ -x target/dist/image/arm64/brickdesk ] \
  || { echo "run make dist first" >&2; exit 1; }
tool=$(command -v podman || command -v buildah || true)
[ -n "$tool" ] || { echo "podman or buildah is needed (apt-get install podman)" >&2; exit 1; }
"$tool" manifest rm "$NAME" >/dev/null 2>&1 || true
"$tool" manifest create "$NAME"
for arch in amd64 arm64; do
  "$tool" build --platform "linux/$arch" --build-arg "TARGETARCH=$arch" \
    --format docker --manifest "$NAME" --tag "$NAME-$arch" -f Dockerfile .
done
echo "built $NAME for amd64 and arm64" >&2
