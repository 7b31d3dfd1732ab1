"""The walk-through as ordered steps: `up` runs them, `down` undoes the journal."""

from __future__ import annotations

from devnet import providers, steps
from devnet.providers.base import Piece
from devnet.steps.net import check_overlaps

# The walk-through's order, from each step's up_order (devnet.steps registers every step).
UP = steps.UP


def preflight(dn) -> None:
    """Everything that can be known wrong before the first change."""
    dn.provider.preflight()
    dn.provider.check_reach()
    # native reach (OrbStack): the Docker subnets' routes are the engine's own, its reach
    if dn.provider.host_exists() and not dn.provider.routes_itself():
        check_overlaps(dn.settings, dn.os.routes(dn.host), dn.gateway,
                       no_vm=not dn.provider.has_vm)


def up(dn, dry_run: bool = False):
    preflight(dn)
    if dn.settings.chosen_because and not dry_run:
        noted = providers.chosen_file(dn.settings)
        noted.parent.mkdir(parents=True, exist_ok=True)
        noted.write_text(dn.settings.provider + "\n")
    return steps.run([S(dn) for S in steps.up_steps(dn.settings, dn.provider.reach())],
                     dry_run=dry_run, echo=dn.echo)


def provision(dn, dry_run: bool = False):
    """Only the steps that live in the VM (forwarding, daemon.json, the DNS service): what the
    Vagrantfile's provisioner runs inside the VM with provider guest."""
    return steps.run([S(dn) for S in steps.up_steps(reach=dn.provider.reach()) if S.inside_vm],
                     dry_run=dry_run, echo=dn.echo)


def down(dn, dry_run: bool = False):
    undoers = steps.undoers(dn)
    try:
        # undo_first steps (net.watch) before the rest, whatever the journal's order: a
        # watcher still running would put back the routes and rules down is taking away
        first = [] if dry_run else [
            o for name, step in undoers.items() if step.undo_first and dn.journal.has_step(name)
            for o in steps.undo(dn, undoers, dry_run=dry_run, echo=dn.echo, only=name)]
        return first + steps.undo(dn, undoers, dry_run=dry_run, echo=dn.echo)
    finally:
        if not dry_run and not dn.journal.entries():
            providers.chosen_file(dn.settings).unlink(missing_ok=True)


def status(dn) -> list[Piece]:
    """Each piece and whether it is up; a piece that cannot be asked is down, with why. The
    steps are `up`'s for the provider's reach (a route provider has no tunnel to list), after
    the VM's own two (vm.init, vm.up), which the provider's status reports."""
    pieces = list(dn.provider.status())
    after_the_vm = steps.up_steps(reach=dn.provider.reach())[2:]
    if not dn.provider.running():
        return pieces + [Piece(S.name, False, "VM is not running") for S in after_the_vm]
    for S in after_the_vm:
        try:
            done = S(dn).check()
            pieces.append(Piece(S.name, bool(done), done or "not done"))
        except Exception as err:  # status reports, it never stops at a broken piece
            pieces.append(Piece(S.name, False, str(err).splitlines()[0]))
    return pieces
