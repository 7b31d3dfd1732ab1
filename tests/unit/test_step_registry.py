"""The step registry: every step registers itself by being defined, `up`'s order and `down`'s
undo table come from it, and a journal entry of a step nobody knows stops `down` cleanly."""

import ast
import dataclasses
from pathlib import Path

import pytest

from devnet import steps, workflow
from devnet.core import Devnet
from devnet.errors import DevnetError

STEPS_DIR = Path(steps.__file__).parent


def test_up_runs_the_walk_through_in_its_order():
    assert [S.name for S in workflow.UP] == [
        "vm.init", "vm.up", "tunnel.helper", "tunnel.link", "vm.hostonly", "vm.forward",
        "net.route", "docker.configure", "dns.start", "tunnel.dns", "dns.resolver"]


def test_net_watch_runs_last_and_only_where_the_setting_is_on(settings):
    assert [S.name for S in steps.up_steps(settings)][-1] == "net.watch"  # watch: on by default
    off = dataclasses.replace(settings, watch=False)
    assert [S.name for S in steps.up_steps(off)] == [S.name for S in workflow.UP]


def test_every_step_class_in_the_package_is_registered():
    """Read from the source, not from the registry: a class that failed to register shows."""
    defined = set()
    for path in STEPS_DIR.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", None) == "Step" for b in node.bases):
                defined.add(node.name)
    assert defined and {S.__name__ for S in steps.REGISTRY.values()} == defined


def test_down_can_undo_every_registered_step(settings):
    dn = Devnet(settings, echo=lambda _: None)
    assert set(steps.undoers(dn)) == set(steps.REGISTRY) >= {
        "vm.init", "net.route", "dns.resolver", "vpn.fix", "net.watch", "net.network"}


def test_two_steps_with_one_name_are_refused():
    with pytest.raises(TypeError, match="two steps named 'vm.init'"):
        type("AnotherInit", (steps.Step,), {"name": "vm.init"})
    assert steps.REGISTRY["vm.init"].__name__ == "VmInit"


def test_a_journal_entry_of_an_unknown_step_is_a_clear_error_and_nothing_is_undone(settings):
    dn = Devnet(settings, echo=lambda _: None)
    dn.journal.record("net.route", dst="172.17.0.0/16", via="172.16.0.11")
    dn.journal.record("vm.teleport", where="mars")
    with pytest.raises(DevnetError, match="vm.teleport"):
        steps.undo(dn, steps.undoers(dn), echo=lambda _: None)
    assert [e["step"] for e in dn.journal.entries()] == ["net.route", "vm.teleport"]


@pytest.mark.parametrize(("provider", "tunnel"), [("sim", []), (
    "sim-desktop", ["tunnel.helper", "tunnel.link", "tunnel.dns"])])
def test_status_lists_the_steps_of_the_providers_reach_only(settings, provider, tunnel):
    """A route provider's status has no tunnel pieces; a tunnel provider's has all three
    (the VM is not running here: each step is listed, none asked)."""
    dn = Devnet(dataclasses.replace(settings, provider=provider), echo=lambda _: None)
    listed = [p.name for p in workflow.status(dn)][len(dn.provider.status()):]
    assert [name for name in listed if name.startswith("tunnel.")] == tunnel
    assert listed[-1] == "dns.resolver" and "vm.up" not in listed
    assert [S.name for S in steps.up_steps(reach=dn.provider.reach())][2:] == listed
