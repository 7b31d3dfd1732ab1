"""The tunnel (provider sim-desktop) beside the host-only route (provider sim), in one run.

    sudo .venv/bin/python bench/tunnel_bench.py [--runs 5] [--mb 32]

Both simulated machines are up at once (instances of their own), each with one echo container
(busybox `nc -ll -e echo-server`: it greets, then echoes), and are measured in turn, run after
run (interleaved), with a third reference: a bare wireguard-go pair over a veth of its own
(bench/wg_pair.py), no Docker, no forwarder: userspace WireGuard's ceiling on this machine.
- throughput: a bulk transfer from the simulated host to the container and back (MB sent
  echoed back, so every byte crosses the tunnel twice) with a Python TCP client;
- IP fragments made or reassembled in the host's and the VM's namespaces during the transfer;
- round-trip time: `ping -c 200 -i 0.01` from the host to the container: median of each run,
  and the median and p99 of every sample;
- up: `invoke up` from nothing, wall time, then `docker run` to the first TCP answer;
- VM restart: the VM's dockerd restarted (the container has --restart always): seconds from
  Docker answering again to the host reaching the container again.
Results: bench/results/tunnel.json (median, min-max of each), a summary on stdout;
bench/tunnel_cost.py splits the tunnel's cost further.
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
from bench.wg_pair import TARGETS, Pair, machine  # noqa: E402
from bench.wg_pair import L as PAIR_NS  # noqa: E402
from devnet import config, providers  # noqa: E402

MODES = {"route": ("bnroute", "sim"), "tunnel": ("bntun", "sim-desktop")}
BULK = r"""
import socket, sys, threading, time
ip, size = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((ip, 7777), timeout=10)
greeting = b""
while not greeting.endswith(b"\n"):
    greeting += s.recv(1)
chunk = b"x" * 65536
def send():
    for _ in range(size // len(chunk)):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
start = time.monotonic()
threading.Thread(target=send, daemon=True).start()
got = 0
while got < size:
    data = s.recv(1 << 20)
    if not data:
        break
    got += len(data)
took = time.monotonic() - start
assert got == size, (got, size)
print(f"{size * 2 / took / 1e6 * 8:.1f}")
"""


def cli(mode: str, *args: str) -> float:
    instance, provider = MODES[mode]
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL,
                   env=dict(os.environ, INVOKE_DEVNET_INSTANCE=instance,
                            INVOKE_DEVNET_PROVIDER=provider, INVOKE_DEVNET_WATCH="0"))
    return time.monotonic() - start


def provider(mode: str):
    instance, name = MODES[mode]
    return providers.get(config.load({"instance": instance, "provider": name}))


def in_ns(ns: str, *argv: str, timeout: float = 120) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True,
                          text=True, timeout=timeout).stdout


def in_host(p, *argv: str, timeout: float = 120) -> str:
    return in_ns(p.host_ns, *argv, timeout=timeout)


def reaches(p, ip: str) -> bool:
    out = in_host(p, sys.executable, str(ROOT / "tests/e2e/tcp_probe.py"), ip, "7777", "0.5")
    return out.startswith("hello from")


def wait(check, timeout: float = 60, pause: float = 0.05) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not within {timeout}s: {check}")
        time.sleep(pause)
    return time.monotonic() - start


def echo_ip(client) -> str:
    c = client.containers.get("bench-echo")
    return c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]


def start_echo(p) -> tuple[str, float]:
    client = p.docker_client()
    start = time.monotonic()
    client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server", name="bench-echo",
                          detach=True, restart_policy={"Name": "always"})
    ip = echo_ip(client)
    wait(lambda: reaches(p, ip))
    return ip, time.monotonic() - start


def rtts_ms(ns: str, ip: str) -> list[float]:
    out = in_ns(ns, "ping", "-c", "200", "-i", "0.01", ip)
    return [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]


def bulk_mbit(ns: str, ip: str, mb: int) -> float:
    return float(in_ns(ns, sys.executable, "-c", BULK, ip, str(mb * 1024 * 1024)))


def ip_fragments(*namespaces: str) -> int:
    """IP fragments made and reassembled (/proc/net/snmp) in these namespaces: where the
    tunnel's packets outgrew the path (its MTU against the forwarder's), they show here."""
    total = 0
    for ns in namespaces:
        names, values = [line.split()[1:] for line in in_ns(ns, "cat", "/proc/net/snmp")
                         .splitlines() if line.startswith("Ip:")]
        row = dict(zip(names, map(int, values), strict=True))
        total += row["FragCreates"] + row["ReasmReqds"]
    return total


def restart_to_reach(p) -> float:
    p.restart_docker()  # returns once Docker answers again
    client = p.docker_client()

    def back():
        try:
            return reaches(p, echo_ip(client))
        except Exception:
            return False
    return wait(back, timeout=60)


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": [round(v, 3) for v in values]}


def rtt_summary(runs: list[list[float]]) -> dict:
    every = [x for run in runs for x in run]
    return {**summary([statistics.median(run) for run in runs]),
            "all_samples": {"median": round(statistics.median(every), 3),
                            "p99": round(pct(every, 99), 3), "count": len(every)}}


def figures(m: dict) -> dict:
    return {"throughput_mbit": summary(m["throughput_mbit"]), "rtt_ms": rtt_summary(m["rtt_ms"]),
            **{k: summary(m[k]) for k in ("restart_to_reach_s", "ip_fragments_per_bulk")
               if k in m}}


def compare(a: dict, b: dict) -> dict:
    """a's median throughput as a share of b's, and a's median RTT minus b's."""
    return {"throughput_ratio": round(a["throughput_mbit"]["median"]
                                      / b["throughput_mbit"]["median"], 3),
            "rtt_extra_ms": round(a["rtt_ms"]["median"] - b["rtt_ms"]["median"], 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=32)
    args = ap.parse_args()
    raw = {m: {"throughput_mbit": [], "rtt_ms": [], "restart_to_reach_s": [],
               "ip_fragments_per_bulk": []} for m in MODES}
    ref = {"throughput_mbit": [], "rtt_ms": []}
    ips, up, pair = {}, {}, None
    try:
        for mode in MODES:
            up_s = cli(mode, "up")
            cli(mode, "test.image")
            ips[mode], first = start_echo(provider(mode))
            up[mode] = {"up_s": round(up_s, 2), "run_to_first_reach_s": round(first, 3)}
        pair = Pair()
        for _ in range(args.runs):
            for mode in MODES:
                p = provider(mode)
                frags = ip_fragments(p.host_ns, p.vm_ns)
                raw[mode]["throughput_mbit"].append(bulk_mbit(p.host_ns, ips[mode], args.mb))
                raw[mode]["ip_fragments_per_bulk"].append(
                    ip_fragments(p.host_ns, p.vm_ns) - frags)
                raw[mode]["rtt_ms"].append(rtts_ms(p.host_ns, ips[mode]))
                raw[mode]["restart_to_reach_s"].append(restart_to_reach(p))
                ips[mode] = echo_ip(p.docker_client())
            ref["throughput_mbit"].append(bulk_mbit(PAIR_NS, TARGETS["wg"], args.mb))
            ref["rtt_ms"].append(rtts_ms(PAIR_NS, TARGETS["wg"]))
    finally:
        if pair:
            pair.close()
        for mode in MODES:
            try:
                provider(mode).docker_client().containers.get("bench-echo").remove(force=True)
            except Exception:  # the VM may be gone already: down cleans the rest
                pass
            cli(mode, "down")
    results = {"machine": machine(),
               "ended": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "runs": args.runs, "bulk_mb_each_way": args.mb,
               # which end dials (devnet.desktop.dial): vm sends through the simulated
               # host.docker.internal forwarder, host through the published port's
               "tunnel_dial": provider("tunnel").tunnel_dial().by,
               "modes": {m: {**up[m], **figures(raw[m])} for m in MODES},
               "reference_wireguard_go_pair": figures(ref)}
    r, t = results["modes"]["route"], results["modes"]["tunnel"]
    w = results["reference_wireguard_go_pair"]
    results["tunnel_vs_route"] = compare(t, r)
    results["tunnel_vs_wireguard_go_pair"] = compare(t, w)
    results["wireguard_go_pair_vs_route"] = compare(w, r)
    write_results("tunnel", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
