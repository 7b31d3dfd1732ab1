"""net.watch: one long-running watcher that keeps devnet's routes right.

- Docker networks: a host route (and a DOCKER-USER accept in the VM) for every bridge network
  in the VM, user-defined ones included, added and removed as Docker's events say.
- VPN connects and reconnects: route, link and address changes on the host (`ip monitor` on
  Linux, `route -n monitor` on macOS) wake it; it re-runs vpn.fix's diagnosis and repairs
  what it finds, one log line per repair. A check every few seconds covers changes no event
  announces (a firewall rule).

    python -m devnet.watch      (settings as JSON in DEVNET_SETTINGS; `invoke net.watch`)
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time

from devnet import config
from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.host import resolver_health
from devnet.host.routes import conflicts, describe
from devnet.steps.net_watch import NetNetwork
from devnet.steps.vpn_fix import VpnFix
from devnet.subnets import not_private, suggest_free
from devnet.vpn.routes import host_routes

SAFETY_CHECK = 3.0  # seconds between checks when nothing announces a change


def docker_networks(dn) -> dict[str, str]:
    """subnet -> network name, for the VM's bridge networks beyond the configured subnets."""
    configured = {str(s) for s in dn.settings.docker_subnets}
    found = {}
    client = dn.provider.docker_client(timeout=10)
    try:
        for net in client.networks.list():
            if net.attrs.get("Driver") != "bridge":
                continue
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
                sub = cfg.get("Subnet", "")
                if sub and ipaddress.ip_network(sub).version == 4 and sub not in configured:
                    found[sub] = net.name
    finally:
        client.close()
    return found


def refusal(dn, dst: str) -> str | None:
    """Why a Docker network must not be routed through the VM: not a private range, or it
    would shadow a route the host has (a VPN's, in its own table too), or None."""
    why = not_private(dst)
    if why:
        return why
    clash = [describe(r) for r in conflicts(host_routes(dn), dst)
             if r.get("gateway") != dn.gateway]
    return f"{dst} would shadow the host's route {clash[0]}" if clash else None


class Watcher:
    def __init__(self, dn: Devnet, log=print):
        self.dn, self.log = dn, log
        self.kick = threading.Event()
        self.stopping = threading.Event()
        self.monitor: subprocess.Popen | None = None
        self.refused: set[str] = set()  # said once, not every round
        self.resolver = resolver_health.Follower(dn)

    def sync_networks(self) -> None:
        dn = self.dn
        if dn.gateway is None:
            return  # no VM (provider local): Docker's networks are this machine's own bridges
        wanted = docker_networks(dn)
        have = {e["args"]["dst"]: e["args"] for e in dn.journal.entries()
                if e["step"] == NetNetwork.name}
        step = NetNetwork(dn)
        for dst, name in wanted.items():
            if dst in have:
                continue
            why = refusal(dn, dst)
            if why:
                if dst not in self.refused:
                    self.log(f"refused: Docker network {name}: {why}; the host keeps routing "
                             f"it as before. Recreate the network on a free private range, "
                             f"e.g. {suggest_free([ipaddress.ip_network(d) for d in wanted])}")
                    self.refused.add(dst)
                continue
            self.refused.discard(dst)
            self.log(f"added {step.add(dst)} for network {name}")
        for dst, args in have.items():
            if dst not in wanted:
                dn.journal.forget(NetNetwork.name, **args)
                self.log(f"removed: {step.undo(args)} (network gone)")

    def repair(self) -> None:
        fix = VpnFix(self.dn)
        try:
            if fix.check() is None:
                self.log(f"repaired: {fix.apply()}")
        except DevnetError as err:
            self.log(f"cannot repair: {err}")

    def _watch_host(self) -> None:
        ns = getattr(self.dn.host, "netns", None)
        prefix = ["ip", "netns", "exec", ns] if ns else []
        self.monitor = subprocess.Popen([*prefix, *self.dn.os.monitor_argv()],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in self.monitor.stdout:
            self.kick.set()

    def _watch_docker(self) -> None:
        while not self.stopping.is_set():
            try:
                client = self.dn.provider.docker_client(timeout=None)
                for _ in client.events(decode=True, filters={"type": ["network"]}):
                    self.kick.set()
            except Exception:  # dockerd restarting: try again shortly
                self.stopping.wait(1)

    def run(self) -> None:
        for target in (self._watch_host, self._watch_docker):
            threading.Thread(target=target, daemon=True).start()
        self.log(f"watching {self.dn.settings.instance}: host routes and links, Docker networks")
        while not self.stopping.is_set():
            # each round's SSH connection closes with it: none held open between rounds
            with self.dn.session():
                try:
                    self.sync_networks()
                    self.repair()
                    said = self.resolver.round()  # the host's DNS never worse
                    if said:
                        self.log(f"resolver: {said}")
                except Exception as err:  # one bad round must not end the watch
                    self.log(f"error: {type(err).__name__}: {err}")
            self.kick.wait(SAFETY_CHECK)
            if self.kick.is_set():
                self.stopping.wait(0.05)  # let a burst of changes settle
            self.kick.clear()

    def stop(self, *_):
        self.stopping.set()
        self.kick.set()
        if self.monitor and self.monitor.poll() is None:
            self.monitor.terminate()


def main() -> int:
    settings = config.load(json.loads(os.environ.get("DEVNET_SETTINGS", "{}")))
    with Devnet(settings) as dn:
        watcher = Watcher(dn, log=lambda line: print(f"{time.strftime('%H:%M:%S')} {line}",
                                                     flush=True))
        signal.signal(signal.SIGTERM, watcher.stop)
        signal.signal(signal.SIGINT, watcher.stop)
        watcher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
