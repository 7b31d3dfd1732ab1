"""The tunnel (provider sim-desktop) beside the host-only route (provider sim), in one run.

    sudo .venv/bin/python bench/tunnel_bench.py [--runs 5] [--mb 32]

Both simulated machines are up at once (instances of their own), each with one echo container
(busybox `nc -ll -e echo-server`: it greets, then echoes), and are measured in turn, run after
run (interleaved):
- throughput: a bulk transfer from the simulated host to the container and back (MB sent
  echoed back, so every byte crosses the tunnel twice) with a Python TCP client;
- round-trip time: `ping -c 50 -i 0.01` from the host to the container, its average;
- up: `invoke up` from nothing, wall time, then `docker run` to the first TCP answer;
- VM restart: the VM's dockerd restarted (the container has --restart always): seconds from
  Docker answering again to the host reaching the container again.
Results: bench/results/tunnel.json (median, min-max of each), a summary on stdout.
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

from bench.common import write_results  # noqa: E402
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


def in_host(p, *argv: str, timeout: float = 120) -> str:
    return subprocess.run(["ip", "netns", "exec", p.host_ns, *argv], capture_output=True,
                          text=True, timeout=timeout).stdout


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


def rtt_ms(p, ip: str) -> float:
    out = in_host(p, "ping", "-q", "-c", "50", "-i", "0.01", ip)
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=32)
    args = ap.parse_args()
    raw = {m: {"throughput_mbit": [], "rtt_ms": [], "restart_to_reach_s": []} for m in MODES}
    ips, up = {}, {}
    try:
        for mode in MODES:
            up_s = cli(mode, "up")
            cli(mode, "test.image")
            ips[mode], first = start_echo(provider(mode))
            up[mode] = {"up_s": round(up_s, 2), "run_to_first_reach_s": round(first, 3)}
        for _ in range(args.runs):
            for mode in MODES:
                p = provider(mode)
                mbit = in_host(p, sys.executable, "-c", BULK, ips[mode],
                               str(args.mb * 1024 * 1024))
                raw[mode]["throughput_mbit"].append(float(mbit))
                raw[mode]["rtt_ms"].append(rtt_ms(p, ips[mode]))
                raw[mode]["restart_to_reach_s"].append(restart_to_reach(p))
                ips[mode] = echo_ip(p.docker_client())
    finally:
        for mode in MODES:
            try:
                provider(mode).docker_client().containers.get("bench-echo").remove(force=True)
            except Exception:  # the VM may be gone already: down cleans the rest
                pass
            cli(mode, "down")
    results = {"runs": args.runs, "bulk_mb_each_way": args.mb,
               "modes": {m: {**up[m], **{k: summary(v) for k, v in raw[m].items()}}
                         for m in MODES}}
    r, t = results["modes"]["route"], results["modes"]["tunnel"]
    results["tunnel_vs_route"] = {
        "throughput_ratio": round(t["throughput_mbit"]["median"]
                                  / r["throughput_mbit"]["median"], 3),
        "rtt_extra_ms": round(t["rtt_ms"]["median"] - r["rtt_ms"]["median"], 3)}
    write_results("tunnel", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
