"""Probes of devnet's real traffic, sent from the developer's machine: ICMP echo to the VM's
host-only address and to an address of each Docker subnet, and a DNS query to devnet's DNS
over UDP and TCP. A probe counts as answered only on a positive answer (an echo reply, a
DNS reply, a completed TCP handshake): a refusal may be the host's own REJECT.

The probes run as one Python program on the host (`python -c SCRIPT ARGS`, as root: raw ICMP),
all at once, each waiting at most `timeout`. Given an nftables trace table, the same program
loads it, listens to `nft monitor trace` while the probes run, and always deletes it again,
so the kernel's own trace of each probe packet comes back with the answers.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from dataclasses import asdict, dataclass

from devnet.system import cmd

TIMEOUT = 0.3  # the host-only link is local: answers take milliseconds; a late one only
#               costs a look at the counters, which then blame nothing


@dataclass(frozen=True)
class Probe:
    proto: str  # icmp | udp | tcp
    dst: str
    port: int = 0

    def __str__(self) -> str:
        return f"{self.dst} (ping)" if self.proto == "icmp" else \
            f"{self.dst}:{self.port}/{self.proto}"


def devnet_probes(settings, networks) -> list[Probe]:
    """What devnet's traffic looks like: the VM, each Docker network, its DNS."""
    found = [Probe("icmp", settings.vm_ip)] if settings.vm_ip else []
    for net in networks:
        net = ipaddress.ip_network(str(net))
        if net == settings.hostonly.network:
            continue
        # the bridge's own address answers: docker0's is bip, a user network's is its first
        addr = settings.dns_ip if settings.bip.ip in net else str(next(net.hosts()))
        found.append(Probe("icmp", addr))
    found += [Probe("udp", settings.dns_ip, 53), Probe("tcp", settings.dns_ip, 53)]
    return list(dict.fromkeys(found))


SCRIPT = r'''
import json, os, random, socket, struct, subprocess, sys, threading, time
args = json.loads(sys.argv[1])
T = args["timeout"]

def icmp(dst, _):
    kind = socket.SOCK_RAW if os.geteuid() == 0 else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
    s.settimeout(T)
    ident = random.randrange(1, 65535)
    body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"devnet-probe"
    total = sum(struct.unpack("!%dH" % (len(body) // 2), body))
    total = (total >> 16) + (total & 0xFFFF)
    csum = ~(total + (total >> 16)) & 0xFFFF
    s.sendto(body[:2] + struct.pack("!H", csum) + body[4:], (dst, 0))
    end = time.monotonic() + T
    while time.monotonic() < end:
        data, peer = s.recvfrom(2048)
        if kind == socket.SOCK_RAW:
            data = data[(data[0] & 15) * 4:]
        if peer[0] == dst and data[0] == 0:
            return True
    return False

def query():
    return struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0) + \
        b"\x02ns\x06docker\x00\x00\x01\x00\x01"

def udp(dst, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(T)
    q = query()
    s.sendto(q, (dst, port))
    return s.recv(512)[:2] == q[:2]

def tcp(dst, port):
    socket.create_connection((dst, port), timeout=T).close()
    return True

results = [None] * len(args["probes"])
def run(i, p):
    try:
        results[i] = bool({"icmp": icmp, "udp": udp, "tcp": tcp}[p["proto"]](p["dst"], p["port"]))
    except OSError as err:
        results[i] = False

trace, monitor = "", None
if args.get("trace"):
    subprocess.run(["nft", "-f", "-"], input=args["trace"], text=True, check=True)
try:
    if args.get("trace"):
        monitor = subprocess.Popen(["nft", "-a", "monitor", "trace"], stdout=subprocess.PIPE,
                                   text=True)
        time.sleep(0.2)  # the monitor subscribes before the first probe leaves
    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(args["probes"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
finally:
    if monitor:
        time.sleep(0.1)
        monitor.terminate()
        trace = monitor.communicate()[0]
    if args.get("trace"):
        subprocess.run(["nft", "delete", "table"] + args["table"].split(), check=True)
print(json.dumps({"answered": results, "trace": trace}))
'''


def command(probes: list[Probe], trace: str = "", table: str = "",
            timeout: float = TIMEOUT) -> str:
    args = {"probes": [asdict(p) for p in probes], "timeout": timeout}
    if trace:
        args.update(trace=trace, table=table)
    return cmd(sys.executable, "-c", SCRIPT, json.dumps(args, separators=(",", ":")))


def parse(text: str, probes: list[Probe]) -> tuple[list[Probe], str]:
    """(the probes that got no answer, the nft trace), from the program's output."""
    out = json.loads(text)
    return [p for p, ok in zip(probes, out["answered"], strict=True) if not ok], out["trace"]
