"""`invoke down` puts the machine back exactly as it was before `invoke up` (last module)."""

from tests.e2e.machine import snapshot


def test_down_leaves_nothing_behind(cli, before, marks, settings, devnet_up):
    out = cli("down")
    for step in ("net.route", "vm.forward", "vm.hostonly", "vm.up", "vm.init"):
        assert f"undone {step}" in out.stdout, out.stdout
    after = snapshot(marks)
    for key in before:  # one assert per kind, so a failure names it
        assert after[key] == before[key], key
    assert not settings.state_dir.exists()


def test_down_again_has_nothing_to_do(cli, devnet_up):
    out = cli("down")
    assert "already done: the journal is empty" in out.stdout
