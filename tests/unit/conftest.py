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
