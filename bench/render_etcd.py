"""The README's etcd-store figures, from bench/results/etcd.json (run after etcd_bench.py);
render_results.py writes them between README's etcd-bench markers."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "etcd.json"


def fig(summary: dict, key: str, unit: str, digits: int = 1) -> str:
    s = summary[key]
    return (f"{s['median']:.{digits}f} {unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})")


def render(d: dict) -> str:
    m, e, mem, p = d["machine"], d["etcd"], d["memory"], d["propagation"]
    rows = [("load: spawn → last name answered", "load_s", "s", 2),
            ("resident memory (RSS) after the dnsperf run", "rss_mb", "MB", 1),
            ("p50 at 1,000 qps over the 10,000 names", "p50_ms", "ms", 2),
            ("p99 at 1,000 qps", "p99_ms", "ms", 2)]
    lines = [
        f"`bench/etcd_bench.py` ({m['cpu']}, {m['cores']} cores, Python {m['python']}, "
        f"{m['etcd']}, dnsperf {m['dnsperf']}): a 3-member etcd cluster on loopback, "
        f"{d['records']:,} containers' records from {d['publishers']} publishers (devnet's "
        f"own publisher, as {d['publishers']} hosts run it; written in "
        f"{d['publish_10k_s']} s). Each round, interleaved, a new DNS service process with "
        f"the etcd store and one with the memory store holding the same containers (from a "
        f"stand-in dockerd, `bench/fake_docker.py`); {d['rounds']} rounds, median (min–max).",
        "",
        "| | etcd store | memory store (reference) |",
        "|---|---:|---:|",
        *[f"| {label} | {fig(e, k, u, n)} | {fig(mem, k, u, n)} |" for label, k, u, n in rows],
        f"| the view's own load (range + zone), from its log | {fig(e, 'view_load_s', 's', 2)}"
        " | (resync: one inspect per container) |",
        "",
        f"Propagation over {p['count']} containers (publish on one host → first answer of "
        f"another host's server): p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, max "
        f"{p['max_ms']} ms. The whole path from `docker run` on VM A to an answer on VM B "
        "is printed by e2e test_44 (docker's event adds ~0.2 s, as for the memory store).",
        f"Targets: propagation p99 ≤ {d['targets']['propagation_p99_ms']} ms, RSS ≤ "
        f"{d['targets']['rss_mb']} MB at 10,000 records, load ≤ {d['targets']['load_s']} s.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(json.loads(RESULTS.read_text())), end="")
