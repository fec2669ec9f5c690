#!/usr/bin/env bash
# End-to-end benchmark of the reporting warehouse loads for the issue #6
# targets, on this machine (SQLite operational database and warehouse, the
# default config unless said otherwise; server and wrk on loopback).
# Usage: bench/etl.sh
#   USERS=10000 DAYS=90   the data set: `fitloop dev seed --users USERS --days DAYS
#                         --seed 1` and an admin account (root@example.com),
#                         prepared once into $CACHE/seed-USERS-DAYS (10,000 × 90:
#                         about 7 minutes) and reused while its "ready" file is
#                         there; every measurement copies its files (SQLite
#                         database and keys, no process running) into a data
#                         directory of its own, with an empty warehouse
#   CACHE=/tmp/fitloop-etl-bench
#   PREPARE_ONLY=1        prepare the data set and stop
#   PARTS="cli api"       which parts to run (default both):
#     cli  on one copy: `fitloop etl run --full` (wall time including the
#          process's start, rows read and written per table, source rows read
#          = the sum of the "read" counts, rows/s, peak RSS); `fitloop etl run`
#          with nothing changed, with etl.lag 0 and then the default 5m; then
#          "1 % changed" (below) and `fitloop etl run` with etl.lag 0
#     api  on another copy: `fitloop serve` (cron disabled, so no scheduled
#          job runs during the measurement), signed in as the first seeded
#          account with a full page of workouts (seed-user-00001 or the next):
#          wrk -t2 -c16 --latency GET /api/v1/users/{id}/workouts?limit=20,
#          3 s warm-up, WRK_DUR idle; POST /api/v1/admin/etl/run {"full":true}
#          and the same wrk in consecutive WRK_DUR windows until the load ends
#          (GET /admin/etl/runs after each window; a window in which the load
#          ended is reported but not counted); WRK_DUR idle again. Then "1 %
#          changed" and `fitloop etl run` with the default etl.lag (5m)
#   WRK_DUR=15s MAX_WINDOWS=40   wrk window length; at most this many windows
#   PORT=18381
#   REV=<commit>          build fitloop from that commit (git archive) instead of
#                         the working tree (the helper always from the tree)
# "1 % changed": (1) for every 10th seeded account (USERS/10 accounts, 10 %),
# an admin posts K steps samples, one an hour over the last K hours, each in a
# 15-minute rollup of its own (created or changed), K chosen so that these are
# 0.5 % of the full load's source rows; (2) `fitloop dev seed --users USERS/200
# --days DAYS --seed 2`: 0.5 % more accounts with their goals and whole
# history (inserts). The script prints what the incremental run read as a
# share of the full load's rows.
# etl.lag: each incremental run re-reads every feed from 5 minutes (etl.lag)
# before its watermark. On a seeded data set those 5 minutes are the seed's
# last 5 minutes of writes, however old the seed is, so with the default lag
# every incremental run re-reads a large part of the data set; with
# FITLOOP_ETL_LAG=0s it reads only what changed. Both are measured.
# Needs: Go with libsqlite3-dev, wrk (apt-get install wrk), curl, GNU time
# (/usr/bin/time), about 3 × the data set's size of free disk under /tmp.
set -euo pipefail
USERS=${USERS:-10000} DAYS=${DAYS:-90}
CACHE=${CACHE:-/tmp/fitloop-etl-bench}
PARTS=${PARTS:-cli api}
WRK_DUR=${WRK_DUR:-15s} MAX_WINDOWS=${MAX_WINDOWS:-40}
PORT=${PORT:-18381}
ADMIN_EMAIL=root@example.com ADMIN_PASSWORD=etl-bench-admin-password
EVERY=10 # one existing account in EVERY gets samples
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/fitloop-etl.XXXXXX)
SEED_DIR=$CACHE/seed-$USERS-$DAYS
SERVER_PID=
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
if [[ -n ${REV:-} ]]; then
  COMMIT=$(git -C "$ROOT" rev-parse --short "$REV")
  mkdir -p "$WORK/src" && git -C "$ROOT" archive "$REV" | tar -x -C "$WORK/src"
  SRC=$WORK/src
else
  COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo "+changes")"
  SRC=$ROOT
fi
echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(go version | cut -d" " -f3), SQLite $(sqlite3 --version 2>/dev/null | cut -d" " -f1 || echo "?"), $(wrk -v 2>&1 | head -1 | cut -d" " -f1-2), commit $COMMIT"
if [[ -z ${REV:-} && $COMMIT == *+changes ]]; then
  echo "# uncommitted changes in: $(git -C "$ROOT" diff --name-only HEAD | paste -sd' ')"
fi
(cd "$SRC" && go build -tags libsqlite3 -trimpath -o "$WORK/fitloop" .)
(cd "$ROOT" && go build -o "$WORK/etl" ./bench/etl)
cd "$WORK"

loadavg() { echo "# $(date -u +%H:%M:%S) load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
E() { ./etl -api "http://127.0.0.1:$PORT/api/v1" "$@"; }
fl() { env FITLOOP_LOG_LEVEL=warn "$@"; } # commands' JSON log: warnings and errors only

# The data set, prepared once.
if [[ ! -f $SEED_DIR/ready ]]; then
  echo "# preparing $SEED_DIR: fitloop dev seed --users $USERS --days $DAYS --seed 1"
  rm -rf "$SEED_DIR" && mkdir -p "$SEED_DIR"
  loadavg
  /usr/bin/time -f '%e s, peak RSS %M kB' -o "$WORK/seed.time" \
    env FITLOOP_DATA_DIR="$SEED_DIR/data" FITLOOP_LOG_LEVEL=warn ./fitloop dev seed --users "$USERS" --days "$DAYS" --seed 1 | grep -v '^{' | tee "$WORK/seed.out"
  fl FITLOOP_DATA_DIR="$SEED_DIR/data" ./fitloop admin create-user --email "$ADMIN_EMAIL" --username root --password "$ADMIN_PASSWORD" >/dev/null
  rm -f "$SEED_DIR"/data/warehouse.db*
  echo "seeded $(date -u +%FT%TZ) by commit $COMMIT in $(cat "$WORK/seed.time"): $(cat "$WORK/seed.out")" >"$SEED_DIR/ready"
fi
# The data set at this build's schema: a migration left for the measured
# commands would be timed with them.
fl FITLOOP_DATA_DIR="$SEED_DIR/data" ./fitloop migrate up >/dev/null
echo "# data set $SEED_DIR ($(du -sh "$SEED_DIR/data" | cut -f1)): $(cat "$SEED_DIR/ready")"
echo "# free disk under $WORK: $(df -h --output=avail "$WORK" | tail -1 | tr -d ' ')"
[[ -n ${PREPARE_ONLY:-} ]] && exit 0

# copy_data DIR: a fresh copy of the data set in DIR/data (no warehouse yet).
copy_data() {
  local t0=$SECONDS
  mkdir -p "$1/data" && cp -a "$SEED_DIR/data/." "$1/data/"
  echo "# copied the data set to $1 in $((SECONDS - t0)) s"
}

# etl_run NAME DIR LAG [--full]: `fitloop etl run` on DIR's data, etl.lag LAG
# (empty: the default), timed; prints its table lines and one result line, and
# sets LAST_READ (source rows read).
etl_run() {
  local name=$1 dir=$2 lag=$3; shift 3
  local lagenv=()
  [[ -n $lag ]] && lagenv=(FITLOOP_ETL_LAG="$lag")
  loadavg
  if ! /usr/bin/time -f '%e %M' -o "$dir/etl.time" env FITLOOP_DATA_DIR="$dir/data" FITLOOP_LOG_LEVEL=warn "${lagenv[@]}" \
    ./fitloop etl run "$@" >"$dir/etl.out" 2>&1; then
    echo "$name: fitloop etl run $* failed:" >&2; cat "$dir/etl.out" >&2; exit 1
  fi
  { grep -v '^{' "$dir/etl.out" || true; } | sed 's/^/  /'
  grep '^{' "$dir/etl.out" | head -5 | sed 's/^/  log: /' || true
  local secs rss
  read -r secs rss <"$dir/etl.time"
  read -r LAST_READ written < <(awk '/ read [0-9]+, written [0-9]+/ {gsub(",", "", $3); r += $3; w += $5} END {print r+0, w+0}' "$dir/etl.out")
  echo "$name: wall ${secs} s, ${LAST_READ} source rows read ($(awk -v r="$LAST_READ" -v s="$secs" 'BEGIN{printf "%.0f", (s > 0 ? r/s : 0)}') rows/s), ${written} rows written, peak RSS $((rss / 1024)) MiB"
}

# start_server DIR: fitloop serve on DIR's data, cron disabled.
start_server() {
  FITLOOP_HTTP_ADDR=127.0.0.1:$PORT FITLOOP_DATA_DIR="$1/data" FITLOOP_CRON_ENABLED=false \
    ./fitloop serve >>"$1/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the server did not become ready:" >&2; tail -20 "$1/server.log" >&2; exit 1
}
server_errors() { echo "server errors logged: $(grep -c '"level":"ERROR"' "$1/server.log" || true)"; grep -m3 '"level":"ERROR"' "$1/server.log" || true; }

# change DIR FULL_READ: the "1 % changed" of the header on DIR's data.
change() {
  local dir=$1 full_read=$2
  local picked=$((USERS / EVERY)) new=$((USERS / 200 > 0 ? USERS / 200 : 1))
  local k=$(((full_read * 5 / 1000 + picked - 1) / (picked > 0 ? picked : 1)))
  ((k >= 1)) || k=1
  echo "# 1 % changed: $picked existing accounts (every $EVERY.) × $k steps samples = $((picked * k)) rollups (0.5 % of $full_read) through the API, and $new new accounts (fitloop dev seed --users $new --days $DAYS --seed 2)"
  start_server "$dir"
  local admin
  read -r _ admin < <(E -mode login -email "$ADMIN_EMAIL" -password "$ADMIN_PASSWORD")
  E -mode change -token "$admin" -every "$EVERY" -samples "$k" -c 8
  stop_server
  local t0=$SECONDS
  fl FITLOOP_DATA_DIR="$dir/data" ./fitloop dev seed --users "$new" --days "$DAYS" --seed 2
  echo "# (seeding the new accounts took $((SECONDS - t0)) s)"
}

ms() { # wrk latency ("534.00us", "15.55ms", "1.20s", "1.05m") in ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } }'
}
# wrkrun NAME DURATION: one wrk run of the workouts list; one result line, P99_MS.
wrkrun() {
  local out rps p50 p99 non2xx sock
  out=$(wrk -t2 -c16 -d"$2" --timeout 30s --latency -H "Authorization: Bearer $TOKEN" "$LIST_URL")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out"); sock=$(grep -o 'Socket errors:.*' <<<"$out" || true)
  P99_MS=$(ms "$p99")
  echo "$1: ${rps} req/s p50 ${p50} p99 ${p99} non-2xx ${non2xx:-0} ${sock}"
}

if [[ " $PARTS " == *" cli "* ]]; then
  echo "## cli: fitloop etl run"
  A=$WORK/cli
  copy_data "$A"
  etl_run "full load (etl run --full)" "$A" "" --full
  FULL_READ=$LAST_READ
  echo "# warehouse after the full load: $(du -ch "$A"/data/warehouse.db* | tail -1 | cut -f1)"
  etl_run "nothing changed, etl.lag 0" "$A" 0s
  etl_run "nothing changed, etl.lag 5m (default)" "$A" ""
  change "$A" "$FULL_READ"
  etl_run "1 % changed, etl.lag 0" "$A" 0s
  echo "1 % changed, etl.lag 0: read $LAST_READ rows = $(awk -v a="$LAST_READ" -v b="$FULL_READ" 'BEGIN{printf "%.2f", 100*a/b}') % of the full load's $FULL_READ"
  server_errors "$A"
  rm -rf "$A"
fi

if [[ " $PARTS " == *" api "* ]]; then
  echo "## api: GET /api/v1/users/{id}/workouts?limit=20 while a full load runs in the server"
  B=$WORK/api
  copy_data "$B"
  start_server "$B"
  read -r _ ADMIN_TOKEN < <(E -mode login -email "$ADMIN_EMAIL" -password "$ADMIN_PASSWORD")
  for n in $(seq 1 50); do # the first seeded account with a full page of workouts
    read -r USER_ID TOKEN < <(E -mode login -email "seed-user-$(printf %05d "$n")@example.com" -password fitloop-demo-password)
    LIST_URL="http://127.0.0.1:$PORT/api/v1/users/$USER_ID/workouts?limit=20"
    items=$(curl -fs -H "Authorization: Bearer $TOKEN" "$LIST_URL" | { grep -o '"session_id"' || true; } | wc -l)
    ((items < 20)) || break
  done
  echo "# signed in as seed-user-$(printf %05d "$n") (the first with 20 workouts or more); its list answers $items"
  loadavg
  wrk -t2 -c16 -d3s -H "Authorization: Bearer $TOKEN" "$LIST_URL" >/dev/null
  wrkrun "idle" "$WRK_DUR"
  IDLE_MS=$P99_MS
  RSS_BEFORE=$(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status")
  RUN_ID=$(E -mode start -token "$ADMIN_TOKEN" -full)
  echo "# $(date -u +%H:%M:%S) started full load $RUN_ID (POST /api/v1/admin/etl/run)"
  DURING=()
  for i in $(seq 1 "$MAX_WINDOWS"); do
    wrkrun "during the full load, window $i" "$WRK_DUR"
    read -r st _ _ _ < <(E -mode status -token "$ADMIN_TOKEN" -run "$RUN_ID")
    if [[ $st != running ]]; then
      echo "  (the load ended during window $i: not counted)"
      break
    fi
    DURING+=("$P99_MS")
  done
  while :; do
    read -r st nread started finished < <(E -mode status -token "$ADMIN_TOKEN" -run "$RUN_ID")
    [[ $st == running ]] || break
    sleep 1
  done
  secs=$(awk -v a="$(date -d "$started" +%s.%N)" -v b="$(date -d "$finished" +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  echo "full load in the server (under wrk): $st, ${secs} s, $nread source rows read ($(awk -v r="$nread" -v s="$secs" 'BEGIN{printf "%.0f", (s > 0 ? r/s : 0)}') rows/s); server peak RSS $((RSS_BEFORE / 1024)) MiB before, $(($(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status") / 1024)) MiB after"
  wrkrun "idle after the load" "$WRK_DUR"
  AFTER_MS=$P99_MS
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
  if ((${#DURING[@]} == 0)); then
    echo "p99: idle ${IDLE_MS} ms before, ${AFTER_MS} ms after; no window fell wholly within the load (shorter than WRK_DUR=$WRK_DUR)"
  else
    worst=$(printf '%s\n' "${DURING[@]}" | sort -g | tail -1)
    med=$(printf '%s\n' "${DURING[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    echo "p99: idle ${IDLE_MS} ms before the load, ${AFTER_MS} ms after; during it (${#DURING[@]} windows of $WRK_DUR) worst ${worst} ms = $(ratio "$worst" "$IDLE_MS") × idle before ($(ratio "$worst" "$AFTER_MS") × after), median ${med} ms = $(ratio "$med" "$IDLE_MS") × idle before ($(ratio "$med" "$AFTER_MS") × after); target ≤ 2 ×"
  fi
  stop_server
  server_errors "$B"
  change "$B" "$nread"
  etl_run "1 % changed, etl.lag 5m (default)" "$B" ""
  echo "1 % changed, etl.lag 5m: read $LAST_READ rows = $(awk -v a="$LAST_READ" -v b="$nread" 'BEGIN{printf "%.2f", 100*a/b}') % of the full load's $nread"
  server_errors "$B"
fi
