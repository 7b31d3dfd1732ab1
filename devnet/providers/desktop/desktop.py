"""desktop: Docker Desktop (macOS, Windows/WSL2, Linux), Rancher Desktop, Podman machine: a VM
devnet did not make and cannot log into. devnet talks to its Docker socket (the context's),
starts the tunnel's VM end as a container there, which dials the host at
host.docker.internal:<devnet.desktop.udp_port> (devnet.desktop.dial: vm, devnet.tunnel.dial),
or, for an engine that only publishes ports, is dialed at a port the VM publishes on the
host's loopback (dial: host)."""

from __future__ import annotations

from invoke import Context

from devnet.errors import DevnetError
from devnet.providers.base import Piece, Provider
from devnet.providers.desktop import engines
from devnet.providers.desktop.sim import NO_SSH
from devnet.system import require_binaries
from devnet.tunnel import host_link, keys


class DesktopProvider(Provider):
    name = "desktop"
    reach_modes = ("tunnel",)
    default_dns_runtime = "container"

    def __init__(self, settings):
        super().__init__(settings)
        self.local = Context()

    @classmethod
    def detect(cls, local, settings) -> str | None:
        if local.run("command -v docker", hide=True, warn=True).failed:
            return None
        found = engines.detect(local)  # OrbStack: provider orbstack (reach native)
        return found.why if found and found.kind in engines.TUNNEL_KINDS else None

    def preflight(self) -> None:
        require_binaries("docker", "wg", "wireguard-go")
        if not self.docker_answers():
            raise DevnetError(f"no Docker answers at {self.docker_url()}",
                              "start Docker Desktop (Rancher Desktop, `podman machine start`)")

    def exists(self) -> bool:
        return self.docker_answers()

    running = exists

    def create(self) -> str:
        return "nothing: the VM is its app's own"

    def start(self) -> str:
        if not self.docker_answers():
            raise DevnetError("the Desktop VM is not running",
                              "start Docker Desktop (Rancher Desktop, `podman machine start`)")
        return "the Desktop VM runs"

    def stop(self) -> str:
        return "left to its app (devnet did not start it)"

    destroy = stop

    def connection(self):
        raise DevnetError(NO_SSH, "invoke status")

    def docker_url(self) -> str:
        given = self.option("docker_host")
        return given or engines.context_host(self.local) or "unix:///var/run/docker.sock"

    def host(self):
        return self.local

    def hostonly_link(self) -> str:
        return host_link.iface(keys.Tunnel(self.settings.instance, self.settings.state_dir))

    def status(self) -> list[Piece]:
        return [Piece("docker", self.docker_answers(), self.docker_url())]
