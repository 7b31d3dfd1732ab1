"""orbstack: OrbStack's engine (macOS). OrbStack already routes this machine to its containers'
addresses and names them `<container>.orb.local`; devnet adds only what is missing: its own
names (`<container>.<image>.<env>.<domain>`, the DNS service as a container reached over
OrbStack's route, the resolver for devnet's domain only). Its reach is `native`: devnet checks
that reach with a probe and says it is OrbStack's, and never adds, owns or removes a route."""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.providers.desktop import engines
from devnet.providers.desktop.desktop import DesktopProvider


class OrbStackProvider(DesktopProvider):
    name = "orbstack"
    reach_modes = ("native",)
    options_of = "desktop"  # devnet.desktop.docker_host: the context's endpoint when ""

    @classmethod
    def detect(cls, local, settings) -> str | None:
        if local.run("command -v docker", hide=True, warn=True).failed:
            return None
        found = engines.detect(local)
        return found.why if found and found.kind in engines.SELF_ROUTING else None

    def preflight(self) -> None:
        if not self.docker_answers():
            raise DevnetError(f"no Docker answers at {self.docker_url()}", "start OrbStack")

    def start(self) -> str:
        if not self.docker_answers():
            raise DevnetError("OrbStack's VM is not running", "start OrbStack")
        return "OrbStack's VM runs"

    def hostonly_link(self) -> str | None:
        return None  # OrbStack's own link: devnet neither names nor touches it

    def gateway(self) -> None:
        return None  # no route of devnet's: vpn.fix and net.watch put none back or add none
