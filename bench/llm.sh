#!/usr/bin/env bash
# Language models against the peer (issue 11): streamed /v1/completions on random-15M-q8_0.gguf, llama-server
# (built by bench/llama-server.sh from the same llama.cpp release the engine binds) against Atrium (every
# request authenticated, admitted and metered), one after the other on the whole machine, with the same GGUF,
# the same sampling (temperature 0.8, top-p 1, no top-k or min-p, a seed per stream), the same context per
# sequence (256), the same slots (16), batch (512) and threads, at 1, 4 and 16 concurrent streams of up to 128
# tokens. Prints one key=value line per measurement.
#   bench/llm.sh [ROUNDS]     (rounds at 16 streams, default 3; 4× as many at 4 streams, 8× at 1, so that each
#                              measurement runs for seconds; LLM_SKIP_BUILD=1 uses the jars already built)
# Each side first serves an unmeasured warm-up (16 streams, 2 rounds): the JVM's JIT on one side, page cache and
# first decodes on both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
rounds="${1:-3}"
model="$root/../shared/models/random-15M-q8_0.gguf"
[ -f "$model" ] || { echo "llm: $model is missing" >&2; exit 1; }
threads="$(nproc)"
peer="$(bench/llama-server.sh)"
. bench/common.sh llm "${LLM_SKIP_BUILD:-}"
rounds_for() { case "$1" in 1) echo $((rounds * 8)) ;; 4) echo $((rounds * 4)) ;; *) echo "$rounds" ;; esac; }

# Atrium loads models with llama.cpp's weight repacking unless this CPU faults on AMX (CpuProbe); the peer gets the
# same choice
repack=()
if [ "$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp target/atrium.jar \
    dev.atrium.engine.llama.CpuProbe --report 2>/dev/null)" != "extra-buffer-types=safe" ]; then
  repack=(--no-repack)
fi

# ---- the peer (LLM_SKIP_PEER=1: Atrium alone, with the peer's repacking choice given as ATRIUM_LLAMA_REPACK)
start_peer() {
  port="$(free_port)"
  "$peer" -m "$model" --host 127.0.0.1 --port "$port" -c $((16 * 256)) -np 16 -b 512 -ub 512 -t "$threads" \
    -tb "$threads" --no-webui "${repack[@]}" > "$data/peer.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
if [ "${LLM_SKIP_PEER:-}" = 1 ]; then
  :
elif ! start_peer || ! curl -sf "http://127.0.0.1:$port/v1/completions" -d '{"prompt": "Once", "max_tokens": 2}' >/dev/null; then
  # llama-server dies of SIGILL on some VMs that report AMX with repacking on (its own build's AMX kernels): both
  # sides then run without it
  stop
  echo "repack: llama-server does not survive repacking here; both run with it off" >&2
  repack=(--no-repack)
  export ATRIUM_LLAMA_REPACK=off
  start_peer || { echo "llm: llama-server does not start: $(tail -3 "$data/peer.log")" >&2; exit 1; }
fi
if [ "${LLM_SKIP_PEER:-}" != 1 ]; then
  echo "peer $(basename "$peer") repack ${repack[*]:-on}"
  peer_fields='"top_k":0,"min_p":0,"repeat_penalty":1'
  ATRIUM_API_KEY=none "${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" peer 16 128 2 \
    "$peer_fields" >/dev/null
  for streams in 1 4 16; do
    line="$(ATRIUM_API_KEY=none "${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" peer \
      "$streams" 128 "$(rounds_for "$streams")" "$peer_fields" | tail -n 1)"
    echo "peer llama-server $line"
  done
  for sharing in shared unshared; do
    line="$(ATRIUM_API_KEY=none "${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" peer 4 64 \
      "$(rounds_for 4)" "$peer_fields" 100 "$sharing" | tail -n 1)"
    echo "peer llama-server prefix=$sharing $line"
  done
  stop
fi

# ---- Atrium
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --preload none --default-rpm 1000000000 \
  --default-tpm 1000000000 > "$data/atrium.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/v2/health/ready"
export ATRIUM_API_KEY="$(cat "$data/atrium/admin.key")"
printf '{"slots": 16, "context_per_slot": 256}' > "$data/config.json"
./atrium models push rand --gguf "$model" --task completion --config "$data/config.json" \
  --server "http://127.0.0.1:$port" >&2
echo "atrium repack $([ "${ATRIUM_LLAMA_REPACK:-}" = off ] && echo off || echo on)"
"${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" rand 16 128 2 >/dev/null
for streams in 1 4 16; do
  line="$("${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" rand "$streams" 128 \
    "$(rounds_for "$streams")" | tail -n 1)"
  echo "atrium $line"
done
# a 100-word system text before every prompt (shared: one start, which the slots' caches keep) against the same
# length with nothing to share
for sharing in shared unshared; do
  line="$("${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" rand 4 64 "$(rounds_for 4)" "" 100 \
    "$sharing" | tail -n 1)"
  echo "atrium prefix=$sharing $line"
done
