"""Docker on this Linux machine, no VM: the containers' bridge is a local interface, so no
host-only network and no route; devnet's DNS listens on the bridge (docker0's --bip) and
the machine's resolver is pointed at it.

The "VM" steps (daemon.json, the DNS service) run on this machine through a local Context
with the same interface as the Fabric Connection the VM providers give (fabric's model:
the same step runs locally or remote).
"""

from __future__ import annotations

import getpass
import os

import docker
from invoke import Context

from devnet.errors import DevnetError
from devnet.host.sudo import as_root_unattended
from devnet.providers.base import Piece, Provider
from devnet.providers.local import code as local_code
from devnet.system import wait_until


class LocalMachine(Context):
    """A Context that looks like a Connection to this machine (user, host, port, close)."""

    host, port = "localhost", None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = getpass.getuser() if os.geteuid() != 0 else "root"

    def close(self) -> None:
        pass


class LocalProvider(Provider):
    name = "local"
    has_vm = False

    def __init__(self, settings, local=None):
        super().__init__(settings)
        self.local = local or LocalMachine()

    @classmethod
    def detect(cls, local, settings) -> str | None:
        if local.run("uname -s", hide=True, warn=True).stdout.strip() != "Linux":
            return None
        url = settings.options["local"]["docker_host"]
        try:
            docker.DockerClient(base_url=url, timeout=2).ping()
        except Exception:  # auto only asks; any failure means "not this one"
            return None
        return f"local: Docker answers at {url} on this Linux machine (no VM needed)"

    def preflight(self) -> None:
        if self.local.run("uname -s", hide=True, warn=True).stdout.strip() != "Linux":
            raise DevnetError("provider local needs Docker on this Linux machine",
                              "on macOS use provider colima, docker-machine or vagrant")

    # -- there is no VM: create and destroy have nothing to do ---------------------------

    def exists(self) -> bool:
        return self.local.run("command -v dockerd", hide=True, warn=True).ok

    def plan_create(self) -> list[str]:
        return ["nothing to create: Docker runs on this machine (needs docker.io installed)"]

    def create(self) -> str:
        raise DevnetError("Docker is not installed on this machine",
                          "apt-get install -y docker.io   (or run ./devnet.sh)")

    def destroy(self) -> str:
        return "nothing to remove: provider local has no VM"

    # -- dockerd, through the machine's service manager ----------------------------------

    def service_argv(self, action: str) -> str:
        """`action` (start, stop, restart) for dockerd, by this machine's service manager."""
        custom = self.option("docker_service")
        if custom:
            return f"{custom} {action}"
        if self.local.run("test -d /run/systemd/system", hide=True, warn=True).ok:
            return f"systemctl {action} docker"
        if self.local.run("test -x /etc/init.d/docker", hide=True, warn=True).ok:
            return f"service docker {action}"
        if self.local.run("command -v rc-service", hide=True, warn=True).ok:
            return f"rc-service docker {action}"
        raise DevnetError(
            f"cannot {action} dockerd: no systemd, /etc/init.d/docker or rc-service here",
            "set devnet.local.docker_service to a command that takes start|stop|restart")

    def _service(self, action: str) -> None:
        line = as_root_unattended(self.local.user, self.service_argv(action))
        out = self.local.run(line, hide=True, warn=True)
        if out.failed:
            raise DevnetError(f"`{line}` failed ({out.exited}): "
                              f"{(out.stderr or out.stdout).strip()}",
                              "journalctl -u docker (or dockerd's own log)")

    def running(self) -> bool:
        return self.docker_answers()

    def plan_start(self) -> list[str]:
        try:
            return [self.service_argv("start")]
        except DevnetError as err:
            return [err.what]

    def start(self) -> str:
        self._service("start")
        self._wait()
        return f"started dockerd ({self.service_argv('start')})"

    def stop(self) -> str:
        if not self.docker_answers():
            return "already stopped"
        self._service("stop")
        return f"stopped dockerd ({self.service_argv('stop')})"

    def restart_docker(self) -> str:
        self._service("restart")
        self._wait()
        return "restarted dockerd"

    def _wait(self) -> None:
        wait_until(self.docker_answers, self.settings.start_timeout,
                   f"dockerd to answer at {self.docker_url()}",
                   "journalctl -u docker (or dockerd's own log)", pause=0.2)

    # -- endpoints -----------------------------------------------------------------------

    def docker_url(self) -> str:
        return self.option("docker_host")

    def connection(self) -> LocalMachine:
        return self.local

    def host(self) -> LocalMachine:
        return self.local

    def vm_python(self) -> tuple[str, str | None]:
        """A root-owned copy of the code, the base interpreter (devnet.providers.local.code)."""
        return local_code.install(self.local, self.settings.instance)

    def release_dns_code(self) -> None:
        local_code.remove(self.local, self.settings.instance)

    def resolver_link(self) -> str | None:
        return "docker0"  # systemd-resolved's per-link DNS goes on the bridge

    def ssh_command(self) -> str:
        return "(provider local: no VM, Docker runs on this machine)"

    def status(self) -> list[Piece]:
        return [Piece("docker installed", self.exists(), "dockerd on PATH"),
                Piece("dockerd", self.docker_answers(), self.docker_url())]


class GuestProvider(LocalProvider):
    """devnet run inside the VM by the VM's own provisioning (the Vagrantfile's `invoke
    vm.provision`): the in-VM steps, on this machine, which is the VM. Its host-only address
    comes with the VM (Vagrant's private_network)."""

    name = "guest"
    has_vm = True
    assigns_vm_address = True

    options_of = "local"  # devnet.local.*: Docker on this machine, which the guest is

    @classmethod
    def detect(cls, local, settings) -> str | None:
        return None  # only asked for by name, by provisioning
