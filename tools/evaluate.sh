#!/bin/bash
# evaluate.sh [OUTDIR] - reproduce the tables of docs/EVALUATION.md from
# scratch: for each fixed seed and scenario, generate a trace
# (subguard-tracegen), replay it through the real engine on a private Redis
# with the default configuration (contrib/subguard.conf; customers' tiers
# from the users file, as support would set them), and score subguard
# beside the baseline policies (subguard-score), then check the targets
# (check-targets). Needs a build in build/ (scripts/test.sh makes one).
# Mixed traffic uses 20,000 logins; the bulk-heavy and attack-heavy runs
# 5,000 (a bulk-heavy population of 20,000 is 24 million events). Takes
# about 25 minutes on 2 cores; traces are kept in OUTDIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/subguard-eval}
build=${SG_BUILD:-$src/build}
days=${SG_EVAL_DAYS:-3}
mkdir -p "$out"
for run in "mixed 1 20000" "mixed 2 20000" "bulk-heavy 3 5000" \
    "attack-heavy 4 5000"; do
    read -r scenario seed users <<<"$run"
    dir=$out/$scenario-$seed
    mkdir -p "$dir"
    echo "== $scenario, seed $seed, $users logins, $days days"
    python3 "$src/tools/subguard-tracegen" --seed "$seed" --users "$users" \
        --days "$days" --scenario "$scenario" --out "$dir" | tail -1
    start=$SECONDS
    "$build/subguard-replay" -c "$src/contrib/subguard.conf" \
        -t "$dir/users.jsonl" "$dir/trace.jsonl" >"$dir/verdicts.jsonl"
    echo "replay: $((SECONDS - start)) s for $(wc -l <"$dir/trace.jsonl") events"
    python3 "$src/tools/subguard-score" --trace "$dir/trace.jsonl" \
        --users "$dir/users.jsonl" --messages "$dir/messages.jsonl" \
        --verdicts "$dir/verdicts.jsonl" | tee "$dir/score.md"
    python3 "$src/tools/subguard-score" --trace "$dir/trace.jsonl" \
        --users "$dir/users.jsonl" --messages "$dir/messages.jsonl" \
        --verdicts "$dir/verdicts.jsonl" --format json >"$dir/score.json"
    python3 "$src/tools/check-targets" "$dir/score.json" || true
done
