#!/usr/bin/env bash
# The cost of routing through a traffic split (issue 14): one server, a tabular model with two versions (made by
# two training jobs), and closed-loop /v1/predictions of one row, alternating in rounds between the model's plain
# alias (one version) and the same alias split 50/50 (random and sticky by user): p50 and p99 latency of each in
# one run, the client on the same machine.
#   bench/split.sh [REQUESTS]     (per variant, default 3000; SPLIT_SKIP_BUILD=1 uses the jars already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
requests="${1:-3000}"
. bench/common.sh split "${SPLIT_SKIP_BUILD:-}"
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --preload none --default-rpm 1000000000 \
  --default-tpm 1000000000 > "$data/atrium.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/v2/health/ready"
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')"
"${java[@]}" dev.atrium.bench.SplitBench "http://127.0.0.1:$port" "$(cat "$data/atrium/admin.key")" "$requests"
