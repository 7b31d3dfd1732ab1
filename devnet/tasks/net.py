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


@task(help={"background": "run detached (stopped by `invoke down` or --stop)",
            "stop": "stop the background watcher"})
@reports_errors
def watch(c, background=False, stop=False):
    """Keep routes right: repair after VPN (re)connects, route every Docker network."""
    from devnet import steps
    from devnet.vpn.watch import NetWatch, Watcher

    dn = devnet(c)
    if stop:
        steps.undo(dn, {NetWatch.name: NetWatch(dn)}, echo=dn.echo, only=NetWatch.name)
    elif background:
        steps.run([NetWatch(dn)], echo=dn.echo)
    else:
        watcher = Watcher(dn)
        try:
            watcher.run()
        except KeyboardInterrupt:
            watcher.stop()
            print("net.watch: stopped")


ns = Collection("net", route, watch)
