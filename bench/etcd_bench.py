"""devnet.dns.store = etcd against the memory store, in the same run, on loopback.

    sudo flock /tmp/devnet-e2e.lock .venv/bin/python bench/etcd_bench.py [--rounds 3]

A 3-member etcd cluster (Debian's etcd-server) on 127.0.0.81; five publishers (devnet's own
Publisher, as five hosts' DNS services run it) hold 10,000 containers' records. Each round,
interleaved: a new DNS service process with the etcd store (its view: the 10,000 records
from etcd), then one with the memory store (the same 10,000 containers from a stand-in
dockerd, bench/fake_docker.py). For each: time from spawn until it answers the last
container's name ("load"; for etcd also the view's own load time from its log), RSS, and
dnsperf's p99 at 1,000 qps over the 10,000 names. With the etcd server up, propagation:
100 containers published by a sixth host, each timed from the publish call to the first
answer of the server (the registrar's docker event is not in it: e2e test_44 prints the
whole path). Results: bench/results/etcd.json (median and min–max over the rounds).
"""

from __future__ import annotations

import argparse
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dns_load as load  # noqa: E402
from bench import fake_docker  # noqa: E402
from bench.common import pct, write_results  # noqa: E402
from devnet.dns.etcd_client import EtcdClient  # noqa: E402
from devnet.dns.etcd_member import Member, free_port, start_cluster  # noqa: E402
from devnet.dns.etcd_store import Publisher  # noqa: E402
from devnet.dns.names import Naming, records  # noqa: E402

IP, SERVER_IP = "127.0.0.81", "127.0.0.82"
RECORDS, PUBLISHERS, PROPAGATED = 10_000, 5, 100
NAMING = Naming("docker", "dev")


def rec(i: int):
    return records(fake_docker.inspect(i), NAMING)


def name(i: int) -> str:
    return rec(i).primary


def answered(sock: socket.socket, port: int, qname: str) -> bool:
    """One A query: NOERROR with an answer."""
    wire = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(label)]) + label.encode() for label in qname.split(".")) + b"\0\0\1\0\1"
    sock.sendto(wire, (SERVER_IP, port))
    try:
        data = sock.recv(512)
    except TimeoutError:
        return False
    return (data[3] & 0xF) == 0 and struct.unpack("!H", data[6:8])[0] > 0


def wait_answer(port: int, qname: str, timeout: float, pause: float = 0.0005) -> float:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.05)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answered(s, port, qname):
                return time.monotonic()
            time.sleep(pause)
    raise TimeoutError(f"{qname} not answered within {timeout}s")


def spawn(tmp: Path, store_args: list[str], docker: str, tag: str):
    port = free_port(SERVER_IP)
    argv = ["taskset", "-c", "1", sys.executable, "-s", "-m", "devnet.dns.service", "--listen",
            f"{SERVER_IP}:{port}", "--upstream", "127.0.0.1:9", "--allow", "127.0.0.0/8",
            "--status", str(tmp / f"{tag}.json"), "--docker", docker, *store_args]
    log = open(tmp / f"{tag}.log", "w")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, port, tmp / f"{tag}.log"


def measure(proc, port: int, tmp: Path, started: float) -> dict:
    loaded = wait_answer(port, name(RECORDS - 1), 120) - started
    queries = tmp / "names"
    r = load.dnsperf(None, SERVER_IP, port, queries, "-l", "5", "-Q", "1000", "-v")
    return {"load_s": round(loaded, 3), "rss_mb": load.rss_mb(proc.pid),
            "p99_ms": r["p99_ms"], "p50_ms": r["p50_ms"], "qps": r["qps"], "lost": r["lost"]}


def propagation(pub: Publisher, port: int, base: int) -> list[float]:
    took = []
    for i in range(base, base + PROPAGATED):
        r = rec(i)
        start = time.monotonic()
        pub.upsert(r)
        took.append((wait_answer(port, r.primary, 5) - start) * 1000)
    pub.replace_all([])
    return took


def stop(proc) -> None:
    proc.kill()
    proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="etcd-bench-"))
    members = [Member(f"b{i}", IP, tmp / f"b{i}.etcd", free_port(IP), free_port(IP))
               for i in range(3)]
    endpoints = [m.client_url for m in members]
    procs, threads_stop = [], []
    try:
        start_cluster(members)
        (tmp / "names").write_text("".join(f"{name(i)} A\n" for i in range(RECORDS)))
        started = time.monotonic()
        publishers = []
        for h in range(PUBLISHERS):
            pub = Publisher(EtcdClient(endpoints), "/skydns", f"p{h}", 30, 30)
            pub.replace_all([rec(i) for i in range(h, RECORDS, PUBLISHERS)])
            publishers.append(pub)
        for pub in publishers:
            threading.Thread(target=pub.run, daemon=True).start()
            threads_stop.append(pub)
        while sum(p.status()["published"] for p in publishers) < RECORDS:
            time.sleep(0.05)
        publish_s = time.monotonic() - started
        mover = Publisher(EtcdClient(endpoints), "/skydns", "mover", 30, 30)
        threading.Thread(target=mover.run, daemon=True).start()
        threads_stop.append(mover)
        docker_sock = tmp / "docker.sock"
        fake = fake_docker.serve(str(docker_sock), RECORDS)
        store = ["--store", "etcd", "--etcd-host", "bench", "--etcd-prefix", "/skydns"] + [
            a for e in endpoints for a in ("--etcd-endpoint", e)]
        rounds: dict = {"etcd": [], "memory": [], "propagation_ms": []}
        for r in range(args.rounds):
            t0 = time.monotonic()
            proc, port, log = spawn(tmp, store, "unix:///nonexistent.sock", f"etcd{r}")
            procs.append(proc)
            got = measure(proc, port, tmp, t0)
            view = re.search(r"view: (\d+) record\(s\) from etcd .* in (\d+) ms", log.read_text())
            got["view_load_s"] = round(int(view.group(2)) / 1000, 3)
            rounds["propagation_ms"] += propagation(mover, port, RECORDS + r * PROPAGATED)
            rounds["etcd"].append(got)
            stop(proc)
            t0 = time.monotonic()
            proc, port, _ = spawn(tmp, [], f"unix://{docker_sock}", f"mem{r}")
            procs.append(proc)
            rounds["memory"].append(measure(proc, port, tmp, t0))
            stop(proc)
            print(f"round {r + 1}: etcd {rounds['etcd'][-1]}\n         memory "
                  f"{rounds['memory'][-1]}", flush=True)
        fake.shutdown()
        prop = rounds["propagation_ms"]
        results = {
            "machine": {**load.machine(), "etcd": subprocess.run(
                ["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]},
            "records": RECORDS, "publishers": PUBLISHERS, "rounds": args.rounds,
            "publish_10k_s": round(publish_s, 2),
            "propagation": {"count": len(prop), "p50_ms": round(pct(prop, 50), 1),
                            "p99_ms": round(pct(prop, 99), 1), "max_ms": round(max(prop), 1)},
            "etcd": load.summary(rounds["etcd"]), "memory": load.summary(rounds["memory"]),
            "targets": {"propagation_p99_ms": 200, "rss_mb": 100, "load_s": 2},
        }
        write_results("etcd", results)
    finally:
        for pub in threads_stop:
            pub.stopping.set()
            pub.wake.set()
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
        for m in members:
            m.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
