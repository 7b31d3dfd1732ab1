#!/usr/bin/env bash
# Times `invoke up` from nothing, a second (no-op) `invoke up`, and `invoke down`, each beside
# the reference (bench/reference.sh: the same topology by bare commands), interleaved: each
# round runs every command once (hyperfine --runs 1), ROUNDS rounds (default 5). Results:
# bench/results/up_down.json (median, min–max and each run's time). Run as root from the
# checkout, holding the machine's lock: sudo flock /tmp/devnet-e2e.lock bench/up_down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
export INVOKE_DEVNET_INSTANCE=bench
INV=".venv/bin/invoke"
TMP=$(mktemp -d)
mkdir -p bench/results
trap '$INV down >/dev/null 2>&1 || true; bench/reference.sh down >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

for round in $(seq "$ROUNDS"); do
    hyperfine --runs 1 --style none --export-json "$TMP/round$round.json" \
        --command-name "devnet: up from nothing" --prepare "$INV down >/dev/null" "$INV up" \
        --command-name "reference: up from nothing" --prepare "bench/reference.sh down" \
        "bench/reference.sh up" \
        --command-name "devnet: no-op up" --prepare "$INV up >/dev/null" "$INV up" \
        --command-name "devnet: down" --prepare "$INV up >/dev/null" "$INV down" \
        --command-name "reference: down" \
        --prepare "bench/reference.sh down; bench/reference.sh up" "bench/reference.sh down"
done
.venv/bin/python bench/up_down_results.py "$TMP" bench/results/up_down.json
