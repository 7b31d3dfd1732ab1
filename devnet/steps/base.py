"""Plan, apply, verify: the shape of every step, the registry of steps, and the runner that
prints one line per step.

A step reads state first (`check`) and does nothing when it is already right; otherwise it
records what it is about to change in the journal, changes it (`apply`), and checks the
result (`verify`). `undo` takes back one journal entry and tolerates finding nothing to undo.

A step registers itself by being defined (a subclass that names itself): `up`'s order comes
from each step's `up_order`, `down` can undo every registered step's journal entries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from devnet.errors import DevnetError


@dataclass
class Outcome:
    step: str
    status: str  # done | skip | plan | undone | FAIL
    message: str
    seconds: float


# step name -> its class, filled as each step's class is defined (see Step.__init_subclass__)
REGISTRY: dict[str, type[Step]] = {}


class Step:
    name = "step"
    summary = ""
    inside_vm = False  # its change lives only in the VM: destroying the VM undoes it
    on_host = False  # its change lives only on the host: a gone (sim) host took it along
    up_order: int | None = None  # where `up` runs it; None: a step of its own task only
    up_when: str | None = None  # a setting that must be true for `up` to run it
    # "tunnel" (or a tuple of reaches): `up` runs it only where the provider reaches that way
    reach: str | tuple[str, ...] | None = None
    undo_first = False  # `down` undoes it before anything else, whatever the journal's order

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return  # a base or a stand-in without a class-level name: not a step of devnet's
        known = REGISTRY.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"two steps named {name!r}: {known.__qualname__}, {cls.__qualname__}")
        REGISTRY[name] = cls

    def __init__(self, dn):
        self.dn = dn  # the devnet.core.Devnet this step acts on

    @classmethod
    def reaches(cls) -> tuple[str, ...]:
        return (cls.reach,) if isinstance(cls.reach, str) else tuple(cls.reach or ())

    def check(self) -> str | None:
        """Return why nothing needs doing ("route … already present"), or None."""
        return None

    def plan(self) -> list[str]:
        """What apply would do, as lines a person can read (shown by --dry-run)."""
        return [self.summary]

    def apply(self) -> str:
        raise NotImplementedError

    def verify(self) -> None:
        """Raise DevnetError when apply did not take effect."""

    def undo(self, args: dict) -> str:
        return "nothing to undo"

    def describe_undo(self, args: dict) -> str:
        """What `undo(args)` would do, for `down --dry-run`."""
        shown = {k: v for k, v in args.items() if not isinstance(v, (dict, list))
                 and len(str(v)) < 40}
        return f"undo {self.name} " + " ".join(f"{k}={v}" for k, v in shown.items())


def line(o: Outcome) -> str:
    return f"{o.status:<6} {o.step:<14} {o.message}  ({o.seconds:.2f}s)"


def run(steps: list[Step], dry_run: bool = False, echo=print) -> list[Outcome]:
    """Run steps in order; stop at the first failure, after printing it."""
    outcomes = []
    for step in steps:
        start = time.monotonic()
        try:
            done = _check(step, dry_run)
            if done:
                status, message = "skip", f"already done: {done}"
            elif dry_run:
                status, message = "plan", "; ".join(step.plan())
            else:
                message = step.apply()
                step.verify()
                status = "done"
        except DevnetError as err:
            echo(line(Outcome(step.name, "FAIL", err.what, time.monotonic() - start)))
            raise
        outcome = Outcome(step.name, status, message, time.monotonic() - start)
        echo(line(outcome))
        outcomes.append(outcome)
    return outcomes


def _check(step: Step, dry_run: bool) -> str | None:
    try:
        return step.check()
    except DevnetError:
        # In a dry run, a check may depend on an earlier step that only was planned (no VM
        # yet, so no SSH): the step would run, which is what the plan should say.
        if dry_run:
            return None
        raise


def undo(dn, steps_by_name: dict[str, Step], dry_run: bool = False, echo=print,
         only: str | None = None) -> list[Outcome]:
    """Undo the journal's entries newest first (only step `only`'s, if given); an entry is
    dropped once undone."""
    outcomes = []
    entries = [e for e in dn.journal.undo_order() if only is None or e["step"] == only]
    # When devnet created the VM, `down` destroys it; what lives only inside goes with it.
    vm_goes = only is None and any(e["step"] == "vm.init" for e in entries)
    if not entries:
        what = f"{only} changed nothing" if only else "the journal is empty, devnet changed nothing"
        echo(f"skip   {only or 'down':<14} already done: {what}")
    unknown = sorted({e["step"] for e in entries} - set(steps_by_name))
    if unknown:
        raise DevnetError(f"the journal ({dn.journal.path}) names step(s) this devnet does not "
                          f"know: {', '.join(unknown)}; nothing undone",
                          "run `invoke down` with the devnet that made them")
    for entry in entries:
        step = steps_by_name[entry["step"]]
        start = time.monotonic()
        if dry_run:
            goes = vm_goes and step.inside_vm
            status = "plan"
            message = "goes with the VM" if goes else step.describe_undo(entry["args"])
        elif vm_goes and step.inside_vm:
            dn.journal.forget(entry["step"], **entry["args"])
            status, message = "undone", "goes with the VM (vm.init's undo destroys it)"
        elif step.on_host and not dn.provider.host_exists():
            dn.journal.forget(entry["step"], **entry["args"])
            status, message = "undone", "the simulated host is gone, and the change with it"
        else:
            try:
                message = step.undo(entry["args"])
            except DevnetError as err:
                echo(line(Outcome(step.name, "FAIL", err.what, time.monotonic() - start)))
                raise
            dn.journal.forget(entry["step"], **entry["args"])
            status = "undone"
        outcome = Outcome(step.name, status, message, time.monotonic() - start)
        echo(line(outcome))
        outcomes.append(outcome)
    return outcomes
