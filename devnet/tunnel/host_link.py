"""The host's WireGuard interface: the kernel's where it has WireGuard (Linux 5.6 and later,
as most distributions ship it: no process to keep, the fastest), else Debian's wireguard-go on
a tun device (this machine's kernel has none). Which one a running tunnel uses is read off
the link itself (`ip -d link` names a kernel link's kind), so nothing else has to remember it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devnet import procs
from devnet.errors import DevnetError
from devnet.system import cmd, wait_until
from devnet.tunnel.keys import Tunnel

SOCKETS = Path("/var/run/wireguard")  # wireguard-go's control sockets, one per interface


def kernel_link(host, iface: str) -> bool:
    """`iface` is a link of the kernel's WireGuard (ip -d prints its kind, `wireguard`)."""
    out = host.run(cmd("ip", "-d", "-o", "link", "show", "dev", iface), hide=True, warn=True)
    return out.ok and " wireguard " in f" {out.stdout} "


def running(host, t: Tunnel) -> bool:
    return kernel_link(host, t.host_iface) or procs.Pidfile(t.wg_pidfile).alive()


def start(host, t: Tunnel, prefix: list[str]) -> str:
    """Make the interface unless it runs; which implementation carries it."""
    if kernel_link(host, t.host_iface):
        return "kernel WireGuard"
    wg = procs.Pidfile(t.wg_pidfile)
    if wg.alive():
        return "wireguard-go"
    host.run(cmd("ip", "link", "del", t.host_iface), hide=True, warn=True)  # a stale tun
    if host.run(cmd("ip", "link", "add", "dev", t.host_iface, "type", "wireguard"),
                hide=True, warn=True).ok:
        return "kernel WireGuard"
    with open(t.dir / "wireguard-go.log", "ab") as log:
        wg.spawn([*prefix, "wireguard-go", t.host_iface],
                 env=dict(os.environ, WG_PROCESS_FOREGROUND="1"),
                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    sock = SOCKETS / f"{t.host_iface}.sock"
    wait_until(sock.exists, 5, f"wireguard-go's socket {sock}", f"read {t.dir}/wireguard-go.log")
    return "wireguard-go"


def stop(host, t: Tunnel, iface: str) -> list[str]:
    """Stop what carries `iface` and delete the link; the names of what was there."""
    said = []
    if procs.Pidfile(t.wg_pidfile).stop(5):
        said.append(f"wireguard-go {iface}")
    if host.run(cmd("ip", "link", "del", iface), hide=True, warn=True).ok:
        said.append(f"link {iface}")
    if (SOCKETS / f"{iface}.sock").exists():
        raise DevnetError(f"{SOCKETS}/{iface}.sock outlived its wireguard-go",
                          "invoke down   (again)")
    return said
