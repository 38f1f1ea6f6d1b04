#!/usr/bin/env bash
# Edge start time and resident memory per bundle kind (issue 15): a server exports signed bundles of an embedding
# model (the bundled MiniLM), an image classifier (mobilenetv3-small) and a GGUF chat model (random-15M); each is
# then served alone by `atrium run` and timed from launch to its first answer, with the process's resident memory
# after it; the full server started fresh (bundled model preloaded) and asked the same embedding is the peer row.
#   bench/edge.sh     (EDGE_SKIP_BUILD=1 uses the jar already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
[ "${EDGE_SKIP_BUILD:-}" = 1 ] || ./mvnw -B -q -DskipTests package
jar=target/atrium.jar
run=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
data="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data"' EXIT
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# the first answer of a server: polls a POST until it is a 200
first_answer() { # url key body-file
  for _ in $(seq 1 1200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1" -H "Authorization: Bearer $2" \
      -H 'Content-Type: application/json' --data-binary "@$3" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.05
  done
  echo "edge: $1 never answered" >&2
  exit 1
}

port=$(free_port)
"${run[@]}" serve --port "$port" --data-dir "$data/server" --preload none > "$data/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.2; done
key=$(cat "$data/server/admin.key")
H="Authorization: Bearer $key"
base="http://127.0.0.1:$port"
curl -sf -H "$H" "$base/admin/models" -H 'Content-Type: application/json' \
  -d '{"name": "vision", "task": "image-classification"}' >/dev/null
curl -sf -H "$H" "$base/admin/models/vision/versions" -F onnx=@../shared/models/mobilenetv3-small-3class.onnx >/dev/null
curl -sf -H "$H" "$base/admin/models" -H 'Content-Type: application/json' \
  -d '{"name": "tiny-chat", "task": "chat", "engine": "llama"}' >/dev/null
curl -sf -H "$H" "$base/admin/models/tiny-chat/versions" -F gguf=@../shared/models/random-15M-q8_0.gguf >/dev/null
public_key=$(curl -sf -H "$H" "$base/admin/signing-key" | json '["public_key"]')
for model in all-minilm-l6-v2 vision tiny-chat; do
  curl -sf -H "$H" "$base/admin/models/$model/versions/1/bundle" -o "$data/$model.zip"
done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

image=$(base64 -w0 ../shared/models/images/meal_1.jpg)
body_for() {
  case "$1" in
    all-minilm-l6-v2) echo '{"model": "all-minilm-l6-v2", "input": "The edge answers offline."}' ;;
    vision) echo "{\"model\": \"vision\", \"input\": [\"data:image/jpeg;base64,$image\"]}" ;;
    tiny-chat) echo '{"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
      "temperature": 0}' ;;
  esac
}
path_for() {
  case "$1" in
    all-minilm-l6-v2) echo /v1/embeddings ;; vision) echo /v1/classifications ;; tiny-chat) echo /v1/chat/completions ;;
  esac
}
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')"
printf '%-22s %10s %14s %14s %10s\n' run bundle_MB first_answer_ms verify+load_ms rss_MiB
edge_key="atr-$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
edge_run() { # model label java-options...
  local model="$1" label="$2"
  shift 2
  port=$(free_port)
  started=$(date +%s%N)
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "$@" -jar "$jar" run "$data/$model.zip" \
    --public-key "$public_key" --key "$edge_key" --port "$port" > "$data/$model.log" 2>&1 &
  pid=$!
  pids+=($pid)
  body_for "$model" > "$data/$model.json"
  first_answer "http://127.0.0.1:$port$(path_for "$model")" "$edge_key" "$data/$model.json"
  elapsed=$(ms "$started")
  internal=$(sed -n 's/.*started in \([0-9]*\) ms.*/\1/p' "$data/$model.log")
  printf '%-22s %10.1f %14s %14s %10s\n' "$label" "$(echo "$(stat -c %s "$data/$model.zip") / 1048576" | bc -l)" \
    "$elapsed" "${internal:-?}" "$(rss "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for model in all-minilm-l6-v2 vision tiny-chat; do
  edge_run "$model" "edge $model"
done
# with the AOT cache ./atrium keeps (JDK 25): one run records the classes at its exit, the others read them
edge_run all-minilm-l6-v2 "(recording the cache)" -XX:AOTCacheOutput="$data/atrium.aot" > /dev/null
for model in all-minilm-l6-v2 vision tiny-chat; do
  edge_run "$model" "edge+aot $model" -XX:AOTCache="$data/atrium.aot"
done
# the peer: the full server, fresh, asked the same embedding
port=$(free_port)
started=$(date +%s%N)
"${run[@]}" serve --port "$port" --data-dir "$data/fresh" > "$data/fresh.log" 2>&1 &
pid=$!
pids+=($pid)
for _ in $(seq 1 600); do [ -f "$data/fresh/admin.key" ] && break; sleep 0.05; done
first_answer "http://127.0.0.1:$port/v1/embeddings" "$(cat "$data/fresh/admin.key")" "$data/all-minilm-l6-v2.json"
printf '%-22s %10s %14s %14s %10s\n' "server all-minilm-l6-v2" - "$(ms "$started")" - "$(rss "$pid")"
