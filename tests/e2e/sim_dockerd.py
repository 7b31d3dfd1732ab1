"""`python -m tests.e2e.sim_dockerd <instance> start|stop|restart`: the simulated VM's dockerd
as a service, for provider local's `devnet.local.docker_service` when devnet runs inside that
VM (test_70_local): the sim has no init system, so this stands in for `systemctl`."""

from __future__ import annotations

import sys

from devnet import config
from devnet.providers.sim import daemons as sim_daemons
from devnet.providers.sim.provider import SimProvider


def main(instance: str, action: str) -> None:
    sim = SimProvider(config.load({"instance": instance}))
    if action in ("stop", "restart"):
        sim.dockerd.stop(20)
    if action in ("start", "restart") and not sim.dockerd.alive():
        sim_daemons.start_dockerd(sim)


if __name__ == "__main__":
    main(*sys.argv[1:3])
