#!/usr/bin/env bash
# The peer of the LLM benchmark: llama-server built from the llama.cpp source that npm node-llama-cpp@3.22.1
# bundles (package/llama/gitRelease.bundle, a git bundle of release v0.5.0, the release the engine binds), with
# the npm libraries' CPU configuration, so that both sides run the same llama.cpp. Built once into bench/work
# (never committed; about 20 minutes on 2 cores), then reused. Prints the binary's path.
#   bench/llama-server.sh          (needs npm, git, cmake, a C++ compiler)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/bench/work/llama-server"
binary="$work/build/bin/llama-server"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$work"
cd "$work"
if [ ! -d src ]; then
  rm -rf package ./*.tgz
  npm pack node-llama-cpp@3.22.1 --silent >/dev/null
  tar -xzf node-llama-cpp-3.22.1.tgz package/llama/gitRelease.bundle
  git clone -q package/llama/gitRelease.bundle src
fi
cmake -S src -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON \
  -DGGML_CPU_ALL_VARIANTS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_CURL=OFF >&2
# the server and every CPU variant it loads at run time (ggml_backend_load_all), as the npm package ships them
targets="$(ninja -C build -t targets all | sed -n 's/^\(ggml-cpu-[a-z0-9_]*\): .*/\1/p' | sort -u | tr '\n' ' ')"
cmake --build build --target llama-server $targets -j "$(nproc)" >&2
echo "$binary"
