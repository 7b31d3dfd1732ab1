"""Render README's DNS performance section from bench/results/dns.json (every figure in that
section comes from the file; run after bench/dns_bench.py).

    .venv/bin/python bench/render_dns.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import render_readme  # noqa: E402


def spread(f: dict, unit: str = "", digits: int = 0) -> str:
    def fmt(v):
        return f"{v:,.{digits}f}{unit}"

    return f"{fmt(f['median'])} ({fmt(f['min'])}–{fmt(f['max'])})"


def render(r: dict) -> str:
    m, mach = r["mix"], r["machine"]
    rows = []
    for kind, label in (("flat_out", "realistic mix, queries per second"),
                        ("flat_out_without_forwarded", "… without forwarded names")):
        d, n = m[kind]["devnet"], m[kind]["dnsmasq"]
        rows.append(f"| {label} | {spread(d['qps'])} | {spread(n['qps'])} | "
                    f"{m[kind]['qps_ratio_devnet_to_dnsmasq']}× |")
    d, n = m["at_1000_qps"]["devnet"], m["at_1000_qps"]["dnsmasq"]
    rows.append(f"| mix at 1,000 qps: p99 | {spread(d['p99_ms'], ' ms', 3)} | "
                f"{spread(n['p99_ms'], ' ms', 3)} | |")
    rows.append(f"| mix at 1,000 qps: p50 | {spread(d['p50_ms'], ' ms', 3)} | "
                f"{spread(n['p50_ms'], ' ms', 3)} | |")
    d, n = m["cold_after_event"]["devnet"], m["cold_after_event"]["dnsmasq"]
    rows.append(f"| cold, right after a container event: qps | {spread(d['qps'])} | "
                f"{spread(n['qps'])} | |")
    bound = [k for k in ("flat_out", "flat_out_without_forwarded")
             for s in ("devnet", "dnsmasq") if m[k][s]["client_bound"]]
    lanes = r["lanes"]["container_names_at_1000_qps"]
    start = r["start_to_resolvable"]
    mem = r["memory"]
    cpu = m["flat_out"]
    return "\n".join([
        f"`bench/dns_bench.py` ({r['started']}; {mach['cpu']}, {mach['cores']} cores, "
        f"kernel {mach['kernel']}, Python {mach['python']}, dnsperf {mach['dnsperf']}, "
        f"dnsmasq {mach['dnsmasq']}): one dnsperf on core 0, the server on core 1, devnet and "
        f"dnsmasq interleaved, {cpu['devnet']['runs']} runs each, median (min–max). Both "
        "serve 50 containers (10 images, 20 names each) and forward the rest to the sim's "
        "upstream; the mix is container names A and AAAA, image names, NXDOMAIN in the zone, "
        "forwarded names and 0x20 case variants. The sim's upstream answers with TTL 0, so "
        "forwarded names cannot be cached by either server: each is an upstream round trip.",
        "",
        "| | devnet | dnsmasq | devnet / dnsmasq |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        "CPU during the mix (share of a core, client / server): devnet runs "
        f"{spread(cpu['devnet']['client_cpu'], '', 2)} / "
        f"{spread(cpu['devnet']['server_cpu'], '', 2)}, dnsmasq runs "
        f"{spread(cpu['dnsmasq']['client_cpu'], '', 2)} / "
        f"{spread(cpu['dnsmasq']['server_cpu'], '', 2)}; "
        + (f"the client was the bottleneck (≥ 0.9 while the server < 0.9) in: "
           f"{', '.join(bound)}." if bound else
           "the client was never the bottleneck (≥ 0.9 of its core while the server < 0.9)."),
        f"With the upstream silent and {r['lanes']['forwarded_qps_hanging']} forwarded "
        f"queries per second hanging, container names at 1,000 qps: p50 {lanes['p50_ms']} ms, "
        f"p99 {lanes['p99_ms']} ms, max {lanes['max_ms']} ms.",
        f"Start → resolvable over {start['count']} containers, from the `docker run` call: "
        f"p50 {start['from_the_call']['p50_ms']} ms, p99 {start['from_the_call']['p99_ms']} ms"
        f" (the call itself takes most of it); after the call returned: "
        f"p50 {start['after_the_call_returned']['p50_ms']} ms, "
        f"p99 {start['after_the_call_returned']['p99_ms']} ms.",
        f"Memory: {mem['queries']:,} queries (distinct names, 0x20 variants, padded "
        f"queries) took devnet's RSS from {mem['rss_before_mb']} MB to {mem['rss_after_mb']} MB"
        f" (peak {mem['peak_rss_mb']} MB); {r['devnet_rss_mb_with_50_containers']} MB with "
        "the 50 containers before.",
        "Targets: mix ≥ 0.9× dnsmasq, p99 ≤ 0.5 ms at 1,000 qps, container names p99 ≤ 1 ms "
        "with forwards hanging, start → resolvable p99 ≤ 20 ms, RSS ≤ 60 MB.",
    ])


def main() -> int:
    return render_readme(
        lambda: {"dns-bench": render(json.loads((ROOT / "bench/results/dns.json").read_text()))},
        "DNS performance section rendered from bench/results/dns.json")


if __name__ == "__main__":
    sys.exit(main())
