"""Every step of the walk-through, one module each, and the runner (base.py)."""

from devnet.steps.base import Outcome, Step, line, run, undo  # noqa: F401
