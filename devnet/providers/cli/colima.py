"""provider colima: a colima profile (a Lima VM, Ubuntu since colima 0.6) started with
--network-address, so the VM has an address the host reaches (macOS only): that address is
the gateway of the host's route to the containers. SSH goes through Lima's own ssh config."""

from __future__ import annotations

import json
import os
from pathlib import Path

from devnet.errors import DevnetError
from devnet.providers.cli.remote import RemoteProvider
from devnet.providers.cli.ssh_target import SshTarget


def parse_list(text: str) -> dict[str, dict]:
    """`colima list --json`: one JSON object per profile and line, by profile name."""
    profiles = {}
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            profiles[entry.get("name", "")] = entry
    return profiles


def colima_home() -> Path:
    """Where colima keeps its profiles: $COLIMA_HOME, else ~/.colima (colima's FAQ)."""
    return Path(os.environ.get("COLIMA_HOME") or Path.home() / ".colima")


class ColimaProvider(RemoteProvider):
    name = cli = "colima"
    assigns_vm_address = True  # --network-address: the VM gets its address from colima
    # The Ubuntu VM has python3 but neither devnet's code nor its packages: DNS runs as a
    # container until provisioning puts them there.
    default_dns_runtime = "container"
    install_hint = "brew install colima   (see github.com/abiosoft/colima#installation)"

    def __init__(self, settings, local=None):
        super().__init__(settings, local)
        self.profile = self.option("profile")
        self.label = f"profile {self.profile}"

    def commands(self) -> dict[str, tuple]:
        p = self.profile
        start = ("start", "-p", p, "--network-address")  # creates the profile if need be
        return {"status": ("list", "--json"), "create": start, "start": start,
                "stop": ("stop", "-p", p), "destroy": ("delete", "-f", "-p", p),
                "ssh": ("ssh", "-p", p)}

    def instance(self) -> dict | None:
        return parse_list(self.run_cli("list", "--json").stdout).get(self.profile)

    def parse_state(self, text: str) -> str | None:
        return parse_list(text).get(self.profile, {}).get("status")

    def gateway(self) -> str:
        address = (self.instance() or {}).get("address")
        if not address:
            raise DevnetError(f"colima {self.label} has no address the host can reach",
                              f"{self.action_line('start')}   (macOS only)")
        return address

    def why_running(self) -> str | None:
        found = self.instance() or {}
        if not self.is_up(found.get("status")):
            return None
        where = f"at {found['address']}" if found.get("address") else "without --network-address"
        return f"colima: {self.label} is {found['status']} {where} (colima list --json)"

    def cli_ssh_args(self, line: str) -> tuple:
        # limactl quotes each argument it is given: the shell line goes to sh -c whole.
        return ("ssh", "-p", self.profile, "--", "sh", "-c", line)

    def ssh_target(self) -> SshTarget:
        return SshTarget.from_ssh_config(self.run_cli("ssh-config", "-p", self.profile).stdout)

    def docker_url(self) -> str:
        return f"unix://{colima_home() / self.profile / 'docker.sock'}"
