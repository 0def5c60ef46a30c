#!/bin/bash
# On a lent GPU machine (see stage.sh): unpacks .gpu/, builds ggml-cuda for the GPU there, checks the GPU's
# gradients against the CPU's, then benches training on 1B- and 7B-shaped llamas, one part per process (a crash
# loses one part), within BUDGET seconds (default 575). Figures and logs go to $OUT.
# DRY=1 runs the staged payload on this machine's CPU instead (tiny shape), to check the staging.
set -u
repo=$PWD stage=/tmp/architect-gpu
t0=$(date +%s) deadline=$(($(date +%s) + ${BUDGET:-575}))
mkdir -p $stage && cd $stage && xz -dc $repo/.gpu/payload.tar.xz | tar xf - || { echo "unpack failed"; exit 1; }
node=$(command -v node || true)
if [ -n "${FORCE_NODE:-}" ] || [ -z "$node" ] || ! $node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  xz -dc $repo/.gpu/node.xz > /tmp/node && chmod +x /tmp/node && node=/tmp/node
fi
bins=$stage/node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
sed -i "s#\"libDir\": \"[^\"]*/node_modules/#\"libDir\": \"$stage/node_modules/#" $stage/native/out/*/build.json
# CUDA's and the driver's libraries wherever this image keeps them (not the compat ones: they override the driver).
libs=$(find /usr/local /usr/lib /usr/lib64 /opt -maxdepth 8 \( -name 'libnvidia-ml.so*' -o -name 'libcuda.so.1' -o -name 'libcudart.so.13*' \
  -o -name 'libcublas.so.13*' \) 2>/dev/null | xargs -r -n1 dirname | grep -v -e stubs -e compat | awk '!s[$0]++' | paste -sd:)
echo "unpacked in $(($(date +%s) - t0)) s; node $($node -v)"
if [ -n "${DRY:-}" ]; then
  cp -r $repo/node_modules/@node-llama-cpp/linux-x64 $stage/node_modules/@node-llama-cpp/
  ARCHITECT_GPU_SHAPES=tiny ARCHITECT_GPU_TYPES=f16 FIGURES_FILE=$OUT/figures.jsonl $node out/bench/gpu.mjs
  exit $?
fi
export LD_LIBRARY_PATH=$libs:$bins
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# node-llama-cpp's prebuilt libggml-cuda has no sm_90 code, and an H200 with driver 580 refuses its compute_90
# PTX ("compiled with an unsupported toolchain"): build ggml-cuda from the same source for this GPU, with
# flash attention off (it would double the build; then llama.cpp's prompt evaluation runs without it too).
export PATH=/usr/local/cuda/bin:$(ls -d /usr/local/cuda-*/bin 2>/dev/null | paste -sd:):$PATH
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
mkdir -p /tmp/ggml-src && xz -dc $repo/.gpu/ggml.tar.xz | tar xf - -C /tmp/ggml-src
built=$(date +%s)
cmake -S /tmp/ggml-src/ggml -B /tmp/ggml-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON \
  -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CUDA=ON -DGGML_CUDA_FA=OFF -DGGML_CUDA_NCCL=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=${arch}-real > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 4; }
timeout $((deadline - $(date +%s) - 200)) cmake --build /tmp/ggml-build --target ggml-cuda -j $(($(nproc) + 2)) > $OUT/build.log 2>&1 \
  || { grep -E "error" $OUT/build.log | head -20; tail -3 $OUT/build.log; exit 5; }
cp /tmp/ggml-build/bin/libggml-cuda.so $bins/ && find /tmp/ggml-build -name 'libggml-base.so*' -delete
echo "built ggml-cuda for sm_$arch in $(($(date +%s) - built)) s"

nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > $OUT/smi.csv 2>/dev/null &
smi=$!
part() {
  local name=$1 limit=$2 left=$((deadline - $(date +%s))) from
  shift 2
  [ $left -lt $limit ] && limit=$left
  [ $limit -lt 15 ] && { echo "== $name: skipped, out of time"; return; }
  from=$(wc -l < $OUT/smi.csv)
  echo "== $name ($(date +%T), at most $limit s)"
  env "$@" FIGURES_FILE=$OUT/figures.jsonl timeout $limit $node out/bench/gpu.mjs > $OUT/$name.log 2>&1
  echo "-- rc=$?; nvidia-smi: at most $(tail -n +$((from + 1)) $OUT/smi.csv | sort -n | tail -1) MiB used"
  grep -E "^  gpu\.|rror|ssert|abort" $OUT/$name.log | cut -c1-200 | head -30
}
part check 60 ARCHITECT_GPU_SHAPES= ARCHITECT_GPU_TYPES=
part 1b-f16 50 ARCHITECT_GPU_CHECK=0 ARCHITECT_GPU_SHAPES=1b ARCHITECT_GPU_TYPES=f16
part 1b-q4_0 40 ARCHITECT_GPU_CHECK=0 ARCHITECT_GPU_SHAPES=1b ARCHITECT_GPU_TYPES=q4_0
part 7b-q4_0 70 ARCHITECT_GPU_CHECK=0 ARCHITECT_GPU_SHAPES=7b ARCHITECT_GPU_TYPES=q4_0
part 7b-f16 100 ARCHITECT_GPU_CHECK=0 ARCHITECT_GPU_SHAPES=7b ARCHITECT_GPU_TYPES=f16
kill $smi
echo "total $(($(date +%s) - t0)) s"
