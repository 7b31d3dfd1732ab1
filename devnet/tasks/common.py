"""What every task module shares: load settings, own a Devnet for the task's run, turn errors
into Exit."""

from __future__ import annotations

import functools
import inspect

from invoke import task
from invoke.exceptions import Exit

from devnet import config, steps
from devnet.config import Settings
from devnet.core import Devnet
from devnet.errors import DevnetError


def settings_of(c) -> Settings:
    """The validated settings of Invoke's config tree (`devnet:`, with every default)."""
    return config.load(c.config.get("devnet"))


def devnet(c) -> Devnet:
    """A Devnet for this run; `with devnet(c) as dn:` closes what it opened."""
    return Devnet(settings_of(c))


def reports_errors(fn):
    """Show a DevnetError as its message and next command, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DevnetError as err:
            raise Exit(f"devnet: {err}", code=1) from err

    return wrapper


def devnet_task(body=None, **task_options):
    """@devnet_task or @devnet_task(help=...): an Invoke task that shows a DevnetError as its
    message, not a traceback. A body whose second parameter is `dn` gets a Devnet made for
    this run and closed when the body ends, whatever happened; Invoke sees the body's other
    parameters only."""

    def decorate(body):
        sig = inspect.signature(body)
        params = list(sig.parameters.values())
        wants_dn = len(params) > 1 and params[1].name == "dn"

        @functools.wraps(body)
        def wrapper(c, *args, **kwargs):
            if not wants_dn:
                return body(c, *args, **kwargs)
            with devnet(c) as dn:
                return body(c, dn, *args, **kwargs)

        if wants_dn:
            wrapper.__signature__ = sig.replace(parameters=[params[0], *params[2:]])
        return task(**task_options)(reports_errors(wrapper))

    return decorate(body) if body is not None else decorate


def run_steps(dn: Devnet, step_classes, dry_run: bool):
    return steps.run([S(dn) for S in step_classes], dry_run=dry_run, echo=dn.echo)


def undo_step(dn: Devnet, step_cls, dry_run: bool = False):
    """Undo what one step changed, from the journal (its --remove)."""
    return steps.undo(dn, {step_cls.name: step_cls(dn)}, dry_run, dn.echo, only=step_cls.name)


def step_task(step_cls):
    """An Invoke task that runs one step (or undoes it with --remove), its help text taken
    from the step's summary."""

    def body(c, dn, dry_run=False, remove=False):
        if remove:
            undo_step(dn, step_cls, dry_run)
        else:
            run_steps(dn, [step_cls], dry_run)

    body.__name__ = step_cls.name.split(".")[-1]
    body.__doc__ = step_cls.summary[0].upper() + step_cls.summary[1:] + "."
    return devnet_task(help={"dry-run": "print the plan, change nothing",
                             "remove": "undo what this step changed (from the journal)"})(body)
