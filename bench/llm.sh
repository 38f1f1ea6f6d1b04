#!/usr/bin/env bash
# Language models against the peer (issue 11): streamed /v1/completions on random-15M-q8_0.gguf, llama-server
# (built by bench/llama-server.sh from the same llama.cpp release the engine binds) against Atrium (every
# request authenticated, admitted and metered), one after the other on the whole machine, with the same GGUF,
# the same sampling (temperature 0.8, top-p 1, no top-k or min-p, a seed per stream), the same context per
# sequence (256), the same slots (16), batch (512) and threads, at 1, 4 and 16 concurrent streams of up to 128
# tokens. Prints one key=value line per measurement.
#   bench/llm.sh [ROUNDS]     (default 3; HOTPATH-style: LLM_SKIP_BUILD=1 uses the jars already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
rounds="${1:-3}"
model="$root/../shared/models/random-15M-q8_0.gguf"
[ -f "$model" ] || { echo "llm: $model is missing" >&2; exit 1; }
threads="$(nproc)"
peer="$(bench/llama-server.sh)"
if [ "${LLM_SKIP_BUILD:-}" != 1 ]; then
  ./mvnw -B -q install -DskipTests
  rm -rf bench/target/lib
  ./mvnw -B -q -f bench/pom.xml package -DskipTests
fi
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "bench/target/atrium-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
data="$(mktemp -d)"
pid=""
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; pid=""; }
trap 'stop; rm -rf "$data"' EXIT
wait_for() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "llm: $1 never answered" >&2; exit 1; }

# Atrium loads models with llama.cpp's weight repacking unless this CPU faults on AMX (CpuProbe); the peer gets the
# same choice
repack=()
if [ "$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp target/atrium.jar \
    dev.atrium.engine.llamacpp.CpuProbe --report 2>/dev/null)" != "extra-buffer-types=safe" ]; then
  repack=(--no-repack)
fi
echo "repack ${repack[*]:-on}"

# ---- the peer
port="$(free_port)"
"$peer" -m "$model" --host 127.0.0.1 --port "$port" -c $((16 * 256)) -np 16 -b 512 -ub 512 -t "$threads" \
  -tb "$threads" --no-webui "${repack[@]}" > "$data/peer.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/health"
for streams in 1 4 16; do
  line="$(ATRIUM_API_KEY=none "${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" peer "$streams" 128 \
    "$rounds" '"top_k":0,"min_p":0,"repeat_penalty":1' | tail -n 1)"
  echo "peer llama-server $line"
done
stop

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
for streams in 1 4 16; do
  line="$("${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" rand "$streams" 128 "$rounds" \
    | tail -n 1)"
  echo "atrium $line"
done
