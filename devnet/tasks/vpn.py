"""vpn.*: repair what a VPN client broke (vpn.fix), take it back (vpn.restore), and the sim's
VPN client (vpn.sim.connect / vpn.sim.disconnect)."""

from __future__ import annotations

from invoke import Collection
from invoke.exceptions import Exit

from devnet.steps.vpn_fix import VpnFix
from devnet.tasks.common import devnet_task, step_task, undo_step
from devnet.vpn import client_sim

fix = step_task(VpnFix)


@devnet_task(help={"dry-run": "print what would be put back, change nothing"})
def restore(c, dn, dry_run=False):
    """Take back what vpn.fix did (its firewall exceptions, the VPN's routes), from the journal."""
    undo_step(dn, VpnFix, dry_run)


def _need_sim(dn) -> None:
    if not dn.provider.simulated_host or not dn.provider.host_exists():
        raise Exit("devnet: the VPN simulator needs the sim's host\n  next: invoke up")


ALL_PARTS = ",".join(client_sim.PARTS)


@devnet_task(help={"parts": f"comma-separated, of {ALL_PARTS} (default: all), "
                            f"or {', '.join(client_sim.OPTIONAL)}"})
def connect(c, dn, parts=ALL_PARTS):
    """Connect the simulated VPN client: tunnel, routes, deny-all firewall chain, resolver."""
    _need_sim(dn)
    chosen = tuple(p.strip() for p in parts.split(",") if p.strip())
    unknown = set(chosen) - set(client_sim.PARTS) - set(client_sim.OPTIONAL)
    if unknown:
        raise Exit(f"devnet: unknown part(s) {', '.join(sorted(unknown))}")
    for line in client_sim.connect(dn.host, dn.settings, dn.provider.root / "vpn-sim.json",
                                   chosen):
        print(f"done   vpn.sim        {line}")


@devnet_task
def disconnect(c, dn):
    """Disconnect the simulated VPN client (it removes its own tunnel, chain and resolver)."""
    _need_sim(dn)
    said = client_sim.disconnect(dn.host, dn.provider.root / "vpn-sim.json")
    print("\n".join(f"done   vpn.sim        {s}" for s in said) or
          "skip   vpn.sim        already done: not connected")


sim = Collection("sim", connect, disconnect)
ns = Collection("vpn", fix, restore)
ns.add_collection(sim)
