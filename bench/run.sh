#!/usr/bin/env bash
# Measures, in one run on this machine, and writes docs/benchmarks.md:
#   - JMH benchmarks of the hot paths (tokenization, pooling, JSON encoding of embeddings and v2 tensors);
#   - the in-process ceiling: ONNX Runtime called directly (no server) at the best batch size and thread split,
#     and the single-request latency;
#   - the server under closed-loop load at concurrency 1, 8, 32 and 128, with batching across requests on and
#     off, for sentences and paragraphs, each figure as a ratio of the ceiling; and under open-loop load;
#   - streamed generation of a GGUF model through the server against the same decode loop in-process
#     (bench/llm.sh measures it against llama-server).
#   bench/run.sh [SECONDS_PER_POINT]     (default 10; 2 for a quick look)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
seconds="${1:-10}"
grid_seconds=$(( seconds / 3 > 2 ? seconds / 3 : 2 ))
cores="$(nproc)"

./mvnw -B -q install -DskipTests                   # the server's jar, and the artifact the JMH benchmarks use
rm -rf bench/target/lib
./mvnw -B -q -f bench/pom.xml package -DskipTests
bench_cp="bench/target/atrium-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$bench_cp")
data="$(mktemp -d)"
value() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }
verdict() { awk "BEGIN{print ($1 >= $2) ? \"met\" : \"not met\"}"; }

# ---- JMH: the hot paths -----------------------------------------------------------------------------------------
echo "JMH..." >&2
"${java[@]}" org.openjdk.jmh.Main -f 1 -wi 2 -w 1s -i 3 -r 1s -rf csv -rff "$data/jmh.csv" >/dev/null
jmh_rows="$(awk -F, 'NR > 1 {
    gsub(/"|\r/, ""); name = $1; sub(/^dev\.atrium\./, "", name); param = $8 == "" ? "" : " (" $8 " vectors)";
    printf "| `%s`%s | %.1f | ± %.1f |\n", name, param, $5, $6 }' "$data/jmh.csv")"

# ---- the ceiling: ONNX Runtime in-process -----------------------------------------------------------------------
declare -A ceiling ceiling_line single_line
for text in sentence paragraph; do
  best=0
  best_config=""
  for split in "$cores 1" "1 $cores"; do
    for batch in 1 4 8 16; do
      line="$("${java[@]}" dev.atrium.bench.Ceiling $split "$batch" "$grid_seconds" "$text")"
      echo "ceiling grid $text: $line" >&2
      rate="$(value inputs_per_s "$line")"
      if awk "BEGIN{exit !($rate > $best)}"; then best="$rate"; best_config="$split $batch"; fi
    done
  done
  # the best configuration again, measured as long as the server points
  ceiling_line[$text]="$("${java[@]}" dev.atrium.bench.Ceiling $best_config "$seconds" "$text")"
  ceiling[$text]="$(value inputs_per_s "${ceiling_line[$text]}")"
  # one request at a time, as the server runs it at concurrency 1: one execution with one thread
  single_line[$text]="$("${java[@]}" dev.atrium.bench.Ceiling 1 1 1 "$seconds" "$text")"
  echo "ceiling $text: ${ceiling_line[$text]}; single: ${single_line[$text]}" >&2
done

# ---- the server -------------------------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18480)"
# limits high enough never to be what is measured
./atrium serve --port "$port" --data-dir "$data/server" --default-rpm 1000000000 --default-tpm 1000000000 \
  > "$data/server.log" 2>&1 &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap stop_server EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
export ATRIUM_API_KEY="$(cat "$data/server/admin.key")"
url="http://127.0.0.1:$port"
schedule() {
  curl -sf -X PUT -H "Authorization: Bearer $ATRIUM_API_KEY" -H 'Content-Type: application/json' \
    "$url/admin/models/all-minilm-l6-v2/versions/1/scheduling" -d "$1" >/dev/null
}

# the server's own warm-up (JIT), not measured: every point below then finds it warm
"${java[@]}" dev.atrium.bench.LoadGenerator "$url" all-minilm-l6-v2 closed 8 "$seconds" sentence >/dev/null
"${java[@]}" dev.atrium.bench.LoadGenerator "$url" all-minilm-l6-v2 closed 8 "$grid_seconds" paragraph >/dev/null

declare -A served p50
rows=""
for text in sentence paragraph; do
  # on and off alternate point by point, so that a drift of the machine's speed does not favour either
  for concurrency in 1 8 32 128; do
    for batching in on off; do
      if [ "$batching" = on ]; then schedule '{}'; else schedule '{"max_batch_size": 1}'; fi
      line="$("${java[@]}" dev.atrium.bench.LoadGenerator "$url" all-minilm-l6-v2 closed "$concurrency" "$seconds" "$text")"
      echo "server $text batching $batching: $line" >&2
      served[$text,$batching,$concurrency]="$(value requests_per_s "$line")"
      p50[$text,$batching,$concurrency]="$(value p50_ms "$line")"
      rows+="| $text | $batching | $concurrency | $(value requests_per_s "$line") | $(ratio "$(value requests_per_s "$line")" "${ceiling[$text]}") | $(value p50_ms "$line") | $(value p90_ms "$line") | $(value p99_ms "$line") | $(value p999_ms "$line") | $(value refused "$line") | $(value errors "$line") |"$'\n'
    done
  done
done
schedule '{}'

# the same sentences, eight to a request: what the per-request costs (HTTP, JSON, ledger) weigh
grouped_rows=""
for concurrency in 8 32; do
  line="$("${java[@]}" dev.atrium.bench.LoadGenerator "$url" all-minilm-l6-v2 closed "$concurrency" "$seconds" 'sentence*8')"
  echo "server 8 sentences per request: $line" >&2
  inputs="$(awk "BEGIN{printf \"%.1f\", $(value requests_per_s "$line") * 8}")"
  grouped_rows+="| $concurrency | $(value requests_per_s "$line") | $inputs | $(ratio "$inputs" "${ceiling[sentence]}") | $(value p50_ms "$line") | $(value p99_ms "$line") | $(value errors "$line") |"$'\n'
done

# open loop: sentences at fixed arrival rates below, near and above the server's own closed-loop peak
open_rows=""
sentence_peak=0
for c in 1 8 32 128; do
  sentence_peak="$(awk "BEGIN{print (${served[sentence,on,$c]} > $sentence_peak) ? ${served[sentence,on,$c]} : $sentence_peak}")"
done
for fraction in 0.5 0.9 1.5; do
  rate="$(awk "BEGIN{printf \"%.0f\", $sentence_peak * $fraction}")"
  line="$("${java[@]}" dev.atrium.bench.LoadGenerator "$url" all-minilm-l6-v2 open "$rate" "$seconds" sentence)"
  echo "server open loop $rate/s: $line" >&2
  open_rows+="| $fraction | $rate | $(value requests_per_s "$line") | $(value p50_ms "$line") | $(value p90_ms "$line") | $(value p99_ms "$line") | $(value p999_ms "$line") | $(value refused "$line") | $(value errors "$line") |"$'\n'
done

# ---- targets ----------------------------------------------------------------------------------------------------
peak() { local best=0; for c in 1 8 32 128; do best="$(awk "BEGIN{print (${served[$1,on,$c]} > $best) ? ${served[$1,on,$c]} : $best}")"; done; echo "$best"; }
targets=""
for text in sentence paragraph; do
  r="$(ratio "${served[$text,on,32]}" "${ceiling[$text]}")"
  targets+="| $text throughput at concurrency 32 / ceiling | ≥ 0.90 | $r | $(verdict "$r" 0.9) |"$'\n'
done
for text in sentence paragraph; do
  single_p50="$(value call_p50_ms "${single_line[$text]}")"
  r="$(ratio "${p50[$text,on,1]}" "$single_p50")"
  targets+="| $text p50 at concurrency 1 / in-process single-request p50 ($single_p50 ms) | ≤ 1.25 | $r | $(awk "BEGIN{print ($r <= 1.25) ? \"met\" : \"not met\"}") |"$'\n'
done
for text in sentence paragraph; do
  r="$(ratio "${served[$text,on,128]}" "$(peak "$text")")"
  targets+="| $text throughput at concurrency 128 / peak | ≥ 0.95 | $r | $(verdict "$r" 0.95) |"$'\n'
done
for c in 32 128; do
  r="$(ratio "${served[sentence,on,$c]}" "${served[sentence,off,$c]}")"
  targets+="| sentences, batching on / off at concurrency $c | ≥ 1.10 | $r | $(verdict "$r" 1.1) |"$'\n'
  r="$(ratio "${served[paragraph,on,$c]}" "${served[paragraph,off,$c]}")"
  targets+="| paragraphs, batching on / off at concurrency $c | ≥ 1.00 | $r | $(verdict "$r" 1.0) |"$'\n'
done

# ---- language models: the same generation through the server and in-process -----------------------------------
llm_model="$root/../shared/models/random-15M-q8_0.gguf"
llm_rows=""
if [ -f "$llm_model" ]; then
  printf '{"slots": 16, "context_per_slot": 256}' > "$data/llm-config.json"
  ./atrium models push rand --gguf "$llm_model" --task completion --config "$data/llm-config.json" --server "$url" >&2
  curl -sf -X POST -H "Authorization: Bearer $ATRIUM_API_KEY" "$url/admin/models/rand/versions/1/load" >/dev/null
  rounds=$(( seconds >= 10 ? 5 : 2 ))
  for streams in 1 4 16; do
    inproc="$("${java[@]}" dev.atrium.bench.LlmCeiling "$llm_model" "$streams" 128 "$rounds" 256 16 2>/dev/null | tail -n 1)"
    served_llm="$("${java[@]}" dev.atrium.bench.LlmLoadGenerator "$url" rand "$streams" 128 "$rounds" | tail -n 1)"
    echo "llm in-process: $inproc" >&2
    echo "llm server: $served_llm" >&2
    llm_rows+="| $streams | $(value tokens_per_s "$served_llm") | $(value tokens_per_s "$inproc") | $(ratio "$(value tokens_per_s "$served_llm")" "$(value tokens_per_s "$inproc")") | $(value ttft_p50_ms "$served_llm") | $(value ttft_p99_ms "$served_llm") | $(value ttft_p50_ms "$inproc") | $(value ttft_p99_ms "$inproc") | $(value errors "$served_llm") |"$'\n'
  done
fi

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
# bench/hotpath.sh's section (its own run, its own date) is kept as it was
hotpath_section="$(awk '/^## The hot path/ {keep = 1; print; next} keep && /^## / {exit} keep' docs/benchmarks.md 2>/dev/null || true)"
cfg() { echo "$(value threads "$1") × $(value intra_op "$1") thread(s), batch $(value batch "$1")"; }
mkdir -p docs
cat > docs/benchmarks.md <<MD
# Benchmarks

Measured by \`bench/run.sh $seconds\` on $(date -u +%Y-%m-%d) — $cores cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB,
$("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), ONNX Runtime 1.26.0, the bundled int8 all-MiniLM-L6-v2.
Every figure below comes from that one run. The load generators run on the same machine as the server and take
CPU from it; the in-process figures have the machine to themselves.

## Targets (issue 6), each against the ceiling measured in this run

| target | limit | measured | |
|---|---|---|---|
$targets
## The ceiling: ONNX Runtime called in-process

The full embedding path (tokenize, run, mean-pool, normalize) with no server, at the best of a grid of thread
splits (one single-threaded execution per core, or one execution with every core) and batch sizes 1, 4, 8
and 16 (grid points ran ${grid_seconds} s; the best again for ${seconds} s), and one request at a time on one thread:

| text | best configuration | inputs/s | call p50 (ms) | call p99 (ms) | single request p50 (ms) | single request p99 (ms) |
|---|---|---|---|---|---|---|
| sentence (~16 tokens) | $(cfg "${ceiling_line[sentence]}") | ${ceiling[sentence]} | $(value call_p50_ms "${ceiling_line[sentence]}") | $(value call_p99_ms "${ceiling_line[sentence]}") | $(value call_p50_ms "${single_line[sentence]}") | $(value call_p99_ms "${single_line[sentence]}") |
| paragraph (~128 tokens) | $(cfg "${ceiling_line[paragraph]}") | ${ceiling[paragraph]} | $(value call_p50_ms "${ceiling_line[paragraph]}") | $(value call_p99_ms "${ceiling_line[paragraph]}") | $(value call_p50_ms "${single_line[paragraph]}") | $(value call_p99_ms "${single_line[paragraph]}") |

${hotpath_section:-## The hot path (issue point 9)

(not measured yet: \`bench/hotpath.sh\`)
}

## The server: \`POST /v1/embeddings\`, one input per request, closed loop

\`bench/src/main/java/dev/atrium/bench/LoadGenerator.java\` (virtual threads, HdrHistogram, 3 s warm-up).
Every request is authenticated, admitted (limits set too high to refuse anything), metered, and waits for its
usage record to be committed (group commit, \`synchronous=FULL\`). The server runs its defaults: one execution
per core with one ONNX Runtime thread each; batching on is the default scheduling (batches of up to 8 inputs
and 192 padded tokens, no queue delay), off is \`max_batch_size\` 1. Ratio = requests/s ÷ the ceiling's inputs/s.

| text | batching | concurrency | requests/s | ratio | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | refused | errors |
|---|---|---|---|---|---|---|---|---|---|---|
$rows
## Eight sentences per request

The same sentences, eight in each request (batching on): the per-request costs are paid once for eight inputs.

| concurrency | requests/s | inputs/s | ratio to the ceiling | p50 (ms) | p99 (ms) | errors |
|---|---|---|---|---|---|---|
$grouped_rows
## Open loop: sentences at fixed arrival rates

Requests start on schedule whatever the answers (each on its own virtual thread); latency counts from when a
request was due, so a server that falls behind shows it rather than slowing the generator down. The rates are
fractions of the server's closed-loop peak above ($sentence_peak requests/s): below it, near it, and half again
beyond it, where the queue fills and the excess is refused (429/503 with \`Retry-After\`).

| fraction of the server's peak | offered/s | served/s | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | refused | errors |
|---|---|---|---|---|---|---|---|---|
$open_rows
## Hot paths (JMH)

\`bench/src/main/java/dev/atrium/{engine/onnx,openai,v2}/*Benchmarks.java\`, one fork, 2 × 1 s warm-up, 3 × 1 s
measurement, average time per operation:

| benchmark | µs/op | error (99.9%) |
|---|---|---|
$jmh_rows

## Language models: streamed generation, server against in-process

\`random-15M-q8_0.gguf\` (Llama architecture, random weights, Q8_0) with 16 slots of 256 tokens, the same
llama.cpp configuration and sampling (temperature 0.8, top-p 1, a seed per stream) in both columns. Each stream
asks for up to 128 tokens of \`/v1/completions\` with \`stream: true\` (authenticated, admitted and metered)
against the same generation run in-process by the engine's own decode loop (no server); one warm-up round, then rounds of all streams
at once. Tokens are counted per streamed text event; time to first token is from sending the request to the
first text event.

| streams | server tokens/s | in-process tokens/s | ratio | server TTFT p50 (ms) | server TTFT p99 (ms) | in-process TTFT p50 (ms) | in-process TTFT p99 (ms) | errors |
|---|---|---|---|---|---|---|---|---|
${llm_rows:-| (the model file was not found beside the project) | | | | | | | | |
}
MD
trap - EXIT
stop_server
echo "wrote docs/benchmarks.md" >&2
