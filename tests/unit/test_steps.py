from types import SimpleNamespace

import pytest

from devnet import steps
from devnet.errors import DevnetError
from devnet.journal import Journal


class Fake(steps.Step):
    """A step over a dict standing in for machine state."""

    def __init__(self, dn, name, key, broken=False):
        super().__init__(dn)
        self.name, self.key, self.broken = name, key, broken

    def check(self):
        return f"{self.key} is set" if self.dn.state.get(self.key) else None

    def plan(self):
        return [f"set {self.key}"]

    def apply(self):
        self.dn.journal.record(self.name, key=self.key)
        if not self.broken:
            self.dn.state[self.key] = True
        return f"set {self.key}"

    def verify(self):
        if not self.dn.state.get(self.key):
            raise DevnetError(f"{self.key} did not stick")

    def undo(self, args):
        self.dn.state.pop(args["key"], None)
        self.dn.undone.append(args["key"])
        return f"unset {args['key']}"


@pytest.fixture
def dn(tmp_path):
    return SimpleNamespace(state={}, undone=[], journal=Journal(tmp_path / "j.json"))


def make(dn, *keys):
    return [Fake(dn, f"s.{k}", k) for k in keys]


def test_first_run_does_second_run_skips(dn):
    lines = []
    first = steps.run(make(dn, "a", "b"), echo=lines.append)
    assert [o.status for o in first] == ["done", "done"]
    second = steps.run(make(dn, "a", "b"), echo=lines.append)
    assert [o.status for o in second] == ["skip", "skip"]
    assert second[0].message == "already done: a is set"
    assert lines[0].startswith("done   s.a") and lines[0].endswith("s)")


def test_dry_run_plans_and_changes_nothing(dn):
    outcomes = steps.run(make(dn, "a"), dry_run=True, echo=lambda _: None)
    assert outcomes[0].status == "plan" and outcomes[0].message == "set a"
    assert dn.state == {} and dn.journal.entries() == []


def test_a_failed_verify_stops_the_run_and_is_printed(dn):
    lines = []
    broken = [Fake(dn, "s.a", "a", broken=True), Fake(dn, "s.b", "b")]
    with pytest.raises(DevnetError, match="a did not stick"):
        steps.run(broken, echo=lines.append)
    assert lines[0].startswith("FAIL   s.a")
    assert "b" not in dn.state  # nothing after the failure ran
    assert dn.journal.has("s.a", key="a")  # but the attempt is journaled for `down`


def test_undo_runs_newest_first_and_empties_the_journal(dn):
    step_list = make(dn, "a", "b", "c")
    steps.run(step_list, echo=lambda _: None)
    outcomes = steps.undo(dn, {s.name: s for s in step_list}, echo=lambda _: None)
    assert dn.undone == ["c", "b", "a"]
    assert [o.status for o in outcomes] == ["undone"] * 3
    assert dn.journal.entries() == [] and dn.state == {}


def test_undo_with_an_empty_journal_says_so(dn):
    lines = []
    assert steps.undo(dn, {}, echo=lines.append) == []
    assert "already done: the journal is empty" in lines[0]


def test_undo_dry_run_keeps_everything(dn):
    step_list = make(dn, "a")
    steps.run(step_list, echo=lambda _: None)
    steps.undo(dn, {s.name: s for s in step_list}, dry_run=True, echo=lambda _: None)
    assert dn.state == {"a": True} and dn.journal.has("s.a", key="a")


def test_down_skips_in_vm_undos_when_the_vm_itself_goes(dn):
    vm = Fake(dn, "vm.init", "vm")
    inside = Fake(dn, "s.inside", "inside")
    inside.inside_vm = True
    host = Fake(dn, "s.host", "host")
    steps.run([vm, inside, host], echo=lambda _: None)
    outcomes = steps.undo(dn, {s.name: s for s in (vm, inside, host)}, echo=lambda _: None)
    assert dn.undone == ["host", "vm"]  # the in-VM change was not undone by hand...
    assert "goes with the VM" in outcomes[1].message  # ...and down says why
    assert dn.journal.entries() == []


def test_down_skips_host_undos_when_the_sim_host_is_gone(dn):
    dn.provider = SimpleNamespace(host_exists=lambda: False)
    host = Fake(dn, "s.host", "host")
    host.on_host = True
    steps.run([host], echo=lambda _: None)
    outcomes = steps.undo(dn, {host.name: host}, echo=lambda _: None)
    assert dn.undone == [] and "host is gone" in outcomes[0].message
    assert dn.journal.entries() == []
