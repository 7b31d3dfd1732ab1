"""Bad settings and hostile names: a clear error before anything changes (runs before `up`)."""

import os
from pathlib import Path

import pytest

from tests.e2e.machine import Cli, assert_same, snapshot

pytestmark = pytest.mark.qemu_proves(
    "settings are refused before any provider runs: the same on every provider")

PWNED = Path("/tmp/devnet-e2e-pwned")

BAD = [
    ({"INVOKE_DEVNET_DNS_DOMAIN": f"x;$(touch {PWNED}) y"}, "devnet.dns.domain"),
    ({"INVOKE_DEVNET_DNS_ENVIRONMENT": "dev`touch /tmp/devnet-e2e-pwned`"},
     "devnet.dns.environment"),
    ({"INVOKE_DEVNET_HOSTONLY_NETWORK": "172.17.0.0/16", "INVOKE_DEVNET_HOSTONLY_HOST_IP":
      "172.17.0.1", "INVOKE_DEVNET_HOSTONLY_VM_IP": "172.17.0.11"},
     "overlaps devnet.docker.subnets"),
    ({"INVOKE_DEVNET_HOSTONLY_VM_IP": "10.9.9.9"}, "is not a usable address"),
    ({"instance": "a b;rm"}, "devnet.instance"),
    ({"INVOKE_DEVNET_HOSTONLY_VM_IFACE": "eth1;reboot"}, "is not an interface name"),
    ({"INVOKE_DEVNET_DOCKER_BIP": "10.1.1.1/24"}, "devnet.docker.bip"),
    ({"INVOKE_DEVNET_DNS_DOMAIN": "x" * 300}, "devnet.dns.domain"),
]


@pytest.mark.parametrize("env, message", BAD, ids=[b[1] for b in BAD])
def test_bad_settings_change_nothing(env, message, before, marks):
    env = dict(env)
    cli = Cli(env.pop("instance", f"b{os.getpid() % 10**6}"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out = cli("up", check=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if out.returncode == 0:  # it should have refused: still leave nothing behind
        cli("down", check=False)
    assert out.returncode == 1
    assert message in out.stderr and "Traceback" not in out.stderr
    assert "next: fix them in invoke.yaml" in out.stderr
    assert not PWNED.exists()
    after = snapshot(marks)
    assert_same(before, after)
