#!/usr/bin/env bash
# Training throughput (issue 13): each trainer through the server's /v1/files and /v1/fine_tuning/jobs, timed by
# the client from the job's creation to succeeded: text-classification (2,000 sentences over the bundled MiniLM),
# tabular-regression with gradient-boosted-trees and with linear (20,000 CSV rows), image-classification (10,000
# Fashion-MNIST images from Debian's dataset-fashion-mnist). Prints one key=value line per trainer.
#   bench/training.sh     (TRAINING_SKIP_BUILD=1 uses the jars already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
if [ "${TRAINING_SKIP_BUILD:-}" != 1 ]; then
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
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --default-rpm 1000000000 --default-tpm 1000000000 \
  > "$data/atrium.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')"
"${java[@]}" dev.atrium.bench.TrainBench "http://127.0.0.1:$port" "$(cat "$data/atrium/admin.key")"
