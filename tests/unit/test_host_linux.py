import json

import pytest
from invoke import MockContext, Result

from devnet.errors import DevnetError
from devnet.host import linux
from devnet.host.sudo import as_root, is_root
from tests.unit.conftest import fixture_text

ROUTES = "ip -j route show table main"
STUB = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n"


def ctx(uid=0, **extra):
    return MockContext(run={"id -u": Result(f"{uid}\n"),
                            ROUTES: Result(fixture_text("ip-route-devnet.json")), **extra})


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


def test_routes_parses_real_ip_json():
    table = linux.routes(ctx())
    assert [r["dst"] for r in table] == ["172.16.0.0/16", "172.17.0.0/16"]


def test_route_to_finds_the_exact_prefix_only():
    c = ctx()
    assert linux.route_to(c, "172.17.0.0/16")["gateway"] == "172.16.0.11"
    assert linux.route_to(c, "172.17.0.0/24") is None


@pytest.mark.parametrize("uid, sudo", [(0, ""), (1000, "sudo ")])
def test_add_route_builds_the_ip_command(uid, sudo):
    c = ctx(uid, **{f"{sudo}ip route add 172.17.0.0/16 via 172.16.0.11": Result("")})
    linux.add_route(c, "172.17.0.0/16", "172.16.0.11")
    assert ran(c) == ["id -u", f"{sudo}ip route add 172.17.0.0/16 via 172.16.0.11"]


@pytest.mark.parametrize("uid, sudo", [(0, ""), (1000, "sudo ")])
def test_delete_route_only_when_the_gateway_is_ours(uid, sudo):
    c = ctx(uid, **{f"{sudo}ip route del 172.17.0.0/16 via 172.16.0.11": Result("")})
    assert linux.delete_route(c, "172.17.0.0/16", "172.16.0.11") is True
    assert ROUTES in ran(c) and f"sudo {ROUTES}" not in ran(c)  # reading needs no sudo
    # A route to the same prefix through another gateway is someone else's: left alone.
    assert linux.delete_route(ctx(), "172.17.0.0/16", "10.8.0.1") is False


@pytest.mark.parametrize("uid, sudo", [(0, ""), (1000, "sudo ")])
def test_replace_route_points_a_subnet_or_the_link_route_back(uid, sudo):
    c = ctx(uid, **{
        f"{sudo}ip route replace 172.17.0.0/16 via 172.16.0.11": Result(""),
        f"{sudo}ip route replace 172.16.0.0/16 dev dn1-ho0 proto kernel scope link src "
        "172.16.0.1": Result(""),
        f"{sudo}ip route replace 172.16.0.0/12 via 10.8.0.1 dev tun0": Result(""),
    })
    linux.replace_route(c, "172.17.0.0/16", via="172.16.0.11")
    linux.replace_route(c, "172.16.0.0/16", dev="dn1-ho0", src="172.16.0.1")
    assert linux.replace_route(c, "172.16.0.0/12", via="10.8.0.1", dev="tun0", warn=True).ok
    assert ran(c).count("id -u") == 1  # asked once per Context


def test_sudo_is_decided_once_per_context():
    root, person = MockContext(run={"id -u": Result("0\n")}), MockContext(
        run={"id -u": Result("1000\n")})
    assert is_root(root) and is_root(root) and not is_root(person)
    assert as_root(root, "ip route add x") == "ip route add x"
    assert as_root(person, "ip route add x") == "sudo ip route add x"
    assert ran(root) == ["id -u"]
    failing = MockContext(run={"id -u": Result("", exited=127)})
    assert not is_root(failing)  # unknown: sudo, which says itself what is wrong


@pytest.mark.parametrize("uid, sudo", [(0, ""), (1000, "sudo ")])
def test_resolved_hosts_flush_their_cache(uid, sudo):
    c = ctx(uid, **{"cat /etc/resolv.conf": Result(STUB), "resolvectl status": Result("Global\n"),
                    f"{sudo}resolvectl flush-caches": Result("")})
    assert linux.resolver_method(c) == "resolved"
    linux.flush_dns(c)
    assert ran(c)[-1] == f"{sudo}resolvectl flush-caches"
    assert linux.resolvers(c) == [{"domain": None, "nameservers": ["127.0.0.53"], "port": 53}]


def test_plain_resolv_conf_has_no_cache_to_flush():
    conf = "nameserver 172.17.42.1\nnameserver 10.0.0.138\n"
    c = ctx(**{"cat /etc/resolv.conf": Result(conf)})
    assert linux.resolver_method(c) == "resolvconf"
    linux.flush_dns(c)
    assert ran(c) == ["cat /etc/resolv.conf"] * 2  # no resolvectl asked, nothing flushed
    assert linux.resolvers(c)[0]["nameservers"] == ["172.17.42.1", "10.0.0.138"]


def test_a_full_tunnels_halves_are_no_conflict():
    table = [{"dst": "0.0.0.0/1", "gateway": "10.8.0.1", "dev": "tun0"},
             {"dst": "128.0.0.0/1", "gateway": "10.8.0.1", "dev": "tun0"}]
    assert linux.conflicts(table, "172.17.0.0/16") == []


def test_conflicts_ignore_default_and_allowed_routes():
    table = json.loads(fixture_text("ip-route-vpn.json"))
    found = [linux.describe(r) for r in linux.conflicts(table, "172.17.0.0/16")]
    assert found == ["172.16.0.0/12 via 10.8.0.1 dev tun0", "172.17.0.0/16 via 172.16.0.11 dev ho0"]
    assert linux.conflicts(table, "172.16.0.0/16", allowed=["172.16.0.0/16", "172.16.0.0/12"]) == []
    assert linux.conflicts(table, "192.168.50.0/24")[0]["dst"] == "192.168.50.7"


def test_route_get_reports_the_chosen_gateway():
    got = Result(fixture_text("ip-route-get-vpn.json"))
    c = MockContext(run={"ip -j route get 172.17.0.1": got})
    assert linux.route_get(c, "172.17.0.1")["gateway"] == "172.16.0.11"


def test_a_failing_ip_command_is_a_devnet_error():
    c = MockContext(run={ROUTES: Result("", stderr="Cannot open network namespace", exited=1)})
    with pytest.raises(DevnetError, match="Cannot open network namespace"):
        linux.routes(c)
