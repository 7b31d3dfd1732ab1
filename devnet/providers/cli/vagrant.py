"""provider vagrant: the project's Vagrantfile (VirtualBox or libvirt) through the vagrant CLI.

The Vagrantfile gives the VM settings.vm_ip on a private (host-only) network, provisions a
venv at /opt/devnet with the repository synced to /devnet, and puts the vagrant user in the
docker group: the Docker API reaches this machine as a unix socket through `ssh -L`.
"""

from __future__ import annotations

import os

from devnet.paths import PROJECT_DIR
from devnet.providers.cli.remote import RemoteProvider
from devnet.providers.cli.ssh_target import SshTarget

COMMA = "%!(VAGRANT_COMMA)"  # how --machine-readable writes a comma inside a field


def parse_machine_readable(text: str) -> dict[str, dict[str, str]]:
    """`timestamp,target,type,data` lines: for each machine (target), each type's data.
    Lines without a target (type "ui": the human text) are left out."""
    machines: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        fields = line.split(",", 3)
        if len(fields) == 4 and fields[1]:
            data = fields[3].replace(COMMA, ",").replace("\\n", "\n").replace("\\r", "\r")
            machines.setdefault(fields[1], {})[fields[2]] = data
    return machines


class VagrantProvider(RemoteProvider):
    name = cli = "vagrant"
    assigns_vm_address = True  # the Vagrantfile's private_network gives the VM settings.vm_ip
    docker_over_ssh = True
    install_hint = ("apt-get install -y vagrant   (Debian/Ubuntu; ./devnet.sh does it), else "
                    "https://developer.hashicorp.com/vagrant/install")

    def __init__(self, settings, local=None):
        super().__init__(settings, local)
        self.machine = self.option("machine")
        self.dir = self.option("dir") or str(PROJECT_DIR)  # where the Vagrantfile is
        self.label = f"machine {self.machine}"

    def uses_virtualbox(self) -> bool:
        """Vagrant's default provider: VAGRANT_DEFAULT_PROVIDER, else the Vagrantfile's first
        usable one (Vagrant docs, "Default Provider"): VirtualBox wherever it is installed."""
        wanted = os.environ.get("VAGRANT_DEFAULT_PROVIDER")
        if wanted:
            return wanted == "virtualbox"
        return self.local.run("command -v VBoxManage", hide=True, warn=True).ok

    @staticmethod
    def vagrantfile_settings(settings) -> dict:
        """What the Vagrantfile reads (through `invoke env --vagrant`): devnet's effective,
        validated settings, INVOKE_DEVNET_* overrides included."""
        ho = settings.hostonly
        return {"instance": settings.instance,
                "hostonly": {"network": str(ho.network), "netmask": str(ho.network.netmask),
                             "host_ip": str(ho.host_ip), "vm_ip": str(ho.vm_ip),
                             "vm_iface": ho.vm_iface},
                "vagrant": dict(settings.options["vagrant"])}

    def cli_env(self) -> dict[str, str]:
        return {"VAGRANT_CWD": self.dir}

    def commands(self) -> dict[str, tuple]:
        m = self.machine
        return {"status": ("status", "--machine-readable", m), "create": ("up", m),
                "start": ("up", m), "stop": ("halt", m), "destroy": ("destroy", "-f", m),
                "ssh": ("ssh", m)}

    def parse_state(self, text: str) -> str | None:
        state = parse_machine_readable(text).get(self.machine, {}).get("state")
        return None if state in (None, "not_created") else state

    def cli_ssh_args(self, line: str) -> tuple:
        return ("ssh", self.machine, "-c", line)

    def ssh_target(self) -> SshTarget:
        return SshTarget.from_ssh_config(self.run_cli("ssh-config", self.machine).stdout)

    def vm_python(self) -> tuple[str, str | None]:
        return "/opt/devnet/bin/python", "/devnet"
