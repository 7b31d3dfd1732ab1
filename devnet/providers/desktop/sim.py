"""sim-desktop: a simulated Docker Desktop VM. The sim's namespaces and dockerd, but no
host-only link and no SSH: the simulated host reaches the VM only through its Docker socket
(a file, as Docker Desktop shares ~/.docker/run/docker.sock), and the tunnel's UDP crosses one
userspace forwarder (udp_forward.py, standing in for vpnkit / gvisor-tap-vsock): with
devnet.desktop.dial vm (the default), from the VM's host.docker.internal (HOST_GATEWAY, named
in the VM's /etc/hosts) to the host's loopback port; with dial host, from the host's loopback
port into the VM (a published port)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devnet import netns, procs
from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.providers.sim import daemons as sim_daemons
from devnet.providers.sim import network as sim_network
from devnet.providers.sim.network import UPSTREAM_DNS
from devnet.providers.sim.provider import SimProvider
from devnet.system import require_binaries, require_root
from devnet.tunnel import dial, host_link, keys

# host.docker.internal inside the simulated Desktop VM: an address of Docker Desktop's own
# range (192.168.65.0/24) that the forwarder answers for, as vpnkit does in a real one
HOST_GATEWAY = "192.168.65.254"
NO_SSH = ("a Docker Desktop VM has no SSH: devnet reaches it only through its Docker socket "
          "(and the tunnel)")


class SimDesktopNetwork:
    """The sim's namespaces, the VM's NAT link and the host's uplink; no host-only link."""

    @staticmethod
    def create(p) -> None:
        for ns in (p.host_ns, p.vm_ns, p.up_ns):
            if not netns.exists(ns):
                netns.add(p.local, ns)
        sim_network.create_nat_link(p)
        sim_network.create_host_uplink(p)
        for ns in (p.host_ns, p.vm_ns):
            netns.NetnsContext(ns).run("ip link set lo up", hide=True)
        vm = netns.NetnsContext(p.vm_ns)
        if HOST_GATEWAY not in vm.run("ip -o addr show dev lo", hide=True).stdout:
            vm.run(f"ip addr add {HOST_GATEWAY}/32 dev lo", hide=True)

    delete = staticmethod(sim_network.delete)


class SimDesktopProvider(SimProvider):
    name = "sim-desktop"
    reach_modes = ("tunnel",)
    offline = True
    network = SimDesktopNetwork
    options_of = "desktop"  # devnet.desktop.dial and udp_port, as on a real Desktop

    def __init__(self, settings):
        super().__init__(settings)
        self.udp_pidfile = self.root / "udp-forward.pid"

    udp = property(lambda self: procs.Pidfile(self.udp_pidfile))

    def preflight(self) -> None:
        require_root("create network namespaces and start dockerd for the simulated VM")
        require_binaries("ip", "nsenter", "unshare", "dockerd", "iptables", "dnsmasq",
                         "wireguard-go", "wg", "ping")

    def plan_create(self) -> list[str]:
        return [f"ip netns add {self.host_ns} (developer machine), {self.vm_ns} (Desktop VM, "
                f"no host-only link), {self.up_ns} (upstream DNS {UPSTREAM_DNS})"]

    def create(self) -> str:
        self.preflight()
        for d in (self.vmroot / "etc/docker", self.vm_run, self.vmroot / "var/lib/docker",
                  self.vmroot / "log"):
            d.mkdir(parents=True, exist_ok=True)
        self.meta_path.write_text("{}")
        # The engine settings a Desktop user gives in Settings -> Docker Engine: the bridge on
        # devnet.docker.bip, where tunnel.dns serves (and checks it is).
        (self.vmroot / "etc/docker/daemon.json").write_text(
            json.dumps({"bip": str(self.settings.bip)}) + "\n")
        (self.vmroot / "etc/resolv.conf").write_text(f"nameserver {UPSTREAM_DNS}\n")
        (self.vmroot / "etc/hosts").write_text(
            f"127.0.0.1 localhost\n{HOST_GATEWAY} {dial.HOST_ALIAS}\n")
        self.make_host_resolv()
        self.network.create(self)
        return (f"namespaces {self.host_ns} + {self.vm_ns} + {self.up_ns} (no host-only link, "
                f"no SSH: Docker socket and {self.forward_says()} only)")

    def state_files(self):
        return [*super().state_files(), self.udp_pidfile]

    def daemons(self):
        return [("dockerd", self.dockerd, 20), ("udp forward", self.udp, 5)]

    def forward_args(self) -> list[str]:
        """udp_forward.py's arguments: where it listens, where it sends (vpnkit's way)."""
        d = self.tunnel_dial()
        host, vm = f"/run/netns/{self.host_ns}", f"/run/netns/{self.vm_ns}"
        if d.by == "vm":
            return [vm, f"{HOST_GATEWAY}:{d.port}", host, str(d.port)]
        return [host, str(d.port), vm, str(dial.VM_PORT)]

    def forward_says(self) -> str:
        d = self.tunnel_dial()
        if d.by == "vm":
            return f"udp VM {dial.HOST_ALIAS} ({HOST_GATEWAY}):{d.port} -> host 127.0.0.1:{d.port}"
        return f"udp host 127.0.0.1:{d.port} -> VM :{dial.VM_PORT}"

    def plan_start(self) -> list[str]:
        return [f"power on {self.vm_ns}: dockerd, {self.forward_says()}"]

    def start(self) -> str:
        self.preflight()
        if not self.exists():
            raise DevnetError("the simulated Desktop VM has not been created", "invoke vm.init")
        power = self.power_pid() or sim_daemons.power_on(self)
        started = self.start_missing([
            (self.forward_says(), self.udp, self.start_udp_forward),
            ("dockerd", self.dockerd, lambda: sim_daemons.start_dockerd(self))])
        return f"VM {self.vm_ns} up (power pid {power}): started {', '.join(started) or 'nothing'}"

    def start_udp_forward(self) -> None:
        with open(self.vmroot / "log/udp-forward.log", "ab") as log:
            self.udp.spawn(
                [sys.executable, "-m", "devnet.providers.desktop.udp_forward",
                 *self.forward_args()],
                env=dict(os.environ, PYTHONPATH=str(PROJECT_DIR)), stdout=subprocess.DEVNULL,
                stderr=log, start_new_session=True)

    def connection(self):
        raise DevnetError(NO_SSH, "invoke status")

    def ssh_command(self) -> str:
        return f"(no SSH) DOCKER_HOST={self.docker_url()} docker run --rm -it --network host ..."

    def hostonly_link(self) -> str:
        return host_link.iface(keys.Tunnel(self.settings.instance, self.settings.state_dir))
