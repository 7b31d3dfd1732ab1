"""What the benchmark scripts share: run devnet's CLI on the bench instance, percentiles, and
writing results."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = "bench"


def invoke(*args: str) -> float:
    """`invoke ARGS` on the bench instance; returns when it ended (time.time())."""
    env = dict(os.environ, INVOKE_DEVNET_INSTANCE=INSTANCE)
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.time()


def pct(values: list[float], q: int) -> float:
    # inclusive: a percentile lies between the smallest and the largest value, never beyond
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] \
        if len(values) > 1 else values[0]


def write_results(name: str, results: dict) -> None:
    out = ROOT / "bench/results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
