#!/usr/bin/env bash
# The first 10 s of a fresh server (issue 10 point 9: "within 10 s of the first request") under four JIT and AOT
# configurations, interleaved so that a shared VM's drift falls on all of them alike: per round, one fresh server per
# configuration and encoding (bench/hotpath.sh, one 10 s window, thread groups), with the in-process ceiling before
# the first round and after the last.
#   bench/first10s.sh [ROUNDS]      (default 3; needs what bench/hotpath.sh needs; builds nothing)
# Configurations: the AOT cache ./atrium records with `atrium aot-train` (or none, ATRIUM_AOT=0), with the default
# tiered JIT or C1 alone (-XX:TieredStopAtLevel=1). Prints hotpath.sh's lines, each prefixed with its
# configuration and round; requests_per_s is the figure to compare (the ratio is against no ceiling here).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
rounds="${1:-3}"
ceiling() {
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
    -cp "bench/target/atrium-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" dev.atrium.bench.Ceiling "$(nproc)" 1 16 10 sentence \
    2>/dev/null | sed 's/^/ceiling /'
}
ceiling
for round in $(seq 1 "$rounds"); do
  for config in aot-tiered noaot-tiered aot-c1 noaot-c1; do
    case "$config" in
      aot-tiered) settings=() ;;
      noaot-tiered) settings=(ATRIUM_AOT=0) ;;
      aot-c1) settings=(ATRIUM_JAVA_OPTS=-XX:TieredStopAtLevel=1) ;;
      noaot-c1) settings=(ATRIUM_AOT=0 ATRIUM_JAVA_OPTS=-XX:TieredStopAtLevel=1) ;;
    esac
    env ${settings[@]+"${settings[@]}"} HOTPATH_SKIP_BUILD=1 HOTPATH_SKIP_CEILING=1 HOTPATH_THREADS=1 HOTPATH_WINDOWS=1 \
      bench/hotpath.sh 10 2>/dev/null | grep -E '^(server|threads)' | sed "s/^/$config round=$round /"
  done
done
ceiling
