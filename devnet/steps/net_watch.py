"""net.watch and net.network: the watcher as a background process of its own (the process
itself: devnet.watch), and the Docker networks' routes it adds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devnet import procs
from devnet.paths import PROJECT_DIR
from devnet.steps.base import Step
from devnet.system import wait_until


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
        if self.dn.provider.tunnels():
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
        in_vm = not self.dn.provider.tunnels() and self.dn.provider.running()
        if in_vm and self.dn.vm_run("iptables", "-w", "-D", *self._rule(
                args["dst"]), warn=True).ok:
            said.append("its DOCKER-USER rule")
        return ", ".join(said) or f"route {args['dst']} was gone"


class NetWatch(Step):
    """net.watch as a background process of its own, stopped by `down`."""

    name = "net.watch"
    up_order = 90
    reach = ("route", "tunnel")  # not native: OrbStack's VM has no SSH, its routes are its own
    up_when = "watch"  # devnet.watch: on by default
    undo_first = True  # a watcher still running would put back what down takes away
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
                [sys.executable, "-m", "devnet.watch"], env=env, stdout=log,
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
