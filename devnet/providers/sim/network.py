"""The sim's networks: its three namespaces, the host-only link, the VM's NAT link to the
stand-in for the outside world, and what a reboot does to the VM's network."""

from __future__ import annotations

import json

from devnet import netns
from devnet.system import cmd

UPSTREAM_DNS = "192.0.2.53"  # TEST-NET-1: never a real server
TEST_ZONE, TEST_ZONE_ADDRESS = "example.test", "192.0.2.10"
UPLINK, UPLINK_HOST, UPLINK_UP = "uplink0", "198.51.100.15/24", "198.51.100.1/24"  # host's own


def create(p) -> None:
    """Namespaces, then the NAT link, then the host-only link (host side configured, VM side
    left without an address, as `boot2docker init --dhcp=false` leaves it)."""
    for ns in (p.host_ns, p.vm_ns, p.up_ns):
        if not netns.exists(ns):
            netns.add(p.local, ns)
    create_nat_link(p)
    create_host_uplink(p)
    ho, host = p.settings.hostonly, p.host()
    if host.run(cmd("ip", "link", "show", p.link), hide=True, warn=True).failed:
        p.local.run(cmd("ip", "link", "add", p.link, "netns", p.host_ns, "type", "veth",
                        "peer", "name", ho.vm_iface, "netns", p.vm_ns), hide=True)
        host.run(cmd("ip", "addr", "add", ho.host_cidr, "dev", p.link), hide=True)
        host.run(cmd("ip", "link", "set", p.link, "up"), hide=True)


def delete(p) -> list[str]:
    """Every namespace of the sim (their links go with them); which ones were there."""
    return [ns for ns in (p.vm_ns, p.host_ns, p.up_ns) if netns.delete(p.local, ns)]


def create_nat_link(p) -> None:
    """The VM's NAT adapter: eth0 10.0.2.15/24 to a stand-in for the outside world that
    holds only an upstream DNS server (no default route anywhere)."""
    vm, up = netns.NetnsContext(p.vm_ns), netns.NetnsContext(p.up_ns)
    if vm.run("ip link show eth0", hide=True, warn=True).ok:
        return
    p.local.run(cmd("ip", "link", "add", "eth0", "netns", p.vm_ns, "type", "veth",
                       "peer", "name", "eth0", "netns", p.up_ns), hide=True)
    for c, addrs in ((vm, ["10.0.2.15/24"]), (up, ["10.0.2.2/24", f"{UPSTREAM_DNS}/32"])):
        for addr in addrs:
            c.run(cmd("ip", "addr", "add", addr, "dev", "eth0"), hide=True)
        c.run("ip link set eth0 up", hide=True)
    vm.run(cmd("ip", "route", "add", "192.0.2.0/24", "via", "10.0.2.2"), hide=True)


def create_host_uplink(p) -> None:
    """The developer machine's own way to its DNS server, as a laptop's LAN or ISP gives it:
    a link to the stand-in for the outside world (198.51.100.0/24, TEST-NET-2) and a route to
    the upstream's address only. Without it the host's own resolv.conf server answers nothing,
    and "without devnet" could not be measured or tested."""
    host, up = netns.NetnsContext(p.host_ns), netns.NetnsContext(p.up_ns)
    if host.run(cmd("ip", "link", "show", UPLINK), hide=True, warn=True).ok:
        return
    p.local.run(cmd("ip", "link", "add", UPLINK, "netns", p.host_ns, "type", "veth",
                    "peer", "name", UPLINK, "netns", p.up_ns), hide=True)
    for c, addr in ((host, UPLINK_HOST), (up, UPLINK_UP)):
        c.run(cmd("ip", "addr", "add", addr, "dev", UPLINK), hide=True)
        c.run(cmd("ip", "link", "set", UPLINK, "up"), hide=True)
    host.run(cmd("ip", "route", "add", f"{UPSTREAM_DNS}/32", "via",
                 UPLINK_UP.split("/")[0]), hide=True)


def reset_vm_network(p) -> None:
    """What a reboot does to a real VM's network: no address, no rules, no bridges.

    The sim keeps the VM's namespace across power cycles (its eth1 is the host-only
    adapter, whose host side must stay), so the power-off clears it by hand.
    """
    vm = netns.NetnsContext(p.vm_ns)
    iface = p.settings.hostonly.vm_iface
    vm.run(cmd("ip", "addr", "flush", "dev", iface), hide=True, warn=True)
    vm.run(cmd("ip", "link", "set", iface, "down"), hide=True, warn=True)
    for link in json.loads(vm.run("ip -j link show", hide=True).stdout or "[]"):
        if link["ifname"] not in ("lo", iface, "eth0"):  # eth0: NAT, set up by "DHCP"
            vm.run(cmd("ip", "link", "delete", link["ifname"]), hide=True, warn=True)
    for table in ("filter", "nat", "mangle", "raw"):
        vm.run(cmd("iptables", "-w", "-t", table, "-F"), hide=True, warn=True)
        vm.run(cmd("iptables", "-w", "-t", table, "-X"), hide=True, warn=True)
    vm.run("iptables -w -P FORWARD ACCEPT", hide=True, warn=True)
    vm.run("sysctl -qw net.ipv4.ip_forward=0", hide=True, warn=True)
