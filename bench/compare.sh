#!/usr/bin/env bash
# Compares a logged-in user's throughput behind Caddy's basic_auth and
# behind audited_basic_auth, in one Caddy, with the same bcrypt hash and
# the same access log. Both sites are driven by the same load generator in
# alternation, so both see the same machine state.
#
#   bench/compare.sh [seconds-per-round] [rounds] [connections]
#
# Prints requests/s of each site per round, their means and the ratio
# audited / basic_auth, once with `log_successes all` and once with
# `log_successes off`. Everything runs on loopback; output goes to
# bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-5}
rounds=${2:-3}
conns=${3:-8}
out=bench/out
mkdir -p "$out"

go build -o "$out/caddy" ./cmd/caddy
go build -o "$out/load" ./bench/load

password=bench-password-1
# Cost 14, what `caddy hash-password` makes by default.
hash=$("$out/caddy" hash-password --plaintext "$password")

basic=127.0.0.1:19081
audited=127.0.0.1:19082

run_policy() {
	local policy=$1 extra=${2:-} label=${3:-$1}
	# Rolling is off: the gzip compression of a rolled file would land on
	# whichever site's round happens to run at the time.
	rm -f "$out"/access*.log* "$out"/audit*.log*
	cat >"$out/Caddyfile" <<CADDY
{
	admin 127.0.0.1:19019
	log default {
		output discard
	}
	log audit {
		output file $out/audit.log {
			roll_disabled
		}
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://$basic {
	log {
		output file $out/access.log {
			roll_disabled
		}
	}
	basic_auth {
		bench $hash
	}
	respond "ok"
}
http://$audited {
	log {
		output file $out/access.log {
			roll_disabled
		}
	}
	audited_basic_auth {
		log_successes $policy
		bench $hash
		$extra
	}
	respond "ok"
}
CADDY
	"$out/caddy" run --config "$out/Caddyfile" --adapter caddyfile >"$out/caddy.log" 2>&1 &
	local pid=$!
	trap 'kill $pid 2>/dev/null || true' RETURN
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://$basic/" && curl -s -o /dev/null "http://$audited/" && break
		sleep 0.1
	done

	# Log in once on each site, so both measure the cached path.
	"$out/load" -url "http://$basic/" -user bench -password "$password" -c 1 -n 1 >/dev/null
	"$out/load" -url "http://$audited/" -user bench -password "$password" -c 1 -n 1 >/dev/null

	: >"$out/rounds-$label.jsonl"
	for r in $(seq "$rounds"); do
		for site in basic audited; do
			local addr=$basic
			[ "$site" = audited ] && addr=$audited
			"$out/load" -url "http://$addr/" -user bench -password "$password" \
				-c "$conns" -d "${secs}s" |
				sed "s/^{/{\"site\":\"$site\",\"round\":$r,/" >>"$out/rounds-$label.jsonl"
		done
	done
	kill -INT $pid
	wait $pid 2>/dev/null || true

	python3 - "$out/rounds-$label.jsonl" "$label" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    bad = {k: v for k, v in r["statuses"].items() if k != "200"}
    print(f'round {r["round"]} {r["site"]:8} {r["per_second"]:9.0f} req/s  p50 {r["p50_ms"]:.2f} ms  p99 {r["p99_ms"]:.2f} ms' + (f'  non-200: {bad}' if bad or r["errors"] else ''))
mean = lambda s: sum(r["per_second"] for r in rows if r["site"] == s) / sum(1 for r in rows if r["site"] == s)
b, a = mean("basic"), mean("audited")
print(f'{sys.argv[2]}: basic_auth {b:.0f} req/s, audited_basic_auth {a:.0f} req/s, ratio {a/b:.3f}')
PY
}

echo "== logged-in user, ${rounds} rounds of ${secs}s per site, ${conns} connections"
run_policy all "" "log_successes all"
run_policy off "" "log_successes off"
# Integrity seals every event; its key comes from the environment, as a
# deployment would keep it out of the Caddyfile.
export BENCH_INTEGRITY_KEY=bench-integrity-key
run_policy all "integrity {
			key {env.BENCH_INTEGRITY_KEY}
		}" "log_successes all with integrity"
