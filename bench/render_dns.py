"""Render README's DNS performance section from bench/results/dns.json and dns_cost.json, and
a part measured alone by a later run from its own file (dns_starts.json: start -> resolvable,
dns_lanes.json: lanes); every figure in that section comes from them, each saying its run.
Run after bench/dns_bench.py and bench/dns_cost.py.

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


def busy(r: dict) -> str:
    """The machine's load around the run: it is shared, so absolute figures move between
    runs; the ratios come from interleaved runs and move less."""
    before, after = r["machine"].get("load_average"), r.get("load_average_after")
    if not before:
        return ""
    return (f"; a shared machine, busy with other jobs: load average {before[0]} at the start"
            + (f", {after[0]} at the end" if after else "")
            + ", so absolute figures vary from run to run, ratios from interleaved runs less")


def upstream_cpu(cpu: dict) -> str:
    if "upstream_cpu" not in cpu["devnet"]:
        return ""
    return (" (the sim's upstream DNS meanwhile, on either core: "
            f"{spread(cpu['devnet']['upstream_cpu'], '', 2)} / "
            f"{spread(cpu['dnsmasq']['upstream_cpu'], '', 2)})")


def start_line(start: dict) -> str:
    def f(kind):
        return f"p50 {start[kind]['p50_ms']} ms, p99 {start[kind]['p99_ms']} ms"

    first = (f"from the container's start (dockerd's start event) to the first correct "
             f"answer at the host: {f('from_the_start_event')}; "
             if "from_the_start_event" in start else "")
    run = f" ({start['run']})" if "run" in start else ""
    return (f"Start → resolvable over {start['count']} containers{run}, {first}from the "
            f"`docker run` call: {f('from_the_call')} (the call itself takes most of it); "
            f"after the call returned: {f('after_the_call_returned')}.")


def lanes_lines(lanes: dict) -> list[str]:
    """Container names while forwards hang: each run's tail beside the server's run-queue
    wait (ready to run while another process or thread had its core)."""
    head = (f"With the upstream silent and {lanes['forwarded_qps_hanging']} forwarded queries "
            "per second hanging, container names at 1,000 qps"
            + (f" ({lanes['run']})" if "run" in lanes else ""))
    if "container_names" not in lanes:  # one run (results of the bench before it repeated)
        one = lanes["container_names_at_1000_qps"]
        return [f"{head}: p50 {one['p50_ms']} ms, p99 {one['p99_ms']} ms, "
                f"max {one['max_ms']} ms."]
    s = lanes["container_names"]
    rows = [f"| {i + 1} | {d['p99_ms']} ms | {d['server_runq_wait_ms']} ms | "
            f"{n['p99_ms']} ms | {n['server_runq_wait_ms']} ms | {d['load_average']} |"
            for i, (d, n) in enumerate(zip(lanes["runs"]["devnet"], lanes["runs"]["dnsmasq"],
                                           strict=True))]
    return [
        f"{head}, devnet and dnsmasq interleaved, {s['devnet']['runs']} runs each: devnet p99 "
        f"{spread(s['devnet']['p99_ms'], ' ms', 3)}, p50 {spread(s['devnet']['p50_ms'], ' ms', 3)}"
        f"; dnsmasq p99 {spread(s['dnsmasq']['p99_ms'], ' ms', 3)}, p50 "
        f"{spread(s['dnsmasq']['p50_ms'], ' ms', 3)}. Run-queue wait is how long the server's "
        "threads were ready to run but another process had the core, during the 4 s measured:",
        "",
        "| run | devnet p99 | devnet's run-queue wait | dnsmasq p99 | dnsmasq's run-queue "
        "wait | load average |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


HOPS = (("zone", "an answer from the zone or a cache: query in → answer out"),
        ("forwarded", "a forwarded name: query in → answer out"),
        ("first_hop", "… its first hop: query in → query out to the upstream"),
        ("upstream_round_trip", "… the upstream's round trip"),
        ("second_hop", "… its second hop: upstream's answer in → answer out"))


def hops_lines(h: dict | None) -> list[str]:
    """bench/dns_hops.py's figures: each server's own time per hop, from a capture."""
    if not h:
        return []

    def cell(server, kind):
        f = h[server]
        return " / ".join(str(f[f"{kind}_p{q}_us"]["median"]) for q in (50, 90, 99))

    rows = [f"| {label} | {cell('devnet', k)} | {cell('dnsmasq', k)} |" for k, label in HOPS]
    return [
        "", f"Where the time goes at 1,000 qps (the mix under tcpdump inside the VM, "
        f"{h['devnet']['runs']} runs each, interleaved; µs p50 / p90 / p99, median of the "
        "runs): the server's own time from a query's arrival to its answer's departure, "
        "without the client's side of the network.",
        "",
        "| µs, p50 / p90 / p99 | devnet | dnsmasq |",
        "|---|---:|---:|",
        *rows,
    ]


def cost_line(cost: dict | None) -> list[str]:
    """bench/dns_cost.py's figures: the Python each query class runs, apart from sockets."""
    if not cost:
        return []
    c = cost["classes"]

    def us(k):
        return spread(c[k], " µs", 2)

    return ["", f"Where devnet's CPU goes per query (`bench/dns_cost.py`, {cost['started']}, "
            f"{cost['rounds']} rounds, Python apart from socket calls): exact-cache hit "
            f"{us('exact_cache_hit')}, question-cache hit {us('question_cache_hit')}, "
            f"forwarded with TTL 0 {us('forwarded_ttl_0')} (plus four socket calls), "
            + (f"a zone A answer written by the UDP loop with every cache empty (each first "
               f"question after a container event: the cold run's path) "
               f"{us('zone_wire_cold')}, " if "zone_wire_cold" in c else "")
            + f"parsed on the zone lane {us('zone_lane_parsed')} (what the UDP loop does not "
            f"write itself: other types, EDNS options); one sendto + recvfrom pair "
            f"costs {us('socket_calls')}.", ""]


def render(r: dict, cost: dict | None = None) -> str:
    m, mach = r["mix"], r["machine"]
    rows = []
    for kind, label in (("flat_out", "realistic mix, queries per second"),
                        ("flat_out_without_forwarded", "… without forwarded names")):
        d, n = m[kind]["devnet"], m[kind]["dnsmasq"]
        rows.append(f"| {label} | {spread(d['qps'])} | {spread(n['qps'])} | "
                    f"{m[kind]['qps_ratio_devnet_to_dnsmasq']}×"
                    + (f"; run by run {spread(m[kind]['paired_ratio']['qps'], '×', 2)}"
                       if "paired_ratio" in m[kind] else "") + " |")
    for kind, label in (("at_1000_qps", "mix at 1,000 qps"),
                        ("at_1000_qps_without_forwarded", "… without forwarded names")):
        if kind not in m:
            continue
        d, n = m[kind]["devnet"], m[kind]["dnsmasq"]
        pair = m[kind].get("paired_ratio")
        for q in ("p99", "p50"):
            ratio = f" {spread(pair[q + '_ms'], '×', 2)} run by run " if pair else " "
            rows.append(f"| {label}: {q} | {spread(d[q + '_ms'], ' ms', 3)} | "
                        f"{spread(n[q + '_ms'], ' ms', 3)} |{ratio}|")
    d, n = m["cold_after_event"]["devnet"], m["cold_after_event"]["dnsmasq"]
    rows.append(f"| cold, right after a container event: qps | {spread(d['qps'])} | "
                f"{spread(n['qps'])} | |")
    bound = [k for k in ("flat_out", "flat_out_without_forwarded")
             for s in ("devnet", "dnsmasq") if m[k][s]["client_bound"]]
    start = r["start_to_resolvable"]
    mem = r["memory"]
    cpu = m["flat_out"]
    return "\n".join([
        f"`bench/dns_bench.py` ({r['started']}; {mach['cpu']}, {mach['cores']} cores, "
        f"kernel {mach['kernel']}, Python {mach['python']}, dnsperf {mach['dnsperf']}, "
        f"dnsmasq {mach['dnsmasq']}{busy(r)}): one dnsperf on core 0, the server on core 1, "
        f"devnet and dnsmasq interleaved, {cpu['devnet']['runs']} runs each, median (min–max). "
        "Both serve 50 containers (10 images, 20 names each) and forward the rest to the sim's "
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
        f"{spread(cpu['dnsmasq']['server_cpu'], '', 2)}"
        + upstream_cpu(cpu) + "; "
        + (f"the client was the bottleneck (≥ 0.9 while the server < 0.9) in: "
           f"{', '.join(bound)}." if bound else
           "the client was never the bottleneck (≥ 0.9 of its core while the server < 0.9)."),
        *lanes_lines(r["lanes"]),
        start_line(start),
        *hops_lines(r.get("hops")),
        *cost_line(cost),
        f"Memory: {mem['queries']:,} queries (distinct names, 0x20 variants, padded "
        f"queries) took devnet's RSS from {mem['rss_before_mb']} MB to {mem['rss_after_mb']} MB"
        f" (peak {mem['peak_rss_mb']} MB); {r['devnet_rss_mb_with_50_containers']} MB with "
        "the 50 containers before.",
        "",
        *verdict(r, cost),
    ])


def verdict(r: dict, cost: dict | None = None) -> list[str]:
    """Each target of issue 13 against its figure, and why a missed one is missed."""
    m, start = r["mix"], r["start_to_resolvable"]
    ratio = m["flat_out"]["qps_ratio_devnet_to_dnsmasq"]
    p99 = m["at_1000_qps"]["devnet"]["p99_ms"]["median"]
    p99_ref = m["at_1000_qps"]["dnsmasq"]["p99_ms"]["median"]
    pair = m["at_1000_qps"].get("paired_ratio", {}).get("p99_ms")
    zone = m.get("at_1000_qps_without_forwarded", {}).get("devnet", {}).get("p99_ms", {})
    lanes = r["lanes"]["container_names"]["devnet"]["p99_ms"]["median"] \
        if "container_names" in r["lanes"] else r["lanes"]["container_names_at_1000_qps"]["p99_ms"]
    first = start.get("from_the_start_event", start["from_the_call"])["p99_ms"]
    rss = r["memory"]["peak_rss_mb"]

    def row(target, figure, met, why=""):
        return f"| {target} | {figure} | {'met' if met else 'missed'}{why} |"

    return [
        "| target | measured | |",
        "|---|---:|---|",
        row("realistic mix ≥ 0.9× dnsmasq", f"{ratio}×", ratio >= 0.9,
            mix_why(m, cost) if ratio < 0.9 else ""),
        row("mix p99 ≤ 0.5 ms at 1,000 qps", f"{p99} ms", p99 <= 0.5,
            f": dnsmasq's is {p99_ref} ms in the same runs"
            + (f" (devnet's run by run: {spread(pair, '×', 2)} of it)" if pair else "")
            + (", so this machine's scheduling (other jobs on both cores) sets the tail"
               if p99_ref > 0.5 else "")
            + (f"; without forwarded names devnet's is {zone['median']} ms"
               + ("" if p99_ref > 0.5 or zone["median"] > 0.5 else
                  ": the forwarded names' Python path makes the tail") if zone else "")
            + hops_why(r.get("hops"))
            if p99 > 0.5 else ""),
        row("container names p99 ≤ 1 ms with forwards hanging", f"{lanes} ms", lanes <= 1,
            lanes_why(r["lanes"]) if lanes > 1 else ""),
        row("start → resolvable p99 ≤ 20 ms (from the start)", f"{first} ms", first <= 20,
            ": the three figures above say where the time goes" if first > 20 else ""),
        row("RSS ≤ 60 MB under the memory test", f"{rss} MB (peak)", rss <= 60),
    ]


def hops_why(h: dict | None) -> str:
    """The forwarded path's two hops, devnet's against dnsmasq's (p90: the tail's side)."""
    if not h:
        return ""

    def hop(server, kind):
        return h[server][f"{kind}_p90_us"]["median"]

    return (f". Per hop (the table above, p90): a forwarded name's first hop takes devnet "
            f"{hop('devnet', 'first_hop')} µs and dnsmasq {hop('dnsmasq', 'first_hop')}, "
            f"its second {hop('devnet', 'second_hop')} and {hop('dnsmasq', 'second_hop')}, "
            f"with the same upstream between; an answer from the zone "
            f"{hop('devnet', 'zone')} and {hop('dnsmasq', 'zone')}. Each hop is one wake of "
            "devnet's Python loop")


def mix_why(m: dict, cost: dict | None) -> str:
    """The server CPU per answer of each, and the Python that makes devnet's larger."""
    def per_answer(server):
        f = m["flat_out"][server]
        return round(f["server_cpu"]["median"] / f["qps"]["median"] * 1e6, 1)

    alone = m["flat_out_without_forwarded"]["qps_ratio_devnet_to_dnsmasq"]
    why = (f": {alone}× without forwarded names. Server CPU per answer in the same runs: "
           f"devnet {per_answer('devnet')} µs, dnsmasq {per_answer('dnsmasq')} µs")
    if cost and "forwarded_share" in m:
        c = cost["classes"]
        why += (f"; the forwarded names ({m['forwarded_share']:.0%} of the mix) are the gap: "
                f"Python spends {c['forwarded_ttl_0']['median']} µs on one where a cached "
                f"answer costs {c['exact_cache_hit']['median']} µs (dns_cost.json), and their "
                "answers go out one send each, where the cached ones are batched")
    return why


def lanes_why(lanes: dict) -> str:
    if "container_names" not in lanes:
        return ": one run, neither repeated nor interleaved, on the busy machine"
    ref = lanes["container_names"]["dnsmasq"]["p99_ms"]["median"]
    return (f": dnsmasq's is {ref} ms in the same runs; the tail follows the run-queue wait "
            "(the table above): other jobs had the server's core. devnet's loop also sends each "
            "hanging forward and its SERVFAIL, so it is ready to run more often than dnsmasq, "
            "which keeps at most 150 forwards in flight")


# A part run alone later (`bench/dns_bench.py --parts P --out F`) replaces the full run's.
LATER_PARTS = (("start_to_resolvable", "dns_starts"), ("lanes", "dns_lanes"))


def with_later_parts(results: dict) -> dict:
    """`results` with each part a later run measured alone, saying which run it was."""
    for part, name in LATER_PARTS:
        later = ROOT / f"bench/results/{name}.json"
        if not later.exists():
            continue
        run = json.loads(later.read_text())
        if run["started"] > results["started"] and part in run:
            results[part] = {**run[part], "run": f"bench/results/{name}.json: {run['started']}"
                                                 f", commit {run['commit']}, this part alone"}
    return results


def rerun_lines(paths: list[Path]) -> list[str]:
    """Later whole runs of the bench (bench/results/dns_rerun_*.json), each in a row: how far
    the same figures move on this machine from one hour to the next."""
    if not paths:
        return []
    rows = []
    for path in paths:
        r = json.loads(path.read_text())
        m, lanes = r["mix"], r["lanes"]["container_names"]
        p99 = m["at_1000_qps"]
        pair = p99.get("paired_ratio", {}).get("p99_ms")
        rows.append(
            f"| {r['started']} | {r['commit']} | {r['machine']['load_average'][0]} | "
            f"{m['flat_out']['qps_ratio_devnet_to_dnsmasq']}×"
            + (f" ({spread(m['flat_out']['paired_ratio']['qps'], '×', 2)})"
               if "paired_ratio" in m["flat_out"] else "") + " | "
            f"{p99['devnet']['p99_ms']['median']} / {p99['dnsmasq']['p99_ms']['median']} ms"
            + (f" ({spread(pair, '×', 2)})" if pair else "") + " | "
            f"{lanes['devnet']['p99_ms']['median']} / {lanes['dnsmasq']['p99_ms']['median']} ms"
            f" | {r['start_to_resolvable']['from_the_start_event']['p99_ms']} ms | "
            f"{r['memory']['peak_rss_mb']} MB |")
    return [
        "", "", "Whole re-runs of the bench, each kept in its file "
        "(`bench/results/dns_rerun_*.json`; medians of 5 interleaved runs, devnet / "
        "dnsmasq): how far the same figures move on "
        "this shared machine from one hour to the next, the reference's with them.",
        "",
        "| started | commit | load average | realistic mix, devnet / dnsmasq (run by run) "
        "| mix p99 at 1,000 qps (run by run) | container names p99, forwards hanging "
        "| start → resolvable p99 | RSS peak |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def main() -> int:
    def sections():
        cost_file = ROOT / "bench/results/dns_cost.json"
        cost = json.loads(cost_file.read_text()) if cost_file.exists() else None
        results = json.loads((ROOT / "bench/results/dns.json").read_text())
        reruns = sorted((ROOT / "bench/results").glob("dns_rerun_*.json"))
        return {"dns-bench": render(with_later_parts(results), cost)
                + "\n".join(rerun_lines(reruns))}

    return render_readme(sections, "DNS performance section rendered from bench/results/"
                                   "dns.json and dns_cost.json")


if __name__ == "__main__":
    sys.exit(main())
