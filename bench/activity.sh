#!/usr/bin/env bash
# Load benchmarks for the issue #4 (activity) targets, server and load
# generators on this machine, loopback. Prints each run and the median.
# Usage: bench/activity.sh [runs]   (default 3, at most 4: each ingest run
#        posts samples dated in a two-year window of its own, within the 10
#        years the API accepts)
#   DB=sqlite|postgres   database of the server (default sqlite, production
#                        defaults: synchronous=FULL); postgres starts a
#                        throwaway PostgreSQL cluster (initdb, run as user
#                        postgres) with durable settings unless PG_OPTS says otherwise
#   SCENARIOS="ingest list startend series mixed download"   which to run (default all)
#   DUR=10s              length of each measured run (3 s warm-up before each scenario)
# Needs: wrk, curl, Go with libsqlite3-dev; for DB=postgres the postgresql package.
# Server config is the default one (JSON access log at info level, written to
# a file); the activity routes have no rate limits, so nothing is raised.
set -euo pipefail
RUNS=${1:-3}
((RUNS >= 1 && RUNS <= 4)) || { echo "runs must be 1 to 4" >&2; exit 2; }
DUR=${DUR:-10s}
DB=${DB:-sqlite}
SCENARIOS=${SCENARIOS:-ingest list startend series mixed download}
PORT=${PORT:-18281} PG_PORT=${PG_PORT:-15491}
PG_OPTS=${PG_OPTS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/fitloop-activity.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true # the server
  if [[ -f $WORK/pg/data/postmaster.pid ]]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(go version | cut -d" " -f3), commit ${COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")}, DB=$DB"
(cd "$ROOT" && go build -tags libsqlite3 -trimpath -o "$WORK/fitloop" . && go build -o "$WORK/activity" ./bench/activity)
cd "$WORK"

export FITLOOP_HTTP_ADDR=127.0.0.1:$PORT FITLOOP_DATA_DIR="$WORK/data"
if [[ $DB == postgres ]]; then
  mkdir -p pg && chmod 755 "$WORK" && chown postgres:postgres pg
  runuser -u postgres -- "$PGBIN/initdb" -D pg/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D pg/data -l pg/server.log -w \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=100 $PG_OPTS" start >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -c 'create database fitloop'
  echo "# postgres: $("$PGBIN/postgres" --version), $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -c 'show fsync' -c 'show synchronous_commit' | paste -sd/) (fsync/synchronous_commit)"
  export FITLOOP_DATABASE_DRIVER=postgres FITLOOP_DATABASE_DSN="postgres://postgres@127.0.0.1:$PG_PORT/fitloop?sslmode=disable"
fi
./fitloop >server.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
API=http://127.0.0.1:$PORT/api/v1
A() { ./activity -api "$API" -users users.json "$@"; }

# Accounts: 0–7 ingest without sample ids, 8–15 with, 16 the 50,000-workout
# list, 17–66 start/end (one per connection), 67 the heart-rate year, 68 the
# mixed scenario's creates.
A -mode users -n 69 -out users.json
read -r LIST_USER LIST_TOKEN < <(A -mode show -user 16)
read -r HR_USER HR_TOKEN < <(A -mode show -user 67)
read -r NEW_USER NEW_TOKEN < <(A -mode show -user 68)
cat >create.lua <<LUA
-- POST /users/{id}/workouts with a start time one minute earlier each request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $NEW_TOKEN"
local n, t0 = 0, os.time() - 3600
request = function()
  n = n + 1
  local body = string.format('{"workout_type":"cycling","start_time":"%s","duration":1800,"distance_km":12.5,"avg_heart_rate":128}',
    os.date("!%Y-%m-%dT%H:%M:%SZ", t0 - n * 60))
  return wrk.format(nil, "$API/users/$NEW_USER/workouts", nil, body)
end
LUA

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
loadavg() { echo "# $(date -u +%H:%M:%S) load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
# wrkrun NAME wrk-args...: one measured wrk run, one result line.
wrkrun() {
  local name=$1; shift
  out=$(wrk -d"$DUR" --latency "$@")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out"); sock=$(grep -o 'Socket errors:.*' <<<"$out" || true)
  echo "$name: ${rps} req/s p50 ${p50} p99 ${p99} non-2xx ${non2xx:-0} ${sock}"
}
# bench NAME wrk-args...: 3 s warm-up, RUNS runs, median req/s.
bench() {
  local name=$1; shift
  loadavg; wrk -d3s "$@" >/dev/null
  for i in $(seq 1 "$RUNS"); do wrkrun "$name run $i" "$@"; done | tee runs.txt
  echo "$name median: $(sed -E 's/.*: ([0-9.]+) req\/s.*/\1/' runs.txt | median) req/s"
}

scenario_ingest() {
  for ids in false true; do
    local first=0 name="POST metrics, 8 × 1,000 samples, no sample_id"
    if $ids; then first=8 name="POST metrics, 8 × 1,000 samples, with sample_id"; fi
    loadavg; A -mode ingest -user $first -c 8 -batch 1000 -window 0 -d 3s -ids=$ids >/dev/null
    for i in $(seq 1 "$RUNS"); do
      A -mode ingest -user $first -c 8 -batch 1000 -window "$i" -d "$DUR" -ids=$ids -label "$name run $i: "
    done | tee runs.txt
    echo "$name median: $(sed -E 's/.*samples\/s ([0-9]+).*/\1/' runs.txt | median) samples/s"
  done
}

scenario_list() {
  A -mode seed-workouts -user 16 -n 50000 -c 16
  bench "GET workouts?limit=20 (50,000 workouts), c50" -t2 -c50 -H "Authorization: Bearer $LIST_TOKEN" "$API/users/$LIST_USER/workouts?limit=20"
}

scenario_startend() {
  local name="POST workouts/start + /end pairs, 50 users × 1 connection"
  loadavg; A -mode startend -user 17 -c 50 -d 3s >/dev/null
  for i in $(seq 1 "$RUNS"); do A -mode startend -user 17 -c 50 -d "$DUR" -label "$name run $i: "; done | tee runs.txt
  echo "$name median: $(sed -E 's/.*: ([0-9.]+) req\/s.*/\1/' runs.txt | median) req/s ($(sed -E 's/.*pairs\/s ([0-9.]+).*/\1/' runs.txt | median) pairs/s)"
}

scenario_series() {
  A -mode seed-heart -user 67 -days 365 -c 2
  for period in day week month; do
    for c in 50 1; do
      bench "GET metrics/heart_rate?period=$period (525,600 samples), c$c" -t$((c > 1 ? 2 : 1)) -c$c \
        -H "Authorization: Bearer $HR_TOKEN" "$API/users/$HR_USER/metrics/heart_rate?period=$period"
    done
  done
}

scenario_mixed() {
  [[ -n $(has_list_workouts) ]] || A -mode seed-workouts -user 16 -n 50000 -c 16
  local list=(-t1 -c40 -H "Authorization: Bearer $LIST_TOKEN" "$API/users/$LIST_USER/workouts?limit=20")
  local create=(-t1 -c10 -s create.lua "$API/users/$NEW_USER/workouts")
  # Waits name the list's pid: a bare wait would wait for the server too.
  loadavg; wrk -d3s "${list[@]}" >/dev/null & local pid=$!
  wrk -d3s "${create[@]}" >/dev/null; wait $pid
  for i in $(seq 1 "$RUNS"); do
    wrkrun "mixed list c40 run $i" "${list[@]}" >list.txt & pid=$!
    wrkrun "mixed create c10 run $i" "${create[@]}" >create.txt; wait $pid
    cat list.txt create.txt
  done | tee runs.txt
  for part in list create; do
    echo "mixed $part median: $(grep "mixed $part" runs.txt | sed -E 's/.*: ([0-9.]+) req\/s.*/\1/' | median) req/s"
  done
}

# The heart-rate year (seeded by series when it ran) downloaded as CSV and
# JSON: bytes, seconds, and the server's peak RSS before and after.
scenario_download() {
  [[ -n $(has_heart_year) ]] || A -mode seed-heart -user 67 -days 365 -c 2
  local from to
  from=$(date -u -d '366 days ago' +%F) to=$(date -u +%F)
  for format in csv json; do
    local before after
    before=$(awk '/VmHWM/{print $2}' /proc/$SERVER_PID/status)
    read -r bytes secs < <(curl -fsS -o /dev/null -w '%{size_download} %{time_total}\n' \
      -H "Authorization: Bearer $HR_TOKEN" "$API/users/$HR_USER/reports/download?from=$from&to=$to&format=$format")
    after=$(awk '/VmHWM/{print $2}' /proc/$SERVER_PID/status)
    echo "download a year ($format): $bytes bytes in ${secs}s, server peak RSS ${before} kB before, ${after} kB after"
  done
}

# has_heart_year prints something once the heart-rate user has samples.
has_heart_year() {
  curl -fs "$API/users/$HR_USER/metrics" -H "Authorization: Bearer $HR_TOKEN" | grep -o heart_rate || true
}

# has_list_workouts prints something once the list user has workouts.
has_list_workouts() {
  curl -fs "$API/users/$LIST_USER/workouts?limit=1" -H "Authorization: Bearer $LIST_TOKEN" | grep -o session_id || true
}

for s in $SCENARIOS; do "scenario_$s"; done
echo "server errors logged: $(grep -c '"level":"ERROR"' server.log || true)"; grep -m3 '"level":"ERROR"' server.log || true
