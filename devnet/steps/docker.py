"""docker.configure: the VM's dockerd gets `--bip` and `--dns` where that VM keeps them across
reboots (unlike the walk-through's hand-restarted daemon): /etc/docker/daemon.json, or the
provider's own place (boot2docker's profile, colima.yaml; devnet.providers.dockerd_settings)."""

from __future__ import annotations

import json

from devnet.steps.base import Step
from devnet.steps.vm import has_address
from devnet.system import wait_until


def first_address(ip_o_addr: str) -> str | None:
    """The first IPv4 address/prefix in `ip -o addr` lines, or None."""
    for ln in ip_o_addr.splitlines():
        words = ln.split()
        if "inet" in words:
            return words[words.index("inet") + 1]
    return None


class DockerConfigure(Step):
    name = "docker.configure"
    up_order = 60
    reach = ("route", "tunnel")  # not native: OrbStack's VM has no SSH, its routes are its own
    inside_vm = True
    summary = ("set the VM's dockerd --bip and --dns where the VM keeps them (daemon.json, "
               "boot2docker's profile, colima.yaml), then restart it")

    def store(self):
        return self.dn.provider.dockerd_settings(self.dn)

    def _wanted(self) -> dict:
        s = self.dn.settings
        return {"bip": str(s.bip), "dns": [s.dns_ip]}

    def _bridge(self) -> str:
        out = self.dn.vm_run("ip", "-o", "addr", "show", "dev", "docker0", warn=True)
        return out.stdout if out.ok else ""

    def _bridge_ok(self) -> bool:
        return has_address(self._bridge(), str(self.dn.settings.bip))

    def _describe(self) -> str:
        w = self._wanted()
        return (f"{self.store().where} has bip {w['bip']}, dns {w['dns'][0]}; docker0 is "
                f"{w['bip']}")

    def check(self):
        if self.dn.provider.tunnels():
            return ("tunnel: the VM's engine settings are its app's own (Docker Desktop: "
                    "Settings -> Docker Engine); tunnel.dns checks the bridge's address")
        data = self.store().settings()
        in_file = all(data.get(k) == v for k, v in self._wanted().items())
        return self._describe() if in_file and self._bridge_ok() else None

    def plan(self):
        w = self._wanted()
        return [f"merge {json.dumps(w)} into {self.store().where} (in VM), restart dockerd"]

    def apply(self):
        store = self.store()
        # What the place held, to put back, and docker0's address, which dockerd keeps in
        # its network store even after --bip goes away.
        self.dn.journal.record_first(self.name, **store.journal_args(),
                                     bridge=first_address(self._bridge()))
        store.write(self._wanted())
        return f"{self.dn.provider.restart_docker()} with {json.dumps(self._wanted())}"

    def verify(self):
        wait_until(self._bridge_ok, 10, f"docker0 to take {self.dn.settings.bip}",
                   "invoke vm.ssh -c 'ip addr show docker0; tail /var/log/docker.log'")

    def describe_undo(self, args):
        return f"{self.store().where}: put back as it was; restart dockerd"

    def undo(self, args):
        store = self.store()
        if not self.dn.provider.running():
            return f"VM is not running: {store.where} left as devnet wrote it"
        bridge = args.get("bridge")
        said = []
        if bridge and not has_address(self._bridge(), bridge):
            # dockerd's network store remembers devnet's --bip once the file is back: one
            # start with the old address as --bip makes the store hold that one again.
            store.write({"bip": bridge})
            said.append(f"docker0 back to {bridge} ({self.dn.provider.restart_docker()})")
        store.restore(args)
        said.append(self.dn.provider.restart_docker())
        return f"restored {store.where}, {', '.join(said)}"
