"""provider docker-machine: a boot2docker-ISO VM that docker-machine creates (VirtualBox by
default) with a host-only network on devnet's addresses; VirtualBox's DHCP gives the VM its
host-only address, which `docker-machine ip` reports and the host's route goes to."""

from __future__ import annotations

import json

from devnet.errors import DevnetError
from devnet.providers.cli.remote import RemoteProvider
from devnet.providers.cli.ssh_target import SshTarget, parse_ip


class DockerMachineProvider(RemoteProvider):
    name = cli = "docker-machine"
    assigns_vm_address = True  # DHCP on the host-only network
    default_dns_runtime = "container"  # the boot2docker ISO: Tiny Core Linux, no Python
    docker_restart = "/etc/init.d/docker restart"
    env_hint = "docker-machine regenerate-certs <machine>, if its TLS certificates are at fault"
    install_hint = ("docker-machine is retired: its last release is at github.com/docker/"
                    "machine/releases (macOS: brew install docker-machine)")

    def __init__(self, settings, local=None):
        super().__init__(settings, local)
        self.machine = self.option("machine")
        self.driver = self.option("driver")
        self.label = f"machine {self.machine}"

    def commands(self) -> dict[str, tuple]:
        m = self.machine
        # Only VirtualBox's driver knows the host-only flag (its value: the host's side).
        cidr = (("--virtualbox-hostonly-cidr", self.settings.hostonly.host_cidr)
                if self.driver == "virtualbox" else ())
        return {"status": ("status", m), "create": ("create", "-d", self.driver, *cidr, m),
                "start": ("start", m), "stop": ("stop", m), "destroy": ("rm", "-y", m),
                "ssh": ("ssh", m), "env": ("env", "--shell", "bash", m)}

    def parse_state(self, text: str) -> str | None:
        return text.strip() or None

    def gateway(self) -> str:
        return parse_ip(self.run_cli("ip", self.machine).stdout, self.line("ip", self.machine))

    def ssh_target(self) -> SshTarget:
        out = self.run_cli("inspect", self.machine)
        try:
            host = json.loads(out.stdout)
            driver = host["Driver"]
            # VirtualBox's SSHPort is a NAT forward on the host's loopback (docker-machine's
            # own ssh goes to 127.0.0.1 too); other drivers listen on the VM's address.
            address = "127.0.0.1" if host["DriverName"] == "virtualbox" else driver["IPAddress"]
            return SshTarget(address, int(driver["SSHPort"]), driver["SSHUser"],
                             (driver["SSHKeyPath"],))
        except (ValueError, KeyError, TypeError) as err:
            raise DevnetError(f"`{self.line('inspect', self.machine)}` did not say how to SSH "
                              f"into the machine ({type(err).__name__}: {err})") from err
