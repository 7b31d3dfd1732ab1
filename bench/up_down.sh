#!/usr/bin/env bash
# Times `invoke up` from nothing, a second (no-op) `invoke up`, and `invoke down`, each beside
# the reference (bench/reference.sh: the same topology by bare commands), median of 5 runs
# with hyperfine. Results: bench/results/up_down.{md,json}.  Run as root from the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
export INVOKE_DEVNET_INSTANCE=bench
INV=".venv/bin/invoke"
mkdir -p bench/results
trap '$INV down >/dev/null 2>&1 || true; bench/reference.sh down >/dev/null 2>&1 || true' EXIT

hyperfine --runs "$RUNS" --style basic --export-json bench/results/up_down.json \
    --export-markdown bench/results/up_down.md \
    --command-name "devnet: up from nothing" --prepare "$INV down >/dev/null" "$INV up" \
    --command-name "reference: up from nothing" --prepare "bench/reference.sh down" \
    "bench/reference.sh up" \
    --command-name "devnet: no-op up" --prepare "$INV up >/dev/null" "$INV up" \
    --command-name "devnet: down" --prepare "$INV up >/dev/null" "$INV down" \
    --command-name "reference: down" --prepare "bench/reference.sh down; bench/reference.sh up" \
    "bench/reference.sh down"
python3 - <<'PY'
import json
for r in json.load(open("bench/results/up_down.json"))["results"]:
    print(f"{r['command']:<28} median {r['median']:.2f}s  (min {r['min']:.2f}s, max {r['max']:.2f}s)")
PY
