"""provider boot2docker: the walk-through's own tool (boot2docker-cli, VirtualBox).

`boot2docker init --dhcp=false --hostip=...` leaves the VM's eth1 without an address, as the
walk-through does; devnet's vm.hostonly gives it settings.vm_ip. The Docker API listens with
TLS on eth1's address, so `boot2docker shellinit` (DOCKER_HOST, DOCKER_CERT_PATH,
DOCKER_TLS_VERIFY) answers only after vm.hostonly; until then devnet asks Docker over SSH.
"""

from __future__ import annotations

import os
import re

from devnet.providers.base import Piece
from devnet.providers.cli.remote import RemoteProvider, detail
from devnet.providers.cli.ssh_target import SshTarget, parse_ip

PROFILE_LINE = re.compile(r'^\s*(\w+)\s*=\s*"?([^"\n]*)"?\s*$', re.M)  # `Key = "value"`
# What boot2docker uses when its profile does not say (boot2docker-cli's config.go flags);
# its NAT rule forwards 127.0.0.1:SSHPort to the VM's port 22.
SSH_DEFAULTS = {"SSHHost": "127.0.0.1", "SSHPort": "2022", "SSHUser": "docker",
                "SSHKey": "~/.ssh/id_boot2docker"}


def parse_profile(text: str) -> dict[str, str]:
    """`boot2docker config`: the settings in use, one TOML `Key = value` line each."""
    return dict(PROFILE_LINE.findall(text))


class Boot2DockerProvider(RemoteProvider):
    name = cli = "boot2docker"
    default_dns_runtime = "container"  # Tiny Core Linux has no Python
    docker_restart = "/etc/init.d/docker restart"
    stop_before_destroy = True  # `boot2docker delete` wants the VM powered off
    env_hint = "shellinit needs eth1's address: invoke vm.hostonly"
    install_hint = ("boot2docker-cli is retired (last release: github.com/boot2docker/"
                    "boot2docker-cli/releases); provider docker-machine or colima replace it")

    def __init__(self, settings, local=None):
        super().__init__(settings, local)
        self.vm = self.option("vm")
        self.vm_flag = f"--vm={self.vm}"  # before the command: boot2docker [<options>] <command>
        self.label = f"VM {self.vm}"

    def commands(self) -> dict[str, tuple]:
        ho, vm = self.settings.hostonly, self.vm_flag
        return {"status": (vm, "status"), "start": (vm, "up"), "stop": (vm, "down"),
                "create": (vm, "init", "--dhcp=false", f"--hostip={ho.host_ip}",
                           f"--netmask={ho.network.netmask}"),
                "destroy": (vm, "delete"), "ssh": (vm, "ssh"), "env": (vm, "shellinit")}

    def parse_state(self, text: str) -> str | None:
        return text.strip() or None

    def ssh_target(self) -> SshTarget:
        out = self.run_cli(self.vm_flag, "config", check=False)
        conf = {**SSH_DEFAULTS, **(parse_profile(out.stdout) if out.ok else {})}
        return SshTarget(conf["SSHHost"], int(conf["SSHPort"]), conf["SSHUser"],
                         (os.path.expanduser(conf["SSHKey"]),))

    def docker_answers(self) -> bool:
        # Over SSH: the API's own address is eth1's, which vm.hostonly sets after vm.up.
        try:
            return self.vm_command("docker version").ok
        except Exception:  # not up yet
            return False

    def reported_ip(self) -> str:
        return parse_ip(self.run_cli(self.vm_flag, "ip").stdout, self.line(self.vm_flag, "ip"))

    def status(self) -> list[Piece]:
        pieces = super().status()
        if pieces[0].ok:
            ip = detail(self.reported_ip)
            pieces.append(Piece("host-only address", ip == self.settings.vm_ip,
                                f"boot2docker ip: {ip}"))
        return pieces
