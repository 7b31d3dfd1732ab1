"""The host's WireGuard interface: the kernel's where it has WireGuard (Linux 5.6 and later,
as most distributions ship it: no process to keep, the fastest), else wireguard-go: Debian's
on a tun device (this machine's kernel has none), on macOS a utun whose number the system
picks (wireguard-go writes it to the `.name` file wg-quick's darwin.bash reads, and every
command then names that utun). Which one a running tunnel uses is read off the machine, so
nothing else has to remember it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devnet import procs
from devnet.errors import DevnetError
from devnet.system import cmd, wait_until
from devnet.tunnel.keys import Tunnel

SOCKETS = Path("/var/run/wireguard")  # wireguard-go's control sockets, one per interface
DARWIN = sys.platform == "darwin"


def _name_file(t: Tunnel) -> Path:
    return SOCKETS / f"{t.host_iface}.name"


def iface(t: Tunnel) -> str:
    """The link's name in commands (wg, ifconfig, routes): macOS's utunN, else its own."""
    if not DARWIN:
        return t.host_iface
    try:
        return _name_file(t).read_text().strip() or t.host_iface
    except OSError:
        return t.host_iface


def kernel_link(host, name: str) -> bool:
    """`name` is a link of the kernel's WireGuard (`ip -d` prints its kind, `wireguard`)."""
    if DARWIN:
        return False
    out = host.run(cmd("ip", "-d", "-o", "link", "show", "dev", name), hide=True, warn=True)
    return out.ok and "wireguard" in out.stdout.split()


def running(host, t: Tunnel) -> bool:
    return kernel_link(host, t.host_iface) or procs.Pidfile(t.wg_pidfile).alive()


def start(host, t: Tunnel, prefix: list[str]) -> str:
    """Make the interface unless it runs; which implementation carries it."""
    if kernel_link(host, t.host_iface):
        return "kernel WireGuard"
    wg = procs.Pidfile(t.wg_pidfile)
    if wg.alive():
        return "wireguard-go"
    env = dict(os.environ, WG_PROCESS_FOREGROUND="1")
    if DARWIN:
        _name_file(t).unlink(missing_ok=True)
        env["WG_TUN_NAME_FILE"] = str(_name_file(t))
        argv = ["wireguard-go", "utun"]
    else:
        host.run(cmd("ip", "link", "del", t.host_iface), hide=True, warn=True)  # a stale tun
        if host.run(cmd("ip", "link", "add", "dev", t.host_iface, "type", "wireguard"),
                    hide=True, warn=True).ok:
            return "kernel WireGuard"
        argv = ["wireguard-go", t.host_iface]
    SOCKETS.mkdir(parents=True, exist_ok=True)
    with open(t.dir / "wireguard-go.log", "ab") as log:
        wg.spawn([*prefix, *argv], env=env, stdout=log, stderr=subprocess.STDOUT,
                 start_new_session=True)
    if DARWIN:
        wait_until(_name_file(t).exists, 5, f"wireguard-go's utun name in {_name_file(t)}",
                   f"read {t.dir}/wireguard-go.log")
    sock = SOCKETS / f"{iface(t)}.sock"
    wait_until(sock.exists, 5, f"wireguard-go's socket {sock}", f"read {t.dir}/wireguard-go.log")
    return f"wireguard-go ({iface(t)})" if DARWIN else "wireguard-go"


def stop(host, t: Tunnel, name: str) -> list[str]:
    """Stop what carries the link and delete it; the names of what was there. `name` is the
    tunnel's own name (the journal's); on macOS its utun goes with wireguard-go."""
    said, link = [], iface(t)
    if procs.Pidfile(t.wg_pidfile).stop(5):
        said.append(f"wireguard-go {link}")
    if DARWIN:
        _name_file(t).unlink(missing_ok=True)
    elif host.run(cmd("ip", "link", "del", name), hide=True, warn=True).ok:
        said.append(f"link {name}")
    if (SOCKETS / f"{link}.sock").exists():
        raise DevnetError(f"{SOCKETS}/{link}.sock outlived its wireguard-go",
                          "invoke down   (again)")
    return said
