#!/usr/bin/env bash
# Load benchmarks for issue #2 targets, server and wrk on this machine, loopback.
# Usage: bench/run.sh [runs]   (default 3; prints each run and the median)
# Needs: wrk (apt-get install wrk), curl, python3, Go with libsqlite3-dev.
# The server runs with the default production config (SQLite, synchronous=FULL,
# JSON access log at info level, written to a file).
set -euo pipefail
RUNS=${1:-3}
DUR=${DUR:-10s}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/fitloop-bench.XXXXXX)
PORT=18181 BARE_PORT=18190
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(go version | cut -d" " -f3)"
(cd "$ROOT" && go build -tags libsqlite3 -trimpath -o "$WORK/fitloop" . && go build -o "$WORK/baregin" ./bench/baregin)

cd "$WORK"
FITLOOP_HTTP_ADDR=127.0.0.1:$PORT FITLOOP_DATA_DIR="$WORK/data" ./fitloop >"$WORK/server.log" 2>&1 &
./baregin -addr 127.0.0.1:$BARE_PORT &
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$BARE_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

API=http://127.0.0.1:$PORT/api/v1
curl -fs -X POST $API/users/register -H 'Content-Type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"correct horse battery"}' >/dev/null
LOGIN=$(curl -fs -X POST $API/users/login -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}')
TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$LOGIN")
USER=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["user_id"])' "$LOGIN")
cat >post_goal.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.body = '{"goal_type":"steps","target_value":10000,"target_date":"2030-01-01","period":"daily"}'
LUA

# bench NAME wrk-args...: warm up 3 s, then RUNS runs; prints req/s, p50, p99, errors and the median.
bench() {
  local name=$1; shift
  wrk -t2 -c50 -d3s "$@" >/dev/null
  local all=()
  for i in $(seq 1 "$RUNS"); do
    out=$(wrk -t2 -c50 -d"$DUR" --latency "$@")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out"); sock=$(grep -o 'Socket errors:.*' <<<"$out" || true)
    echo "$name run $i: ${rps} req/s p50 ${p50} p99 ${p99} non-2xx ${non2xx:-0} ${sock}"
    all+=("$rps")
  done
  printf '%s median: %s req/s\n' "$name" "$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
}

bench "bare gin GET /healthz" "http://127.0.0.1:$BARE_PORT/healthz"
bench "fitloop GET /healthz" "http://127.0.0.1:$PORT/healthz"
bench "GET /api/v1/users/{id}" -H "Authorization: Bearer $TOKEN" "$API/users/$USER"
bench "POST /api/v1/users/{id}/goals" -s post_goal.lua "$API/users/$USER/goals"
echo "server errors logged: $(grep -c '"level":"ERROR"' "$WORK/server.log" || true)"; grep -m3 '"level":"ERROR"' "$WORK/server.log" || true
