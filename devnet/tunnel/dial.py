"""Which end of the tunnel dials the other: a fact of the provider (devnet.desktop.dial).

- `vm` (the default): the VM's end dials the host at `host.docker.internal:<udp_port>` with a
  25 s keepalive, and the host's end listens on that port and learns the VM's endpoint from
  the handshake. This is the direction Docker Desktop is known to carry (its VM resolves
  host.docker.internal to the host; UDP from the VM to the host goes through vpnkit /
  gvisor-tap-vsock, whose mapping the keepalive holds open), and the one
  docker-mac-net-connect uses: its host side only sets a ListenPort (main.go,
  `ListenPort: &port`, 3333) and its VM side peers with `net.LookupIP("host.docker.internal")`
  at that port with `PersistentKeepaliveInterval` 25 s (client/main.go).
- `host`: the host dials a UDP port the VM publishes on the host's loopback
  (127.0.0.1:<udp_port>): for engines that publish ports but give the VM no name for the host.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST_ALIAS = "host.docker.internal"  # how a Desktop VM names the developer's machine
DIALS = ("vm", "host")
KEEPALIVE = 25  # seconds: keeps a NAT's (vpnkit's) UDP mapping open
VM_PORT = 51820  # the VM end's listening port when the host dials (published to udp_port)


@dataclass(frozen=True)
class Dial:
    by: str  # "vm" | "host" (DIALS; config.load refuses others): the end that dials
    port: int  # the host's side: where it listens (vm), or the VM's published port (host)

    @property
    def endpoint(self) -> str:
        """Where the dialing end sends its handshakes."""
        return f"{HOST_ALIAS}:{self.port}" if self.by == "vm" else f"127.0.0.1:{self.port}"

    def describe(self) -> str:
        if self.by == "vm":
            return f"the VM dials {self.endpoint}, the host listens on udp {self.port}"
        return f"the host dials {self.endpoint} (a port the VM publishes)"

    def host_interface(self) -> str:
        """The host config's [Interface] lines beyond the key."""
        return f"ListenPort = {self.port}\n" if self.by == "vm" else ""

    def host_peer(self) -> str:
        """The host config's [Peer] lines beyond key and AllowedIPs: where the host dials, the
        endpoint and the keepalive; where the VM dials, nothing (the host learns the VM's
        endpoint from its handshake and answers there)."""
        if self.by == "vm":
            return ""
        return f"Endpoint = {self.endpoint}\nPersistentKeepalive = {KEEPALIVE}\n"

    def helper_env(self) -> dict[str, str]:
        """The helper's environment for its entry script (image.ENTRY): ENDPOINT and KEEPALIVE
        make it dial, PORT makes it listen."""
        if self.by == "vm":
            return {"ENDPOINT": self.endpoint, "KEEPALIVE": str(KEEPALIVE), "PORT": ""}
        return {"ENDPOINT": "", "KEEPALIVE": "", "PORT": str(VM_PORT)}
