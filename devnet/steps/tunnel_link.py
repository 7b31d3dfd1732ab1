"""tunnel.link: the host's end of the tunnel (Linux: Debian's wireguard-go on a tun device;
the kernel's WireGuard would do as well, this kernel has none) and its keeper, which brings
the tunnel back at once when the VM's end restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devnet import procs
from devnet.config import PROJECT_DIR
from devnet.errors import DevnetError
from devnet.steps.base import Step
from devnet.steps.tunnel_helper import tunnel_of, uses_tunnel
from devnet.system import cmd, require_binaries, wait_until
from devnet.tunnel import keys

SOCKETS = Path("/var/run/wireguard")  # wireguard-go's control sockets, one per interface


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
        out = self.dn.host.run(cmd("ip", "-o", "addr", "show", "dev", t.host_iface),
                               hide=True, warn=True)
        return (out.ok and f" inet {ho.host_cidr} " in out.stdout
                and procs.Pidfile(t.wg_pidfile).alive()
                and procs.Pidfile(t.keeper_pidfile).alive() and self._same_config(t))

    def _same_config(self, t) -> bool:
        """The host's config is this dial's (devnet.desktop.dial changed: applied anew)."""
        try:
            return t.host_conf.read_text() == keys.host_config(t, self.dn.provider.tunnel_dial())
        except (OSError, DevnetError):
            return False

    def check(self):
        if not uses_tunnel(self.dn):
            return f"reach is {self.dn.provider.reach()}: no tunnel"
        if not self.dn.provider.host_exists() or not self._up():
            return None
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return f"{t.host_iface} {ho.host_ip} <-> {ho.vm_ip} up, keeper runs"

    def plan(self):
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return [f"wireguard-go {t.host_iface}; wg setconf {t.host_iface} {t.host_conf} "
                f"({self.dn.provider.tunnel_dial().describe()}); ip addr add {ho.host_cidr} "
                f"dev {t.host_iface}; keeper"]

    def redial(self) -> list[str]:
        """What the keeper runs when the VM's end falls silent: the dialing end dials again."""
        t = tunnel_of(self.dn)
        if self.dn.provider.tunnel_dial().by == "vm":
            return ["docker", "-H", self.dn.provider.docker_url(), "exec", t.container,
                    "/bin/tunnel-redial"]
        return ["wg", "setconf", t.host_iface, str(t.host_conf)]

    def apply(self):
        dial = self.dn.provider.tunnel_dial()
        require_binaries("wireguard-go", "wg", *(["docker"] if dial.by == "vm" else []))
        t, ho, host = tunnel_of(self.dn), self.dn.settings.hostonly, self.dn.host
        keys.ensure_keys(t)
        self.dn.journal.record_first(self.name, iface=t.host_iface)
        keys.write_host_config(t, dial)
        wg = procs.Pidfile(t.wg_pidfile)
        if not wg.alive():
            host.run(cmd("ip", "link", "del", t.host_iface), hide=True, warn=True)
            log = open(t.dir / "wireguard-go.log", "ab")
            with log:
                wg.spawn([*host_prefix(self.dn), "wireguard-go", t.host_iface],
                         env=dict(os.environ, WG_PROCESS_FOREGROUND="1"),
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            sock = SOCKETS / f"{t.host_iface}.sock"
            wait_until(sock.exists, 5, f"wireguard-go's socket {sock}",
                       f"read {t.dir}/wireguard-go.log")
        host.run(cmd("wg", "setconf", t.host_iface, t.host_conf), hide=True)
        # the host-only network's own address and connected route, on the tunnel
        host.run(cmd("ip", "addr", "flush", "dev", t.host_iface), hide=True)
        host.run(cmd("ip", "addr", "add", ho.host_cidr, "dev", t.host_iface), hide=True)
        host.run(cmd("ip", "link", "set", t.host_iface, "up"), hide=True)
        keeper = procs.Pidfile(t.keeper_pidfile)
        keeper.stop(5)  # its redial is the dial's: started anew with this config
        with open(t.dir / "keeper.log", "ab") as log:
            keeper.spawn([*host_prefix(self.dn), sys.executable, "-m", "devnet.tunnel.keeper",
                          t.host_iface, ho.vm_ip, *self.redial()],
                         env=dict(os.environ, PYTHONPATH=str(PROJECT_DIR)),
                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        return f"{t.host_iface} {ho.host_ip} <-> {ho.vm_ip} ({dial.describe()}), keeper started"

    def verify(self):
        ip = self.dn.settings.vm_ip
        wait_until(lambda: self.dn.host.run(f"ping -c1 -W1 {ip}", hide=True, warn=True).ok,
                   15, f"the VM's end of the tunnel {ip} to answer ping",
                   f"docker logs {tunnel_of(self.dn).container}; wg show")

    def describe_undo(self, args):
        return f"stop the keeper and wireguard-go {args['iface']}, delete the keys (host)"

    def undo(self, args):
        t = tunnel_of(self.dn)
        said = []
        if procs.Pidfile(t.keeper_pidfile).stop(5):
            said.append("keeper")
        if procs.Pidfile(t.wg_pidfile).stop(5):
            said.append(f"wireguard-go {args['iface']}")
        if self.dn.host.run(cmd("ip", "link", "del", args["iface"]), hide=True, warn=True).ok:
            said.append(f"link {args['iface']}")
        gone = keys.remove(t)
        if gone:
            said.append("keys and config")
        for f in ("wireguard-go.log", "keeper.log"):
            (t.dir / f).unlink(missing_ok=True)
        try:
            t.dir.rmdir()
        except OSError:
            pass
        if (SOCKETS / f"{args['iface']}.sock").exists():
            raise DevnetError(f"{SOCKETS}/{args['iface']}.sock outlived its wireguard-go",
                              "invoke down   (again)")
        return "stopped " + ", ".join(said) if said else "tunnel was gone"
