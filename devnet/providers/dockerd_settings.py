"""Where a VM keeps devnet's dockerd --bip and --dns so that they survive the VM's restart:
each kind of VM has its own persistent place, and writing the usual one is not enough.

- DaemonJson: /etc/docker/daemon.json (the sim, qemu, vagrant's Debian box, Docker on Linux).
- Boot2DockerProfile (boot2docker, docker-machine): the boot2docker ISO unpacks / into RAM at
  every boot; only /var/lib/boot2docker and /var/lib/docker are on disk (boot2docker's
  README, "Local Customisation (with persistent partition)"; boot2docker/boot2docker#912).
  Its init script sources /var/lib/boot2docker/profile and hands EXTRA_ARGS to dockerd
  (README "Docker daemon options"; the script's `. '/var/lib/boot2docker/profile'` as quoted
  in docker/machine#2018). devnet appends one marked line there and takes only it away.
- Colima (in devnet.providers.cli.colima_config): colima writes the VM's daemon.json from
  colima.yaml's `docker` section at every start.
"""

from __future__ import annotations

import json
import re
import shlex

from devnet.errors import DevnetError

DAEMON_JSON = "/etc/docker/daemon.json"
PROFILE = "/var/lib/boot2docker/profile"


class DaemonJson:
    """dockerd's own configuration file, merged with the user's settings."""

    where = DAEMON_JSON

    def __init__(self, dn):
        self.dn = dn

    def read(self) -> tuple[str | None, dict]:
        """The file's text (None: no file) and the settings in it."""
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

    def settings(self) -> dict:
        """What dockerd gets from this place at its next start."""
        return self.read()[1]

    def journal_args(self) -> dict:
        """What undo needs to put the place back exactly (recorded before the first write)."""
        return {"previous": self.read()[0]}

    def write(self, values: dict) -> None:
        _, data = self.read()
        self.dn.vm_write(DAEMON_JSON, json.dumps({**data, **values}, indent=2) + "\n")

    def restore(self, args: dict) -> None:
        previous = args.get("previous")
        if previous is None:
            self.dn.vm_run("rm", "-f", DAEMON_JSON)
        else:
            self.dn.vm_write(DAEMON_JSON, previous)


FLAG = re.compile(r"--(bip|dns)[= ]([^\s\"']+)")


class Boot2DockerProfile:
    """One marked `EXTRA_ARGS="$EXTRA_ARGS --bip=… --dns=…"` line in boot2docker's profile,
    appended last so it extends what docker-machine or the user put there."""

    where = PROFILE

    def __init__(self, dn):
        self.dn = dn
        self.marker = f"# devnet:{dn.settings.instance}"

    def _text(self) -> str | None:
        return self.dn.vm_read(PROFILE)

    def _others(self, text: str | None) -> list[str]:
        return [ln for ln in (text or "").splitlines() if not ln.endswith(self.marker)]

    def settings(self) -> dict:
        found: dict = {}
        for ln in (self._text() or "").splitlines():
            if ln.endswith(self.marker):
                for key, value in FLAG.findall(ln):
                    if key == "dns":
                        found.setdefault("dns", []).append(value)
                    else:
                        found[key] = value
        return found

    def journal_args(self) -> dict:
        return {"profile_existed": self._text() is not None}

    def _refuse_both(self) -> None:
        """dockerd will not start when a setting comes both as a flag and from daemon.json
        ("the following directives are specified both as a flag and in the configuration
        file", as quoted in abiosoft/colima#1174)."""
        both = sorted(set(DaemonJson(self.dn).settings()) & {"bip", "dns"})
        if both:
            raise DevnetError(f"{DAEMON_JSON} in the VM sets {', '.join(both)}: with devnet's "
                              f"--bip/--dns in {PROFILE} dockerd would refuse to start",
                              f"remove {', '.join(both)} from {DAEMON_JSON} (invoke vm.ssh), "
                              "then run again")

    def write(self, values: dict) -> None:
        self._refuse_both()
        merged = {**self.settings(), **values}
        flags = [f"--bip={merged['bip']}"] if "bip" in merged else []
        flags += [f"--dns={d}" for d in merged.get("dns", [])]
        line = f'EXTRA_ARGS="$EXTRA_ARGS {shlex.join(flags)}"  {self.marker}'
        self.dn.vm_write(PROFILE, "\n".join([*self._others(self._text()), line]) + "\n")

    def restore(self, args: dict) -> None:
        rest = self._others(self._text())
        if not args.get("profile_existed", True) and not any(ln.strip() for ln in rest):
            self.dn.vm_run("rm", "-f", PROFILE)
        else:
            self.dn.vm_write(PROFILE, "".join(ln + "\n" for ln in rest))
