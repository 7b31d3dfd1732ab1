"""Where a query's time goes inside the VM, per hop, from a packet capture (tcpdump in the
sim VM's namespace): from a client's query arriving to its answer leaving, and for a
forwarded name, its three parts: the server's first hop (query in -> query out to the
upstream), the upstream's round trip, and the second hop (upstream answer in -> answer out).
The same figures for devnet and dnsmasq show which of a server's own steps makes its tail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench.common import pct

# "<time> <iface> In|Out IP <src> > <dst>: <id><flags> <rest>" (tcpdump -tt -n -i any)
LINE = re.compile(r"(\S+) \S+\s+(In|Out)\s+IP (\S+) > (\S+): (\d+)\S* (.*)")
QUESTION = re.compile(r"\?\s+(\S+)")
KINDS = ("zone", "forwarded", "first_hop", "upstream_round_trip", "second_hop")


@contextmanager
def capture(netns: str):
    """tcpdump of UDP in `netns` (on core 0, the client's: the server's core stays the
    server's) while the block runs; yields the capture file's path, complete after."""
    if not shutil.which("tcpdump"):
        raise SystemExit("bench: tcpdump is missing (apt-get install tcpdump)")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dns.pcap"
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{netns}", "taskset", "-c", "0", "tcpdump", "-i",
             "any", "-n", "-Z", "root", "-s", "256", "-B", "65536", "-U", "-w", str(path), "udp"],
            stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:  # "tcpdump: listening on any, ...": capturing from here
                if "listening on" in line:
                    break
            yield path
        finally:
            proc.terminate()
            proc.wait()


def hops(pcap: Path, server: str, upstream: str) -> dict[str, list[float]]:
    """Microseconds per answer, by kind (KINDS), from a capture: `server` is the DNS
    service's "ip.port" as tcpdump prints it, `upstream` the upstream's "ip.53"."""
    text = subprocess.run(["tcpdump", "-r", str(pcap), "-tt", "-n"], capture_output=True,
                          text=True, check=True).stdout
    return parse(text, server, upstream)


def parse(text: str, server: str, upstream: str) -> dict[str, list[float]]:
    """hops() from tcpdump's text (-tt -n, captured with -i any)."""
    out: dict[str, list[float]] = {k: [] for k in KINDS}
    asked: dict = {}  # (client, id) -> (arrived, name)
    waiting: dict[str, list] = {}  # name -> keys of the clients who asked it, oldest first
    sent: dict = {}  # upstream query id -> (client key, sent)
    relayed: dict = {}  # client key -> (sent upstream, answered by upstream)
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t, way, src, dst, ident, rest = m.groups()
        t = float(t)
        q = QUESTION.search(rest)
        name = q.group(1).lower() if q else ""
        if way == "In" and dst == server:
            asked[(src, ident)] = (t, name)
            waiting.setdefault(name, []).append((src, ident))
        elif way == "Out" and dst == upstream and waiting.get(name):
            sent[ident] = (waiting[name].pop(0), t)
        elif way == "In" and src == upstream and ident in sent:
            key, t1 = sent.pop(ident)
            relayed[key] = (t1, t)
        elif way == "Out" and src == server and (dst, ident) in asked:
            t0, name = asked.pop((dst, ident))
            via = relayed.pop((dst, ident), None)
            if via is None:
                out["zone"].append((t - t0) * 1e6)
                continue
            out["forwarded"].append((t - t0) * 1e6)
            out["first_hop"].append((via[0] - t0) * 1e6)
            out["upstream_round_trip"].append((via[1] - via[0]) * 1e6)
            out["second_hop"].append((t - via[1]) * 1e6)
    return out


def figures(times: dict[str, list[float]]) -> dict:
    """p50, p90 and p99 of each kind, in microseconds, and how many answers each had."""
    out = {}
    for kind, values in times.items():
        if values:
            out.update({f"{kind}_p{q}_us": round(pct(values, q)) for q in (50, 90, 99)})
            out[f"{kind}_answers"] = len(values)
    return out
