"""net.*: the developer machine's side of the network."""

from __future__ import annotations

from invoke import Collection

from devnet import steps
from devnet.steps.net import NetRoute
from devnet.steps.net_watch import NetWatch
from devnet.tasks.common import devnet_task, step_task, undo_step
from devnet.watch import Watcher

route = step_task(NetRoute)


@devnet_task(help={"background": "run detached (stopped by `invoke down` or --stop)",
                   "stop": "stop the background watcher"})
def watch(c, dn, background=False, stop=False):
    """Keep routes right: repair after VPN (re)connects, route every Docker network."""

    if stop:
        undo_step(dn, NetWatch)
        return
    if background:
        steps.run([NetWatch(dn)], echo=dn.echo)
    else:
        watcher = Watcher(dn)
        try:
            watcher.run()
        except KeyboardInterrupt:
            watcher.stop()
            print("net.watch: stopped")


ns = Collection("net", route, watch)
