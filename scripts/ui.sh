#!/usr/bin/env bash
# Builds the web UI (frontend/) into dist/, which the server embeds (server/build.rs).
#
#   1. cargo builds the wasm (profile wasm-release; .cargo/config.toml keeps the relocations
#      the splitter needs).
#   2. wasm-split-cli cuts it at Leptos' lazy routes (frontend/src/app.rs): a first part with
#      the shell, login and dashboard, and the parts each other page needs, which the browser
#      fetches when that page is first opened (docs/benchmarks.md, "Where the UI's size goes").
#   3. wasm-bindgen makes the JavaScript glue; wasm-opt -Oz shrinks every part.
#   4. The parts go into dist/pkg-<hash of their content>/ (they name each other by relative
#      paths, so the folder carries the hash), the stylesheet and icon get hashed names, and
#      index.html is frontend/index.html with those names filled in.
#
# dist/ is only rewritten when its content changes, so a build with nothing changed does not
# make the server embed it again. Trunk did steps 1, 3 and 4 before; it cannot split a wasm
# (trunk-rs/trunk#1022). The tools come from scripts/tools.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WASM="$TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"

cargo build --locked -p frontend --bin frontend --target wasm32-unknown-unknown \
  --profile wasm-release

stage="$(mktemp -d "$ROOT/target/ui-stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/split" "$stage/pkg" "$stage/dist"

wasm-split-cli --out-name frontend "$WASM" "$stage/split" >/dev/null
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$stage/pkg" --out-name frontend "$stage/split/frontend.wasm"
rm "$stage/split/frontend.wasm"
mv "$stage/split/"* "$stage/pkg/"

# The features rustc's wasm32 target uses; wasm-opt must accept them all.
features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
for part in "$stage/pkg/"*.wasm; do
  # It warns about every part's name section (one kind it does not know): said only on failure.
  if ! said=$(wasm-opt -Oz "${features[@]}" "$part" -o "$part.opt" 2>&1); then
    echo "$said" >&2
    exit 1
  fi
  mv "$part.opt" "$part"
done

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }
pkg="pkg-$(cd "$stage/pkg" && hash_of $(ls | sort))"
mv "$stage/pkg" "$stage/dist/$pkg"
style="style-$(hash_of assets/style.css).css"
icon="favicon-$(hash_of assets/favicon.svg).svg"
cp assets/style.css "$stage/dist/$style"
cp assets/favicon.svg "$stage/dist/$icon"
sed -e "s|{{style}}|/$style|g" -e "s|{{icon}}|/$icon|g" -e "s|{{pkg}}|/$pkg|g" \
  frontend/index.html >"$stage/dist/index.html"
if grep -q '{{' "$stage/dist/index.html"; then
  echo "frontend/index.html names a placeholder this script does not fill" >&2
  exit 1
fi

if [ -d dist ] && diff -rq dist "$stage/dist" >/dev/null; then
  echo "dist/ is unchanged"
else
  rm -rf dist
  mv "$stage/dist" dist
  echo "dist/ rebuilt: $(du -sh dist | cut -f1), first download in dist/$pkg"
fi
