"""VPNs that route by policy (`ip rule` + tables of their own), built in the sim's host
namespace with the commands their clients run (routing_vpns.py): devnet judges its routes as
the kernel does, repairs with a rule of its own before the VPN's, and takes exactly that away.
net.watch routes no Docker network that is not private or would shadow a host's (a VPN's)
route; `up` starts net.watch by default and `down` stops it before undoing anything."""

import contextlib
import json
import os

import docker.types
import pytest

from devnet import config, providers
from tests.e2e.machine import Cli, dig, echo_container, on_host, snapshot, tcp_from_host, wait_for
from tests.e2e.routing_vpns import TAILSCALE, WG_QUICK

pytestmark = pytest.mark.qemu_proves(
    "the policy-routing VPNs are the developer machine's: the same for every VM with a "
    "host-only route")


@pytest.fixture(scope="module")
def target(docker_client, devnet_up, test_image):
    with echo_container(docker_client, "route1") as ip:
        yield ip


def works(ns: str, ip: str, timeout=3.0) -> bool:
    """TCP to the container and its name through the host's resolver, both."""
    return (tcp_from_host(ns, ip, timeout=timeout).returncode == 0
            and dig(ns, "route1.docker") == [ip])


def routing(ns: str) -> dict:
    return {"rules": on_host(ns, "ip", "rule", "show"),
            "routes": on_host(ns, "ip", "route", "show", "table", "all")}


def kernel(ns: str, *ask: str) -> dict:
    return json.loads(on_host(ns, "ip", "-j", "route", "get", *ask) or "[{}]")[0]


@contextlib.contextmanager
def connected(ns: str, vpn):
    """The VPN up with its own commands; down again with its own, whatever happened."""
    try:
        for argv in vpn.up:
            out = on_host(ns, "sh", "-c", " ".join(argv) + " && echo ok")
            assert out.strip() == "ok", f"{' '.join(argv)} failed"
        yield
    finally:
        for argv in vpn.down:
            on_host(ns, *argv)


def test_a_wg_quick_full_tunnel_is_seen_and_left_alone(cli, provider, target):
    ns = provider.host_ns
    with connected(ns, WG_QUICK):
        before = routing(ns)
        assert "not from all fwmark 0xca6c lookup 51820" in before["rules"]
        assert works(ns, target)  # main's specific routes win: suppress_prefixlength 0
        assert "already done: nothing blocks devnet" in cli("vpn.fix").stdout
        assert routing(ns) == before
        assert (kernel(ns, WG_QUICK.outside)["dev"], kernel(ns, WG_QUICK.outside)["table"]) \
            == ("wg0", "51820")


def test_tailscales_own_table_breaks_devnet_and_a_rule_of_devnets_repairs_it(cli, provider,
                                                                             target):
    ns = provider.host_ns
    pristine = routing(ns)
    with connected(ns, TAILSCALE):
        try:
            before = routing(ns)
            assert kernel(ns, target)["dev"] == "tailscale0"
            assert tcp_from_host(ns, target, timeout=1).returncode == 1, "the VPN did not break TCP"
            plan = cli("vpn.fix", "--dry-run").stdout
            assert "rule `5270: from all lookup 52` sends 172.17.0.1 to 172.16.0.0/12 dev " \
                "tailscale0 table 52" in plan
            fixed = cli("vpn.fix").stdout
            assert "rule 5269: to 172.17.0.0/16 lookup main (before the VPN's" in fixed
            assert "rule 5269: to 172.16.0.0/16 lookup main" in fixed
            assert works(ns, target)
            after = routing(ns)
            assert "5269:\tfrom all to 172.17.0.0/16 lookup main proto 217" in after["rules"]
            assert after["routes"] == before["routes"]  # no route touched, the VPN's rules kept
            assert set(before["rules"].splitlines()) <= set(after["rules"].splitlines())
            outside = kernel(ns, TAILSCALE.outside)  # the VPN still takes the rest
            assert (outside["dev"], outside["table"]) == ("tailscale0", "52")
            assert "already done: nothing blocks devnet" in cli("vpn.fix").stdout

            restored = cli("vpn.restore").stdout
            assert "rule 5269: to 172.17.0.0/16 lookup main removed" in restored
            assert routing(ns) == before  # byte-identical
            assert tcp_from_host(ns, target, timeout=1).returncode == 1
        finally:  # a failure above must not leave devnet's rule to fail the next test
            cli("vpn.restore")
    assert routing(ns) == pristine
    assert works(ns, target)


# -- net.watch: only private networks that shadow nothing -------------------------------------

@pytest.fixture(scope="module")
def watching(cli, settings, devnet_up):
    """The shared session runs without a watcher (conftest); these tests start their own."""
    assert "net.watch started" in cli("net.watch", "--background").stdout
    yield settings.state_dir / "watch.log"
    assert "stopped net.watch" in cli("net.watch", "--stop").stdout


def create_network(client, name: str, subnet: str):
    pool = docker.types.IPAMPool(subnet=subnet)
    return client.networks.create(name, driver="bridge",
                                  ipam=docker.types.IPAMConfig(pool_configs=[pool]))


@contextlib.contextmanager
def docker_network(client, name: str, subnet: str):
    net = create_network(client, name, subnet)
    try:
        yield net
    finally:
        net.remove()


def test_net_watch_never_routes_a_public_network_out_of_a_full_tunnel(provider, docker_client,
                                                                     watching):
    ns = provider.host_ns
    with connected(ns, WG_QUICK), docker_network(docker_client, "pubnet", "203.0.113.0/24"):
        wait_for(lambda: "refused: Docker network pubnet: 203.0.113.0/24 is not a private "
                 "range" in watching.read_text(), 5)
        assert "203.0.113" not in on_host(ns, "ip", "route", "show", "table", "all")
        inside = kernel(ns, "203.0.113.7")
        assert (inside["dev"], inside["table"]) == ("wg0", "51820")  # still the tunnel's


def test_net_watch_refuses_a_network_under_a_vpns_own_table_route(cli, provider, docker_client,
                                                                  target, watching):
    ns = provider.host_ns
    try:
        with connected(ns, TAILSCALE), docker_network(docker_client, "corpnet", "172.30.0.0/16"):
            wait_for(lambda: "refused: Docker network corpnet: 172.30.0.0/16 would shadow the "
                     "host's route 172.16.0.0/12 dev tailscale0 table 52" in
                     watching.read_text(), 5)
            wait_for(lambda: works(ns, target, timeout=0.5), 5)  # ... and repaired devnet's
            assert "172.30.0.0/16 via" not in on_host(ns, "ip", "route", "show", "table", "all")
            corp = kernel(ns, "172.30.0.7")
            assert (corp["dev"], corp["table"]) == ("tailscale0", "52")
            assert "repaired: rule " in watching.read_text()
    finally:
        cli("vpn.restore")
    assert " proto 217" not in on_host(ns, "ip", "rule", "show")


# -- watch on by default; down stops it first ----------------------------------------------

@pytest.mark.sim_only("a second VM of its own: minutes under TCG")
def test_up_starts_net_watch_and_down_stops_it_before_undoing_anything(marks):
    """Its own instance with the default settings. The watcher routes three Docker networks
    (journaled after net.watch's entry); old `down` undid those first while the watcher still
    ran, and the watcher put them back, journal and all."""
    cli = Cli(f"w{os.getpid() % 10**6}")
    settings = config.load({"instance": cli.instance})
    start = snapshot(marks)
    try:
        up = cli("up").stdout
        assert "done   net.watch      net.watch started" in up
        client = providers.get(settings).docker_client()
        subnets = [f"172.{n}.0.0/16" for n in (21, 22, 23)]
        for n, subnet in enumerate(subnets):  # they go with the VM
            create_network(client, f"wnet{n}", subnet)
        client.close()
        journal = settings.state_dir / "journal.json"
        wait_for(lambda: all(s in journal.read_text() for s in subnets), 10)
        down = cli("down").stdout
        assert not journal.exists(), down + journal.read_text()  # nothing put back
        undone = [line.split()[1] for line in down.splitlines() if line.startswith("undone")]
        assert undone[0] == "net.watch", down
    finally:
        cli("down", check=False)
    assert not settings.state_dir.exists()
    after = snapshot(marks)
    for key in start:
        assert after[key] == start[key], key
