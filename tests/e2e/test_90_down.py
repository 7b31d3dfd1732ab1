"""`invoke down` puts the machine back exactly as it was before `invoke up` (last module)."""

from tests.e2e.machine import assert_same, snapshot, tunnel_reach

ROUTE_UNDO = ("net.route", "vm.forward", "vm.hostonly", "vm.up", "vm.init")
TUNNEL_UNDO = ("dns.resolver", "tunnel.dns", "net.route", "tunnel.link", "tunnel.helper",
               "vm.up", "vm.init")


def test_down_leaves_nothing_behind(cli, before, marks, settings, provider, devnet_up):
    out = cli("down")
    for step in (TUNNEL_UNDO if tunnel_reach(provider) else ROUTE_UNDO):
        assert f"undone {step}" in out.stdout, out.stdout
    after = snapshot(marks)
    assert_same(before, after)
    assert not settings.state_dir.exists()


def test_down_again_has_nothing_to_do(cli, devnet_up):
    out = cli("down")
    assert "already done: the journal is empty" in out.stdout
