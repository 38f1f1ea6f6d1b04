#!/usr/bin/env bash
# The hot path (issue point 9): sentences at concurrency 32 against the in-process ceiling, with a cheap load
# generator (wrk, requests pre-formatted in bench/hotpath.lua) and the server's CPU per request read from
# /proc/PID/stat (utime + stime), for encoding_format float and base64. Each encoding gets a fresh server and
# three consecutive windows: cold starts with the first request (JIT warm-up counts), warm follows it (the JIT
# still compiles on 2 cores), steady follows that.
#   bench/hotpath.sh [SECONDS]       (default 10; needs wrk, curl, python3)
#   HOTPATH_SKIP_BUILD=1 uses the jars already built; HOTPATH_JAR=path serves another build's jar;
#   HOTPATH_CEILING="THREADS INTRA_OP BATCH" another ceiling configuration, HOTPATH_SKIP_CEILING=1 none;
#   HOTPATH_WINDOWS="1 2 3 4 5" other window names (one consecutive window each); ATRIUM_JAVA_OPTS JVM flags;
#   HOTPATH_THREADS=1 adds a line per window with the server's CPU per request by thread group (batch workers,
#   virtual threads' carriers, store writer, C2, other; from /proc/PID/task/*/stat), the mean batch size, and
#   beyond_own_model_ms: the server's CPU per request less its own batch workers' (the model as it ran there) and
#   less the ceiling's tokenizing per input (which the carriers do) -- unlike beyond_model_ms (the server's CPU less
#   the ceiling's whole cost per input), it does not move with the ceiling's run-to-run noise on a shared VM.
# Prints one key=value line per measurement.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
seconds="${1:-10}"
concurrency=32
command -v wrk >/dev/null || { echo "hotpath: wrk is needed (apt-get install wrk)" >&2; exit 1; }
hz="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime of the process, all its threads
# each thread's "group ticks" (its name's group and utime + stime), one line per thread
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    awk -v name="$(cat "$t/comm" 2>/dev/null)" -v id="${t##*/}" '{
      g = name ~ /^batch-/ ? "batch" : name ~ /^ForkJoinPool/ ? "carriers" : name ~ /^store-writer/ ? "writer" \
        : name ~ /^C2 / ? "c2" : "other"
      print id, g, $14 + $15 }' "$t/stat" 2>/dev/null || true
  done
}
batch_totals() {   # rows and batches the model ran so far, from /metrics
  curl -s -H "Authorization: Bearer $ATRIUM_API_KEY" "http://127.0.0.1:$1/metrics" | awk '
    /^atrium_model_batch_size_sum/ {r += $NF} /^atrium_model_batch_size_count/ {b += $NF} END {print r + 0, b + 0}'
}

if [ "${HOTPATH_SKIP_BUILD:-}" != 1 ]; then
  ./mvnw -B -q install -DskipTests
  rm -rf bench/target/lib
  ./mvnw -B -q -f bench/pom.xml package -DskipTests
fi
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "bench/target/atrium-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*")
data="$(mktemp -d)"
server=""
stop_server() { [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; server=""; }
trap 'stop_server; rm -rf "$data"' EXIT

# ---- the ceiling: the same sentences through ONNX Runtime in-process, at run.sh's best configuration on 2 cores
# (one single-threaded execution per core, batches of 16); the model's CPU per input is the workers' own thread
# CPU time per input (the server batches at most 8, which costs a little more per input: "beyond the model"
# below errs high)
ceiling_config="${HOTPATH_CEILING:-$(nproc) 1 16}"
if [ "${HOTPATH_SKIP_CEILING:-}" = 1 ]; then
  line="inputs_per_s=1 cpu_ms_per_input=0"
else
  line="$("${java[@]}" dev.atrium.bench.Ceiling $ceiling_config "$seconds" sentence)"
fi
ceiling="$(sed -n 's/.*inputs_per_s=\([^ ]*\).*/\1/p' <<<"$line")"
model_ms="$(sed -n 's/.* cpu_ms_per_input=\([^ ]*\).*/\1/p' <<<"$line")"
tokenize_ms="$(sed -n 's/.*tokenize_ms_per_input=\([^ ]*\).*/\1/p' <<<"$line")"
tokenize_ms="${tokenize_ms:-0}"
echo "ceiling $line"

for encoding in float base64; do
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  rm -rf "$data/server"
  # HOTPATH_JAR: another build's jar, for an A/B comparison in the same run
  if [ -n "${HOTPATH_JAR:-}" ]; then
    server_cmd=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED ${ATRIUM_JAVA_OPTS:-} -jar "$HOTPATH_JAR")
  else
    server_cmd=(./atrium)
  fi
  "${server_cmd[@]}" serve --port "$port" --data-dir "$data/server" --default-rpm 1000000000 --default-tpm 1000000000 \
    > "$data/server-$encoding.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  # ./atrium execs java: $server is the JVM itself
  export ATRIUM_API_KEY="$(cat "$data/server/admin.key")" HOTPATH_ENCODING="$encoding"
  for window in ${HOTPATH_WINDOWS:-cold warm steady}; do
    before="$(cpu_ticks "$server")"
    if [ "${HOTPATH_THREADS:-}" = 1 ]; then threads_before="$(thread_ticks "$server")"; batches_before="$(batch_totals "$port")"; fi
    out="$(/usr/bin/time -f 'wrk_cpu_s=%U+%S' wrk -t 1 -c "$concurrency" -d "${seconds}s" --latency \
      -s bench/hotpath.lua "http://127.0.0.1:$port/v1/embeddings" 2>&1)"
    after="$(cpu_ticks "$server")"
    requests="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")"
    non2xx="$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")"
    errors="$(sed -n 's/.*Socket errors: \(.*\)/\1/p' <<<"$out" | tr -d ' ')"
    wrk_cpu="$(sed -n 's/.*wrk_cpu_s=\(.*\)/\1/p' <<<"$out" | bc -l)"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    awk -v e="$encoding" -v w="$window" -v n="$requests" -v s="$seconds" -v c="$ceiling" -v t="$((after - before))" \
        -v hz="$hz" -v m="$model_ms" -v g="$wrk_cpu" -v p50="$p50" -v p99="$p99" -v bad="${non2xx:-0}" \
        -v err="${errors:-none}" 'BEGIN {
      rate = n / s; cpu = t / hz * 1000 / n
      printf "server encoding=%s window=%s requests_per_s=%.1f ratio=%.2f server_cpu_ms_per_request=%.3f", e, w, rate, rate / c, cpu
      printf " beyond_model_ms=%.3f generator_cores=%.3f p50=%s p99=%s non2xx=%s socket_errors=%s\n", cpu - m, g / s, p50, p99, bad, err }'
    if [ "${HOTPATH_THREADS:-}" = 1 ]; then
      batches_after="$(batch_totals "$port")"
      { echo "$threads_before" | sed 's/^/before /'; thread_ticks "$server" | sed 's/^/after /'; } | awk -v n="$requests" \
          -v hz="$hz" -v e="$encoding" -v w="$window" -v b0="$batches_before" -v b1="$batches_after" -v tok="$tokenize_ms" '
        $1 == "before" {seen[$2] = $4} $1 == "after" {d[$3] += $4 - seen[$2]}
        END {
          split(b0, x, " "); split(b1, y, " ")
          printf "threads encoding=%s window=%s", e, w
          for (g in d) {
            printf " %s_ms_per_request=%.3f", g, d[g] / hz * 1000 / n
            if (g != "batch") rest += d[g] / hz * 1000 / n
          }
          mean = y[2] - x[2] > 0 ? (y[1] - x[1]) / (y[2] - x[2]) : 0
          printf " batch_mean=%.2f beyond_own_model_ms=%.3f\n", mean, rest - tok }'
    fi
  done
  stop_server
done
