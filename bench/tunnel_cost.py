"""Where the tunnel's cost goes: the plain veth, a bare wireguard-go pair over it, and the same
pair through sim-desktop's UDP forwarder, measured in turn, run after run (interleaved).

    sudo .venv/bin/python bench/tunnel_cost.py [--runs 5] [--mb 32]

Per path and run: throughput of a bulk echo (MB sent, echoed back), the share of a core
each process (both wireguard-go ends, the forwarder, the echo server) used during it, UDP
datagrams dropped for full socket buffers, and 200 pings' RTT (median and p99).
--reference REV adds a fourth path: a pair through udp_forward.py as of git revision REV
(default: before it drained sockets in batches), beside today's, in the same run.
Results: bench/results/tunnel_cost.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import pct, write_results  # noqa: E402
from bench.tunnel_bench import BULK, summary  # noqa: E402
from bench.wg_pair import FWD_PORT, REF_PORT, WG_PORT, L, Pair, R, machine  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
USES = {"veth": ("echo",), "wg": ("wireguard-go bwl-wg1", "wireguard-go bwr-wg1", "echo"),
        "wg+forward": ("wireguard-go bwl-wg2", "wireguard-go bwr-wg2", "udp_forward", "echo"),
        "wg+reference-forward": ("wireguard-go bwl-wg3", "wireguard-go bwr-wg3",
                                 "reference forward", "echo")}
# the forwarder before it drained sockets in batches (a305991): the reference it is measured by
REFERENCE = "a305991"


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def udp_drops() -> dict[str, int]:
    """Datagrams the kernel dropped for a full socket buffer (/proc/net/udp's drops), per
    owner: wireguard-go's sockets, the forwarder's, any other."""
    wg = {(L, WG_PORT), (R, WG_PORT), *((L, p + 1) for p in (FWD_PORT, REF_PORT)),
          *((R, p + 2) for p in (FWD_PORT, REF_PORT))}
    out = {"wireguard-go": 0, "forwarder": 0, "other": 0}
    for ns in (L, R):
        table = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/udp"], check=True,
                               capture_output=True, text=True).stdout
        for line in table.splitlines()[1:]:
            f = line.split()
            local, remote = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
            if (ns, local) in wg:
                out["wireguard-go"] += int(f[-1])
            elif ns == L and local in (FWD_PORT, REF_PORT) or ns == R and remote in (
                    FWD_PORT + 2, REF_PORT + 2):
                out["forwarder"] += int(f[-1])
            else:
                out["other"] += int(f[-1])
    return out


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
    ap.add_argument("--reference", default=REFERENCE, metavar="REV",
                    help="measure udp_forward.py as of this git revision beside today's "
                         "('' for none)")
    args = ap.parse_args()
    reference = None
    if args.reference:
        old = subprocess.run(["git", "-C", str(ROOT), "show",
                              f"{args.reference}:devnet/providers/desktop/udp_forward.py"],
                             check=True, capture_output=True, text=True).stdout
        fd, path = tempfile.mkstemp(prefix="devnet-udp-forward-", suffix=".py")
        with os.fdopen(fd, "w") as f:
            f.write(old)
        reference = [sys.executable, path]
    pair = None
    try:
        pair = Pair(reference)
        raw = {p: {"mbit": [], "rtt": [], "drops": {k: [] for k in udp_drops()},
                   "cpu": {n: [] for n in USES[p]}} for p in pair.targets}
        for _ in range(args.runs):
            for path, ip in pair.targets.items():
                drops = udp_drops()
                mbit, cpu = bulk(ip, args.mb * 1024 * 1024, pair.pids(*USES[path]))
                for k, n in udp_drops().items():
                    raw[path]["drops"][k].append(n - drops[k])
                raw[path]["mbit"].append(mbit)
                for n, v in cpu.items():
                    raw[path]["cpu"][n].append(v)
                raw[path]["rtt"].append(rtts_ms(ip))
                print(path, mbit, cpu, file=sys.stderr, flush=True)
    finally:
        if pair:
            pair.close()
        if reference:
            os.unlink(reference[1])
    paths = {}
    for path, r in raw.items():
        rtt = [x for run in r["rtt"] for x in run]
        paths[path] = {
            "throughput_mbit": summary(r["mbit"]),
            "rtt_ms": {"median": round(statistics.median(rtt), 3),
                       "p99": round(pct(rtt, 99), 3), "samples": len(rtt)},
            "udp_buffer_drops_per_bulk": {k: statistics.median(v)
                                          for k, v in r["drops"].items()},
            "cpu_cores_during_bulk": {n: round(statistics.median(v), 2)
                                      for n, v in r["cpu"].items()}}
    med = {p: v["throughput_mbit"]["median"] for p, v in paths.items()}
    results = {"machine": machine(),
               "ended": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "reference_forwarder": args.reference and f"udp_forward.py at {args.reference}",
               "runs": args.runs, "bulk_mb_each_way": args.mb,
               "paths": paths,
               "ratios": {"wg_vs_veth": round(med["wg"] / med["veth"], 3),
                          "wg+forward_vs_wg": round(med["wg+forward"] / med["wg"], 3),
                          **({"wg+reference-forward_vs_wg": round(
                              med["wg+reference-forward"] / med["wg"], 3)}
                             if reference else {})}}
    write_results("tunnel_cost", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
