"""Keeps the zone equal to Docker's running containers, from the daemon's event stream.

The stream is opened first, then every container is read (resync), so nothing that happens
in between is missed. When the stream ends (dockerd restarted, socket closed) it reconnects
with back-off and resyncs: no stale record survives a daemon restart.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

# The service talks to dockerd over its unix socket only: keeping the SDK's SSH transport
# (paramiko, cryptography) out saves ~18 MB of the service's memory.
sys.modules.setdefault("paramiko", None)

import docker  # noqa: E402
import docker.errors  # noqa: E402

from devnet.dns.names import Naming, records  # noqa: E402
from devnet.dns.policy import bridge_subnets  # noqa: E402
from devnet.dns.zone import Zone  # noqa: E402

log = logging.getLogger("devnet.dns.registrar")
CONTAINER_ACTIONS = {"start", "restart", "unpause", "pause", "die", "stop", "kill", "destroy",
                     "rename", "health_status"}
# The container no longer runs: removed without asking dockerd (a restart's start event reads
# it again). An inspect here waited on dockerd tearing the container down, and a start event
# queued behind it waited too.
GONE = {"die", "stop", "destroy"}
# Said before anything changed: kill only sent a signal (a process that dies brings its die
# event; one that ignores the signal keeps its names).
IGNORED = {"kill"}
NETWORK_ACTIONS = {"connect", "disconnect"}
NETWORKS_CHANGED = {"create", "destroy"}  # who may recurse follows these


class Registrar:
    def __init__(self, zone: Zone, naming: Naming, docker_url: str, policy=None):
        self.zone, self.naming, self.docker_url = zone, naming, docker_url
        self.policy = policy  # a RecursionPolicy told Docker's networks, or None
        self.stopping = threading.Event()
        self.connected = False
        self.last_event = ""
        self.resyncs = 0
        self.running: set[str] = set()  # the containers dockerd last said run
        self._told = False  # a failure to reach dockerd was logged

    def run(self) -> None:
        pause = 0.1
        while not self.stopping.is_set():
            try:
                client = docker.DockerClient(base_url=self.docker_url, timeout=10)
                events = client.events(decode=True, filters={"type": ["container", "network"]})
                self.resync(client)
                self.connected, self._told, pause = True, False, 0.1
                for event in events:
                    self.handle(client, event)
                    if self.stopping.is_set():
                        break
                log.warning("docker event stream ended; reconnecting")
            except Exception as err:  # daemon down or restarting: retry with back-off
                if self.connected:
                    log.warning("lost dockerd (%s); reconnecting", err)
                elif not self._told:  # the first failure says why; the retries stay quiet
                    log.warning("cannot read dockerd at %s (%s); retrying with back-off",
                                self.docker_url, err)
                self._told = True
            self.connected = False
            self.stopping.wait(pause)
            pause = min(pause * 2, 2.0)

    def resync(self, client) -> None:
        self.sync_networks(client)
        recs = []
        # the API's list, not the SDK's containers.list(): that one inspects each container
        # itself, and _records inspects it again (two round trips each after a restart)
        for c in client.api.containers():
            rec = self._records(client, c["Id"])
            if rec is not None:
                recs.append(rec)
        self.zone.replace_all(recs)
        self.running = {r.cid for r in recs}
        self.resyncs += 1
        log.info("resync: %d running containers", len(recs))

    def handle(self, client, event: dict) -> None:
        action = (event.get("Action") or event.get("status") or "").split(":")[0]
        kind = event.get("Type")
        if kind == "container" and action in CONTAINER_ACTIONS:
            cid = event.get("id") or event.get("Actor", {}).get("ID")
        elif kind == "network" and action in NETWORKS_CHANGED:
            self.last_event = f"{time.strftime('%H:%M:%S')} network {action} " \
                f"{event.get('Actor', {}).get('Attributes', {}).get('name', '')}"
            self.sync_networks(client)
            return
        elif kind == "network" and action in NETWORK_ACTIONS:
            cid = event.get("Actor", {}).get("Attributes", {}).get("container")
        else:
            return
        if not cid:
            return
        self.last_event = f"{time.strftime('%H:%M:%S')} {kind} {action} {cid[:12]}"
        if kind == "container" and action in GONE:
            self.forget(cid)
        elif kind == "container" and action in IGNORED:
            return
        elif kind == "network" and cid not in self.running:
            # `docker run` connects the container before it starts: its start event, right
            # behind, reads it once with every network; a removed container is disconnected
            # after its die, forgotten already. An inspect here waited on dockerd's teardown
            # (10-13 ms) and the next start event waited behind it.
            return
        else:
            self.update(client, cid)

    def forget(self, cid: str) -> None:
        """It runs no more."""
        self.running.discard(cid)
        self._unname(cid)

    def _unname(self, cid: str) -> None:
        if self.zone.remove(cid):
            log.info("removed %s", cid[:12])

    def sync_networks(self, client, why: str = "") -> None:
        """Tell the recursion policy the subnets of Docker's bridge networks now."""
        if self.policy is None:
            return
        subnets = bridge_subnets(client.api.networks())
        if self.policy.set_docker(subnets):
            log.info("recursion allowed for %s%s", ", ".join(self.policy.networks), why)

    def _networks_known(self, client, rec) -> None:
        """A container's address in no network the policy knows means a network event went
        unseen (or came before dockerd listed the network's subnet): read them again, so its
        neighbours are not REFUSED until the next network event. (A macvlan container's
        address stays unknown, by design: one listing at each of its events.)"""
        if self.policy is None:
            return
        unknown = next((ip for ip in rec.ipv4 + rec.ipv6 if not self.policy.allows(ip)), None)
        if unknown is not None:
            self.sync_networks(client, f" ({rec.cid[:12]}'s {unknown} was in none known)")

    def update(self, client, cid: str) -> None:
        rec = self._records(client, cid)
        if rec is None:
            self.forget(cid)
            return
        self.running.add(cid)
        self._networks_known(client, rec)
        if not rec.names:
            self._unname(cid)
            return
        if self.zone.upsert(rec):
            log.info("registered %s: %s -> %s", cid[:12], ", ".join(rec.names),
                     ", ".join(rec.ipv4 + rec.ipv6))

    def _records(self, client, cid: str):
        try:
            inspect = client.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None
        rec = records(inspect, self.naming)
        if rec is not None and rec.skipped:
            log.warning("%s: not valid DNS names, left out: %s", cid[:12], ", ".join(rec.skipped))
        return rec
