#!/usr/bin/env bash
# Measures what a password-guessing flood costs the server behind Caddy's
# basic_auth and behind audited_basic_auth, one after the other in one
# run, with the same bcrypt cost-14 hash (what `caddy hash-password`
# makes).
#
#   bench/flood.sh [flood-seconds] [flood-connections]
#
# The attacker sends distinct wrong passwords from 127.0.0.2 on 8
# connections for 10 s. Meanwhile a logged-in user (127.0.0.1) repeats
# requests on one connection, and a new user logs in once, 3 s in. Each site
# reports: the hash computations spent on the attacker, the logged-in
# user's p50 and p99 latency during the flood divided by the same without
# it, and the new user's first-login time during the flood divided by the
# same without it. Everything runs on loopback; output goes to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
conns=${2:-8}
out=bench/out
mkdir -p "$out"

go build -o "$out/caddy" ./cmd/caddy
go build -o "$out/load" ./bench/load

hash() { "$out/caddy" hash-password --plaintext "$1"; }
user_hash=$(hash user-password)
new1_hash=$(hash new1-password)
new2_hash=$(hash new2-password)

basic=127.0.0.1:19181
audited=127.0.0.1:19182
admin=127.0.0.1:19119

cat >"$out/flood.Caddyfile" <<CADDY
{
	admin $admin
	log default {
		output discard
	}
	log audit {
		output file $out/flood-audit.log
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://$basic {
	basic_auth {
		user $user_hash
		new1 $new1_hash
		new2 $new2_hash
	}
	respond "ok"
}
http://$audited {
	audited_basic_auth {
		user $user_hash
		new1 $new1_hash
		new2 $new2_hash
	}
	respond "ok"
}
CADDY

# metric prints one metric's value from Caddy's /metrics (0 if absent).
metric() {
	curl -s "http://$admin/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

# login_time prints how long one first login of user $2 on $1 takes, in
# seconds.
login_time() {
	curl -s -o /dev/null -w '%{time_total}' -u "$2:$2-password" "http://$1/"
}

measure() {
	local name=$1 addr=$2
	rm -f "$out/flood-audit.log"
	"$out/caddy" run --config "$out/flood.Caddyfile" --adapter caddyfile >"$out/flood-caddy.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done

	# Log the user in, then measure without a flood.
	"$out/load" -url "http://$addr/" -user user -password user-password -c 1 -n 1 >/dev/null
	local quiet
	quiet=$("$out/load" -url "http://$addr/" -user user -password user-password -c 1 -d "${secs}s" -from 127.0.0.1)
	local quiet_login
	quiet_login=$(login_time "$addr" new1)

	local verifies_before
	verifies_before=$(metric caddy_audited_basic_auth_verify_duration_seconds_count)

	# The flood, and the same measurements during it.
	"$out/load" -url "http://$addr/" -user user -mode distinct -c "$conns" -d "${secs}s" -from 127.0.0.2 >"$out/flood-attacker-$name.json" &
	local flood=$!
	# The new user arrives 3 s into the flood.
	sleep 3
	"$out/load" -url "http://$addr/" -user user -password user-password -c 1 -d "$((secs - 4))s" -from 127.0.0.1 >"$out/flood-user-$name.json" &
	local user=$!
	local busy_login
	busy_login=$(login_time "$addr" new2)
	wait $user
	wait $flood
	local busy
	busy=$(cat "$out/flood-user-$name.json")

	local verifies_after
	verifies_after=$(metric caddy_audited_basic_auth_verify_duration_seconds_count)
	kill -INT $pid
	wait $pid 2>/dev/null || true

	python3 - "$name" "$quiet" "$busy" "$quiet_login" "$busy_login" "$out/flood-attacker-$name.json" "$verifies_before" "$verifies_after" <<'PY'
import json, sys
name, quiet, busy = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ql, bl = float(sys.argv[4]), float(sys.argv[5])
att = json.load(open(sys.argv[6]))
vb, va = float(sys.argv[7]), float(sys.argv[8])
# Every 401 the attacker got cost one hash (distinct wrong passwords are
# never cached); 429 and 503 cost none.
hashes = att["statuses"].get("401", 0)
print(f"{name}: attacker sent {att['requests']} requests in {att['seconds']:.1f}s, statuses {att['statuses']}")
print(f"{name}: hash computations spent on the attacker: {hashes}" + (f" (verify_duration_seconds_count grew by {va - vb:.0f})" if va or vb else ""))
print(f"{name}: logged-in user p50 {quiet['p50_ms']:.2f} -> {busy['p50_ms']:.2f} ms (x{busy['p50_ms'] / quiet['p50_ms']:.2f}), "
      f"p99 {quiet['p99_ms']:.2f} -> {busy['p99_ms']:.2f} ms (x{busy['p99_ms'] / quiet['p99_ms']:.2f})")
print(f"{name}: new user's first login {ql:.2f} s -> {bl:.2f} s (x{bl / ql:.2f})")
PY
}

echo "== flood: distinct wrong passwords from 127.0.0.2 on $conns connections for ${secs}s"
measure basic_auth "$basic"
measure audited_basic_auth "$audited"
