"""The corporate VPN, end to end: the simulated client breaks reachability and DNS for real;
vpn.fix repairs it, vpn.restore puts the VPN's rule back, net.watch repairs every reconnect
and routes Docker networks as they come and go."""

import re

import docker.types
import pytest

from devnet.host.firewall_rules import IPTABLES_NFT_TABLES
from tests.e2e.machine import dig, echo_container, on_host, tcp_from_host, wait_for

pytestmark = pytest.mark.qemu_proves(
    "the VPN and its repair are the developer machine's: the same for every VM with a "
    "host-only route")

DNS = "172.17.42.1"


@pytest.fixture(scope="module")
def target(docker_client, devnet_up, test_image):
    with echo_container(docker_client, "vpn1") as ip:
        yield ip


def works(provider, ip, timeout=3.0) -> bool:
    """TCP to the container and its name through the host's resolver, both."""
    tcp = tcp_from_host(provider.host_ns, ip, timeout=timeout)
    return tcp.returncode == 0 and dig(provider.host_ns, "vpn1.docker") == [ip]


def host_state(provider) -> dict:
    return {"routes": on_host(provider.host_ns, "ip", "route"),
            "firewall": on_host(provider.host_ns, "iptables-save", "-t", "filter"),
            "nftables": native_nft(provider.host_ns),
            "resolver": on_host(provider.host_ns, "cat", "/etc/resolv.conf")}


def native_nft(ns: str) -> str:
    """The nftables tables iptables does not manage (those are in iptables-save already)."""
    tables = [line.split(" ", 1)[1] for line in on_host(ns, "nft", "list", "tables").splitlines()]
    return "".join(on_host(ns, "nft", "list", "table", *t.split()) for t in tables
                   if t not in IPTABLES_NFT_TABLES)


def strip_counters(state: dict) -> dict:
    state = dict(state)
    state["firewall"] = "\n".join(x for x in state["firewall"].splitlines()
                                  if not x.startswith(("#", ":")))
    state["nftables"] = re.sub(r"counter packets \d+ bytes \d+", "counter", state["nftables"])
    return state


def test_the_vpn_breaks_it_and_vpn_fix_repairs_it(cli, provider, target, settings):
    before = strip_counters(host_state(provider))
    assert works(provider, target)
    connect = cli("vpn.sim.connect").stdout
    assert "firewall chain ciscovpn" in connect
    try:
        broken = tcp_from_host(provider.host_ns, target, timeout=1)
        assert broken.returncode == 1, "the VPN did not break TCP"
        assert dig(provider.host_ns, "vpn1.docker") == []
        assert dig(provider.host_ns, f"@{DNS}", "vpn1.docker") == []
        assert "plan   vpn.fix" in cli("vpn.fix", "--dry-run").stdout
        assert tcp_from_host(provider.host_ns, target, timeout=1).returncode == 1  # dry
        vpn_firewall = strip_counters(host_state(provider))["firewall"]
        fixed = cli("vpn.fix").stdout
        assert "added devnet's exception" in fixed and "before `-j DROP`" in fixed
        assert "route 172.17.0.0/16 via 172.16.0.11 again" in fixed and "resolver" in fixed
        assert works(provider, target)
        now = strip_counters(host_state(provider))["firewall"]
        # the VPN's rules all stay, the deny-all included; devnet's exception sits right
        # before it, marked, and accepts only devnet's networks on the host-only link
        assert [x for x in now.splitlines() if "devnet:" not in x] == vpn_firewall.splitlines()
        mark = f'devnet:{settings.instance}'
        ours = [x for x in now.splitlines() if mark in x]
        assert ours and all(x.startswith("-A ciscovpn ") and provider.hostonly_link() in x
                           for x in ours)
        assert now.splitlines()[now.splitlines().index(ours[-1]) + 1] == "-A ciscovpn -j DROP"
        assert "already done: nothing blocks devnet" in cli("vpn.fix").stdout

        restored = cli("vpn.restore").stdout
        assert "removed devnet's exception" in restored
        assert strip_counters(host_state(provider))["firewall"] == vpn_firewall
        assert tcp_from_host(provider.host_ns, target, timeout=1).returncode == 1
        cli("vpn.fix")
        assert works(provider, target)
    finally:
        cli("vpn.sim.disconnect")
        cli("vpn.restore")  # the VPN's chain is gone: nothing to remove, journal emptied
    assert strip_counters(host_state(provider)) == before


def test_a_vpn_route_inside_a_docker_subnet_is_refused_with_both_sides(cli, provider, target):
    cli("vpn.sim.connect", "--parts", "tunnel")
    try:
        on_host(provider.host_ns, "ip", "route", "add", "172.17.0.0/17", "dev", "cscotun0")
        out = cli("vpn.fix", check=False)
        assert out.returncode == 1
        assert "172.17.0.0/17 dev cscotun0" in out.stderr and "172.17.0.0/16" in out.stderr
        assert "free range, e.g." in out.stderr
    finally:
        cli("vpn.sim.disconnect")
    assert works(provider, target)


def test_a_native_nftables_vpn_table_gets_devnets_exception_then_loses_it(cli, provider,
                                                                          target):
    before = strip_counters(host_state(provider))
    cli("vpn.sim.connect", "--parts", "tunnel,nftables")
    try:
        assert tcp_from_host(provider.host_ns, target, timeout=1).returncode == 1
        vpn_table = strip_counters(host_state(provider))["nftables"]
        fixed = cli("vpn.fix").stdout
        # the trace names the output chain's drop first, then (replies) the input chain's
        assert "before `counter drop` in inet anyconnect output" in fixed
        assert "before `counter drop` in inet anyconnect input" in fixed
        assert works(provider, target)
        listing = on_host(provider.host_ns, "nft", "list", "table", "inet", "anyconnect")
        assert listing.count("drop") == 2  # both chains' deny-all stay
        assert "devnet_trace" not in on_host(provider.host_ns, "nft", "list", "tables")
        assert "removed devnet's exception" in cli("vpn.restore").stdout
        assert strip_counters(host_state(provider))["nftables"] == vpn_table
        assert tcp_from_host(provider.host_ns, target, timeout=1).returncode == 1
        cli("vpn.fix")
        assert works(provider, target)
    finally:
        cli("vpn.sim.disconnect")
        cli("vpn.restore")
    assert strip_counters(host_state(provider)) == before


@pytest.fixture(scope="module")
def watching(cli, devnet_up):
    assert "net.watch started" in cli("net.watch", "--background").stdout
    assert "already done: net.watch runs" in cli("net.watch", "--background").stdout
    yield
    assert "stopped net.watch" in cli("net.watch", "--stop").stdout


def test_net_watch_repairs_five_reconnects(cli, provider, target, watching):
    for _ in range(5):
        cli("vpn.sim.connect")
        try:
            wait_for(lambda: works(provider, target, timeout=0.3), timeout=2.0)
        finally:
            cli("vpn.sim.disconnect")
        assert works(provider, target)


def test_net_watch_routes_docker_networks(provider, docker_client, target, watching):
    pool = docker.types.IPAMPool(subnet="172.30.0.0/16")
    net = docker_client.networks.create("e2enet", driver="bridge",
                                        ipam=docker.types.IPAMConfig(pool_configs=[pool]))
    try:
        c = docker_client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server",
                                         name="net1", hostname="net1", network="e2enet",
                                         detach=True)
        try:
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"]["e2enet"]["IPAddress"]
            wait_for(lambda: tcp_from_host(provider.host_ns, ip, timeout=0.3).stdout ==
                     "hello from net1\nping\n", timeout=5)
        finally:
            c.remove(force=True)
    finally:
        net.remove()
    wait_for(lambda: "172.30.0.0/16" not in on_host(provider.host_ns, "ip", "route"), 5)
