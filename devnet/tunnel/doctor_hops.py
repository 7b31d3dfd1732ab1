"""invoke doctor's hops for the tunnel (devnet.reach: tunnel), in the order a packet meets
them: the helper container in the VM, the UDP endpoint the dialing end sends to, WireGuard's last
handshake (`wg show IFACE latest-handshakes`), then the VM's end of the tunnel answering ping.
The route through the tunnel's link and DNS over it are doctor's own route and DNS hops."""

from __future__ import annotations

import time

import docker

from devnet.errors import HopFailed
from devnet.system import cmd
from devnet.tunnel import host_link, keys

# WireGuard drops a session no handshake renewed for REJECT_AFTER_TIME (180 s, the protocol
# paper section 6.1); with traffic (the keepalive every 25 s) it renews every 120 s, so an
# older handshake means the peer has stopped answering.
STALE_AFTER = 180

# Sends one byte to the endpoint from a connected UDP socket: a port nobody listens on
# answers with ICMP port unreachable, which the next recv() raises as ECONNREFUSED; a
# WireGuard end drops the byte silently (no answer within the timeout). Python, not nc: `nc
# -u -z` reports success whether or not anything listens.
UDP_PROBE = (
    "import socket,sys\n"
    "h,p=sys.argv[1].rsplit(':',1)\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5)\n"
    "s.connect((h,int(p)));s.send(b'\\0')\n"
    "try:\n s.recv(64)\nexcept ConnectionRefusedError:\n print('refused');sys.exit(1)\n"
    "except TimeoutError:\n pass\n"
    "print('open')\n")


def handshake_ages(text: str, now: float) -> dict[str, float | None]:
    """`wg show IFACE latest-handshakes` ("<peer public key>\\t<unix seconds>" a line; 0 when
    never) -> peer -> seconds since its last handshake, None when there was none."""
    ages: dict[str, float | None] = {}
    for line in text.splitlines():
        peer, _, stamp = line.strip().partition("\t")
        if peer and stamp.strip().isdigit():
            when = int(stamp)
            ages[peer] = max(0.0, now - when) if when else None
    return ages


def endpoint_hop(d) -> str:
    """The endpoint hop's name for a dial (devnet.tunnel.dial.Dial)."""
    if d.by == "host":
        return f"tunnel endpoint {d.endpoint} answers"
    return f"host listens on udp {d.port}, the VM dials it"


class TunnelHops:
    def __init__(self, dn):
        self.dn = dn
        self.t = keys.Tunnel(dn.settings.instance, dn.settings.state_dir)

    def hops(self) -> list[tuple[str, object, str]]:
        """(name, check, fix) for doctor, after "VM running". The endpoint hop looks where the
        dialing end sends: the VM's published port (dial host), or the host's listening port
        and the VM's endpoint the host learned from a handshake (dial vm)."""
        t, d = self.t, self.dn.provider.tunnel_dial()
        endpoint = (
            (endpoint_hop(d), self.endpoint,
             f"invoke vm.up   (the VM's UDP forward to {t.container})") if d.by == "host" else
            (endpoint_hop(d), self.dialed,
             f"invoke tunnel.link; docker logs {t.container}   (does the VM reach "
             f"{d.endpoint}?)"))
        return [
            ("tunnel helper running", self.helper, "invoke tunnel.helper"),
            endpoint,
            ("WireGuard handshake recent", self.handshake, "invoke tunnel.link"),
            ("tunnel's VM end answers", self.vm_end,
             f"invoke tunnel.link; docker logs {t.container}"),
        ]

    def helper(self) -> str:
        name = self.t.container
        client = self.dn.provider.docker_client(timeout=5)
        try:
            c = client.containers.get(name)
        except docker.errors.NotFound:
            raise HopFailed(f"no container {name} in the VM") from None
        finally:
            client.close()
        if c.status != "running":
            raise HopFailed(f"{name} is {c.status}")
        return f"{name} running"

    def endpoint(self) -> str:
        where = self.dn.provider.tunnel_endpoint()
        out = self.dn.host.run(cmd("python3", "-c", UDP_PROBE, where), hide=True, warn=True)
        if "open" not in out.stdout:
            raise HopFailed(f"nothing listens on udp {where} "
                               f"({out.stdout.strip() or out.stderr.strip() or 'no answer'})")
        return f"udp {where} open"

    def dialed(self) -> str:
        """Where the VM dials: the host's end listens on the port, and has heard from the VM
        (`wg show IFACE endpoints` names the address the VM's packets came from)."""
        iface, d = host_link.iface(self.t), self.dn.provider.tunnel_dial()
        port = self.dn.host.run(cmd("wg", "show", iface, "listen-port"), hide=True, warn=True)
        if port.failed:
            raise HopFailed(f"no WireGuard interface {iface} on the host "
                            f"({port.stderr.strip() or 'wg show failed'})")
        if port.stdout.strip() != str(d.port):
            raise HopFailed(f"{iface} listens on udp {port.stdout.strip() or 'no port'}, "
                            f"not {d.port}, where the VM dials")
        out = self.dn.host.run(cmd("wg", "show", iface, "endpoints"), hide=True, warn=True)
        seen = [line.split("\t")[1] for line in out.stdout.splitlines()
                if "\t" in line and line.split("\t")[1] != "(none)"]
        if not seen:
            raise HopFailed(f"{iface} listens on udp {d.port} but no packet from the VM's end "
                            f"has reached it (the VM dials {d.endpoint})")
        return f"{iface} listens on udp {d.port}; the VM's end came from {seen[0]}"

    def handshake(self, now: float | None = None) -> str:
        iface = host_link.iface(self.t)
        out = self.dn.host.run(cmd("wg", "show", iface, "latest-handshakes"), hide=True,
                               warn=True)
        if out.failed:
            raise HopFailed(f"no WireGuard interface {iface} on the host "
                               f"({out.stderr.strip() or 'wg show failed'})")
        ages = handshake_ages(out.stdout, time.time() if now is None else now)
        if not ages:
            raise HopFailed(f"{iface} has no peer")
        age = min((a for a in ages.values() if a is not None), default=None)
        if age is None:
            raise HopFailed(f"{iface} never completed a handshake with the VM's end")
        if age > STALE_AFTER:
            raise HopFailed(f"{iface}'s last handshake was {age:.0f}s ago "
                               f"(WireGuard gives up after {STALE_AFTER}s)")
        return f"{iface}: last handshake {age:.0f}s ago"

    def vm_end(self) -> str:
        ip = self.dn.settings.vm_ip
        link = host_link.iface(self.t)
        if self.dn.host.run(cmd(*self.dn.os.ping_argv(str(ip))), hide=True, warn=True).failed:
            raise HopFailed(f"{ip} does not answer ping through {link}")
        return f"{ip} answers ping through {link}"
