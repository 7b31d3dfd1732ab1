"""Join bench/up_down.sh's rounds (one hyperfine JSON a round, every command run once) into
bench/results/up_down.json: each command's time per round, median and min–max.

    .venv/bin/python bench/up_down_results.py ROUNDS_DIR OUT.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dns_load import machine  # noqa: E402


def join(rounds: list[dict]) -> list[dict]:
    times: dict[str, list[float]] = {}
    for r in rounds:
        for cmd in r["results"]:
            times.setdefault(cmd["command"], []).append(round(cmd["mean"], 3))
    return [{"command": name, "median": round(statistics.median(t), 3), "min": min(t),
             "max": max(t), "times": t} for name, t in times.items()]


def main(rounds_dir: str, out: str) -> int:
    files = sorted(Path(rounds_dir).glob("round*.json"), key=lambda f: int(f.stem[5:]))
    results = {"machine": machine(), "ended": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "rounds": len(files), "how": "interleaved: each round runs every command once",
               "results": join([json.loads(f.read_text()) for f in files])}
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    for r in results["results"]:
        print(f"{r['command']:<28} median {r['median']:.2f}s  "
              f"(min {r['min']:.2f}s, max {r['max']:.2f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
