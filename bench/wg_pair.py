"""A bare wireguard-go pair between two namespaces of the bench's own, for measuring what the
tunnel costs without Docker or devnet around it.

    L (host side) ── veth 10.231.0.1/24 ⇄ 10.231.0.2/24 ── R (VM side)

Three paths (four with a reference forwarder) from L to an echo server in R, side by side:
- `veth`: the plain link (what the host-only route rides on);
- `wg`: a wireguard-go pair whose UDP crosses the veth (userspace WireGuard's ceiling here);
- `wg+forward`: a second pair whose UDP goes L's 127.0.0.1 → udp_forward.py → R's 127.0.0.1,
  as sim-desktop's tunnel does;
- `wg+reference-forward`: a third pair, through another forwarder given as a command (an
  older udp_forward.py, to compare the two in one run).
Every process is started here and stopped by its PID; the namespaces go in `close()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import dns_load

ROOT = Path(__file__).resolve().parents[1]
L, R = "devnet-bwl", "devnet-bwr"
TARGETS = {"veth": "10.231.0.2", "wg": "10.232.0.2", "wg+forward": "10.233.0.2"}
WG_PORT, FWD_PORT = 51830, 51840  # a forward listens on PORT, its pair on PORT+1 and +2
REF_TARGET, REF_PORT = "10.234.0.2", 51850  # the reference forwarder's pair (target: +2)
ECHO = r"""
import socket, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7777)); srv.listen(8)
def echo(c):
    c.sendall(b"hello from bench\n"); buf = bytearray(1 << 20); view = memoryview(buf)
    while n := c.recv_into(buf):
        c.sendall(view[:n])
    c.close()
while True:
    threading.Thread(target=echo, args=(srv.accept()[0],), daemon=True).start()
"""


def machine() -> dict:
    wg = subprocess.run(["wireguard-go", "--version"], capture_output=True, text=True).stdout
    return {**dns_load.machine(), "wireguard_go": wg.split("\n")[0]}


def sh(*argv: str, ns: str | None = None, **kw) -> str:
    pre = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run([*pre, *argv], check=True, capture_output=True, text=True,
                          **kw).stdout


class Pair:
    def __init__(self, reference: list[str] | None = None):
        self.reference = reference
        self.targets = dict(TARGETS, **({"wg+reference-forward": REF_TARGET} if reference
                                        else {}))
        self.procs: dict[str, subprocess.Popen] = {}
        self.dir = Path(tempfile.mkdtemp(prefix="devnet-wgpair-"))
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _spawn(self, name: str, argv: list[str], ns: str | None = None, **kw) -> None:
        pre = ["ip", "netns", "exec", ns] if ns else []
        self.procs[name] = subprocess.Popen([*pre, *argv], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, **kw)

    def _key(self, name: str) -> tuple[Path, str]:
        path = self.dir / name
        path.write_text(sh("wg", "genkey"))
        os.chmod(path, 0o600)
        return path, sh("wg", "pubkey", input=path.read_text()).strip()

    def _wg(self, ns: str, iface: str, cidr: str, key: Path, peer: str, port: int,
            endpoint: str | None) -> None:
        self._spawn(f"wireguard-go {iface}", ["wireguard-go", iface], ns,
                    env=dict(os.environ, WG_PROCESS_FOREGROUND="1"))
        sock = Path(f"/var/run/wireguard/{iface}.sock")
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        args = ["wg", "set", iface, "private-key", str(key), "listen-port", str(port),
                "peer", peer, "allowed-ips", "0.0.0.0/0"]
        if endpoint:
            args += ["endpoint", endpoint, "persistent-keepalive", "25"]
        sh(*args, ns=ns)
        sh("ip", "addr", "add", cidr, "dev", iface, ns=ns)
        sh("ip", "link", "set", iface, "up", ns=ns)

    def _build(self) -> None:
        for ns in (L, R):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "bwl0", "netns", L, "type", "veth", "peer", "bwr0", "netns", R)
        for ns, dev, ip in ((L, "bwl0", "10.231.0.1/24"), (R, "bwr0", "10.231.0.2/24")):
            sh("ip", "addr", "add", ip, "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
        lkey, lpub = self._key("l.key")
        rkey, rpub = self._key("r.key")
        # wg: UDP straight over the veth
        self._wg(R, "bwr-wg1", "10.232.0.2/24", rkey, lpub, WG_PORT, None)
        self._wg(L, "bwl-wg1", "10.232.0.1/24", lkey, rpub, WG_PORT,
                 f"10.231.0.2:{WG_PORT}")
        # wg+forward: UDP through the sim's forwarder, loopback to loopback
        forwards = [("udp_forward", [sys.executable, "-m",
                                     "devnet.providers.desktop.udp_forward"], FWD_PORT, 2)]
        if self.reference:
            forwards.append(("reference forward", self.reference, REF_PORT, 3))
        for name, argv, port, n in forwards:
            self._spawn(name, [*argv, f"/run/netns/{L}", str(port), f"/run/netns/{R}",
                               str(port + 2)], cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=str(ROOT)))
            self._wg(R, f"bwr-wg{n}", f"10.23{n + 1}.0.2/24", rkey, lpub, port + 2, None)
            self._wg(L, f"bwl-wg{n}", f"10.23{n + 1}.0.1/24", lkey, rpub, port + 1,
                     f"127.0.0.1:{port}")
        self._spawn("echo", [sys.executable, "-c", ECHO], R)
        for target in self.targets.values():
            self.wait_reach(target)

    def wait_reach(self, ip: str, timeout: float = 20) -> None:
        end = time.monotonic() + timeout
        while subprocess.run(["ip", "netns", "exec", L, "ping", "-c1", "-W1", ip],
                             capture_output=True).returncode:
            if time.monotonic() > end:
                raise TimeoutError(f"{ip} not reached from {L} within {timeout}s")
        end = time.monotonic() + timeout
        while subprocess.run(["ip", "netns", "exec", L, sys.executable,
                              str(ROOT / "tests/e2e/tcp_probe.py"), ip, "7777", "0.5"],
                             capture_output=True).returncode:
            if time.monotonic() > end:
                raise TimeoutError(f"{ip}:7777 not answering from {L} within {timeout}s")
            time.sleep(0.05)

    def pids(self, *names: str) -> dict[str, int]:
        """The real PIDs (ip netns exec execs in place, so Popen's PID is the program's)."""
        return {n: p.pid for n, p in self.procs.items() if not names or n in names}

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in (L, R):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        for f in self.dir.iterdir():
            f.unlink()
        self.dir.rmdir()
