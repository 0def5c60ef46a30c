#!/bin/bash
# Packs `npm run bench gpu` for a lent GPU machine (no Node, no network, 64 MiB carried) into .gpu/:
#   tests/bench/device/stage.sh, then the device tool: run `bash tests/bench/device/run.sh`, carry [".gpu"].
# Payload: the bench bundled, the trainer addons, node-llama-cpp and what it needs at run time, its CUDA
# libraries except libggml-cuda (run.sh builds that there: see why in run.sh), the ggml source, a Node binary.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
mkdir -p .gpu "$stage/out/bench" "$stage/native/out" "$stage/node_modules/@node-llama-cpp"
npx esbuild tests/bench/device/gpu-entry.ts --bundle --platform=node --format=esm --external:node-llama-cpp \
  --outfile="$stage/out/bench/gpu.mjs" --log-level=warning
cp -r native/out/cuda native/out/cpu "$stage/native/out/"
# node-llama-cpp's runtime dependencies, found from its package.json files.
node -e '
  const fs = require("fs"), path = require("path"), seen = new Set();
  const find = (name, from) => { for (let d = from; ; d = path.dirname(d)) { const c = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(c, "package.json"))) return c; if (path.dirname(d) === d) return null; } };
  const walk = (dir) => { if (seen.has(dir)) return; seen.add(dir); const p = require(path.join(dir, "package.json"));
    for (const dep of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) { const d = find(dep, dir); if (d) walk(d); } };
  walk(path.resolve("node_modules/node-llama-cpp"));
  for (const d of seen) if (!d.includes("@node-llama-cpp")) console.log(path.relative(process.cwd(), d));
' | while read -r dir; do
  mkdir -p "$stage/$(dirname "$dir")"
  tar cf - -C "$(dirname "$dir")" --exclude=llama/llama.cpp --exclude=llama/gitRelease.bundle "$(basename "$dir")" | tar xf - -C "$stage/$(dirname "$dir")"
done
models=node_modules/node-llama-cpp/llama/llama.cpp/models
mkdir -p "$stage/$models" && cp "$models/ggml-vocab-llama-spm.gguf" "$stage/$models/"
tar cf - -C node_modules/@node-llama-cpp --exclude=libggml-cuda.so linux-x64-cuda | tar xf - -C "$stage/node_modules/@node-llama-cpp"
tar cf - -C "$stage" . | xz -T0 -6 > .gpu/payload.tar.xz
# The ggml source (CPU and CUDA backends only); ggml.pc.in is absent from node-llama-cpp's copy.
src=$(mktemp -d) && trap 'rm -rf "$stage" "$src"' EXIT
llama=node_modules/node-llama-cpp/llama/llama.cpp
skip=$(cd $llama && for d in ggml/src/ggml-*/; do case $d in */ggml-cpu/|*/ggml-cuda/) ;; *) echo "--exclude=${d%/}" ;; esac; done)
# shellcheck disable=SC2086
tar cf - -C $llama $skip ggml | tar xf - -C "$src"
touch "$src/ggml/ggml.pc.in"
tar cf - -C "$src" ggml | xz -T0 -6 > .gpu/ggml.tar.xz
[ -f .gpu/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
du -ch .gpu/* | tail -1
