"""tunnel.link: the host's end of the tunnel (the kernel's WireGuard where it has one, else
Debian's wireguard-go on a tun device: devnet.tunnel.host_link) and its keeper, which brings
the tunnel back at once when the VM's end restarts."""

from __future__ import annotations

import os
import subprocess
import sys

from devnet import procs
from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.steps.base import Step
from devnet.steps.tunnel_helper import tunnel_of
from devnet.system import cmd, require_binaries, wait_until
from devnet.tunnel import host_link, keys

# seconds until the tunnel carries traffic again after a new handshake (a VM or dockerd
# restart, a VPN that held the routes): the keeper redials at once; measured back in ~2 s
TUNNEL_BACK = 15


def wait_vm_end(dn, what: str, hint: str) -> None:
    """Until the tunnel's VM end answers ping through the tunnel (doctor's and the keeper's
    probe), TUNNEL_BACK seconds at most."""
    ip = dn.settings.vm_ip
    ping = cmd(*dn.os.ping_argv(str(ip)))
    wait_until(lambda: dn.host.run(ping, hide=True, warn=True).ok, TUNNEL_BACK,
               f"the tunnel's VM end {ip} to answer {what}", hint)


def host_prefix(dn) -> list[str]:
    """How a program started by devnet runs on the developer's machine (the sim's: inside its
    host namespace)."""
    p = dn.provider
    return ["nsenter", f"--net=/run/netns/{p.host_ns}"] if p.simulated_host else []


class TunnelLink(Step):
    name = "tunnel.link"
    up_order = 24
    reach = "tunnel"
    on_host = True
    summary = "start the tunnel's host end (wireguard-go), its address and its keeper"

    def _up(self) -> bool:
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return (self.dn.os.has_tunnel_address(self.dn.host, host_link.iface(t), ho.host_cidr)
                and host_link.running(self.dn.host, t)
                and procs.Pidfile(t.keeper_pidfile).alive() and self._same_config(t))

    def _same_config(self, t) -> bool:
        """The host's config is this dial's (devnet.desktop.dial changed: applied anew)."""
        try:
            return t.host_conf.read_text() == keys.host_config(t, self.dn.provider.tunnel_dial())
        except (OSError, DevnetError):
            return False

    def check(self):
        if not self.dn.provider.tunnels():
            return f"reach is {self.dn.provider.reach()}: no tunnel"
        if not self.dn.provider.host_exists() or not self._up():
            return None
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return f"{host_link.iface(t)} {ho.host_ip} <-> {ho.vm_ip} up, keeper runs"

    def plan(self):
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return [f"WireGuard link {t.host_iface} (the kernel's, else wireguard-go); "
                f"wg setconf {t.host_iface} {t.host_conf} "
                f"({self.dn.provider.tunnel_dial().describe()}); address {ho.host_cidr} on it; "
                "keeper"]

    def redial(self) -> list[str]:
        """What the keeper runs when the VM's end falls silent: the dialing end dials again."""
        t = tunnel_of(self.dn)
        if self.dn.provider.tunnel_dial().by == "vm":
            return ["docker", "-H", self.dn.provider.docker_url(), "exec", t.container,
                    "/bin/tunnel-redial"]
        return ["wg", "setconf", host_link.iface(t), str(t.host_conf)]

    def apply(self):
        dial = self.dn.provider.tunnel_dial()
        require_binaries("wireguard-go", "wg", *(["docker"] if dial.by == "vm" else []))
        t, ho, host = tunnel_of(self.dn), self.dn.settings.hostonly, self.dn.host
        keys.ensure_keys(t)
        self.dn.journal.record_first(self.name, iface=t.host_iface)
        keys.write_host_config(t, dial)
        carrier = host_link.start(host, t, host_prefix(self.dn))
        link = host_link.iface(t)
        host.run(cmd("wg", "setconf", link, t.host_conf), hide=True)
        # the host-only network's own address and connected route, on the tunnel
        self.dn.os.set_tunnel_address(host, link, ho.host_cidr, ho.vm_ip)
        keeper = procs.Pidfile(t.keeper_pidfile)
        keeper.stop(5)  # its redial is the dial's: started anew with this config
        with open(t.dir / "keeper.log", "ab") as log:
            keeper.spawn([*host_prefix(self.dn), sys.executable, "-m", "devnet.tunnel.keeper",
                          link, ho.vm_ip, *self.redial()],
                         env=dict(os.environ, PYTHONPATH=str(PROJECT_DIR)),
                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        return (f"{link} ({carrier}) {ho.host_ip} <-> {ho.vm_ip} ({dial.describe()}), "
                "keeper started")

    def verify(self):
        wait_vm_end(self.dn, "ping", f"docker logs {tunnel_of(self.dn).container}; wg show")

    def describe_undo(self, args):
        return f"stop the keeper and wireguard-go {args['iface']}, delete the keys (host)"

    def undo(self, args):
        t = tunnel_of(self.dn)
        said = []
        if procs.Pidfile(t.keeper_pidfile).stop(5):
            said.append("keeper")
        said += host_link.stop(self.dn.host, t, args["iface"])
        gone = keys.remove(t)
        if gone:
            said.append("keys and config")
        for f in ("wireguard-go.log", "keeper.log"):
            (t.dir / f).unlink(missing_ok=True)
        try:
            t.dir.rmdir()
        except OSError:
            pass
        return "stopped " + ", ".join(said) if said else "tunnel was gone"
