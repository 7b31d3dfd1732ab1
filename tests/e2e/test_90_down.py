"""`invoke down` puts the machine back exactly as it was before `invoke up` (last module)."""

from tests.e2e.machine import assert_same, snapshot

# vagrant: vm.up's halt and vm.init's `vagrant destroy`; the steps that the Vagrantfile's
# provisioning did in the VM go with it
UNDONE = {"vagrant": ("net.route", "vm.up", "vm.init")}


def test_down_leaves_nothing_behind(cli, before, marks, settings, devnet_up):
    out = cli("down")
    for step in UNDONE.get(settings.provider, ("net.route", "vm.forward", "vm.hostonly",
                                                "vm.up", "vm.init")):
        assert f"undone {step}" in out.stdout, out.stdout
    after = snapshot(marks)
    assert_same(before, after)
    assert not settings.state_dir.exists(), sorted(p.name for p in settings.state_dir.iterdir())


def test_down_again_has_nothing_to_do(cli, devnet_up):
    out = cli("down")
    assert "already done: the journal is empty" in out.stdout
