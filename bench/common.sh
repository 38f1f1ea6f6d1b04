# Sourced by bench/'s server load generators from the project's root, once their own checks are done:
#   . bench/common.sh NAME SKIP_BUILD
# finds JDK 25, builds the server and bench jars unless SKIP_BUILD is 1, and defines what a run against a server
# needs: java (the bench classpath), free_port, $data (a temporary directory, removed on exit), $pid with stop (the
# server started, stopped on exit) and wait_for URL (exits, naming NAME, when it never answers).
bench_name="$1"
. scripts/find-jdk.sh
if [ "${2:-}" != 1 ]; then
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
wait_for() {
  for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$bench_name: $1 never answered; the servers' logs end:" >&2
  for log in "$data"/*.log; do [ -f "$log" ] && { echo "== $log" >&2; tail -n 15 "$log" >&2; }; done
  exit 1
}
