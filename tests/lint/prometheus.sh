#!/bin/bash
# tests/lint/prometheus.sh - promtool (Debian package prometheus) on what
# subguard ships and serves:
#   - contrib/prometheus/subguard.rules.yml: promtool check rules, and
#     promtool test rules with tests/lint/prometheus.rules.test.yml (the
#     alerts fire on the series they should);
#   - a real scrape of subguard (a private Redis, mail from miltertest's
#     t_limits.lua) and of subguard-feed (a delivery log with a bounce, a
#     delivery and a line that does not parse): promtool check metrics.
# Also checks contrib/grafana/subguard.json is JSON and names only metrics
# that a scrape has. Needs SG_BUILD and SG_SRC (set by CTest).
# Exit status 0, 1 on a finding, 2 when promtool is missing.
set -uo pipefail
: "${SG_BUILD:?set SG_BUILD}" "${SG_SRC:?set SG_SRC}"
command -v promtool >/dev/null ||
    { echo "prometheus.sh: promtool not installed (apt-get install prometheus)" >&2; exit 2; }

if [[ -z ${SG_REDIS:-} ]]; then
    promtool check rules "$SG_SRC/contrib/prometheus/subguard.rules.yml" || exit 1
    (cd "$SG_SRC/tests/lint" && promtool test rules prometheus.rules.test.yml) || exit 1
    exec sh "$SG_SRC/tests/integration/with-redis.sh" bash "$0" "$@"
fi
dir=$SG_REDIS_DIR
export SG_MILTER=unix:$dir/milter.sock SG_REDIS_SOCK=${SG_REDIS#unix:}
read -r p1 p2 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
stop() { ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null; }
trap stop EXIT
fail() { echo "prometheus.sh: $*" >&2; tail -n 20 "$dir"/*.log >&2; exit 1; }

# ready URL - wait up to 5 s for a scrape
ready() {
    local _
    for _ in $(seq 100); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.05
    done
    return 1
}

sed -e "s|@DIR@|$dir|g" -e "s|@REDIS@|$SG_REDIS|g" \
    "$SG_SRC/tests/miltertest/subguard.conf" >"$dir/subguard.conf"
printf '\n[metrics]\nlisten = 127.0.0.1:%s\nfeed_listen = 127.0.0.1:%s\n' \
    "$p1" "$p2" >>"$dir/subguard.conf"
"$SG_BUILD/subguard" -f -c "$dir/subguard.conf" 2>"$dir/subguard.log" &
pids+=($!)
ready "http://127.0.0.1:$p1/metrics" || fail "subguard serves no metrics"
miltertest -s "$SG_SRC/tests/miltertest/t_limits.lua" >/dev/null 2>&1 ||
    fail "t_limits.lua failed"
curl -sf "http://127.0.0.1:$p1/metrics" >"$dir/subguard.prom" || fail "scrape of subguard"
grep -q '^subguard_decisions_total{action="tempfail",stage="mail"} 1$' "$dir/subguard.prom" ||
    fail "the scrape does not show t_limits.lua's refusal"
promtool check metrics <"$dir/subguard.prom" || fail "promtool check metrics: subguard"

cat >"$dir/mail.log" <<'LOG'
Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: to=<nouser7@isp.example>, relay=mx.isp.example[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.isp.example[198.51.100.7] said: 550 5.1.1 unknown)
Nov 22 14:00:03 mx1 postfix/smtp[2203]: 4bX9Qd2nJzz9sWK: to=<bob@example.org>, relay=mx.example.org[203.0.113.25]:25, delay=0.42, delays=0.05/0.01/0.12/0.24, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Nov 22 14:00:04 mx1 postfix/smtp[2204]: 4bX9Qd2nJzz9sWL: to=<, status=bounced
LOG
"$SG_BUILD/subguard-feed" -f -c "$dir/subguard.conf" "$dir/mail.log" 2>"$dir/feed.log" &
pids+=($!)
ready "http://127.0.0.1:$p2/metrics" || fail "subguard-feed serves no metrics"
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$p2/metrics" >"$dir/feed.prom" || fail "scrape of subguard-feed"
    grep -q '^subguard_feed_lines_total{kind="delivered"} 1$' "$dir/feed.prom" && break
    sleep 0.05
done
for want in 'kind="outcome"} 1' 'kind="delivered"} 1' 'kind="unparsable"} 1'; do
    grep -qF "subguard_feed_lines_total{$want" "$dir/feed.prom" ||
        fail "feed scrape lacks lines_total{$want: $(grep lines_total "$dir/feed.prom")"
done
promtool check metrics <"$dir/feed.prom" || fail "promtool check metrics: subguard-feed"

# The dashboard: JSON, and every subguard_* name in it is served.
python3 - "$SG_SRC/contrib/grafana/subguard.json" "$dir/subguard.prom" "$dir/feed.prom" <<'PY' || exit 1
import json, re, sys
dash = json.load(open(sys.argv[1]))
served = set()
for f in sys.argv[2:]:
    for line in open(f):
        if not line.startswith("#"):
            served.add(re.match(r"[a-z_]+", line).group(0))
used = set(re.findall(r"subguard_[a-z_]+", json.dumps(dash)))
missing = sorted(u for u in used if u not in served)
if missing:
    sys.exit("prometheus.sh: the dashboard names metrics nobody serves: %s" % missing)
print("prometheus.sh: dashboard uses %d metrics, all served" % len(used))
PY
echo "prometheus.sh: rules, rule tests and both scrapes pass promtool"
