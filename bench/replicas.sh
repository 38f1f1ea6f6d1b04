#!/usr/bin/env bash
# Beyond one machine (issue 16): what admission costs per request on PostgreSQL against SQLite (AdmissionBench, in
# process: rate check, budget reservation, settlement with the usage record), and closed-loop POST /v1/embeddings
# (one sentence, concurrency 32) through haproxy with 1, 2 and 3 replicas on one PostgreSQL, beside one server on
# SQLite, all in one run on this machine. A member key of a tenant with a price and a budget, so that every request
# takes the whole shared admission path.
#   bench/replicas.sh [SECONDS]     (default 10; REPLICAS_SKIP_BUILD=1 uses the jars already built;
#                                    needs PostgreSQL 15 and haproxy, which .ci/run installs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
[ -x /usr/sbin/haproxy ] || { echo "replicas: haproxy is needed (apt-get install haproxy)" >&2; exit 1; }
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)"
[ -n "$pgbin" ] || { echo "replicas: PostgreSQL is needed (apt-get install postgresql-15)" >&2; exit 1; }
. bench/common.sh replicas "${REPLICAS_SKIP_BUILD:-}"
chmod 711 "$data"

# a throwaway PostgreSQL cluster, durable as the store requires (fsync, synchronous_commit on)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg="$data/pg"
mkdir -p "$pg"
pgport="$(free_port)"
export ATRIUM_STORE_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
echo "$ATRIUM_STORE_PASSWORD" > "$pg/password"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pg"
as_pg "$pgbin/initdb" -D "$pg/data" -U atrium --pwfile="$pg/password" --auth=scram-sha-256 -E UTF8 --no-locale \
  > /dev/null
as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -o "-p $pgport -k $pg -c listen_addresses=127.0.0.1
  -c max_connections=300" start > /dev/null
pids=()
servers=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  servers=()
}
trap 'stop_all; stop; as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
createdb() {
  PGPASSWORD="$ATRIUM_STORE_PASSWORD" "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U atrium -d postgres \
    -c "CREATE DATABASE $1"
  echo "postgresql://127.0.0.1:$pgport/$1?user=atrium"
}
echo "machine cores=$(nproc) java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr ' ' '_')" \
  "postgresql=$("$pgbin/postgres" --version | awk '{print $3}')"

echo "== admission per request, in process"
"${java[@]}" dev.atrium.bench.AdmissionBench "$seconds" "$(createdb admission)"

export ATRIUM_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"
export ATRIUM_ADMIN_KEY="atr-$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
H="Authorization: Bearer $ATRIUM_ADMIN_KEY"
member_key() { # BASE_URL: a tenant with a price and a budget, and a member key of it
  local tenant
  tenant="$(curl -sf -H "$H" "$1/admin/tenants" -H 'Content-Type: application/json' -d "{\"name\": \"bench-$RANDOM\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  curl -sf -H "$H" "$1/admin/prices" -H 'Content-Type: application/json' -d "{\"model\": \"all-minilm-l6-v2\",
    \"tenant\": \"$tenant\", \"input_per_1m\": \"0.02\", \"currency\": \"USD\"}" > /dev/null
  curl -sf -H "$H" "$1/admin/budgets" -H 'Content-Type: application/json' -d "{\"tenant\": \"$tenant\",
    \"monthly_limit\": \"1000000\", \"currency\": \"USD\"}" > /dev/null
  curl -sf -H "$H" "$1/admin/keys" -H 'Content-Type: application/json' -d "{\"tenant\": \"$tenant\",
    \"role\": \"member\", \"rpm\": 1000000000, \"tpm\": 1000000000}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
serve() { # STORE NAME: starts a server on a free port, left in $port
  port="$(free_port)"
  ./atrium serve --port "$port" --data-dir "$data/$2" --store "$1" --default-rpm 1000000000 \
    --default-tpm 1000000000 > "$data/$2.log" 2>&1 &
  pids+=($!)
  servers+=($!)
}
cpu_of() { # PIDS...: the CPU seconds they (and their reaped children) have used so far
  python3 - "$@" <<'PY'
import os, sys
ticks = 0
for pid in sys.argv[1:]:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    ticks += sum(int(f) for f in fields[11:15])
print(ticks / os.sysconf("SC_CLK_TCK"))
PY
}
load() { # URL KEY LABEL: the load generator's line, then the CPU each request cost the servers and PostgreSQL
  # (sampled from the end of the generator's 3 s warm-up, about 3.5 s after it starts, to its end)
  local out pg0 pg1 at0 at1 generator
  ATRIUM_API_KEY="$2" "${java[@]}" dev.atrium.bench.LoadGenerator "$1" all-minilm-l6-v2 closed 32 \
    "$seconds" sentence > "$data/load.out" &
  generator=$!
  sleep 3.5
  pg0="$(cpu_of $(pgrep -u postgres || true))"
  at0="$(cpu_of "${servers[@]}")"
  wait "$generator"
  pg1="$(cpu_of $(pgrep -u postgres || true))"
  at1="$(cpu_of "${servers[@]}")"
  out="$(cat "$data/load.out")"
  echo "$3 $out"
  python3 -c 'import re, sys
rps = float(re.search(r"requests_per_s=([0-9.]+)", sys.argv[1]).group(1)); n = rps * float(sys.argv[2])
pg, at = float(sys.argv[4]) - float(sys.argv[3]), float(sys.argv[6]) - float(sys.argv[5])
print(f"  cpu per request: atrium_ms={1000 * at / n:.2f} postgresql_ms={1000 * pg / n:.2f}")' \
    "$out" "$seconds" "$pg0" "$pg1" "$at0" "$at1"
}

echo "== POST /v1/embeddings, closed loop, concurrency 32"
serve sqlite sqlite
wait_for "http://127.0.0.1:$port/v2/health/ready"
load "http://127.0.0.1:$port" "$(member_key "http://127.0.0.1:$port")" "store=sqlite replicas=1"
stop_all
for n in 1 2 3; do
  store="$(createdb "replicas_$n")"
  ports=()
  for i in $(seq 1 "$n"); do serve "$store" "pg-$n-$i"; ports+=("$port"); done
  for p in "${ports[@]}"; do wait_for "http://127.0.0.1:$p/v2/health/ready"; done
  lb="$(free_port)"
  {
    printf 'defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend atrium\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$lb"
    printf 'backend replicas\n  balance roundrobin\n'
    for i in "${!ports[@]}"; do printf '  server r%s 127.0.0.1:%s\n' "$i" "${ports[$i]}"; done
  } > "$data/haproxy-$n.cfg"
  /usr/sbin/haproxy -db -f "$data/haproxy-$n.cfg" > "$data/haproxy-$n.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$lb/v2/health/ready"
  load "http://127.0.0.1:$lb" "$(member_key "http://127.0.0.1:$lb")" "store=postgresql replicas=$n"
  stop_all
done
