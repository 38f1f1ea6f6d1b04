#!/usr/bin/env bash
# The fuzz properties (the *Properties classes built on FuzzInput) for longer than the unit run: every property
# runs TRIES tries instead of its short form, with a fresh random seed each run.
#   bench/fuzz.sh [TRIES]     (default 100000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/find-jdk.sh
tries="${1:-100000}"
./mvnw -B -q test -Datrium.fuzz.tries="$tries" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dtest='V2ParserProperties,OpenAiParserProperties,GgufHeaderProperties,JsonReaderProperties,HttpFuzzProperties'
