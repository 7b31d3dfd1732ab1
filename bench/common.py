"""What the benchmark scripts share: run devnet's CLI on the bench instance, percentiles,
writing results, and rendering README's marked sections from them."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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


def render_readme(sections: Callable[[], dict[str, str]], what: str) -> int:
    """Each README section between `<!-- MARKER:start -->` and `<!-- MARKER:end -->` replaced
    by its body (sections(): marker -> body); with --check, only whether README is current."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="fail if README is not up to date")
    args = ap.parse_args()
    readme = ROOT / "README.md"
    text = new = readme.read_text()
    for marker, body in sections().items():
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        head, rest = new.split(start, 1)
        _, tail = rest.split(end, 1)
        new = f"{head}{start}\n{body}\n{end}{tail}"
    if args.check:
        return 0 if new == text else 1
    readme.write_text(new)
    print(f"README.md: {what}")
    return 0
