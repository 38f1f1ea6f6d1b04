#!/usr/bin/env bash
# Training throughput (issue 13): each trainer through the server's /v1/files and /v1/fine_tuning/jobs, timed by
# the client from the job's creation to succeeded: text-classification (2,000 sentences over the bundled MiniLM),
# tabular-regression with gradient-boosted-trees, with linear and with AutoML searches (20,000 CSV rows), a text
# AutoML search, image-classification (10,000 Fashion-MNIST images from Debian's dataset-fashion-mnist). Prints one
# key=value line per trainer (an AutoML job's with its trials and seconds per trial).
#   bench/training.sh     (TRAINING_SKIP_BUILD=1 uses the jars already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh training "${TRAINING_SKIP_BUILD:-}"
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --default-rpm 1000000000 --default-tpm 1000000000 \
  > "$data/atrium.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/v2/health/ready"
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')"
"${java[@]}" dev.atrium.bench.TrainBench "http://127.0.0.1:$port" "$(cat "$data/atrium/admin.key")"
