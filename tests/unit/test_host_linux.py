import json

from invoke import MockContext, Result

from devnet.host import linux
from tests.unit.conftest import fixture_text

ROUTES = "ip -j route show table main"


def ctx(**extra):
    return MockContext(run={ROUTES: Result(fixture_text("ip-route-devnet.json")), **extra})


def test_routes_parses_real_ip_json():
    table = linux.routes(ctx())
    assert [r["dst"] for r in table] == ["172.16.0.0/16", "172.17.0.0/16"]


def test_route_to_finds_the_exact_prefix_only():
    c = ctx()
    assert linux.route_to(c, "172.17.0.0/16")["gateway"] == "172.16.0.11"
    assert linux.route_to(c, "172.17.0.0/24") is None


def test_add_route_builds_the_ip_command():
    c = MockContext(run={"ip route add 172.17.0.0/16 via 172.16.0.11": Result("")})
    linux.add_route(c, "172.17.0.0/16", "172.16.0.11")


def test_delete_route_only_when_the_gateway_is_ours():
    c = ctx(**{"ip route del 172.17.0.0/16 via 172.16.0.11": Result("")})
    assert linux.delete_route(c, "172.17.0.0/16", "172.16.0.11") is True
    # A route to the same prefix through another gateway is someone else's: left alone.
    assert linux.delete_route(ctx(), "172.17.0.0/16", "10.8.0.1") is False


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
    import pytest

    from devnet.errors import DevnetError

    c = MockContext(run={ROUTES: Result("", stderr="Cannot open network namespace", exited=1)})
    with pytest.raises(DevnetError, match="Cannot open network namespace"):
        linux.routes(c)
