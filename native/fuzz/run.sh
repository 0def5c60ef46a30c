#!/usr/bin/env bash
# Builds the GGUF fuzzer (native/fuzz/gguf_fuzz.cpp with clang's libFuzzer and AddressSanitizer, against our
# readers' sources and the ggml sources node-llama-cpp ships) and runs it for a bounded time on a seed corpus
# of fixture models written at run time (native/fuzz/seeds.ts). Nothing it writes goes into git: objects in
# out/fuzz/, the corpus and any crash files in a temporary folder it prints.
#
#   native/fuzz/run.sh                  20000 runs or 120 s, whichever comes first
#   FUZZ_RUNS=-1 FUZZ_TIME=600 native/fuzz/run.sh     ten minutes, however many runs
#   FUZZ_ARTIFACTS=DIR                  where crash inputs go (default: the temporary folder, kept when one is found)
#   FUZZ_KEEP=1                         keep the temporary folder (the grown corpus) after a clean run
#
# Needs clang with its fuzzer runtime (Debian: apt-get install clang libclang-rt-14-dev) and a built trainer
# for the quantized seeds (npm run build:native; without it only F32 seeds are written). Exit status: 0 when
# the fuzzer found nothing, 1 when it did (the crash input is kept and its path printed), 2 when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GGML=$ROOT/node_modules/node-llama-cpp/llama/llama.cpp/ggml
CXX=${FUZZ_CXX:-clang++}
CC=${FUZZ_CC:-clang}
RUNS=${FUZZ_RUNS:-20000}
TIME=${FUZZ_TIME:-120}
BUILD=$ROOT/out/fuzz
SANITIZE=(-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -g -O1)

die() { echo "native/fuzz/run.sh: $*" >&2; exit 2; }
command -v "$CXX" >/dev/null || die "no $CXX: install clang (Debian: apt-get install clang libclang-rt-14-dev)"
[ -f "$GGML/include/ggml.h" ] || die "the ggml sources are missing ($GGML): run npm run build:native, which unpacks them"
mkdir -p "$BUILD/obj"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' > "$BUILD/probe.cpp"
"$CXX" -fsanitize=fuzzer,address "$BUILD/probe.cpp" -o "$BUILD/probe" 2>/dev/null ||
  die "$CXX cannot link -fsanitize=fuzzer: install clang's fuzzer runtime (Debian: apt-get install libclang-rt-14-dev)"

# ggml's version header, which its CMake build would generate.
printf '#pragma once\n#define GGML_VERSION "fuzz"\n#define GGML_COMMIT "fuzz"\n' > "$BUILD/ggml-version.h"
INCLUDES=(-I"$BUILD" -I"$GGML/include" -I"$GGML/src" -I"$ROOT/native/src")

# ggml-base (the library our readers link to) and our readers, each compiled again only when its source changed.
SOURCES=(
  "$GGML/src/ggml.c" "$GGML/src/ggml-alloc.c" "$GGML/src/ggml-quants.c"
  "$GGML/src/ggml.cpp" "$GGML/src/ggml-backend.cpp" "$GGML/src/ggml-backend-meta.cpp" "$GGML/src/ggml-opt.cpp"
  "$GGML/src/ggml-threading.cpp" "$GGML/src/gguf.cpp"
  "$ROOT/native/src/gguf_file.cpp" "$ROOT/native/src/model_file.cpp" "$ROOT/native/src/adapter_file.cpp"
  "$ROOT/native/src/merge.cpp" "$ROOT/native/fuzz/gguf_fuzz.cpp"
)
OBJECTS=()
JOBS=$(nproc 2>/dev/null || echo 2)
running=0
for src in "${SOURCES[@]}"; do
  obj="$BUILD/obj/$(basename "$src").o"
  OBJECTS+=("$obj")
  # Our sources are compiled again when they or any of our headers changed; ggml's when they did.
  if [ -f "$obj" ] && [ ! "$src" -nt "$obj" ]; then
    [[ "$src" != "$ROOT/native/"* ]] && continue
    [ -z "$(find "$ROOT/native/src" -name '*.h' -newer "$obj" | head -1)" ] && continue
  fi
  case "$src" in
    *.c) "$CC" -std=c11 -D_GNU_SOURCE "${SANITIZE[@]}" "${INCLUDES[@]}" -c "$src" -o "$obj" & ;;
    *) "$CXX" -std=c++17 "${SANITIZE[@]}" "${INCLUDES[@]}" -c "$src" -o "$obj" & ;;
  esac
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || die "compiling failed (see above)"
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || die "compiling failed (see above)"
  running=$((running - 1))
done
"$CXX" -fsanitize=fuzzer,address "${OBJECTS[@]}" -lpthread -lm -o "$BUILD/gguf_fuzz" || die "linking failed (see above)"

# The seeds: fixture models and adapters, written now.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gguf-fuzz.XXXXXX")
SCRATCH=$WORK/scratch
[ -d /dev/shm ] && [ -w /dev/shm ] && SCRATCH=$(mktemp -d /dev/shm/gguf-fuzz.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$WORK/seeds" "$WORK/corpus" "$SCRATCH"
"$ROOT/node_modules/.bin/esbuild" native/fuzz/seeds.ts --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outfile="$BUILD/seeds.mjs" --log-level=warning
node "$BUILD/seeds.mjs" "$WORK/seeds" >/dev/null
cp "$WORK"/seeds/*.gguf "$WORK/corpus/"
ARTIFACTS=${FUZZ_ARTIFACTS:-$WORK/crashes}
mkdir -p "$ARTIFACTS"

echo "native/fuzz/run.sh: fuzzing for $RUNS runs or $TIME s; corpus and crashes in $WORK"
status=0
GGUF_FUZZ_MODEL=$WORK/seeds/model-f32.gguf GGUF_FUZZ_ADAPTER=$WORK/seeds/model-f32.lora.gguf GGUF_FUZZ_DIR=$SCRATCH \
  "$BUILD/gguf_fuzz" -runs="$RUNS" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
  -max_len=65536 -dict="$ROOT/native/fuzz/gguf.dict" -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$WORK/corpus" || status=$?
crashes=$(find "$ARTIFACTS" -type f | head -20)
if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
  echo "native/fuzz/run.sh: the fuzzer found a problem (exit $status); inputs: ${crashes:-none kept}" >&2
  exit 1
fi
# Nothing found: the corpus goes too, unless asked to keep it (FUZZ_KEEP=1) to start the next run from it.
[ -n "${FUZZ_KEEP:-}" ] || rm -rf "$WORK"
echo "native/fuzz/run.sh: no crashes"
