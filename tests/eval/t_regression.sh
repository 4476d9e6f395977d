#!/bin/bash
# t_regression.sh - the detection targets on a small fixed-seed trace.
# Generates 2,000 logins over 2 days (seed 7, mixed traffic), replays it
# through the real engine on a private Redis with the default tiers
# (contrib/subguard.conf), scores it against the baselines and holds the
# result to the targets of docs/EVALUATION.md (tools/check-targets).
set -euo pipefail
: "${SG_BUILD:?}" "${SG_SRC:?}"
dir=$(mktemp -d /tmp/sgeval.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 "$SG_SRC/tools/subguard-tracegen" --seed 7 --users 2000 --days 2 \
    --scenario mixed --out "$dir" >/dev/null
"$SG_BUILD/subguard-replay" -c "$SG_SRC/contrib/subguard.conf" \
    -t "$dir/users.jsonl" "$dir/trace.jsonl" >"$dir/verdicts.jsonl"
python3 "$SG_SRC/tools/subguard-score" --trace "$dir/trace.jsonl" \
    --users "$dir/users.jsonl" --messages "$dir/messages.jsonl" \
    --verdicts "$dir/verdicts.jsonl" --format json >"$dir/score.json"
python3 "$SG_SRC/tools/check-targets" "$dir/score.json"
