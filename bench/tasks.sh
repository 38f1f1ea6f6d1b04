#!/usr/bin/env bash
# Task families (issue 12): speech recognition and image classification through the server against the engine's
# own components on ONNX Runtime in process (no server), one after the other on the whole machine, in one run.
#   bench/tasks.sh [SECONDS]     (each measurement's length, default 30; TASKS_SKIP_BUILD=1 uses the jars built)
# Speech: Whisper tiny.en int8 + Silero VAD on a recording of the five LibriVox clips of Debian's
# pocketsphinx-testdata joined with silences, six times over (~3 minutes): audio seconds per wall second (the
# inverse of the real-time factor). In process its windows run on 2 threads sharing one session of one intra-op
# thread, as the server's two instances do. Images: MobileNetV3 on the six photos of shared/models/images, decoding
# and preprocessing included, batches of 1 and 8: images per second. Prints one key=value line per measurement.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-30}"
models="$root/../shared/models"
clips=/usr/share/pocketsphinx/test/data/librivox
for file in "$models/whisper-tiny-en-int8.onnx" "$models/silero-vad-v5.onnx" "$models/mobilenetv3-small-3class.onnx" \
    "$clips/transcription"; do
  [ -f "$file" ] || { echo "tasks: $file is missing (shared/models, Debian's pocketsphinx-testdata)" >&2; exit 1; }
done
. bench/common.sh tasks "${TASKS_SKIP_BUILD:-}"

"${java[@]}" dev.atrium.bench.TaskBench recording "$data/recording.wav" "$clips" 6
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')"

# ---- in process
"${java[@]}" dev.atrium.bench.TaskBench speech-inprocess "$models/whisper-tiny-en-int8.onnx" \
  "$models/silero-vad-v5.onnx" "$data/recording.wav" "$seconds" "$(nproc)"
for batch in 1 8; do
  "${java[@]}" dev.atrium.bench.TaskBench images-inprocess "$models/mobilenetv3-small-3class.onnx" "$models/images" \
    "$seconds" "$(nproc)" "$batch"
done

# ---- the server
port="$(free_port)"
./atrium serve --port "$port" --data-dir "$data/atrium" --preload none --default-rpm 1000000000 \
  --default-tpm 1000000000 --call-deadline 600s > "$data/atrium.log" 2>&1 &
pid=$!
wait_for "http://127.0.0.1:$port/v2/health/ready"
key="$(cat "$data/atrium/admin.key")"
server="http://127.0.0.1:$port"
./atrium models push whisper --onnx "$models/whisper-tiny-en-int8.onnx" --vad "$models/silero-vad-v5.onnx" \
  --task transcription --server "$server" --key "$key" >&2
printf '{"preprocessing": {"antialias": false}}' > "$data/image.json"
./atrium models push photos --onnx "$models/mobilenetv3-small-3class.onnx" --task image-classification \
  --config "$data/image.json" --server "$server" --key "$key" >&2
# warm: the first call loads each model
"${java[@]}" dev.atrium.bench.TaskBench speech-server "$server" "$key" whisper "$data/recording.wav" 1 1 >/dev/null
"${java[@]}" dev.atrium.bench.TaskBench speech-server "$server" "$key" whisper "$data/recording.wav" "$seconds" 1
"${java[@]}" dev.atrium.bench.TaskBench speech-server "$server" "$key" whisper "$data/recording.wav" "$seconds" 2
for batch in 1 8; do
  "${java[@]}" dev.atrium.bench.TaskBench images-server "$server" "$key" photos "$models/images" "$seconds" 8 "$batch"
done
