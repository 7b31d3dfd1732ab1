import pytest
from invoke import MockContext, Result

from devnet import config
from devnet.errors import ConfigError
from devnet.host import linux, macos, os_adapter
from devnet.steps.net import check_overlaps
from tests.unit.conftest import fixture_text

IFACES = "lo0 gif0 stf0 anpi0 en0 en1 ap1 awdl0 llw0 bridge0 utun0 utun1 utun3 vboxnet0\n"


def mac(name: str) -> str:
    return fixture_text(f"macos/{name}")


def host(uid=0, **commands) -> MockContext:
    """The developer's Mac: root (uid 0) or a person (501, sudo for what needs it)."""
    return MockContext(run={"id -u": Result(f"{uid}\n"), "ifconfig -l": Result(IFACES),
                            "netstat -nr -f inet": Result(mac("netstat-nr-vpn.txt")),
                            **commands})


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


# -- parsers ---------------------------------------------------------------------------------

def test_netstat_destinations_expand_the_classful_way():
    routes = {r["dst"]: r for r in macos.parse_netstat_nr(mac("netstat-nr-vpn.txt"))}
    assert routes["172.17.0.0/16"] == {"dst": "172.17.0.0/16", "gateway": "172.16.0.11",
                                       "dev": "vboxnet0", "flags": "UGSc"}
    assert routes["172.16.0.0/12"]["dev"] == "utun1"
    assert routes["127.0.0.0/8"]["dev"] == "lo0" and "default" in routes
    assert "172.16.0.0/16" in routes and "gateway" not in routes["172.16.0.0/16"]  # link#14
    assert not any(":" in r for r in routes)  # the IPv6 table is not read


def test_netstat_with_a_full_tunnel_vpn_and_arp_entries():
    table = macos.parse_netstat_nr(mac("netstat-nr-anyconnect.txt"))
    dsts = [r["dst"] for r in table]
    assert dsts[:3] == ["0.0.0.0/1", "default", "10.8.0.0/16"]
    assert "128.0.0.0/1" in dsts and "224.0.0.0/4" in dsts
    by_dst = {r["dst"]: r for r in table}
    assert by_dst["172.17.0.0/16"]["gateway"] == "172.16.0.11"
    assert by_dst["172.16.0.0/16"] == {"dst": "172.16.0.0/16", "dev": "vboxnet0", "flags": "UC"}
    # the neighbour cache (the VM's MAC, broadcast) and on-link host routes are no routes
    assert not {"172.16.0.11/32", "172.16.255.255/32", "192.168.1.1/32", "192.168.1.23/32",
                "224.0.0.251/32"} & set(by_dst)
    assert by_dst["198.51.100.20/32"] == {"dst": "198.51.100.20/32", "gateway": "192.168.1.1",
                                          "dev": "en0", "flags": "UGHS"}
    # The full tunnel's two halves are a default route, not an overlap with devnet's subnets.
    check_overlaps(config.load({}), table)


def test_old_netstat_with_refs_and_use_columns_cut_interface_names():
    table = macos.parse_netstat_nr(mac("netstat-nr-10.9.txt"))
    by_dst = {r["dst"]: r for r in table}
    # The walk-through's own line: `172.17  172.16.0.11  UGSc  0  0 vboxnet`
    assert by_dst["172.17.0.0/16"] == {"dst": "172.17.0.0/16", "gateway": "172.16.0.11",
                                       "dev": "vboxnet", "flags": "UGSc"}
    assert by_dst["192.168.1.42/32"]["dev"] == "lo0"
    assert "172.16.0.11/32" not in by_dst  # ARP: the VM's MAC, not a route
    c = host(**{"netstat -nr -f inet": Result(mac("netstat-nr-10.9.txt"))})
    assert macos.route_to(c, "172.17.0.0/16")["dev"] == "vboxnet0"  # ifconfig -l knows it


def test_route_get_names_gateway_and_interface():
    got = macos.parse_route_get(mac("route-get-172.17.0.8.txt"))
    assert got == {"dev": "vboxnet0", "gateway": "172.16.0.11", "dst": "172.17.0.0/16"}


def test_route_get_default_host_and_vpn_routes():
    assert macos.parse_route_get(mac("route-get-default.txt")) == {
        "dev": "en0", "gateway": "192.168.1.1", "dst": "default"}
    assert macos.parse_route_get(mac("route-get-172.16.0.11.txt")) == {
        "dev": "vboxnet0", "dst": "172.16.0.11/32"}  # a host route: no mask, no gateway
    assert macos.parse_route_get(mac("route-get-172.17.0.8-vpn.txt")) == {
        "dev": "utun3", "gateway": "10.8.0.1", "dst": "172.16.0.0/12"}


def test_scutil_dns_lists_the_resolvers_not_their_scoped_copies():
    found = macos.parse_scutil_dns(mac("scutil-dns-vpn.txt"))
    assert len(found) == 9
    assert found[0] == {"domain": None, "nameservers": ["192.168.1.1"], "port": 53,
                        "search": ["home.arpa"], "interface": "en0"}
    assert found[1] == {"domain": "corp.example", "nameservers": ["10.8.0.53", "10.8.0.54"],
                        "port": 53, "search": [], "interface": "utun3"}
    assert found[-1] == {"domain": "docker", "nameservers": ["172.17.42.1"], "port": 53,
                         "search": [], "interface": None}
    assert [r["domain"] for r in found[2:4]] == ["local", "254.169.in-addr.arpa"]
    assert found[2]["nameservers"] == []  # mdns: no server


def test_the_overlap_check_reads_macos_routes_too():
    table = macos.parse_netstat_nr(mac("netstat-nr-vpn.txt"))
    with pytest.raises(ConfigError, match="172.16.0.0/12 via 10.8.0.1 dev utun1"):
        check_overlaps(config.load({}), table)
    assert [linux.describe(r) for r in linux.conflicts(table, "10.8.5.0/24")] == \
        ["10.8.0.0/16 via 10.8.0.1 dev utun1"]


# -- commands, as root and through sudo ------------------------------------------------------

@pytest.mark.parametrize("uid, sudo", [(0, ""), (501, "sudo ")])
def test_route_commands(uid, sudo):
    c = host(uid, **{
        f"{sudo}route -n add -net 172.18.0.0/16 172.16.0.11": Result(""),
        f"{sudo}route -n delete -net 172.17.0.0/16 172.16.0.11": Result(""),
        "route -n get 172.17.0.8": Result(mac("route-get-172.17.0.8.txt")),
    })
    assert macos.route_to(c, "172.17.0.0/16")["gateway"] == "172.16.0.11"
    macos.add_route(c, "172.18.0.0/16", "172.16.0.11")
    assert macos.delete_route(c, "172.17.0.0/16", "172.16.0.11") is True
    assert macos.delete_route(c, "172.16.0.0/12", "172.16.0.11") is False  # the VPN's: kept
    assert macos.route_get(c, "172.17.0.8")["gateway"] == "172.16.0.11"
    # reading needs no sudo; `id -u` is asked once for this Context
    assert ran(c).count("id -u") == 1
    assert [cmd for cmd in ran(c) if cmd.startswith("sudo")] == (
        [] if uid == 0 else ["sudo route -n add -net 172.18.0.0/16 172.16.0.11",
                             "sudo route -n delete -net 172.17.0.0/16 172.16.0.11"])


@pytest.mark.parametrize("uid, sudo", [(0, ""), (501, "sudo ")])
def test_replace_route_changes_it_or_adds_it(uid, sudo):
    c = host(uid, **{
        f"{sudo}route -n change -net 172.17.0.0/16 172.16.0.11": Result(""),
        f"{sudo}route -n change -net 172.16.0.0/16 -interface vboxnet0": Result(
            "", stderr="route: writing to routing socket: not in table\n", exited=1),
        f"{sudo}route -n add -net 172.16.0.0/16 -interface vboxnet0": Result(""),
    })
    assert macos.replace_route(c, "172.17.0.0/16", via="172.16.0.11").ok
    assert macos.replace_route(c, "172.16.0.0/16", dev="vboxnet0", src="172.16.0.1").ok
    assert ran(c)[1:] == [f"{sudo}route -n change -net 172.17.0.0/16 172.16.0.11",
                          f"{sudo}route -n change -net 172.16.0.0/16 -interface vboxnet0",
                          f"{sudo}route -n add -net 172.16.0.0/16 -interface vboxnet0"]


@pytest.mark.parametrize("uid, sudo", [(0, ""), (501, "sudo ")])
def test_flush_dns_and_resolvers(uid, sudo):
    c = host(uid, **{"dscacheutil -flushcache": Result(""),
                     f"{sudo}killall -HUP mDNSResponder": Result(""),
                     "scutil --dns": Result(mac("scutil-dns-vpn.txt"))})
    macos.flush_dns(c)
    assert ran(c) == ["dscacheutil -flushcache", "id -u", f"{sudo}killall -HUP mDNSResponder"]
    assert macos.resolvers(c)[-1]["domain"] == "docker"
    assert "sudo scutil --dns" not in ran(c)
    assert macos.resolver_method(c) == "resolverdir"


def test_the_watch_wakes_on_route_monitor():
    assert macos.monitor_argv() == ["route", "-n", "monitor"]
    assert linux.monitor_argv() == ["ip", "monitor", "route", "link", "address"]


def test_the_os_picks_the_route_module():
    assert os_adapter(MockContext(run={"uname -s": Result("Darwin\n")})) is macos
    assert os_adapter(MockContext(run={"uname -s": Result("Linux\n")})) is linux


def test_both_adapters_offer_the_same_functions():
    names = ["routes", "route_to", "add_route", "delete_route", "replace_route", "route_get",
             "monitor_argv", "resolver_method", "resolvers", "flush_dns", "firewall_problems",
             "add_exception", "remove_exception", "describe_exception", "conflicts", "describe",
             "destination"]
    for module in (linux, macos):
        assert all(callable(getattr(module, n, None)) for n in names), module.__name__
