"""DNS benchmarks on the simulated topology, devnet beside dnsmasq in the same run.

    sudo flock /tmp/devnet-e2e.lock .venv/bin/python bench/dns_bench.py [--seconds 8]

Both servers answer the same zone: 50 containers (10 images, 20 aliases each) and forward
other names to the sim's upstream. One client (dnsperf, pinned to core 0), servers pinned to
core 1, interleaved devnet / dnsmasq, 5 runs each; median and min–max of each figure.

1. mix: container names A and AAAA, image names, NXDOMAIN in the zone, forwarded names and
   case-randomised (0x20) variants, flat out; then p50/p99 at 1,000 qps; then cold: the
   whole list once right after a container event (devnet drops its answer caches then).
2. lanes: the upstream silenced, 500 forwarded qps hanging, container names at 1,000 qps;
   devnet and dnsmasq interleaved, with each server's run-queue wait meanwhile.
3. start -> resolvable: from the container's start (dockerd's start event) to the first
   correct answer on the host; also from the `docker run` call, and after it returned.
4. memory: devnet's RSS after 1,000,000 queries of distinct names, 0x20 variants and
   padded queries.
5. hops: the mix at 1,000 qps again, captured by tcpdump inside the VM: each server's time
   from a query's arrival to its answer's departure, and for forwarded names the first hop,
   the upstream's round trip and the second hop (bench/dns_hops.py); interleaved.
Results: bench/results/dns.json (with the machine), rendered into README by
bench/render_dns.py.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dns_hops as hops  # noqa: E402
from bench import dns_load as load  # noqa: E402
from bench.common import INSTANCE, invoke, pct, write_results  # noqa: E402
from devnet import config, procs  # noqa: E402
from devnet.providers.sim.network import TEST_ZONE, UPSTREAM_DNS  # noqa: E402
from devnet.providers.sim.provider import SimProvider  # noqa: E402

DNS, REF_PORT = "172.17.42.1", 5353
CONTAINERS, IMAGES, ALIASES = 50, 10, 20
SERVERS = (("devnet", 53), ("dnsmasq", REF_PORT))
PARTS = ("mix", "lanes", "starts", "memory", "hops")
LATENCY = ("p99_ms", "p50_ms")


def names_setup(client, tmp: Path, rnd: random.Random):
    """The containers, dnsmasq's hosts file, and the query lists."""
    image = client.images.get("ubuntu")
    for k in range(IMAGES):
        image.tag(f"img{k}")
    hosts, containers, made = [], [], []
    for i in range(CONTAINERS):
        aliases = [f"n{i}-{j}" for j in range(ALIASES)]
        img = f"img{i % IMAGES}"
        c = client.containers.run(img, "sleep 3600", name=f"bench{i}", detach=True,
                                  labels={"devnet.dns.aliases": ",".join(aliases)})
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        made.append(c)
        names = [f"{a}.docker" for a in aliases] + [f"bench{i}.{img}.dev.docker"]
        hosts += [f"{ip} {n}" for n in names] + [f"{ip} {img}.dev.docker"]
        containers += names
    (tmp / "hosts").write_text("\n".join(hosts) + "\n")
    mix = ([f"{n} A" for n in containers] + [f"{n} AAAA" for n in containers[::2]]
           + [f"img{k}.dev.docker A" for k in range(IMAGES)] * 50
           + [f"nx{i}.docker A" for i in range(500)]
           + [f"f{i}.{TEST_ZONE} A" for i in range(100)] * 5
           + [f"{load.randcase(n, rnd)} A" for n in containers])
    rnd.shuffle(mix)
    (tmp / "mix").write_text("\n".join(mix) + "\n")
    # The sim's upstream answers with TTL 0 (dnsmasq --address): no server may cache those,
    # so the mix is also measured without them.
    (tmp / "mix-zone").write_text("".join(f"{q}\n" for q in mix if TEST_ZONE not in q))
    (tmp / "containers").write_text("".join(f"{n} A\n" for n in containers))
    (tmp / "forwards").write_text("".join(f"h{i}.{TEST_ZONE} A\n" for i in range(20000)))
    return made


def start_dnsmasq(p: SimProvider, tmp: Path) -> subprocess.Popen:
    """The reference, ended with the bench even when the bench is killed (dies_with)."""
    return subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{p.vm_ns}", "taskset", "-c", "1", "dnsmasq",
         "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
         f"--addn-hosts={tmp / 'hosts'}", f"--listen-address={DNS}", f"--port={REF_PORT}",
         "--bind-interfaces", "--local=/docker/", f"--server={UPSTREAM_DNS}",
         "--cache-size=10000", "--local-ttl=30", "--user=root", "--group=root", "--pid-file="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=procs.dies_with(os.getpid()))


def wait_answers(p: SimProvider, port: int, name: str) -> None:
    for _ in range(200):
        out = subprocess.run(["ip", "netns", "exec", p.host_ns, "dig", "+short", "+time=1",
                              "-p", str(port), f"@{DNS}", name], capture_output=True, text=True)
        if out.stdout.strip() and not out.stdout.startswith(";"):
            return
        time.sleep(0.05)
    raise SystemExit(f"{name} never answered on port {port}")


def interleaved(p, pids, run, times: int, paired: tuple = ()) -> dict:
    """run(port, pid) -> dict of figures, `times` runs per server, alternating. paired: the
    figures also given as devnet's / dnsmasq's run by run (each pair seconds apart), which
    a machine's disturbance, coming and going over minutes, moves less than either alone."""
    runs: dict = {name: [] for name, _ in SERVERS}
    for _ in range(times):
        for name, port in SERVERS:
            runs[name].append(run(port, pids[name]))
    out = {name: load.summary(r) for name, r in runs.items()}
    if paired:
        out["paired_ratio"] = load.summary([
            {k: round(d[k] / n[k], 3) for k in paired}
            for d, n in zip(runs["devnet"], runs["dnsmasq"], strict=True)])
    return out


def at_1000_qps(p, tmp: Path, port: int, queries: str = "mix", *extra) -> dict:
    """One run of a query list at 1,000 qps for 4 s (the mix's latency runs, and hops')."""
    return load.dnsperf(p, DNS, port, tmp / queries, "-l", "4", "-Q", "1000", *extra)


def mix_runs(p, pids, tmp: Path, seconds: int, runs: int, client) -> dict:
    upstream = procs.read_pid(p.upstream_pidfile)  # the sim's, on either core

    def flat_out(port, pid, queries="mix"):
        before, up_before = load.cpu_seconds(pid), load.cpu_seconds(upstream)
        r = load.dnsperf(p, DNS, port, tmp / queries, "-l", str(seconds), "-c", "4",
                         "-q", "200")
        r["server_cpu"] = round((load.cpu_seconds(pid) - before) / r["seconds"], 2)
        r["upstream_cpu"] = round((load.cpu_seconds(upstream) - up_before) / r["seconds"], 2)
        r["client_bound"] = r["client_cpu"] >= 0.9 and r["server_cpu"] < 0.9
        return r

    def zone_only(port, pid):
        return flat_out(port, pid, "mix-zone")

    def at_1000(port, _pid, queries="mix"):
        return at_1000_qps(p, tmp, port, queries, "-v")

    def at_1000_zone(port, pid):
        return at_1000(port, pid, "mix-zone")

    count = iter(range(10**6))

    def cold(port, _pid):
        c = client.containers.run("ubuntu", "sleep 3600", name=f"cold{next(count)}",
                                  detach=True)  # a container event: devnet's caches drop
        try:
            return load.dnsperf(p, DNS, port, tmp / "mix", "-n", "1", "-c", "4", "-q", "200", "-v")
        finally:
            c.remove(force=True)

    out = {"flat_out": interleaved(p, pids, flat_out, runs, ("qps",)),
           "flat_out_without_forwarded": interleaved(p, pids, zone_only, runs, ("qps",)),
           "at_1000_qps": interleaved(p, pids, at_1000, runs, LATENCY),
           "at_1000_qps_without_forwarded": interleaved(p, pids, at_1000_zone, runs, LATENCY),
           "cold_after_event": interleaved(p, pids, cold, runs)}
    lines = (tmp / "mix").read_text().splitlines()
    out["forwarded_share"] = round(sum(TEST_ZONE in q for q in lines) / len(lines), 3)
    for kind in ("flat_out", "flat_out_without_forwarded"):
        d, m = out[kind]["devnet"]["qps"], out[kind]["dnsmasq"]["qps"]
        out[kind]["qps_ratio_devnet_to_dnsmasq"] = round(d["median"] / m["median"], 3)
    return out


def hop_runs(p, pids, tmp: Path, runs: int) -> dict:
    """The mix at 1,000 qps under tcpdump: each server's own time per hop (dns_hops)."""
    def run(port, _pid):
        with hops.capture(p.vm_ns) as pcap:
            at_1000_qps(p, tmp, port)
            return hops.figures(hops.hops(pcap, f"{DNS}.{port}", f"{UPSTREAM_DNS}.53"))

    return interleaved(p, pids, run, runs)


def lanes(p, pids, tmp: Path, runs: int) -> dict:
    """Silence the upstream (a DROP rule in the sim VM's namespace only), hang 500
    forwarded queries per second, and time container names meanwhile; devnet and dnsmasq
    interleaved. Each run also records the server's run-queue wait (ready, but another
    process or thread had its core) and the load average: a tail the server's own work
    does not explain shows there."""
    rule = ["OUTPUT", "-d", UPSTREAM_DNS, "-p", "udp", "--dport", "53", "-j", "DROP"]
    ipt = ["ip", "netns", "exec", p.vm_ns, "iptables", "-w"]

    def run(port, pid):
        hang = subprocess.Popen(
            ["ip", "netns", "exec", p.host_ns, "taskset", "-c", "0", "dnsperf", "-s", DNS,
             "-p", str(port), "-d", str(tmp / "forwards"), "-Q", "500", "-l", "7", "-q", "2000",
             "-t", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)  # ~1,000 forwarded questions in flight by now
        before = load.sched(pid)
        names = load.dnsperf(p, DNS, port, tmp / "containers", "-l", "4", "-Q", "1000", "-v")
        after = load.sched(pid)
        hang.wait()
        return {**{k: names[k] for k in ("p50_ms", "p99_ms", "max_ms", "lost")},
                "server_runq_wait_ms": round(after["runq_wait_ms"] - before["runq_wait_ms"], 1),
                "server_involuntary_switches": after["involuntary_switches"]
                - before["involuntary_switches"],
                "load_average": round(os.getloadavg()[0], 2)}

    subprocess.run([*ipt, "-I", *rule], check=True)
    try:
        runs_by_server: dict = {name: [] for name, _ in SERVERS}
        for _ in range(runs):
            for name, port in SERVERS:
                runs_by_server[name].append(run(port, pids[name]))
    finally:
        subprocess.run([*ipt, "-D", *rule], check=True)
    return {"forwarded_qps_hanging": 500, "container_names_qps": 1000,
            "runs": runs_by_server,
            "container_names": {name: load.summary(r) for name, r in runs_by_server.items()}}


def start_to_answer(p: SimProvider, client, count: int) -> dict:
    """Each container's name polled at the host from before `docker run` is called, until
    the first correct answer; timed from the container's start (dockerd's `start` event,
    timeNano: the moment the container runs), from the call, and from its return."""
    poller = subprocess.Popen(["ip", "netns", "exec", p.host_ns, sys.executable, "-c", load.POLLER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    started = load.StartEvents(client)
    from_start, from_call, after_return = [], [], []
    try:
        for i in range(count):
            poller.stdin.write(f"start{i}.docker\n")  # polling from before the call
            poller.stdin.flush()
            t0 = time.time()
            c = client.containers.run("ubuntu", "sleep 3600", name=f"start{i}", detach=True)
            returned = time.time()
            answered = float(poller.stdout.readline())
            from_start.append((answered - started.at(f"start{i}")) * 1000)
            from_call.append((answered - t0) * 1000)
            after_return.append((answered - returned) * 1000)
            c.remove(force=True)
    finally:
        poller.kill()
        started.close()

    def figures(values):
        return {"p50_ms": round(pct(values, 50), 1), "p99_ms": round(pct(values, 99), 1),
                "max_ms": round(max(values), 1)}

    # The last: how long after `docker run` returned (negative: resolvable before it did).
    return {"count": count, "from_the_start_event": figures(from_start),
            "from_the_call": figures(from_call), "after_the_call_returned": figures(after_return)}


def memory(p, pid: int, tmp: Path, total: int, rnd: random.Random) -> dict:
    before = load.rss_mb(pid)
    third = total // 3
    lines = [f"d{i}.docker A" for i in range(third)]
    lines += [f"{load.randcase(f'n{i % CONTAINERS}-{i % ALIASES}.docker', rnd)} A"
              for i in range(third)]
    (tmp / "mem1").write_text("\n".join(lines) + "\n")
    (tmp / "mem2").write_text("".join(f"pad{i}.docker A\n" for i in range(total - 2 * third)))
    started = time.monotonic()
    plain = load.dnsperf(p, DNS, 53, tmp / "mem1", "-n", "1", "-c", "4", "-q", "100")
    padded = load.dnsperf(p, DNS, 53, tmp / "mem2", "-n", "1", "-c", "4", "-q", "100",
                     "-E", "12:" + "00" * 400)
    return {"queries": total, "seconds": round(time.monotonic() - started, 1),
            "answered": plain["completed"] + padded["completed"],
            "rss_before_mb": before, "rss_after_mb": load.rss_mb(pid),
            "peak_rss_mb": load.rss_mb(pid, "VmHWM")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default="dns", help="bench/results/<out>.json")
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--memory-queries", type=int, default=1_000_000)
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated, of {','.join(PARTS)} (a shorter run while iterating)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        ap.error(f"--parts: unknown {','.join(sorted(parts - set(PARTS)))}")
    p = SimProvider(config.load({"instance": INSTANCE}))
    rnd = random.Random(20261130)
    results: dict = {"machine": load.machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                     "commit": subprocess.run(["git", "-C", str(ROOT), "describe", "--always",
                                               "--dirty"], capture_output=True,
                                              text=True).stdout.strip()}
    ref = None
    invoke("up")
    invoke("test.image")
    client = p.docker_client()
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            made = names_setup(client, tmp, rnd)
            ref = start_dnsmasq(p, tmp)
            wait_answers(p, 53, "n49-19.docker")
            wait_answers(p, REF_PORT, "n49-19.docker")
            pids = {"devnet": procs.read_pid(p.vm_run / "devnet-dns/supervisor.pid.child"),
                    "dnsmasq": ref.pid}
            subprocess.run(["taskset", "-a", "-cp", "1", str(pids["devnet"])], check=True,
                           stdout=subprocess.DEVNULL)
            for _, port in SERVERS:  # warm up: both fill their caches once
                load.dnsperf(p, DNS, port, tmp / "mix", "-n", "1")
            if "mix" in parts:
                results["mix"] = mix_runs(p, pids, tmp, args.seconds, args.runs, client)
            if "lanes" in parts:
                results["lanes"] = lanes(p, pids, tmp, args.runs)
            if "starts" in parts:
                results["start_to_resolvable"] = start_to_answer(p, client, args.starts)
            results["devnet_rss_mb_with_50_containers"] = load.rss_mb(pids["devnet"])
            if "hops" in parts:
                results["hops"] = hop_runs(p, pids, tmp, args.runs)
            if "memory" in parts:
                results["memory"] = memory(p, pids["devnet"], tmp, args.memory_queries, rnd)
            for c in made:
                c.remove(force=True)
    finally:
        if ref:
            ref.kill()
        client.close()
        invoke("down")
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["settings"] = vars(args)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
