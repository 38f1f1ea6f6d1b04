#!/usr/bin/env bash
# Cold start per model kind (issue 14): one server, one model of each kind — the bundled MiniLM (ONNX embedding),
# MobileNetV3 (ONNX image classification) and the two GGUF models of shared/models (llama.cpp completion) — each
# unloaded and called again ROUNDS times: the load's time and the memory it measured (resident growth, as
# /admin/loaded shows them), the cold first request (load included) and the warm request after it (median of 5),
# both as the client sees them (curl's time_total, on the same machine). Prints one key=value line per round and a
# summary line per model with the medians.
#   bench/cold-start.sh [ROUNDS]     (default 5)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds="${1:-5}"
models="$root/../shared/models"
for file in "$models/mobilenetv3-small-3class.onnx" "$models/images/meal_1.jpg" "$models/aidreams260K-f32.gguf" \
    "$models/random-15M-q8_0.gguf"; do
  [ -f "$file" ] || { echo "cold-start: $file is missing (shared/models)" >&2; exit 1; }
done
. scripts/find-jdk.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
data="$(mktemp -d)"
pid=""
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; pid=""; }
trap 'stop; rm -rf "$data"' EXIT

port="$(free_port)"
server="http://127.0.0.1:$port"
./atrium serve --port "$port" --data-dir "$data/atrium" --preload none --memory-budget none \
  --default-rpm 1000000000 --default-tpm 1000000000 > "$data/atrium.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -sf "$server/v2/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$server/v2/health/ready" >/dev/null || { echo "cold-start: the server never answered" >&2; exit 1; }
key="$(cat "$data/atrium/admin.key")"
auth="Authorization: Bearer $key"
./atrium models push photos --onnx "$models/mobilenetv3-small-3class.onnx" --task image-classification \
  --server "$server" --key "$key" >&2
./atrium models push dreams --gguf "$models/aidreams260K-f32.gguf" --task completion --server "$server" \
  --key "$key" >&2
./atrium models push random15m --gguf "$models/random-15M-q8_0.gguf" --task completion --server "$server" \
  --key "$key" >&2

# one request body per model, as a file
printf '{"model": "all-minilm-l6-v2", "input": "a sentence to embed, as a search query would be"}' \
  > "$data/all-minilm-l6-v2.json"
python3 - "$models/images/meal_1.jpg" > "$data/photos.json" <<'EOF'
import base64, json, sys
print(json.dumps({"model": "photos", "input": [base64.b64encode(open(sys.argv[1], "rb").read()).decode()]}))
EOF
for model in dreams random15m; do
  printf '{"model": "%s", "prompt": "Once upon a time", "max_tokens": 8}' "$model" > "$data/$model.json"
done
endpoint() {
  case "$1" in
    all-minilm-l6-v2) echo /v1/embeddings ;;
    photos) echo /v1/classifications ;;
    *) echo /v1/completions ;;
  esac
}
timed() { # seconds the request took, failing unless 200
  local out
  out="$(curl -s -o "$data/answer.json" -w '%{http_code} %{time_total}' -H "$auth" \
    -H 'Content-Type: application/json' --data-binary "@$data/$1.json" "$server$(endpoint "$1")")"
  if [ "${out%% *}" != 200 ]; then
    echo "cold-start: $1 answered ${out%% *}: $(cat "$data/answer.json")" >&2
    tail -n 40 "$data/atrium.log" >&2
    exit 1
  fi
  echo "${out#* }"
}

echo "machine cores=$(nproc) memory=$(free -m | awk '/Mem:/ {print $2}')MiB java=$("$JAVA_HOME/bin/java" -version 2>&1 \
  | head -1 | tr ' ' '_') commit=$(git rev-parse --short HEAD)"
for model in all-minilm-l6-v2 photos dreams random15m; do
  timed "$model" >/dev/null # the first load of each engine in the process (its libraries, its thread pools)
  for round in $(seq 1 "$rounds"); do
    curl -sf -X POST -H "$auth" "$server/admin/models/$model/versions/1/unload" >/dev/null
    cold="$(timed "$model")"
    warm="$(for _ in 1 2 3 4 5; do timed "$model"; done | sort -n | sed -n 3p)"
    curl -sf -H "$auth" "$server/admin/loaded" | python3 -c '
import json, sys
model, round, cold, warm = sys.argv[1:5]
for version in json.load(sys.stdin)["data"]:
    if version["model"] == model:
        print("model=%s round=%s load_ms=%d bytes=%d cold_ms=%.1f warm_ms=%.2f" % (model, round, version["load_ms"],
              version["bytes"], float(cold) * 1000, float(warm) * 1000))
' "$model" "$round" "$cold" "$warm"
  done
done | tee "$data/rounds.txt"
python3 - "$data/rounds.txt" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    fields = dict(field.split("=", 1) for field in line.split())
    rows.setdefault(fields["model"], []).append(fields)
for model, rounds in rows.items():
    median = lambda name: statistics.median(float(r[name]) for r in rounds)
    print(f"summary model={model} rounds={len(rounds)} load_ms={median('load_ms'):.0f}"
          f" memory_mib={median('bytes') / 2**20:.1f} cold_ms={median('cold_ms'):.1f} warm_ms={median('warm_ms'):.2f}")
EOF
