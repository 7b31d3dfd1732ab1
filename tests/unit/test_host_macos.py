import pytest

from devnet import config
from devnet.errors import ConfigError
from devnet.host import linux, macos
from devnet.net import check_overlaps
from tests.unit.conftest import fixture_text


def test_netstat_destinations_expand_the_classful_way():
    routes = {r["dst"]: r for r in macos.parse_netstat_nr(fixture_text("netstat-nr-vpn.txt"))}
    assert routes["172.17.0.0/16"] == {"dst": "172.17.0.0/16", "gateway": "172.16.0.11",
                                       "dev": "vboxnet0", "flags": "UGSc"}
    assert routes["172.16.0.0/12"]["dev"] == "utun1"
    assert routes["127.0.0.0/8"]["dev"] == "lo0" and "default" in routes
    assert "172.16.0.0/16" in routes and "gateway" not in routes["172.16.0.0/16"]  # link#14
    assert not any(":" in r for r in routes)  # the IPv6 table is not read


def test_route_get_names_gateway_and_interface():
    got = macos.parse_route_get(fixture_text("route-get-172.17.0.8.txt"))
    assert got == {"dev": "vboxnet0", "gateway": "172.16.0.11", "dst": "172.17.0.0/16"}


def test_the_overlap_check_reads_macos_routes_too():
    table = macos.parse_netstat_nr(fixture_text("netstat-nr-vpn.txt"))
    with pytest.raises(ConfigError, match="172.16.0.0/12 via 10.8.0.1 dev utun1"):
        check_overlaps(config.load({}), table)
    assert [linux.describe(r) for r in linux.conflicts(table, "10.8.5.0/24")] == \
        ["10.8.0.0/16 via 10.8.0.1 dev utun1"]


def test_macos_route_commands_through_mockcontext():
    from invoke import MockContext, Result

    table = fixture_text("netstat-nr-vpn.txt")
    c = MockContext(run={
        "netstat -nr -f inet": Result(table),
        "route -n add -net 172.18.0.0/16 172.16.0.11": Result(""),
        "route -n delete -net 172.17.0.0/16 172.16.0.11": Result(""),
        "route -n get 172.17.0.8": Result(fixture_text("route-get-172.17.0.8.txt")),
    })
    assert macos.route_to(c, "172.17.0.0/16")["gateway"] == "172.16.0.11"
    macos.add_route(c, "172.18.0.0/16", "172.16.0.11")
    assert macos.delete_route(c, "172.17.0.0/16", "172.16.0.11") is True
    assert macos.delete_route(c, "172.16.0.0/12", "172.16.0.11") is False  # the VPN's: kept
    assert macos.route_get(c, "172.17.0.8")["gateway"] == "172.16.0.11"


def test_the_os_picks_the_route_module():
    from invoke import MockContext, Result

    from devnet.host import routes_module

    assert routes_module(MockContext(run={"uname -s": Result("Darwin\n")})) is macos
    assert routes_module(MockContext(run={"uname -s": Result("Linux\n")})) is linux
