#!/usr/bin/env bash
# Measures the production binaries as an operator would run them: cmd/gateway
# and cmd/worker as separate processes on their own nats-server (JetStream
# file storage) and redis-server, driven by `neru bench --target` from a
# third process, with the sink app in a fourth. Prints the bench report and
# each binary's CPU per delivered event, which is what docs/capacity.md's
# gateway/worker split comes from.
#
#   deploy/bench/split.sh [events]        (default 60000)
#
# Needs nats-server and redis-server on the PATH (Debian packages). Uses
# ports 14222, 16379, 18080, 13001, 13000, 19090, 19091 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-60000}
tmp=$(mktemp -d)
bin=$tmp/bin
mkdir -p "$bin"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$bin" ./cmd/gateway ./cmd/worker ./cmd/neru

nats-server -js -sd "$tmp/nats" -a 127.0.0.1 -p 14222 >"$tmp/nats.log" 2>&1 &
ns=$!
redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
rs=$!

export NERU_REDIS_URL=redis://127.0.0.1:16379 NERU_NATS_URL=nats://127.0.0.1:14222
export NERU_ADMIN_TOKEN=bench-admin-token NERU_LOG_LEVEL=error
# The bench registers its listeners through the SDK without a token, as
# neru dev's apps do: NERU_DEV_INSTANCE opens that one instance to loopback.
NERU_GATEWAY_ADDR=127.0.0.1:18080 NERU_COMMAND_ADDR=127.0.0.1:13001 NERU_OPS_ADDR=127.0.0.1:19090 \
  NERU_DEV_INSTANCE=bench "$bin/gateway" >"$tmp/gateway.log" 2>&1 &
gw=$!
NERU_APP_NETWORKS=127.0.0.0/8 NERU_OPS_ADDR=127.0.0.1:19091 "$bin/worker" >"$tmp/worker.log" 2>&1 &
wk=$!
for url in http://127.0.0.1:19090/readyz http://127.0.0.1:19091/readyz; do
  for _ in $(seq 100); do curl -fs "$url" >/dev/null && break; sleep 0.2; done
  curl -fs "$url" >/dev/null || { echo "not ready: $url"; tail "$tmp"/*.log; exit 1; }
done
# Marked unauthenticated (as neru dev's instance is): the bench's SDK calls
# carry no token.
curl -fsS -X POST -H "Authorization: Bearer $NERU_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"id":"bench","baseUrl":"http://127.0.0.1:13000","applicationId":"bench-app","unauthenticated":true}' \
  http://127.0.0.1:18080/admin/v1/instances >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
g0=$(ticks $gw) w0=$(ticks $wk) n0=$(ticks $ns) r0=$(ticks $rs)
"$bin/neru" bench --target http://127.0.0.1:18080 --command-url http://127.0.0.1:13001 --app-addr 127.0.0.1:13000 \
  --instance bench --application-id bench-app --platform-pid "$gw" --half=false -n "$events" | tee "$tmp/report"
g1=$(ticks $gw) w1=$(ticks $wk) n1=$(ticks $ns) r1=$(ticks $rs)
hz=$(getconf CLK_TCK)
# Registration is in the window too (the gateway's share); it is small
# next to the webhooks at the default sizes.
awk -v g=$((g1 - g0)) -v w=$((w1 - w0)) -v ns=$((n1 - n0)) -v rs=$((r1 - r0)) -v hz="$hz" -v n="$events" 'BEGIN {
  us = 1e6 / hz / n
  printf "cpu/event by process (whole run): gateway %.1fµs, worker %.1fµs (gateway share %.0f%%), nats-server %.1fµs, redis-server %.1fµs\n",
    g * us, w * us, 100 * g / (g + w), ns * us, rs * us }'
