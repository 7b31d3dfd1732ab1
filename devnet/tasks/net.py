"""net.*: the developer machine's side of the network."""

from __future__ import annotations

from invoke import Collection, task

from devnet.net import NetRoute
from devnet.tasks.common import devnet, reports_errors, run_steps


@task(help={"remove": "take the routes away (and out of the journal)",
            "dry-run": "print the plan, change nothing"})
@reports_errors
def route(c, remove=False, dry_run=False):
    """Route the Docker subnets via the VM's host-only address (route -n add 172.17.0.0/16)."""
    if not remove:
        run_steps(c, [NetRoute], dry_run)
        return
    dn = devnet(c)
    print("plan   net.route      remove routes" if dry_run else NetRoute(dn).remove())


ns = Collection("net", route)
