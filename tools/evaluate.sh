#!/bin/bash
# evaluate.sh [OUTDIR] - reproduce the tables of docs/EVALUATION.md from
# scratch: for each fixed seed and scenario, generate a trace
# (subguard-tracegen, issue 14's populations with the default receiver
# incident), replay it through the real engine on a private Redis with the
# default configuration (contrib/subguard.conf; customers' tiers from the
# users file, as support would set them), and score subguard beside every
# baseline policy (subguard-score, with the incidents as ground truth),
# then check issue 14's targets (check-targets --targets v2; SG_EVAL_TARGETS
# overrides). Needs a build in build/ (scripts/test.sh makes one).
# Runs: mixed 20,000 logins seed 1, mixed 10,000 seed 2, bulk-heavy 5,000
# seed 3, attack-heavy 5,000 seed 4 (a bulk-heavy population of 20,000 is 24
# million events); SG_EVAL_RUNS="scenario seed users;..." picks others (the
# classic population: "classic 1 20000"). About 25 minutes on 2 cores;
# traces, verdicts and scores are kept in OUTDIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/subguard-eval}
build=${SG_BUILD:-$src/build}
days=${SG_EVAL_DAYS:-3}
targets=${SG_EVAL_TARGETS:-v2}
runs=${SG_EVAL_RUNS:-mixed 1 20000;mixed 2 10000;bulk-heavy 3 5000;attack-heavy 4 5000}
mkdir -p "$out"
IFS=';' read -r -a runlist <<<"$runs"
for run in "${runlist[@]}"; do
    read -r scenario seed users <<<"$run"
    dir=$out/$scenario-$seed
    mkdir -p "$dir"
    echo "== $scenario, seed $seed, $users logins, $days days"
    python3 "$src/tools/subguard-tracegen" --seed "$seed" --users "$users" \
        --days "$days" --scenario "$scenario" --out "$dir" | tail -2
    # A receiver incident spans accounts: its start and end must follow
    # the trace's clock, not the interleaving of replay threads (-j 1).
    jobs=()
    if [ -s "$dir/incidents.jsonl" ]; then
        jobs=(-j 1)
    fi
    start=$SECONDS
    "$build/subguard-replay" -c "$src/contrib/subguard.conf" "${jobs[@]}" \
        -t "$dir/users.jsonl" "$dir/trace.jsonl" >"$dir/verdicts.jsonl"
    echo "replay: $((SECONDS - start)) s for $(wc -l <"$dir/trace.jsonl") events"
    incidents=()
    if [ -f "$dir/incidents.jsonl" ]; then
        incidents=(--incidents "$dir/incidents.jsonl")
    fi
    python3 "$src/tools/subguard-score" --trace "$dir/trace.jsonl" \
        --users "$dir/users.jsonl" --messages "$dir/messages.jsonl" \
        --verdicts "$dir/verdicts.jsonl" "${incidents[@]}" \
        --json-out "$dir/score.json" | tee "$dir/score.md"
    python3 "$src/tools/check-targets" --targets "$targets" "$dir/score.json" || true
done
