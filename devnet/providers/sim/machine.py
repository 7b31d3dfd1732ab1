"""The simulated developer machine, shared by the providers whose VM lives on it (sim: a
namespace VM; qemu: a QEMU VM): the `<instance>-host` namespace with its own resolv.conf,
`<instance>-up` ("the internet", with the upstream DNS), and the SSH client's side (keys,
known_hosts pinning the VM's host key, the loopback port forwarded to the VM's :22).

Each VM kind says how its links are made (`network`), what runs it, and its own state files.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import paramiko
from fabric import Config, Connection
from invoke import Context

from devnet import netns, procs
from devnet.errors import DevnetError
from devnet.providers.base import Provider
from devnet.providers.sim.network import TEST_ZONE, TEST_ZONE_ADDRESS, UPSTREAM_DNS
from devnet.system import cmd


class SimulatedMachine(Provider):
    simulated_host = True
    network = None  # the VM kind's module that creates and deletes the namespaces and links

    def __init__(self, settings):
        super().__init__(settings)
        inst = settings.instance
        self.host_ns, self.link = f"{inst}-host", f"{inst}-ho0"
        self.up_ns = f"{inst}-up"  # "the internet": an upstream DNS for the test zone
        self.root = settings.state_dir
        self.vmroot = self.root / "vm"  # the VM's disk
        self.ssh_dir = self.root / "ssh"
        self.key = self.ssh_dir / "id_ed25519"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.upstream_pidfile = self.root / "upstream.pid"
        self.host_resolv = Path(f"/etc/netns/{self.host_ns}/resolv.conf")
        self.resolv_conf = str(self.host_resolv)
        self.local = Context()
        self._host = None
        # the VM kind's own: what records the VM (ssh port, ...), its power, its forward
        self.meta_path = self.power_pidfile = self.forward_pidfile = None

    # -- create / destroy ----------------------------------------------------------------

    def make_keys(self, host_key: Path, port: int) -> None:
        """devnet's client key, the VM's host key, and known_hosts pinning that key for the
        SSH forward's loopback port and the VM's host-only address."""
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.ssh_dir, 0o700)
        for path in (self.key, host_key):
            if not path.exists():
                self.local.run(cmd("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                   f"devnet-{self.settings.instance}", "-f", path), hide=True)
        pub = Path(f"{host_key}.pub").read_text().split()
        self.known_hosts.write_text(
            f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n{self.settings.vm_ip} {pub[0]} {pub[1]}\n")

    def make_host_resolv(self) -> None:
        """The simulated machine's own resolver: its upstream, unless it is there already."""
        self.host_resolv.parent.mkdir(parents=True, exist_ok=True)
        if not self.host_resolv.exists():
            self.host_resolv.write_text(f"# {self.host_ns}: the developer machine's resolver\n"
                                        f"nameserver {UPSTREAM_DNS}\n")

    def state_files(self) -> list[Path]:
        """The files in the state dir that describe this VM and its processes."""
        return [self.meta_path, self.power_pidfile, self.forward_pidfile, self.upstream_pidfile]

    def destroy(self) -> str:
        self.stop()
        # The outside world's DNS outlives a halted VM (the host asks it too); not a removed one.
        self.upstream.stop(5)
        gone = self.network.delete(self)
        self.host_resolv.unlink(missing_ok=True)
        for d in (self.host_resolv.parent, self.host_resolv.parent.parent):
            try:
                d.rmdir()  # /etc/netns/<ns>, and /etc/netns if devnet made it empty
            except OSError:
                break
        for path in (self.vmroot, self.ssh_dir):
            shutil.rmtree(path, ignore_errors=True)
        for path in self.state_files():
            path.unlink(missing_ok=True)
        return f"removed namespaces {', '.join(gone) or '(none left)'} and {self.root}"

    # -- power ---------------------------------------------------------------------------

    def meta(self) -> dict:
        try:
            return json.loads(self.meta_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    @property
    def ssh_port(self) -> int:
        port = self.meta().get("ssh_port")
        if not port:
            raise DevnetError("the simulated VM has not been created", "invoke vm.init")
        return int(port)

    # Pidfiles with identity (devnet.procs): properties, as each VM kind names its own files.
    power = property(lambda self: procs.Pidfile(self.power_pidfile))
    forward = property(lambda self: procs.Pidfile(self.forward_pidfile))
    upstream = property(lambda self: procs.Pidfile(self.upstream_pidfile))

    def power_pid(self) -> int | None:
        return self.power.pid()

    def start_missing(self, parts) -> list[str]:
        """Start each (label, pidfile, start) whose process is not running, in order, after the
        machine's own upstream DNS; the labels of those started."""
        started = []
        for label, pidfile, start in [(f"upstream DNS {UPSTREAM_DNS}", self.upstream,
                                       self.start_upstream), *parts]:
            if not pidfile.alive():
                start()
                started.append(label)
        return started

    def start_upstream(self) -> None:
        """The outside world's DNS, in the upstream namespace: the test zone, NXDOMAIN else."""
        log = self.vmroot / "log/upstream.log"
        self.upstream.spawn(
            ["nsenter", f"--net=/run/netns/{self.up_ns}", "dnsmasq", "--keep-in-foreground",
             "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
             f"--listen-address={UPSTREAM_DNS}", "--user=root", "--group=root",
             f"--address=/{TEST_ZONE}/{TEST_ZONE_ADDRESS}", f"--log-facility={log}",
             "--log-queries", "--pid-file="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def ssh_banner(self) -> bool:
        """The VM's sshd answers on the forwarded loopback port."""
        with socket.create_connection(("127.0.0.1", self.ssh_port), timeout=2) as s:
            return s.recv(4).startswith(b"SSH-")

    # -- endpoints -----------------------------------------------------------------------

    def connection(self) -> Connection:
        conn = Connection(
            "127.0.0.1", user="root", port=self.ssh_port, connect_timeout=5,
            config=Config(ssh_config=paramiko.SSHConfig()),
            connect_kwargs={"key_filename": str(self.key), "look_for_keys": False,
                            "allow_agent": False},
        )
        conn.client.load_host_keys(str(self.known_hosts))
        conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return conn

    def host(self) -> netns.NetnsContext:
        # One Context per run: it remembers what it learnt (root, the OS) across commands.
        if self._host is None:
            self._host = netns.NetnsContext(self.host_ns)
        return self._host

    def hostonly_link(self) -> str:
        return self.link

    def host_exists(self) -> bool:
        return netns.exists(self.host_ns)

    def ssh_command(self) -> str:
        return cmd("ssh", "-i", self.key, "-p", self.ssh_port, "-o",
                   f"UserKnownHostsFile={self.known_hosts}", "root@127.0.0.1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
