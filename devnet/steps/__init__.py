"""Every step of devnet, one module each (a new step = a new module here), and the runner
(base.py). Importing this package imports every module in it, so every step is registered:
`up` runs the steps with an `up_order`, in that order; `down` can undo any of them."""

from __future__ import annotations

import importlib
import pkgutil

from devnet.steps.base import REGISTRY, Outcome, Step, line, run, undo

__all__ = ["REGISTRY", "UP", "Outcome", "Step", "line", "run", "undo", "undoers", "up_steps"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def up_steps(settings=None, reach: str | None = None) -> list[type[Step]]:
    """`up`'s steps in order; one with `up_when` only where that setting is true (without
    settings: only the steps `up` always runs); given the provider's reach, one made for
    another reach is left out (a route `up` does not list the tunnel's steps)."""
    wanted = [S for S in REGISTRY.values() if S.up_order is not None
              and (S.up_when is None or (settings is not None and getattr(settings, S.up_when)))
              and (reach is None or S.reach is None or reach in S.reaches())]
    return sorted(wanted, key=lambda S: S.up_order)


# The steps `up` always runs, in order (status, vm.provision and the Vagrantfile read these).
UP = tuple(up_steps())


def undoers(dn) -> dict[str, Step]:
    """Every registered step, by name, acting on `dn`: what `down` undoes the journal with."""
    return {name: S(dn) for name, S in REGISTRY.items()}
