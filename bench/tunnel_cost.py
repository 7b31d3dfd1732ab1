"""Where the tunnel's cost goes: the plain veth, a bare wireguard-go pair over it, and the same
pair through sim-desktop's UDP forwarder, measured in turn, run after run (interleaved).

    sudo .venv/bin/python bench/tunnel_cost.py [--runs 5] [--mb 32]

Per path and run: throughput of a bulk echo (MB sent, echoed back), the share of a core
each process (both wireguard-go ends, the forwarder, the echo server) used during it, UDP
datagrams dropped for full socket buffers, and 200 pings' RTT (median and p99).
--forward FILE runs another forwarder (e.g. an older udp_forward.py) in the devnet one's place.
Results: bench/results/tunnel_cost.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import pct, write_results  # noqa: E402
from bench.tunnel_bench import BULK, summary  # noqa: E402
from bench.wg_pair import TARGETS, L, Pair, R  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
USES = {"veth": ("echo",), "wg": ("wireguard-go bwl-wg1", "wireguard-go bwr-wg1", "echo"),
        "wg+forward": ("wireguard-go bwl-wg2", "wireguard-go bwr-wg2", "udp_forward", "echo")}


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def udp_drops() -> int:
    """Datagrams the kernel dropped for a full socket buffer, both namespaces together."""
    total = 0
    for ns in (L, R):
        snmp = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], check=True,
                              capture_output=True, text=True).stdout
        names, values = [line.split()[1:] for line in snmp.splitlines()
                         if line.startswith("Udp:")]
        row = dict(zip(names, map(int, values), strict=True))
        total += row["RcvbufErrors"] + row["SndbufErrors"]
    return total


def bulk(ip: str, size: int, pids: dict[str, int]) -> tuple[float, dict[str, float]]:
    before = {n: cpu_s(p) for n, p in pids.items()}
    start = time.monotonic()
    out = subprocess.run(["ip", "netns", "exec", L, sys.executable, "-c", BULK, ip, str(size)],
                         check=True, capture_output=True, text=True).stdout
    wall = time.monotonic() - start
    # share of one core each process used while the transfer ran (client start-up included)
    return float(out), {n: round((cpu_s(p) - before[n]) / wall, 3) for n, p in pids.items()}


def rtts_ms(ip: str, count: int = 200) -> list[float]:
    # tunnel_bench's pace (-i 0.01): an idle gap lets wireguard-go's threads sleep, as in use
    out = subprocess.run(["ip", "netns", "exec", L, "ping", "-c", str(count), "-i", "0.01", ip],
                         check=True, capture_output=True, text=True).stdout
    return [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=32)
    ap.add_argument("--forward", help="a forwarder script to measure instead of devnet's")
    args = ap.parse_args()
    raw = {p: {"mbit": [], "rtt": [], "drops": [], "cpu": {n: [] for n in USES[p]}}
           for p in TARGETS}
    pair = Pair([sys.executable, args.forward] if args.forward else None)
    try:
        for _ in range(args.runs):
            for path, ip in TARGETS.items():
                drops = udp_drops()
                mbit, cpu = bulk(ip, args.mb * 1024 * 1024, pair.pids(*USES[path]))
                raw[path]["drops"].append(udp_drops() - drops)
                raw[path]["mbit"].append(mbit)
                for n, v in cpu.items():
                    raw[path]["cpu"][n].append(v)
                raw[path]["rtt"].append(rtts_ms(ip))
                print(path, mbit, cpu, file=sys.stderr, flush=True)
    finally:
        pair.close()
    paths = {}
    for path, r in raw.items():
        rtt = [x for run in r["rtt"] for x in run]
        paths[path] = {
            "throughput_mbit": summary(r["mbit"]),
            "rtt_ms": {"median": round(statistics.median(rtt), 3),
                       "p99": round(pct(rtt, 99), 3), "samples": len(rtt)},
            "udp_buffer_drops_per_bulk": summary(r["drops"]),
            "cpu_cores_during_bulk": {n: round(statistics.median(v), 2)
                                      for n, v in r["cpu"].items()}}
    med = {p: v["throughput_mbit"]["median"] for p, v in paths.items()}
    results = {"forwarder": args.forward or "devnet.providers.desktop.udp_forward",
               "runs": args.runs, "bulk_mb_each_way": args.mb, "cores": os.cpu_count(),
               "wireguard_go": subprocess.run(["wireguard-go", "--version"], text=True,
                                              capture_output=True).stdout.split("\n")[0],
               "paths": paths,
               "ratios": {"wg_vs_veth": round(med["wg"] / med["veth"], 3),
                          "wg+forward_vs_wg": round(med["wg+forward"] / med["wg"], 3)}}
    write_results("tunnel_cost", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
