#!/usr/bin/env bash
# Load benchmarks for the issue #5 (groups live sessions) targets, server(s)
# and load client on this machine, loopback. Prints each run and the medians.
# Usage: bench/groups.sh [runs]   (default 3)
#   TARGETS="1 2 3"   which targets (default all):
#     1  one fitloop (default config: SQLite FULL, no Redis), one session of
#        1,000 participants, chat at 10 messages/s
#     2  the same server, 100 sessions × 50 participants, an exercise_update
#        from every participant every second
#     3  two fitloop replicas sharing one PostgreSQL and one Redis, clients
#        split over both: target 1's load, and target 2's with T3_EXERCISE=1
#        (the default)
#   DUR=20s WARM=5s   measured window and warm-up of each run (same session)
#   T2_SESSIONS=100   sessions of 50 in target 2's load (and target 3's)
#   PHASE=spread      exercise phases: spread (a session's participants evenly
#                     over the second) or burst (a session's updates together)
#   JOIN_C=8          concurrent dials/joins while participants arrive
#   REV=<commit>      build the server from that commit (git archive) instead
#                     of the working tree; the load client always comes from
#                     the working tree
#   PG_OPTS=...       extra postgres -c options for target 3
# Needs: Go with libsqlite3-dev, curl, redis-server and the postgresql
# package for target 3. Users are registered through the API (register +
# sign in: two argon2id hashes each, about 20 users/s on 2 cores): 5,000 for
# target 2, once per database. Each run uses fresh sessions, ended by their
# hosts afterwards; the script waits for the servers to go idle (the end
# writes the summaries) before the next run.
set -euo pipefail
RUNS=${1:-3}
((RUNS >= 1 && RUNS <= 9)) || { echo "runs must be 1 to 9" >&2; exit 2; }
TARGETS=${TARGETS:-1 2 3}
DUR=${DUR:-20s} WARM=${WARM:-5s} JOIN_C=${JOIN_C:-8}
T3_EXERCISE=${T3_EXERCISE:-1} T2_SESSIONS=${T2_SESSIONS:-100} PHASE=${PHASE:-spread}
PORT=${PORT:-18291} PORT_B=${PORT_B:-18292} PG_PORT=${PG_PORT:-15492} REDIS_PORT=${REDIS_PORT:-16392}
PG_OPTS=${PG_OPTS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/fitloop-groups.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
SERVER_PIDS=() REDIS_PID=
cleanup() {
  stop_servers
  [[ -n $REDIS_PID ]] && { kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; }
  if [[ -f $WORK/pg/data/postmaster.pid ]]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$WORK"
}
stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  SERVER_PIDS=()
}
trap cleanup EXIT

want() { [[ " $TARGETS " == *" $1 "* ]]; }
if [[ -n ${REV:-} ]]; then
  COMMIT=$(git -C "$ROOT" rev-parse --short "$REV")
  mkdir -p "$WORK/src" && git -C "$ROOT" archive "$REV" | tar -x -C "$WORK/src"
  SRC=$WORK/src
else
  COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo "+changes")"
  SRC=$ROOT
fi
echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(go version | cut -d" " -f3), server commit $COMMIT"
(cd "$SRC" && go build -tags libsqlite3 -trimpath -o "$WORK/fitloop" .)
(cd "$ROOT" && go build -o "$WORK/groups" ./bench/groups)
cd "$WORK"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
loadavg() { echo "# $(date -u +%H:%M:%S) load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

# start_server NAME PORT [ENV=VALUE...]: one fitloop in the background.
start_server() {
  local name=$1 port=$2; shift 2
  mkdir -p "$name"
  env FITLOOP_HTTP_ADDR=127.0.0.1:$port FITLOOP_DATA_DIR="$WORK/$name/data" "$@" ./fitloop >"$name/server.log" 2>&1 &
  SERVER_PIDS+=($!)
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "$name did not become ready:" >&2; tail -20 "$name/server.log" >&2; exit 1
}

# quiesce waits (at most 90 s) until the servers use under 5 % of a core:
# ending a run's sessions writes their summaries and may queue workouts.
quiesce() {
  local a b p
  ticks() { for p in "${SERVER_PIDS[@]}"; do awk '{print $14+$15}' "/proc/$p/stat"; done | awk '{s+=$1} END{print s}'; }
  for _ in $(seq 1 90); do
    a=$(ticks); sleep 1; b=$(ticks)
    ((b - a < 5)) && return
  done
  echo "# servers still busy after 90 s" >&2
}

# scenario NAME ARGS...: RUNS runs of the load client, then medians.
scenario() {
  local name=$1; shift
  for i in $(seq 1 "$RUNS"); do
    quiesce; loadavg
    ./groups -api "$API" -users users.json -d "$DUR" -warm "$WARM" -join-c "$JOIN_C" -label "$name run $i: " "$@"
  done | tee runs.txt
  local p99 del
  p99=$(grep ' result: ' runs.txt | sed -E 's/.*latency [^ ]+ p50 [0-9.]+ p95 [0-9.]+ p99 ([0-9.]+) .*/\1/' | median)
  del=$(grep ' result: ' runs.txt | sed -E 's/.*delivered [^(]*\(([0-9.]+) %\).*/\1/' | median)
  echo "$name median: delivered $del %, p99 $p99 ms"
}

server_errors() {
  local f
  for f in "$@"; do
    echo "$f: server errors logged: $(grep -c '"level":"ERROR"' "$f" || true), warnings: $(grep -c '"level":"WARN"' "$f" || true)"
    grep -m3 '"level":"\(ERROR\|WARN\)"' "$f" || true
  done
}

# Targets 1 and 2: one replica, default configuration.
if want 1 || want 2; then
  start_server a "$PORT"
  API=http://127.0.0.1:$PORT/api/v1
  N=1000; want 2 && N=$((T2_SESSIONS * 50 > 1000 ? T2_SESSIONS * 50 : 1000))
  ./groups -api "$API" -mode users -n "$N" -c 4 -out users.json
  PIDS="fitloop=${SERVER_PIDS[0]}" METRICS=http://127.0.0.1:$PORT/metrics
  if want 1; then
    scenario "target 1: chat, 1 session × 1,000, 10 msg/s" -mode chat -n 1000 -rate 10 -pids "$PIDS" -metrics "$METRICS"
  fi
  if want 2; then
    scenario "target 2: exercise_update, $T2_SESSIONS sessions × 50, 1/s each, $PHASE" -mode exercise -sessions "$T2_SESSIONS" -per 50 \
      -phase "$PHASE" -pids "$PIDS" -metrics "$METRICS"
  fi
  quiesce
  stop_servers
  server_errors a/server.log
  rm -f users.json
fi

# Target 3: two replicas, PostgreSQL and Redis.
if want 3; then
  mkdir -p pg && chmod 755 "$WORK" && chown postgres:postgres pg
  runuser -u postgres -- "$PGBIN/initdb" -D pg/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D pg/data -l pg/server.log -w \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=100 $PG_OPTS" start >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -c 'create database fitloop'
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >redis.log 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "# postgres: $("$PGBIN/postgres" --version), redis: $(redis-server --version | cut -d' ' -f3)"
  SHARED=(FITLOOP_DATABASE_DRIVER=postgres "FITLOOP_DATABASE_DSN=postgres://postgres@127.0.0.1:$PG_PORT/fitloop?sslmode=disable"
    FITLOOP_AUTH_SIGNING_KEY=groups-bench-shared-signing-key-0123456789
    FITLOOP_REDIS_MODE=single FITLOOP_REDIS_ADDRS=127.0.0.1:$REDIS_PORT)
  start_server a "$PORT" "${SHARED[@]}"
  start_server b "$PORT_B" "${SHARED[@]}"
  API=http://127.0.0.1:$PORT/api/v1
  WS=ws://127.0.0.1:$PORT/api/v1/ws,ws://127.0.0.1:$PORT_B/api/v1/ws
  PIDS="fitloop-a=${SERVER_PIDS[0]},fitloop-b=${SERVER_PIDS[1]},redis=$REDIS_PID"
  METRICS=http://127.0.0.1:$PORT/metrics,http://127.0.0.1:$PORT_B/metrics
  N=1000; ((T3_EXERCISE)) && N=$((T2_SESSIONS * 50 > 1000 ? T2_SESSIONS * 50 : 1000))
  ./groups -api "$API" -mode users -n "$N" -c 4 -out users.json
  scenario "target 3: chat, 1 session × 1,000 over 2 replicas, 10 msg/s" -mode chat -n 1000 -rate 10 \
    -ws "$WS" -pids "$PIDS" -metrics "$METRICS"
  if ((T3_EXERCISE)); then
    scenario "target 3: exercise_update, $T2_SESSIONS sessions × 50 over 2 replicas, $PHASE" -mode exercise -sessions "$T2_SESSIONS" \
      -per 50 -phase "$PHASE" -ws "$WS" -pids "$PIDS" -metrics "$METRICS"
  fi
  quiesce
  echo "# redis commands over target 3 (WATCH = cache updates + their retries after a lost race):"
  redis-cli -p "$REDIS_PORT" info commandstats | grep -E '^cmdstat_(watch|exec|multi|get|set|evalsha|publish):' |
    sed -E 's/^cmdstat_([a-z]+):calls=([0-9]+),usec=([0-9]+),.*/#   \1 \2 calls, \3 µs/'
  stop_servers
  server_errors a/server.log b/server.log
fi
