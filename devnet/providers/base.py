"""The lifecycle every provider offers (as molecule's drivers: create, start, verify, destroy)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from devnet.config import Settings
from devnet.errors import DevnetError
from devnet.provider_catalog import OPTIONS
from devnet.providers.dockerd_settings import DaemonJson
from devnet.tunnel.dial import Dial


@dataclass
class Piece:
    """One part of the setup and whether it is up, for `invoke status`."""

    name: str
    ok: bool
    detail: str


class Provider(ABC):
    name = "provider"
    cli: str | None = None  # the program that manages this kind of VM (vagrant, colima, ...)
    # What the provider does by itself, so the matching step says so and skips:
    has_vm = True  # False: Docker runs on this machine (local), no host-only network, no route
    assigns_vm_address = False  # the VM's host-only address comes from the provider (DHCP, ...)
    default_dns_runtime = "process"  # "container" where the VM has no Python
    simulated_host = False  # the developer's machine is devnet's <instance>-host namespace
    # devnet runs inside the VM (its own provisioning): "the host" is the VM itself, and the
    # developer's machine checks its side on its own `invoke up`
    runs_in_vm = False
    # The host's resolv.conf as a file the host Context can rename over (the sim's host
    # namespace sees /etc/netns/<ns>/resolv.conf bind-mounted on /etc/resolv.conf).
    resolv_conf = "/etc/resolv.conf"
    # How the host reaches containers (devnet.reach): "route" via a host-only address, or
    # "tunnel" (devnet.tunnel) where the VM has none; the first is the provider's own (auto).
    reach_modes: tuple[str, ...] = ("route",)
    offline = False  # its VM reaches no registry: images are devnet's offline ones

    def __init__(self, settings: Settings):
        self.settings = settings

    @classmethod
    def detect(cls, local, settings: Settings) -> str | None:
        """For provider=auto: why this provider is the one to use (installed, its VM or Docker
        running), or None. `local` is a Context on this machine."""
        return None

    options_of = None  # whose settings (devnet.<name>.*) this provider reads: its own by default

    def option(self, key: str):
        """This provider's own setting (devnet.<provider>.<key>); one not given (Settings made
        by hand, as in tests) is the catalogue's default, provider_catalog.OPTIONS."""
        name = self.options_of or self.name
        return {**OPTIONS.get(name, {}), **self.settings.options.get(name, {})}.get(key)

    def reach(self) -> str:
        """route | tunnel: devnet.reach, or this provider's own way for auto."""
        wanted = self.settings.reach
        return self.reach_modes[0] if wanted == "auto" else wanted

    def tunnels(self) -> bool:
        """Reached through the WireGuard tunnel: no SSH into the VM, only its Docker socket."""
        return self.reach() == "tunnel"

    def routes_itself(self) -> bool:
        """Reach native: the engine routes this machine to its containers (OrbStack); devnet
        probes that route and never adds, owns or removes one."""
        return self.reach() == "native"

    def check_reach(self) -> None:
        """Refuse a devnet.reach this provider cannot offer, before anything changes."""
        if self.reach() not in self.reach_modes:
            raise DevnetError(
                f"devnet.reach: {self.settings.reach} is not possible with provider {self.name} "
                f"(it offers {' or '.join(self.reach_modes)})",
                "set devnet.reach to auto in invoke.yaml (or INVOKE_DEVNET_REACH=auto)")

    def tunnel_dial(self) -> Dial:
        """Which end of the tunnel dials, and at which port: devnet.desktop.dial and udp_port,
        for every provider that offers the tunnel (their options are the desktop's)."""
        if "tunnel" not in self.reach_modes:
            raise DevnetError(f"provider {self.name} adds no tunnel (its reach: "
                              f"{' or '.join(self.reach_modes)})")
        return Dial(self.option("dial"), int(self.option("udp_port")))

    def tunnel_endpoint(self) -> str:
        """host:port the dialing end of the tunnel sends to."""
        return self.tunnel_dial().endpoint

    def gateway(self) -> str:
        """The VM's address on the host-only network: the host's route to Docker goes there."""
        return self.settings.vm_ip

    def ssh_command(self) -> str:
        """A command line a person can paste to get a shell in the VM."""
        return f"invoke vm.ssh   ({self.name})"

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

    def host_key_hint(self) -> str:
        """What to do when the VM shows another SSH host key than the pinned one."""
        return ("devnet made this VM's host key itself, so another program answers on its "
                "SSH port: find it, or invoke down, then invoke up")

    # What to run when dockerd lost devnet's --bip/--dns (doctor names it), in this
    # provider's own terms.
    dockerd_fix = "invoke docker.configure"

    def dockerd_settings(self, dn):
        """Where this VM keeps dockerd's --bip and --dns across restarts."""
        return DaemonJson(dn)

    def release_dns_code(self) -> None:
        """Remove what vm_python() put in place for the DNS service (dns.stop)."""
        return None

    def hostonly_link(self) -> str | None:
        """The host side of the host-only network (vboxnet0, the sim's veth)."""
        return None

    def resolver_link(self) -> str | None:
        """The link systemd-resolved's per-link DNS for the domain goes on."""
        return self.hostonly_link()

    def host_exists(self) -> bool:
        """The developer's machine is there (only the sim's can be gone)."""
        return True

    def docker_client(self, timeout: int = 30):
        import docker  # noqa: PLC0415  (the docker SDK costs ~0.2 s to import: only where a client is made)

        # from_env reads DOCKER_TLS_VERIFY/DOCKER_CERT_PATH too (boot2docker, docker-machine).
        return docker.DockerClient.from_env(environment=self.env(), timeout=timeout)

    def docker_answers(self, timeout: int = 3) -> bool:
        """The Docker API answers a ping now."""
        try:
            return bool(self.docker_client(timeout=timeout).ping())
        except Exception:  # not up yet: any transport or TLS error
            return False

    def dns_runtime(self) -> str:
        """How devnet's DNS service runs in the VM: "process" (vm_python; systemd unit or
        supervised) or "container" (VMs without Python, boot2docker's Tiny Core)."""
        wanted = self.settings.dns.runtime
        return self.default_dns_runtime if wanted == "auto" else wanted

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.docker_url()}

    @abstractmethod
    def status(self) -> list[Piece]:
        """Each piece of the VM and whether it is up."""
