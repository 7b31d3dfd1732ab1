"""The host's own DNS with and without devnet: how long `getent hosts www.example.test` (an
outside name) takes on the simulated developer machine, VM up and VM halted.

    sudo .venv/bin/python bench/host_dns_bench.py [--lookups 30]

Side by side in the same run, the arms interleaved lookup by lookup (same client, same moment):
- without devnet: the host's own resolv.conf (its server, the sim's outside DNS);
- devnet: resolv.conf as devnet leaves it (VM up: devnet's DNS first, forwarding; VM halted:
  devnet's entry taken out by `vm.halt`);
- VM halted, the entry left in (what devnet did before its entry followed the service's
  health): a few lookups only, each waits on the dead server.
Then net.watch's reaction to a DNS service that stops answering without devnet knowing
(SIGSTOP): seconds until the entry is out, and back after SIGCONT.
Every lookup spawns `ip netns exec ... getent`: the same few ms in every arm.
Target: devnet adds ≤ 50 ms to the median, VM up and VM halted.
Results: bench/results/host_dns.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import INSTANCE, invoke, write_results  # noqa: E402
from devnet import config  # noqa: E402
from devnet.host.resolver import first_nameserver, without_devnet  # noqa: E402
from devnet.providers.sim.provider import SimProvider  # noqa: E402

NAME = "www.example.test"


def lookup(p: SimProvider, name: str = NAME) -> float:
    start = time.perf_counter()
    out = subprocess.run(["ip", "netns", "exec", p.host_ns, "getent", "hosts", name],
                         capture_output=True, text=True, timeout=120)
    took = time.perf_counter() - start
    if not out.stdout.strip():
        raise SystemExit(f"getent hosts {name} resolved nothing ({took:.1f}s): the run is void")
    return took


def summary(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {"median_ms": round(statistics.median(ms), 1), "min_ms": round(ms[0], 1),
            "max_ms": round(ms[-1], 1), "lookups": len(ms)}


def interleaved(p: SimProvider, arms: dict[str, str], rounds: int) -> dict:
    """{arm: summary}: each round writes each arm's resolv.conf and looks up once."""
    times: dict[str, list[float]] = {arm: [] for arm in arms}
    for _ in range(rounds):
        for arm, text in arms.items():
            p.host_resolv.write_text(text)
            times[arm].append(lookup(p))
    return {arm: summary(t) for arm, t in times.items()}


def until(check, timeout: float = 30) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise SystemExit("net.watch did not react within 30 s")
        time.sleep(0.02)
    return time.monotonic() - start


def watch_reaction(p: SimProvider, ip: str, repeats: int) -> dict:
    invoke("net.watch", "--background")
    out_s, back_s = [], []
    try:
        for _ in range(repeats):
            pid = json.loads((p.vm_run / "devnet-dns/status.json").read_text())["pid"]
            os.kill(pid, signal.SIGSTOP)
            try:
                out_s.append(until(lambda: first_nameserver(p.host_resolv.read_text()) != ip))
            finally:
                os.kill(pid, signal.SIGCONT)
            back_s.append(until(lambda: first_nameserver(p.host_resolv.read_text()) == ip))
    finally:
        invoke("net.watch", "--stop")
    return {"entry_out_after_s": [round(s, 2) for s in out_s],
            "entry_back_after_s": [round(s, 2) for s in back_s]}


def machine() -> str:
    glibc = " ".join(platform.libc_ver())
    return f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, {glibc}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lookups", type=int, default=30)
    ap.add_argument("--stale", type=int, default=3, help="lookups with a dead entry left in")
    args = ap.parse_args()
    p = SimProvider(config.load({"instance": INSTANCE}))
    invoke("up")
    ip = p.settings.dns_ip
    devnet_first = p.host_resolv.read_text()
    own = without_devnet(devnet_first, ip)  # the host's resolv.conf before devnet
    results: dict = {"machine": machine(), "name": NAME,
                     "resolv.conf": {"without devnet": own, "devnet": devnet_first}}
    try:
        results["vm up"] = interleaved(p, {"without devnet": own, "devnet": devnet_first},
                                       args.lookups)
        p.host_resolv.write_text(devnet_first)
        invoke("vm.halt")  # takes devnet's entry out
        halted = p.host_resolv.read_text()
        results["resolv.conf"]["devnet, VM halted"] = halted
        results["vm halted"] = interleaved(p, {"without devnet": own, "devnet": halted},
                                           args.lookups)
        results["vm halted"]["entry left in (before)"] = interleaved(
            p, {"stale": devnet_first}, args.stale)["stale"]
        p.host_resolv.write_text(halted)
        invoke("up")  # puts it back
        results["after up: devnet name"] = summary([lookup(p, "ns.docker")])
        results["service silent (SIGSTOP), net.watch"] = watch_reaction(p, ip, 3)
    finally:
        invoke("down")
    for state in ("vm up", "vm halted"):
        r = results[state]
        r["devnet_minus_without_ms"] = round(r["devnet"]["median_ms"] -
                                             r["without devnet"]["median_ms"], 1)
    write_results("host_dns", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
