"""net.watch: one long-running watcher that keeps devnet's routes right.

- Docker networks: a host route (and a DOCKER-USER accept in the VM) for every bridge network
  in the VM, user-defined ones included, added and removed as Docker's events say.
- VPN connects and reconnects: route, link and address changes on the host (`ip monitor` on
  Linux, `route -n monitor` on macOS) wake it; it re-runs vpn.fix's diagnosis and repairs
  what it finds, one log line per repair. A check every few seconds covers changes no event
  announces (a firewall rule).

    python -m devnet.vpn.watch      (settings as JSON in DEVNET_SETTINGS; `invoke net.watch`)
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

from devnet import config, procs
from devnet.config import PROJECT_DIR, not_private, suggest_free
from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.host import linux, resolver_health
from devnet.steps import Step
from devnet.system import wait_until
from devnet.vpn.fix import VpnFix
from devnet.vpn.routes import host_routes

SAFETY_CHECK = 3.0  # seconds between checks when nothing announces a change


class NetNetwork(Step):
    """A Docker network's route on the host and its DOCKER-USER accept in the VM."""

    name = "net.network"
    summary = "route a Docker network via the VM (net.watch adds and removes these)"

    def _rule(self, dst):
        return ["DOCKER-USER", "-s", str(self.dn.settings.hostonly.network), "-d", dst, "-j",
                "ACCEPT"]

    def add(self, dst: str) -> str:
        via = self.dn.gateway
        self.dn.journal.record(self.name, dst=dst, via=via)
        if (self.dn.os.route_to(self.dn.host, dst) or {}).get("gateway") != via:
            self.dn.os.add_route(self.dn.host, dst, via)
        if self.dn.provider.reach() == "tunnel":
            pass  # the helper's one DOCKER-USER rule accepts the tunnel's traffic to any network
        elif self.dn.vm_run("iptables", "-w", "-C", *self._rule(dst), warn=True).failed:
            self.dn.vm_run("iptables", "-w", "-I", *self._rule(dst)[:1], "1", *self._rule(dst)[1:])
        return f"route {dst} via {via} (Docker network)"

    def describe_undo(self, args):
        return f"remove route {args['dst']} via {args['via']} (host), its DOCKER-USER rule"

    def undo(self, args):
        said = []
        if self.dn.provider.host_exists() and self.dn.os.delete_route(self.dn.host, args["dst"],
                                                                 args["via"]):
            said.append(f"removed route {args['dst']} via {args['via']}")
        in_vm = self.dn.provider.reach() != "tunnel" and self.dn.provider.running()
        if in_vm and self.dn.vm_run("iptables", "-w", "-D", *self._rule(
                args["dst"]), warn=True).ok:
            said.append("its DOCKER-USER rule")
        return ", ".join(said) or f"route {args['dst']} was gone"


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
    clash = [linux.describe(r) for r in linux.conflicts(host_routes(dn), dst)
             if r.get("gateway") != dn.gateway]
    return f"{dst} would shadow the host's route {clash[0]}" if clash else None


class NetWatch(Step):
    """net.watch as a background process of its own, stopped by `down`."""

    name = "net.watch"
    summary = "keep routes right in the background: VPN repairs, Docker networks' routes"

    @property
    def pidfile(self):
        return self.dn.settings.state_dir / "watch.pid"

    @property
    def logfile(self):
        return self.dn.settings.state_dir / "watch.log"

    def check(self):
        pid = procs.Pidfile(self.pidfile).pid()
        return f"net.watch runs (pid {pid}, log {self.logfile})" if pid else None

    def plan(self):
        return [f"start net.watch in the background (log {self.logfile})"]

    def apply(self):
        self.dn.journal.record(self.name)
        env = dict(os.environ, DEVNET_SETTINGS=json.dumps(self.dn.settings.raw),
                   PYTHONPATH=str(PROJECT_DIR))
        with open(self.logfile, "ab") as log:
            proc = procs.Pidfile(self.pidfile).spawn(
                [sys.executable, "-m", "devnet.vpn.watch"], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        return f"net.watch started (pid {proc.pid}, log {self.logfile})"

    def verify(self):
        wait_until(lambda: "watching" in self.logfile.read_text(), 10,
                   "net.watch to start", f"read {self.logfile}")

    def describe_undo(self, args):
        return "stop net.watch"

    def undo(self, args):
        stopped = procs.Pidfile(self.pidfile).stop(5)
        self.logfile.unlink(missing_ok=True)
        return "stopped net.watch" if stopped else "net.watch was not running"


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
            try:
                self.sync_networks()
                self.repair()
                said = self.resolver.round()  # the host's DNS never worse
                if said:
                    self.log(f"resolver: {said}")
            except Exception as err:  # one bad round must not end the watch
                self.log(f"error: {type(err).__name__}: {err}")
            self.dn.close()
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
    watcher = Watcher(Devnet(settings),
                      log=lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", flush=True))
    signal.signal(signal.SIGTERM, watcher.stop)
    signal.signal(signal.SIGINT, watcher.stop)
    watcher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
