"""vpn.*: repair what a VPN client broke (vpn.fix), take it back (vpn.restore), and the sim's
VPN client (vpn.sim.connect / vpn.sim.disconnect)."""

from __future__ import annotations

from invoke import Collection, task
from invoke.exceptions import Exit

from devnet.steps.vpn_fix import VpnFix
from devnet.tasks.common import devnet, reports_errors, step_task, undo_step
from devnet.vpn import client_sim

fix = step_task(VpnFix)


@task(help={"dry-run": "print what would be put back, change nothing"})
@reports_errors
def restore(c, dry_run=False):
    """Take back what vpn.fix did (its firewall exceptions, the VPN's routes), from the journal."""
    undo_step(c, VpnFix, dry_run)


def _sim(c):
    dn = devnet(c)
    if not dn.provider.simulated_host or not dn.provider.host_exists():
        raise Exit("devnet: the VPN simulator needs the sim's host\n  next: invoke up")
    return dn


ALL_PARTS = ",".join(client_sim.PARTS)


@task(help={"parts": f"comma-separated, of {ALL_PARTS} (default: all), "
                     f"or {', '.join(client_sim.OPTIONAL)}"})
@reports_errors
def connect(c, parts=ALL_PARTS):
    """Connect the simulated VPN client: tunnel, routes, deny-all firewall chain, resolver."""
    dn = _sim(c)
    chosen = tuple(p.strip() for p in parts.split(",") if p.strip())
    unknown = set(chosen) - set(client_sim.PARTS) - set(client_sim.OPTIONAL)
    if unknown:
        raise Exit(f"devnet: unknown part(s) {', '.join(sorted(unknown))}")
    for line in client_sim.connect(dn.host, dn.settings, dn.provider.root / "vpn-sim.json",
                                   chosen):
        print(f"done   vpn.sim        {line}")


@task
@reports_errors
def disconnect(c):
    """Disconnect the simulated VPN client (it removes its own tunnel, chain and resolver)."""
    dn = _sim(c)
    said = client_sim.disconnect(dn.host, dn.provider.root / "vpn-sim.json")
    print("\n".join(f"done   vpn.sim        {s}" for s in said) or
          "skip   vpn.sim        already done: not connected")


sim = Collection("sim", connect, disconnect)
ns = Collection("vpn", fix, restore)
ns.add_collection(sim)
