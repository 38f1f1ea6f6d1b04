#!/usr/bin/env bash
# Measures, in one run on this machine: the in-process ceiling (ONNX Runtime called directly, no server) and
# the server under closed-loop load at concurrency 1, 8, 32 and 128, for sentences and for paragraphs; then
# writes docs/benchmarks.md with each server figure as a ratio of the ceiling.
#   bench/run.sh [SECONDS_PER_POINT]     (default 10; CI-sized runs can pass 2)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
seconds="${1:-10}"

./atrium --version >/dev/null                       # builds the server if needed
./mvnw -B -q -f bench/pom.xml package -DskipTests
bench_cp="bench/target/atrium-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$bench_cp")

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18480)"
# limits high enough never to be what is measured
./atrium serve --port "$port" --data-dir "$data" --default-rpm 1000000000 --default-tpm 1000000000 \
  > "$data/server.log" 2>&1 &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap stop_server EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done

value() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A ceiling ceiling_line
for text in sentence paragraph; do
  best=0
  for batch in 1 8; do
    # best split on a small CPU: one single-threaded execution per core
    line="$("${java[@]}" dev.atrium.bench.Ceiling "$(nproc)" 1 "$batch" "$seconds" "$text")"
    echo "ceiling $text: $line" >&2
    rate="$(value inputs_per_s "$line")"
    if awk "BEGIN{exit !($rate > $best)}"; then best="$rate"; ceiling_line[$text]="$line"; fi
  done
  ceiling[$text]="$best"
done

export ATRIUM_API_KEY="$(cat "$data/admin.key")"
rows=""
for text in sentence paragraph; do
  for concurrency in 1 8 32 128; do
    line="$("${java[@]}" dev.atrium.bench.LoadGenerator "http://127.0.0.1:$port" all-minilm-l6-v2 "$concurrency" "$seconds" "$text")"
    echo "server $text: $line" >&2
    rate="$(value requests_per_s "$line")"
    ratio="$(awk "BEGIN{printf \"%.2f\", $rate / ${ceiling[$text]}}")"
    rows+="| $text | $concurrency | $rate | ${ceiling[$text]} | $ratio | $(value p50_ms "$line") | $(value p90_ms "$line") | $(value p99_ms "$line") | $(value p999_ms "$line") | $(value errors "$line") |"$'\n'
  done
done

# ---- language models: the same generation through the server and in-process ----------------------------------
llm_model="$root/../shared/models/random-15M-q8_0.gguf"
llm_rows=""
if [ -f "$llm_model" ]; then
  printf '{"slots": 16, "context_per_slot": 256}' > "$data/llm-config.json"
  ./atrium models push rand --gguf "$llm_model" --task completion --config "$data/llm-config.json" \
    --server "http://127.0.0.1:$port" >&2
  curl -sf -X POST -H "Authorization: Bearer $ATRIUM_API_KEY" "http://127.0.0.1:$port/admin/models/rand/versions/1/load" >/dev/null
  rounds=$(( seconds >= 10 ? 3 : 1 ))
  for streams in 1 4 16; do
    inproc="$("${java[@]}" dev.atrium.bench.LlmCeiling "$llm_model" "$streams" 128 "$rounds" 256 16 2>/dev/null | tail -n 1)"
    served="$("${java[@]}" dev.atrium.bench.LlmLoadGenerator "http://127.0.0.1:$port" rand "$streams" 128 "$rounds" | tail -n 1)"
    echo "llm in-process: $inproc" >&2
    echo "llm server: $served" >&2
    ratio="$(awk "BEGIN{printf \"%.2f\", $(value tokens_per_s "$served") / $(value tokens_per_s "$inproc")}")"
    llm_rows+="| $streams | $(value tokens_per_s "$served") | $(value tokens_per_s "$inproc") | $ratio | $(value ttft_p50_ms "$served") | $(value ttft_p99_ms "$served") | $(value ttft_p50_ms "$inproc") | $(value ttft_p99_ms "$inproc") | $(value errors "$served") |"$'\n'
  done
fi

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
mkdir -p docs
cat > docs/benchmarks.md <<MD
# Benchmarks

Measured by \`bench/run.sh $seconds\` on $(date -u +%Y-%m-%d) — $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB,
$("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), ONNX Runtime 1.26.0, the bundled int8 all-MiniLM-L6-v2.
Every figure below comes from that one run; each point ran ${seconds} s after a 3 s warm-up.

## The ceiling: ONNX Runtime called in-process

The full embedding path (tokenize, run, mean-pool, normalize) with no server, one single-threaded ONNX Runtime
execution per core, at the better of batch 1 and batch 8:

| text | best configuration | inputs/s | call p50 (ms) | call p99 (ms) |
|---|---|---|---|---|
| sentence (~16 tokens) | $(value threads "${ceiling_line[sentence]}") threads × batch $(value batch "${ceiling_line[sentence]}") | ${ceiling[sentence]} | $(value call_p50_ms "${ceiling_line[sentence]}") | $(value call_p99_ms "${ceiling_line[sentence]}") |
| paragraph (~128 tokens) | $(value threads "${ceiling_line[paragraph]}") threads × batch $(value batch "${ceiling_line[paragraph]}") | ${ceiling[paragraph]} | $(value call_p50_ms "${ceiling_line[paragraph]}") | $(value call_p99_ms "${ceiling_line[paragraph]}") |

## The server: \`POST /v1/embeddings\`, one input per request, closed loop

The load generator (\`bench/src/main/java/dev/atrium/bench/LoadGenerator.java\`, virtual threads, HdrHistogram)
runs on the same machine as the server and takes CPU from it. Every request is authenticated and admitted
(limits set too high to refuse anything), and waits for its usage record to be committed to the ledger
(group commit: one fsync per batch of concurrent requests, so a lone request pays a whole fsync). The server runs with its defaults (engine threads = cores, one
intra-op thread each); it batches the inputs of one request, not yet across
requests (dynamic batching is issue 6), so the ratio compares single-input requests with the best batched
ceiling. At concurrency 1 only one execution runs at a time while the ceiling runs one per core, so that ratio
is at most 1 / cores by construction.

| text | concurrency | requests/s | ceiling inputs/s | ratio | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | errors |
|---|---|---|---|---|---|---|---|---|---|
$rows
## Language models: streamed generation, server against in-process

\`random-15M-q8_0.gguf\` (Llama architecture, random weights, Q8_0) with 16 slots of 256 tokens, the same
llama.cpp configuration in both columns. Each stream asks for up to 128 tokens of \`/v1/completions\` with
\`stream: true\` (authenticated, admitted and metered) against the same generation run in-process through
the binding; $([ -n "$llm_rows" ] && echo "rounds of all streams at once.") Tokens are counted per streamed
text event; time to first token is from sending the request to the first text event.

| streams | server tokens/s | in-process tokens/s | ratio | server TTFT p50 (ms) | server TTFT p99 (ms) | in-process TTFT p50 (ms) | in-process TTFT p99 (ms) | errors |
|---|---|---|---|---|---|---|---|---|
${llm_rows:-| (the model file was not found beside the project) | | | | | | | | |
}
MD
trap - EXIT
stop_server
echo "wrote docs/benchmarks.md" >&2
