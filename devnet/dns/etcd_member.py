"""One etcd member as a child process (Debian's etcd-server), for the sim, tests and benches.

A member listens on one address (loopback, or an address inside a namespace devnet made),
keeps its data in a directory of its own, and is stopped by its PID. `cluster` starts the
members of one cluster together (each waits for the others before it answers).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devnet.dns.etcd_client import EtcdClient, EtcdError

ETCD = "etcd"


def free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@dataclass
class Member:
    name: str
    ip: str
    data_dir: Path
    client_port: int = 2379
    peer_port: int = 2380
    netns: str = ""  # run inside this network namespace (nsenter), or here
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def client_url(self) -> str:
        return f"http://{self.ip}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.ip}:{self.peer_port}"

    def argv(self, cluster: str, state: str = "new") -> list[str]:
        argv = [ETCD, "--name", self.name, "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.client_url, "--advertise-client-urls",
                self.client_url, "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url, "--initial-cluster", cluster,
                "--initial-cluster-state", state,
                # one token for the whole cluster: the first member's name
                "--initial-cluster-token", cluster.split("=", 1)[0] + "-cluster",
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--logger", "zap", "--log-outputs", str(self.data_dir) + ".log"]
        if self.netns:
            argv = ["nsenter", f"--net=/run/netns/{self.netns}", *argv]
        return argv

    def start(self, cluster: str, state: str = "new") -> None:
        if shutil.which(ETCD) is None:
            raise FileNotFoundError("etcd is not installed (Debian: apt-get install etcd-server)")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.argv(cluster, state), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def stop(self) -> None:
        """SIGKILL by PID (a member killed is what the tests want anyway), then reap."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None


def cluster_string(members) -> str:
    return ",".join(f"{m.name}={m.peer_url}" for m in members)


def start_cluster(members, timeout: float = 15.0) -> None:
    spec = cluster_string(members)
    for m in members:
        m.start(spec)
    for m in members:
        if m.netns:  # its address is reachable from inside its namespace only: ask there
            subprocess.run(["nsenter", f"--net=/run/netns/{m.netns}", sys.executable, "-m",
                            "devnet.dns.etcd_member", "ready", str(timeout), m.client_url],
                           check=True, cwd=Path(__file__).resolve().parents[2])
        else:
            wait_ready([m.client_url], timeout)


def wait_ready(endpoints, timeout: float = 15.0) -> None:
    """Until every endpoint answers a (linearizable) read, so the cluster has a leader."""
    deadline, last = time.monotonic() + timeout, ""
    for endpoint in endpoints:
        client = EtcdClient([endpoint], timeout=1.0)
        while True:
            try:
                client.range("/devnet-ready")
                break
            except EtcdError as err:
                last = str(err)
            if time.monotonic() > deadline:
                raise TimeoutError(f"etcd at {endpoint} not ready after {timeout:.0f}s: {last}")
            time.sleep(0.05)


if __name__ == "__main__":  # python -m devnet.dns.etcd_member ready TIMEOUT ENDPOINT...
    try:
        wait_ready(sys.argv[3:], float(sys.argv[2]))
    except TimeoutError as err:
        sys.exit(str(err))
