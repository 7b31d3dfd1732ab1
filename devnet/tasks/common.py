"""What every task module shares: load settings, build a Devnet, turn errors into Exit."""

from __future__ import annotations

import functools

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
