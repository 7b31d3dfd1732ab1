"""Real-world firewalls on the simulated developer machine: each saved ruleset
(tests/unit/fixtures/real-world, README there says where each came from) is loaded into the
host namespace with the real tool (iptables-restore, nft -f), then:

- where devnet's traffic already works, vpn.fix changes nothing: the ruleset is
  byte-identical before and after (counters aside);
- where it is blocked, vpn.fix makes it work again with devnet's own marked exception, the
  ruleset is otherwise unchanged, and a destination outside devnet's networks (the VM's NAT
  address 10.0.2.15, reached over the host-only link itself) stays blocked; vpn.restore puts
  the ruleset back byte for byte.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devnet.host.firewall_rules import IPTABLES_NFT_TABLES
from tests.e2e.machine import dig, echo_container, tcp_from_host, wait_for

pytestmark = pytest.mark.sim_only("loads other firewalls into the simulated host namespace")

RULESETS = Path(__file__).parents[1] / "unit/fixtures/real-world"
OUTSIDE = "10.0.2.15"  # the VM's NAT address: not devnet's, yet over devnet's own link


@dataclass
class Case:
    name: str
    file: str
    blocks: bool
    tunnel: str | None = None  # an interface the ruleset names by index (nft oif/iif)

    def __str__(self):
        return self.name


CASES = [
    Case("ufw default deny incoming + limit", "ufw-default-deny-limit.rules", False),
    Case("RHEL iptables-services final REJECT", "rhel-iptables-services.rules", False),
    Case("Docker's own chains", "docker-host.rules", False),
    Case("libvirt bridges", "libvirt-default.rules", False),
    Case("firewalld (nftables)", "firewalld-fedora.nft", False),
    Case("wg-quick full tunnel", "wg-quick-full-tunnel.nft", False),
    Case("OpenVPN kill switch (policy DROP)", "openvpn-killswitch.rules", True),
    Case("Mullvad-like nftables kill switch", "mullvad-like.nft", True, "wg0-mullvad"),
    Case("AnyConnect-like ciscovpn chain", "anyconnect-ciscovpn-sim.rules", True),
]


def ns_run(ns, *argv, check=True):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          check=check, timeout=30)


def ruleset(ns) -> str:
    """iptables-save, and nft's tables iptables does not manage, without counters and
    comment lines."""
    tables = [t.split(" ", 1)[1] for t in ns_run(ns, "nft", "list", "tables").stdout.split("\n")
              if t and t.split(" ", 1)[1] not in IPTABLES_NFT_TABLES]
    text = ns_run(ns, "iptables-save").stdout + "".join(
        ns_run(ns, "nft", "list", "table", *t.split()).stdout for t in tables)
    text = re.sub(r"\[\d+:\d+\]", "[0:0]", text)
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", text)
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def without_devnet(text: str, instance: str) -> str:
    return "\n".join(line for line in text.splitlines() if f"devnet:{instance}" not in line)


def works(ns, ip) -> bool:
    return tcp_from_host(ns, ip, timeout=1).returncode == 0 and dig(ns, "fw1.docker") == [ip]


def outside_answers(ns) -> bool:
    return ns_run(ns, "ping", "-c1", "-W1", OUTSIDE, check=False).returncode == 0


@pytest.fixture(scope="module")
def target(docker_client, devnet_up, test_image, provider):
    """A container, and a route to the VM's NAT address over the host-only link (a place
    outside devnet's networks that a kill switch must keep blocked)."""
    ns = provider.host_ns
    ns_run(ns, "ip", "route", "add", f"{OUTSIDE}/32", "via",
           str(provider.settings.hostonly.vm_ip))
    try:
        assert outside_answers(ns), "the VM's NAT address must answer without a firewall"
        with echo_container(docker_client, "fw1") as ip:
            wait_for(lambda: works(ns, ip), 5)  # its name registered, no firewall yet
            yield ip
    finally:
        ns_run(ns, "ip", "route", "del", f"{OUTSIDE}/32", check=False)


@pytest.fixture
def loaded(request, provider):
    case: Case = request.param
    ns = provider.host_ns
    empty, saved = ruleset(ns), ns_run(ns, "iptables-save").stdout  # as earlier tests left it
    if case.tunnel:
        ns_run(ns, "ip", "tuntap", "add", "dev", case.tunnel, "mode", "tun")
    path = str(RULESETS / case.file)
    if case.file.endswith(".nft"):
        ns_run(ns, "nft", "-f", path)
    else:
        ns_run(ns, "iptables-restore", path)
    try:
        yield case
    finally:
        ns_run(ns, "nft", "flush", "ruleset")  # iptables-nft's tables (and policies) too
        if saved.strip():
            subprocess.run(["ip", "netns", "exec", ns, "iptables-restore"], input=saved,
                           text=True, check=True)
        if case.tunnel:
            ns_run(ns, "ip", "link", "del", case.tunnel, check=False)
        assert ruleset(ns) == empty


@pytest.mark.parametrize("loaded", [c for c in CASES if not c.blocks], indirect=True, ids=str)
def test_where_devnet_works_vpn_fix_changes_nothing(cli, provider, target, loaded):
    ns = provider.host_ns
    assert works(ns, target), f"devnet's traffic should pass {loaded}"
    before = ruleset(ns)
    out = cli("vpn.fix").stdout
    assert "already done: nothing blocks devnet" in out, out
    assert ruleset(ns) == before


@pytest.mark.parametrize("loaded", [c for c in CASES if c.blocks], indirect=True, ids=str)
def test_where_devnet_is_blocked_only_devnets_traffic_gets_through(cli, provider, settings,
                                                                  target, loaded):
    ns = provider.host_ns
    assert not works(ns, target), f"{loaded} should block devnet's traffic"
    assert not outside_answers(ns), f"{loaded} should block {OUTSIDE}"
    before = ruleset(ns)
    try:
        fixed = cli("vpn.fix").stdout
        assert "added devnet's exception" in fixed, fixed
        assert works(ns, target)
        assert not outside_answers(ns), "the kill switch must still hold outside devnet"
        after = ruleset(ns)
        assert after != before and without_devnet(after, settings.instance) == before
        assert "already done: nothing blocks devnet" in cli("vpn.fix").stdout
    finally:
        restored = cli("vpn.restore").stdout
    assert "removed devnet's exception" in restored
    assert ruleset(ns) == before
    assert not works(ns, target)


@pytest.mark.parametrize("loaded", [CASES[0]], indirect=True, ids=str)
def test_net_watch_for_30s_under_ufw_changes_nothing(cli, provider, target, loaded):
    ns = provider.host_ns
    before = ruleset(ns)
    assert "net.watch started" in cli("net.watch", "--background").stdout
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert ruleset(ns) == before
            time.sleep(2)
        assert works(ns, target)
    finally:
        cli("net.watch", "--stop")
    assert ruleset(ns) == before
