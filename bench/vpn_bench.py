"""VPN reconnects: time from `vpn.sim.connect` to the first successful TCP connection to a
container *and* DNS answer for its name, from the simulated host.

    sudo flock /tmp/devnet-e2e.lock .venv/bin/python bench/vpn_bench.py [--rounds 4]

Side by side in the same run:
- devnet: `net.watch` running in the background repairs by itself;
- reference: no watcher, `invoke vpn.fix` run by hand right after the connect (the fastest a
  person could be with the walk-through's fix).
Interleaved: each round a block of connects per arm (4 rounds of 5 by default).
Times are measured from the start of the connect command and from its end.
Results: bench/results/vpn.json, rendered into README by bench/render_results.py.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import INSTANCE, invoke, pct, write_results  # noqa: E402
from bench.dns_load import machine  # noqa: E402
from devnet import config  # noqa: E402
from devnet.providers.sim.provider import SimProvider  # noqa: E402

REFERENCE, DEVNET = "reference: vpn.fix by hand", "devnet: net.watch"

PROBE = r"""
import socket, struct, sys, time, random
ip, name, resolv = sys.argv[1], sys.argv[2], sys.argv[3]
def dns_ok():
    server = next(l.split()[1] for l in open(resolv) if l.startswith("nameserver"))
    qid = random.randrange(65536)
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0\0\1\0\1"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.1)
    try:
        s.sendto(wire, (server, 53)); data = s.recv(512)
        return data[:2] == wire[:2] and data[3] & 0xF == 0 and data[6:8] != b"\0\0"
    except OSError:
        return False
    finally:
        s.close()
def tcp_ok():
    try:
        with socket.create_connection((ip, 7777), timeout=0.1) as c:
            return c.recv(64).startswith(b"hello")
    except OSError:
        return False
for line in sys.stdin:
    while not (tcp_ok() and dns_ok()):
        time.sleep(0.005)
    print(time.time(), flush=True)
"""


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {"median_ms": round(statistics.median(ms)), "min_ms": round(min(ms)),
            "p99_ms": round(pct(ms, 99)), "max_ms": round(max(ms)), "count": len(ms)}


def measure(p: SimProvider, ip: str, reconnects: int, manual_fix: bool, into: dict) -> None:
    """`reconnects` connects, each timed until the container answers (TCP and DNS); the times
    from the connect's start and end appended to `into`."""
    # the host's resolv.conf by its own path: `ip netns exec` bind-mounts the file it found at
    # start onto /etc/resolv.conf, which a rewrite by rename (the VPN's, devnet's) leaves stale
    probe = subprocess.Popen(["ip", "netns", "exec", p.host_ns, sys.executable, "-c", PROBE, ip,
                              "bvpn.docker", p.resolv_conf], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(reconnects):
            began = time.time()
            ended = invoke("vpn.sim.connect")
            if manual_fix:
                invoke("vpn.fix")
            probe.stdin.write("go\n")
            probe.stdin.flush()
            ok = float(probe.stdout.readline())
            into["from_connect_start"].append(ok - began)
            into["from_connect_end"].append(max(ok - ended, 0.0))
            invoke("vpn.sim.disconnect")
            if manual_fix:
                invoke("vpn.restore")  # forget: the next connect breaks it afresh
    finally:
        probe.kill()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--reconnects", type=int, default=5, help="per arm and round")
    args = ap.parse_args()
    p = SimProvider(config.load({"instance": INSTANCE}))
    invoke("up")
    invoke("test.image")
    client = p.docker_client()
    arms = {REFERENCE: {"from_connect_start": [], "from_connect_end": []},
            DEVNET: {"from_connect_start": [], "from_connect_end": []}}
    try:
        c = client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server", name="bvpn",
                                  detach=True)
        try:
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
            for _ in range(args.rounds):  # the arms interleaved, a block of connects each
                measure(p, ip, args.reconnects, True, arms[REFERENCE])
                invoke("net.watch", "--background")
                measure(p, ip, args.reconnects, False, arms[DEVNET])
                invoke("net.watch", "--stop")
        finally:
            c.remove(force=True)
    finally:
        client.close()
        invoke("down")
    results = {"machine": machine(), "ended": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "settings": vars(args),
               "how": "per round: a block of connects with vpn.fix by hand, then one with "
                      "net.watch running in the background",
               **{arm: {k: summary(v) for k, v in times.items()} for arm, times in arms.items()}}
    write_results("vpn", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
