"""What the DNS benchmark measures with: dnsperf runs parsed into figures, process CPU and
memory from /proc, the machine's description, and summaries over repeated runs."""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import subprocess
import threading
from pathlib import Path

from bench.common import pct

TICK = os.sysconf("SC_CLK_TCK")


def dnsperf(p, server: str, port: int, queries: Path, *extra) -> dict:
    """One dnsperf run from the simulated host (`p` None: from here, to loopback), on core 0,
    under time(1) for its own CPU."""
    where = ["ip", "netns", "exec", p.host_ns] if p is not None else []
    argv = [*where, "taskset", "-c", "0", "/usr/bin/time", "-f",
            "CPU %e %U %S", "dnsperf", "-s", server, "-p", str(port), "-d", str(queries),
            *extra]
    run = subprocess.run(argv, capture_output=True, text=True, check=True)
    out = run.stdout

    def stat(label):
        return float(re.search(label + r":\s+([\d.]+)", out).group(1))

    wall, user, system = map(float, re.findall(r"^CPU (\S+) (\S+) (\S+)$", run.stderr, re.M)[-1])
    result = {"qps": round(stat("Queries per second")), "completed": int(stat("Queries completed")),
              "lost": int(stat("Queries lost")), "seconds": stat(r"Run time \(s\)"),
              "client_cpu": round((user + system) / max(wall, 0.001), 2)}
    lat = [float(x) * 1000 for x in re.findall(r"^> \S+ \S+ \S+ ([\d.]+)$", out, re.M)]
    if lat:
        result.update({"p50_ms": round(pct(lat, 50), 3), "p99_ms": round(pct(lat, 99), 3),
                       "max_ms": round(max(lat), 3), "timed": len(lat)})
    return result


def cpu_seconds(pid: int) -> float:
    """User + system time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def sched(pid: int) -> dict:
    """All the process's threads: milliseconds spent ready but waiting for a CPU (run-queue
    wait, /proc/<pid>/task/*/schedstat) and involuntary context switches."""
    wait = switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            wait += int((task / "schedstat").read_text().split()[1])
            status = (task / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):  # a thread gone meanwhile
            continue
        switches += int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status).group(1))
    return {"runq_wait_ms": wait / 1e6, "involuntary_switches": switches}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(field + r":\s+(\d+)", text).group(1)) / 1024, 1)


def machine() -> dict:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())

    def version(*argv):
        run = subprocess.run(argv, capture_output=True, text=True)
        found = re.search(r"[Vv]ersion (\S+)", run.stdout + run.stderr)
        return found.group(1) if found else "unknown"

    return {"cpu": cpu.group(1) if cpu else platform.processor(), "cores": os.cpu_count(),
            "memory_gb": round(int(mem.group(1)) / 2**20, 1) if mem else None,
            "kernel": platform.release(), "python": platform.python_version(),
            "dnsperf": version("dnsperf", "-h"), "dnsmasq": version("dnsmasq", "--version"),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def summary(runs: list[dict]) -> dict:
    """Median and min–max of each figure over the runs; a flag is true if it ever was."""
    out: dict = {"runs": len(runs)}
    for key, first in runs[0].items():
        values = [r[key] for r in runs]
        if isinstance(first, bool):
            out[key] = any(values)
        else:
            out[key] = {"median": statistics.median(values), "min": min(values),
                        "max": max(values)}
    return out


def randcase(name: str, rnd: random.Random) -> str:
    """A 0x20 variant: each letter's case chosen at random."""
    return "".join(c.upper() if rnd.random() < 0.5 else c for c in name)


class StartEvents:
    """dockerd's container start events, read as they come: name -> time (time.time())."""

    def __init__(self, client):
        self.times: dict[str, float] = {}
        self.done = threading.Condition()
        self.stream = client.events(decode=True, filters={"type": "container", "event": "start"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for event in self.stream:
                with self.done:
                    name = event.get("Actor", {}).get("Attributes", {}).get("name", "")
                    self.times[name] = event["timeNano"] / 1e9
                    self.done.notify_all()
        except Exception:  # closed
            pass

    def at(self, name: str, timeout: float = 10.0) -> float:
        with self.done:
            if not self.done.wait_for(lambda: name in self.times, timeout):
                raise SystemExit(f"no start event for {name} within {timeout} s")
            return self.times[name]

    def close(self):
        self.stream.close()


POLLER = r"""
import socket, sys, time, struct, random
# Each ask has an ID of its own, and every answer that came is read: one answer read per ask
# (the same ID asked again) fell behind by one answer at each 2 ms timeout, and the positive
# answer was read up to 15 asks late (~0.6 ms each) once a run had lagged.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
qid = random.randrange(65536)
def ask(name):
    global qid
    qid = (qid + 1) & 0xFFFF
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    wire += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
    s.sendto(wire, ("172.17.42.1", 53))
    return wire[:2]
for line in sys.stdin:
    name, mine, answered = line.strip(), set(), False
    while not answered:
        this = ask(name)
        mine.add(this)
        deadline = time.monotonic() + 0.002
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data = s.recv(512)
            except socket.timeout:
                break
            if data[:2] in mine and data[3] & 0xF == 0 and struct.unpack("!H", data[6:8])[0]:
                print(time.time(), flush=True)
                answered = True
                break
            if data[:2] == this:
                break  # this ask's answer, negative: ask again shortly
            # a late answer to an earlier ask (or to the previous name): read on
        if not answered:
            time.sleep(0.0005)
"""
