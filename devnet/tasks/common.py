"""What every task module shares: load settings, build a Devnet, turn errors into Exit."""

from __future__ import annotations

import functools

from invoke import task
from invoke.exceptions import Exit

from devnet import config, steps
from devnet.core import Devnet
from devnet.errors import DevnetError


def devnet(c) -> Devnet:
    return Devnet(config.load(c.config.get("devnet")))


def reports_errors(fn):
    """Show a DevnetError as its message and next command, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DevnetError as err:
            raise Exit(f"devnet: {err}", code=1) from err

    return wrapper


def run_steps(c, step_classes, dry_run: bool):
    dn = devnet(c)
    try:
        return steps.run([S(dn) for S in step_classes], dry_run=dry_run, echo=dn.echo)
    finally:
        dn.close()


def undo_step(c, step_cls, dry_run: bool = False):
    """Undo what one step changed, from the journal (its --remove)."""
    dn = devnet(c)
    try:
        return steps.undo(dn, {step_cls.name: step_cls(dn)}, dry_run, dn.echo, only=step_cls.name)
    finally:
        dn.close()


def step_task(step_cls):
    """An Invoke task that runs one step (or undoes it with --remove), its help text taken
    from the step's summary."""

    def body(c, dry_run=False, remove=False):
        if remove:
            undo_step(c, step_cls, dry_run)
        else:
            run_steps(c, [step_cls], dry_run)

    body.__name__ = step_cls.name.split(".")[-1]
    body.__doc__ = step_cls.summary[0].upper() + step_cls.summary[1:] + "."
    return task(help={"dry-run": "print the plan, change nothing",
                      "remove": "undo what this step changed (from the journal)"})(
        reports_errors(body))
