#!/usr/bin/env bash
# Sprays wrong passwords from many client addresses through a trusted
# proxy: every request comes from 127.0.0.1, which Caddy trusts, with a
# distinct X-Forwarded-For client. Reports the peak of concurrent hash
# verifications (never above max_concurrent), the failure tracker's
# bytes per client, and the caddy process's peak memory.
#
#   bench/spray.sh [clients] [connections]
#
# The account's hash is bcrypt cost 4 so that 100000 verifications fit in
# a couple of minutes; the cost changes the time, not the bounds measured.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=${1:-100000}
conns=${2:-16}
out=bench/out
mkdir -p "$out"

go build -o "$out/caddy" ./cmd/caddy
go build -o "$out/load" ./bench/load
hash=$("$out/caddy" hash-password --bcrypt-cost 4 --plaintext spray-victim-password)

site=127.0.0.1:19281
admin=127.0.0.1:19219
cat >"$out/spray.Caddyfile" <<CADDY
{
	admin $admin
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	log default {
		output discard
	}
}
http://$site {
	audited_basic_auth {
		victim $hash
	}
	respond "ok"
}
CADDY

"$out/caddy" run --config "$out/spray.Caddyfile" --adapter caddyfile >"$out/spray-caddy.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://$site/" && break; sleep 0.1; done

metric() {
	curl -s "http://$admin/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { printf "%.0f\n", v + 0 }'
}

"$out/load" -url "http://$site/" -user victim -password wrong -mode spray -c "$conns" -n "$clients" -d 1h >"$out/spray-load.json"

peak=$(metric caddy_audited_basic_auth_verifications_in_flight_peak)
tracked=$(metric caddy_audited_basic_auth_tracked_clients)
bytes=$(metric caddy_audited_basic_auth_tracker_bytes)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
max_concurrent=$(nproc)

python3 - "$out/spray-load.json" "$peak" "$tracked" "$bytes" "$hwm" "$max_concurrent" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
peak, tracked, tbytes, hwm, maxc = (int(x) for x in sys.argv[2:])
print(f"spray: {load['requests']} requests from distinct clients in {load['seconds']:.1f}s ({load['per_second']:.0f}/s), statuses {load['statuses']}")
print(f"peak concurrent verifications: {peak} (max_concurrent default = GOMAXPROCS = {maxc})")
print(f"tracked clients: {tracked}, tracker bytes: {tbytes} ({tbytes / max(tracked, 1):.0f} B per client, estimated by the tracker)")
print(f"caddy peak resident memory (VmHWM): {hwm / 1024:.1f} MiB")
PY
