"""The lifecycle every provider offers (as molecule's drivers: create, start, verify, destroy)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from devnet.config import Settings


@dataclass
class Piece:
    """One part of the setup and whether it is up, for `invoke status`."""

    name: str
    ok: bool
    detail: str


class Provider(ABC):
    name = "provider"

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def preflight(self) -> None:
        """Raise DevnetError if this machine cannot run the provider (root, binaries)."""

    @abstractmethod
    def exists(self) -> bool:
        """The VM has been created (it may be stopped)."""

    @abstractmethod
    def create(self) -> str:
        """Create the VM with its host-only adapter; return what was made."""

    def plan_create(self) -> list[str]:
        return [f"create the {self.name} VM"]

    @abstractmethod
    def running(self) -> bool:
        """The VM is up and its SSH and Docker endpoints answer."""

    @abstractmethod
    def start(self) -> str:
        """Boot the VM and wait until SSH and Docker answer."""

    def plan_start(self) -> list[str]:
        return [f"start the {self.name} VM"]

    @abstractmethod
    def stop(self) -> str:
        """Power the VM off; tolerate it being off already."""

    @abstractmethod
    def destroy(self) -> str:
        """Remove the VM and everything created for it; tolerate it being gone."""

    @abstractmethod
    def connection(self):
        """A Fabric Connection into the VM (root or passwordless sudo)."""

    @abstractmethod
    def docker_url(self) -> str:
        """Where the VM's Docker API answers, for DOCKER_HOST and the docker SDK."""

    @abstractmethod
    def host(self):
        """A Context for the developer's machine (the real one, or the sim's namespace)."""

    def restart_docker(self) -> str:
        """Restart the VM's dockerd so it reads /etc/docker/daemon.json again."""
        raise NotImplementedError

    def vm_python(self) -> tuple[str, str | None]:
        """The Python that runs devnet inside the VM, and the PYTHONPATH it needs."""
        return "python3", None

    def hostonly_link(self) -> str | None:
        """The host side of the host-only network (vboxnet0, the sim's veth)."""
        return None

    def host_exists(self) -> bool:
        """The developer's machine is there (only the sim's can be gone)."""
        return True

    def docker_client(self, timeout: int = 30):
        import docker

        return docker.DockerClient(base_url=self.docker_url(), timeout=timeout)

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.docker_url()}

    @abstractmethod
    def status(self) -> list[Piece]:
        """Each piece of the VM and whether it is up."""
