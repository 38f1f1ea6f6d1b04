#!/usr/bin/env bash
# Float against quantized (issue 15): one server; e5-small-v2 fp32 (133 MB, from its Maven jar) uploaded and
# quantized through POST /admin/models/{name}/versions/{v}/quantize; then the fp32 file, the server's int8 file and
# the published int8 build (e5-small-v2-q) measured in one run: size, sentences/s in process (ONNX Runtime, one
# and eight sentences a call), sentences/s through /v1/embeddings (4 clients, one sentence a request) and the
# cosine of each one's embeddings to fp32's. Prints markdown tables for docs/benchmarks.md.
#   bench/quantize.sh [SECONDS]   (per model and measurement, default 15; QUANTIZE_SKIP_BUILD=1 uses the built jars)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-15}"
. bench/common.sh quantize "${QUANTIZE_SKIP_BUILD:-}"
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --preload none --default-rpm 1000000000 \
  --default-tpm 1000000000 > "$data/atrium.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/v2/health/ready"
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')" \
  "commit=$(git rev-parse --short HEAD) at $(date -u +%Y-%m-%dT%H:%MZ)"
"${java[@]}" -Xmx4g dev.atrium.bench.QuantizeBench "http://127.0.0.1:$port" "$(cat "$data/atrium/admin.key")" "$seconds"
