"""DNS benchmarks on the simulated topology, devnet beside dnsmasq in the same run.

    sudo .venv/bin/python bench/dns_bench.py [--seconds 10] [--starts 100]

1. Throughput: dnsperf from the simulated host against devnet's DNS (172.17.42.1:53) and
   against dnsmasq serving the same 1,000 names (172.17.42.1:5353), each server pinned to
   core 1, dnsperf to core 0. Then p50/p99 latency of each at 1,000 qps.
2. Container start -> first answer from the host namespace, over --starts containers.
3. RSS of devnet's DNS process with the containers of step 1 and 2 registered, and of the
   zone with 1,000 containers' records built in-process.
Results: bench/results/dns.json, and a summary on stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import INSTANCE, invoke, pct, write_results  # noqa: E402
from devnet import config, procs  # noqa: E402
from devnet.providers.sim import SimProvider  # noqa: E402

DNS, REF_PORT = "172.17.42.1", 5353
CONTAINERS, ALIASES = 50, 20  # 50 containers x 20 aliases = 1,000 names




def dnsperf(p: SimProvider, port: int, queries: Path, *extra) -> str:
    argv = ["ip", "netns", "exec", p.host_ns, "taskset", "-c", "0", "dnsperf", "-s", DNS,
            "-p", str(port), "-d", str(queries), *extra]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def qps(out: str) -> float:
    return float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))


def latencies(out: str) -> list[float]:
    return [float(m) for m in re.findall(r"^> NOERROR \S+ A ([\d.]+)$", out, re.M)]




def throughput(p: SimProvider, port: int, queries: Path, seconds: int) -> dict:
    """Queries per second flat out (4 clients), then p50/p99 latency at 1,000 qps."""
    out = dnsperf(p, port, queries, "-l", str(seconds), "-c", "4", "-q", "200")
    lat = latencies(dnsperf(p, port, queries, "-l", str(seconds), "-Q", "1000", "-v"))
    return {"qps": qps(out), "p50_ms_at_1000qps": round(pct(lat, 50) * 1000, 3),
            "p99_ms_at_1000qps": round(pct(lat, 99) * 1000, 3), "answers_timed": len(lat)}


def pin(pid: int, core: int = 1) -> None:
    subprocess.run(["taskset", "-a", "-cp", str(core), str(pid)], check=True,
                   stdout=subprocess.DEVNULL)


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def names_setup(client, tmp: Path):
    """50 containers, each with 20 names through the devnet.dns.aliases label."""
    hosts, queries, made = [], [], []
    for i in range(CONTAINERS):
        aliases = [f"n{i}-{j}" for j in range(ALIASES)]
        c = client.containers.run("ubuntu", "sleep 3600", name=f"bench{i}", detach=True,
                                  labels={"devnet.dns.aliases": ",".join(aliases)})
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        made.append(c)
        for a in aliases:
            hosts.append(f"{ip} {a}.docker")
            queries.append(f"{a}.docker A")
    (tmp / "hosts").write_text("\n".join(hosts) + "\n")
    (tmp / "queries").write_text("\n".join(queries) + "\n")
    return made


def start_dnsmasq(p: SimProvider, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{p.vm_ns}", "taskset", "-c", "1", "dnsmasq",
         "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
         f"--addn-hosts={tmp / 'hosts'}", f"--listen-address={DNS}", f"--port={REF_PORT}",
         "--bind-interfaces", "--local=/docker/", "--cache-size=10000", "--local-ttl=30",
         "--user=root", "--group=root", "--pid-file="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_answers(p: SimProvider, port: int, name: str) -> None:
    for _ in range(200):
        out = subprocess.run(["ip", "netns", "exec", p.host_ns, "dig", "+short", "+time=1",
                              "-p", str(port), f"@{DNS}", name], capture_output=True, text=True)
        if out.stdout.strip() and not out.stdout.startswith(";"):
            return
        time.sleep(0.05)
    raise SystemExit(f"{name} never answered on port {port}")


POLLER = r"""
import socket, sys, time, struct, random
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.002)
def q(name):
    qid = random.randrange(65536)
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    wire += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
    return qid, wire
for line in sys.stdin:
    name = line.strip()
    qid, wire = q(name)
    while True:
        s.sendto(wire, ("172.17.42.1", 53))
        try:
            data = s.recv(512)
        except socket.timeout:
            continue
        if data[:2] == wire[:2] and data[3] & 0xF == 0 and struct.unpack("!H", data[6:8])[0]:
            print(time.time(), flush=True)
            break
        time.sleep(0.0005)
"""


def start_to_answer(p: SimProvider, client, count: int) -> list[float]:
    poller = subprocess.Popen(["ip", "netns", "exec", p.host_ns, sys.executable, "-c", POLLER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    result = []
    try:
        for i in range(count):
            c = client.containers.create("ubuntu", "sleep 3600", name=f"start{i}")
            c.start()
            t0 = time.time()
            poller.stdin.write(f"start{i}.docker\n")
            poller.stdin.flush()
            result.append(float(poller.stdout.readline()) - t0)
            c.remove(force=True)
    finally:
        poller.kill()
    return result


def zone_rss_1000() -> float:
    """RSS of the service's own modules, server and zone holding 1,000 containers' records
    (as many real containers would need ~1,000 containerd shims: more than this machine)."""
    code = f"""
import re, sys
sys.path.insert(0, {str(ROOT)!r})
import devnet.dns.service
from devnet.dns.names import Naming, Records
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
server = Server(z, Upstream([]), ["172.16.0.0/16"])
z.replace_all([Records(cid=f"{{i:064x}}", primary=f"c{{i}}.ubuntu.dev.docker", names=[
    f"c{{i}}.ubuntu.dev.docker", "ubuntu.dev.docker", f"c{{i}}.docker", f"{{i:012x}}.docker",
    f"svc{{i}}.proj.docker"], ipv4=[f"172.17.{{i // 250}}.{{i % 250 + 1}}"],
    srv=[(f"_80._tcp.c{{i}}.ubuntu.dev.docker", 80)]) for i in range(1000)])
print(int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024)
"""
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--starts", type=int, default=100)
    args = ap.parse_args()
    p = SimProvider(config.load({"instance": INSTANCE}))
    results: dict = {"machine": f"{os.cpu_count()} cores"}
    ref = None
    invoke("up")
    invoke("test.image")
    client = p.docker_client()
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            made = names_setup(client, tmp)
            ref = start_dnsmasq(p, tmp)
            wait_answers(p, 53, "n49-19.docker")
            wait_answers(p, REF_PORT, "n49-19.docker")
            dns_pid = procs.read_pid(p.vm_run / "devnet-dns/supervisor.pid.child")
            pin(dns_pid)
            for port in (53, REF_PORT):  # warm up: devnet renders each answer once
                dnsperf(p, port, tmp / "queries", "-n", "2")
            for name, port in (("devnet", 53), ("dnsmasq", REF_PORT)):
                results[name] = throughput(p, port, tmp / "queries", args.seconds)
            results["qps_ratio_devnet_to_dnsmasq"] = round(
                results["devnet"]["qps"] / results["dnsmasq"]["qps"], 3)
            starts = start_to_answer(p, client, args.starts)
            results["start_to_answer_ms"] = {
                "count": len(starts), "p50": round(pct(starts, 50) * 1000, 1),
                "p99": round(pct(starts, 99) * 1000, 1), "max": round(max(starts) * 1000, 1)}
            results["devnet_dns_rss_mb"] = {"containers": len(made),
                                            "rss": round(rss_mb(dns_pid), 1)}
            for c in made:
                c.remove(force=True)
        results["service_with_1000_containers_rss_mb"] = round(zone_rss_1000(), 1)
    finally:
        if ref:
            ref.kill()
        client.close()
        invoke("down")
    write_results("dns", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
