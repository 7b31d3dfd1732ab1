import json
import re
import socket
from pathlib import Path

import pytest
from invoke import MockContext

from devnet import config
from devnet.core import Devnet

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str):
    return json.loads(fixture_text(name))


def tcp_and_udp_on_one_port() -> tuple[socket.socket, socket.socket]:
    """A TCP and a UDP socket bound to one loopback port, as a DNS server binds it. A port
    free for one need not be free for the other (this process holds many UDP sockets: each
    test server's forwarder binds eight), so TCP's port first, then another pair until UDP
    binds it too."""
    while True:
        tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp.bind(("127.0.0.1", 0))
        try:
            udp.bind(tcp.getsockname())
            return tcp, udp
        except OSError:
            tcp.close()
            udp.close()


def closed_udp_port() -> int:
    """A loopback UDP port nobody holds, below the kernel's ephemeral range: a socket bound
    to port 0 (this process binds many) is never given it, so it stays closed while a test
    counts on an ICMP port unreachable (a port of the range, just freed, can be handed out
    again at once)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in range(low - 1, 1024, -1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free UDP port below the ephemeral range")


@pytest.fixture
def settings(tmp_path):
    return config.load({"instance": "dntest", "state_dir": str(tmp_path / "state")})


# dns.start's check of the supervisor (python -m devnet.procs, wherever the VM's Python is).
SUPERVISOR_ALIVE = re.compile(r"sh -c 'test -e /run/devnet-dns/supervisor\.pid && .*"
                              r"-m devnet\.procs alive /run/devnet-dns/supervisor\.pid'$")


def devnet_with_vm(settings, user="root", patterns=None, **commands) -> Devnet:
    """A Devnet whose VM connection is a MockContext expecting `commands` (and `patterns`:
    compiled regexen -> results)."""
    dn = Devnet(settings, echo=lambda _: None)
    conn = MockContext(run={**commands, **(patterns or {})})
    conn._set(user=user, host="127.0.0.1", port=2222)
    dn._conn = conn
    return dn
