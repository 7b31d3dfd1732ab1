"""docker.configure: the VM's dockerd gets `--bip` and `--dns` through /etc/docker/daemon.json
(persistent across reboots, unlike the walk-through's hand-restarted daemon)."""

from __future__ import annotations

import json

from devnet.errors import DevnetError
from devnet.steps.base import Step
from devnet.steps.vm import has_address
from devnet.system import wait_until

DAEMON_JSON = "/etc/docker/daemon.json"


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
    inside_vm = True
    summary = "set the VM's dockerd --bip and --dns in daemon.json, then restart it"

    def _current(self) -> tuple[str | None, dict]:
        text = self.dn.vm_read(DAEMON_JSON)
        if not text or not text.strip():
            return text, {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DevnetError(f"{DAEMON_JSON} in the VM is not valid JSON ({err})",
                              "fix it with `invoke vm.ssh`, then run again") from err
        if not isinstance(data, dict):
            raise DevnetError(f"{DAEMON_JSON} in the VM is not a JSON object")
        return text, data

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
        return f"daemon.json has bip {w['bip']}, dns {w['dns'][0]}; docker0 is {w['bip']}"

    def check(self):
        if self.dn.provider.reach() == "tunnel":
            return ("tunnel: the VM's engine settings are its app's own (Docker Desktop: "
                    "Settings -> Docker Engine); tunnel.dns checks the bridge's address")
        _, data = self._current()
        in_file = all(data.get(k) == v for k, v in self._wanted().items())
        return self._describe() if in_file and self._bridge_ok() else None

    def plan(self):
        w = self._wanted()
        return [f"merge {json.dumps(w)} into {DAEMON_JSON} (in VM), restart dockerd"]

    def apply(self):
        text, data = self._current()
        # The user's file, to put back, and docker0's address, which dockerd keeps in its
        # network store even after --bip goes away.
        self.dn.journal.record_first(self.name, previous=text,
                                     bridge=first_address(self._bridge()))
        merged = {**data, **self._wanted()}
        self.dn.vm_write(DAEMON_JSON, json.dumps(merged, indent=2) + "\n")
        return f"{self.dn.provider.restart_docker()} with {json.dumps(self._wanted())}"

    def verify(self):
        wait_until(self._bridge_ok, 10, f"docker0 to take {self.dn.settings.bip}",
                   "invoke vm.ssh -c 'ip addr show docker0; tail /var/log/docker.log'")

    def describe_undo(self, args):
        put = "remove it" if args.get("previous") is None else "put the old one back"
        return f"{DAEMON_JSON}: {put}; restart dockerd"

    def undo(self, args):
        if not self.dn.provider.running():
            return f"VM is not running: {DAEMON_JSON} left as devnet wrote it"
        previous = args.get("previous")
        bridge = args.get("bridge")
        said = []
        if bridge and not has_address(self._bridge(), bridge):
            # dockerd's network store remembers devnet's --bip once the file is back: one
            # start with the old address as --bip makes the store hold that one again.
            _, data = self._current()
            self.dn.vm_write(DAEMON_JSON, json.dumps({**data, "bip": bridge}) + "\n")
            said.append(f"docker0 back to {bridge} ({self.dn.provider.restart_docker()})")
        if previous is None:
            self.dn.vm_run("rm", "-f", DAEMON_JSON)
        else:
            self.dn.vm_write(DAEMON_JSON, previous)
        said.append(self.dn.provider.restart_docker())
        return f"restored {DAEMON_JSON}, {', '.join(said)}"
