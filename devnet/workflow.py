"""The walk-through as ordered steps: `up` runs them, `down` undoes the journal."""

from __future__ import annotations

from devnet import providers, steps
from devnet.daemon import DockerConfigure
from devnet.dns.control import DnsStart
from devnet.host.resolver import DnsResolver
from devnet.net import NetRoute, check_overlaps
from devnet.providers.base import Piece
from devnet.tunnel.dns import TunnelDns
from devnet.tunnel.helper import TunnelHelper
from devnet.tunnel.link import TunnelLink
from devnet.vm import VmForward, VmHostOnly, VmInit, VmUp
from devnet.vpn.fix import VpnFix
from devnet.vpn.watch import NetNetwork, NetWatch

# The walk-through's order; the route comes before the DNS so dns.start can prove the host
# gets answers from the bridge IP.
UP = (VmInit, VmUp, TunnelHelper, TunnelLink, VmHostOnly, VmForward, NetRoute, DockerConfigure,
      DnsStart, TunnelDns, DnsResolver)


def preflight(dn) -> None:
    """Everything that can be known wrong before the first change."""
    dn.provider.preflight()
    dn.provider.check_reach()
    if dn.provider.host_exists():
        check_overlaps(dn.settings, dn.os.routes(dn.host), dn.gateway,
                       no_vm=not dn.provider.has_vm)


def up(dn, dry_run: bool = False):
    preflight(dn)
    if dn.settings.chosen_because and not dry_run:
        noted = providers.chosen_file(dn.settings)
        noted.parent.mkdir(parents=True, exist_ok=True)
        noted.write_text(dn.settings.provider + "\n")
    wanted = [*UP, NetWatch] if dn.settings.watch else UP
    return steps.run([S(dn) for S in wanted], dry_run=dry_run, echo=dn.echo)


def provision(dn, dry_run: bool = False):
    """Only the steps that live in the VM (forwarding, daemon.json, the DNS service): what the
    Vagrantfile's provisioner runs inside the VM with provider guest."""
    return steps.run([S(dn) for S in UP if S.inside_vm], dry_run=dry_run, echo=dn.echo)


def down(dn, dry_run: bool = False):
    undoers = {S.name: S(dn) for S in (*UP, VpnFix, NetWatch, NetNetwork)}
    try:
        # net.watch first, whatever the journal's order: a watcher still running would put
        # back the routes and rules down is taking away (and journal them anew)
        first = steps.undo(dn, undoers, dry_run=dry_run, echo=dn.echo, only=NetWatch.name) \
            if dn.journal.has_step(NetWatch.name) and not dry_run else []
        return first + steps.undo(dn, undoers, dry_run=dry_run, echo=dn.echo)
    finally:
        dn.close()
        if not dry_run and not dn.journal.entries():
            providers.chosen_file(dn.settings).unlink(missing_ok=True)


def status(dn) -> list[Piece]:
    """Each piece and whether it is up; a piece that cannot be asked is down, with why."""
    pieces = list(dn.provider.status())
    if not dn.provider.running():
        return pieces + [Piece(S.name, False, "VM is not running") for S in UP[2:]]
    for S in UP[2:]:
        try:
            done = S(dn).check()
            pieces.append(Piece(S.name, bool(done), done or "not done"))
        except Exception as err:  # status reports, it never stops at a broken piece
            pieces.append(Piece(S.name, False, str(err).splitlines()[0]))
    dn.close()
    return pieces
