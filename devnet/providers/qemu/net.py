"""The qemu provider's networks: the sim's `<instance>-host` and `<instance>-up` namespaces,
each with a persistent tap device that QEMU's NIC plugs into.

QEMU runs in this machine's own namespace (so its user-net SSH forward listens on the real
loopback, like VirtualBox's NAT rule and the sim's forward), and gets each tap as an open file
descriptor made inside its namespace: the taps never exist in the real machine's namespace,
and the real machine's routes, addresses and firewall stay untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import struct

from devnet import netns
from devnet.providers.qemu.guest import UPLINK_HOST
from devnet.providers.sim.network import UPSTREAM_DNS
from devnet.system import cmd

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000


def create(p) -> None:
    """Both namespaces and their taps, addressed and up (a tap without QEMU on it keeps its
    address and routes, NO-CARRIER, as a host-only adapter of a powered-off VM does)."""
    for ns in (p.host_ns, p.up_ns):
        if not netns.exists(ns):
            netns.add(p.local, ns)
    ho = p.settings.hostonly
    for ns, tap, addrs in ((p.host_ns, p.link, [ho.host_cidr]),
                           (p.up_ns, p.uplink, [UPLINK_HOST, f"{UPSTREAM_DNS}/32"])):
        if p.local.run(cmd("ip", "-n", ns, "link", "show", tap), hide=True, warn=True).ok:
            continue
        p.local.run(cmd("ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"),
                    hide=True)
        for addr in addrs:
            p.local.run(cmd("ip", "-n", ns, "addr", "add", addr, "dev", tap), hide=True)
        p.local.run(cmd("ip", "-n", ns, "link", "set", tap, "up"), hide=True)


def delete(p) -> list[str]:
    """The namespaces (their taps go with them); which ones were there."""
    return [ns for ns in (p.host_ns, p.up_ns) if netns.delete(p.local, ns)]


@contextlib.contextmanager
def inside(ns: str):
    """This thread in network namespace `ns`, and back in its own afterwards."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join(netns.NETNS_DIR, ns), os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
        try:
            yield
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - cannot happen as root
                raise OSError(ctypes.get_errno(), "setns back failed")
    finally:
        os.close(own)
        os.close(target)


def open_tap(ns: str, tap: str) -> int:
    """An fd attached to tap `tap` in namespace `ns`, inheritable, for QEMU's `tap,fd=N`."""
    with inside(ns):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            ifr = struct.pack("16sH22x", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        except OSError:
            os.close(fd)
            raise
    os.set_inheritable(fd, True)
    return fd
