"""`invoke up` from nothing, then again; status, env, dry run, SSH into the VM."""

import re

import pytest

from devnet.steps import REGISTRY
from devnet.tunnel.keys import Tunnel
from tests.e2e.machine import assert_same, in_vm_sh, sh, snapshot, tunnel_reach, vm_iptables_save

STEPS = ["vm.init", "vm.up", "vm.hostonly", "vm.forward", "net.route", "docker.configure",
         "dns.start", "dns.resolver"]
# Through the tunnel (no host-only network, no SSH): the tunnel's steps take the place of the
# host-only link, the VM's forward rule (the helper's own), dockerd's flags and the DNS service
# over SSH; the rest skip, each saying why.
TUNNEL_STEPS = ["vm.init", "vm.up", "tunnel.helper", "tunnel.link", "net.route", "tunnel.dns",
                "dns.resolver"]
TUNNEL_SKIPS = ["vm.hostonly", "vm.forward", "docker.configure", "dns.start"]
# status: every step of the tunnel's reach, in up's order, the skipped ones saying why
TUNNEL_STATUS = ["tunnel.helper", "tunnel.link", "vm.hostonly", "vm.forward", "net.route",
                 "docker.configure", "dns.start", "tunnel.dns", "dns.resolver"]


@pytest.fixture(scope="module")
def up_lines(provider, settings) -> dict[str, str]:
    """What `invoke up` says for each step the first time."""
    if tunnel_reach(provider):
        return {**{s: "done" for s in TUNNEL_STEPS}, **{s: "skip" for s in TUNNEL_SKIPS}}
    return first_up(settings.provider)


def first_up(provider: str) -> dict[str, str]:
    """What `invoke up` from nothing does with each step. vagrant: vm.init's `vagrant up`
    boots the VM (vm.up then forwards the Docker socket), and the Vagrantfile's provisioning
    (devnet vm.provision) does the steps that live in the VM, eth1's address among them: up
    finds those done."""
    if provider != "vagrant":
        return {s: "done" for s in STEPS}
    return {s: "skip" if REGISTRY[s].inside_vm else "done" for s in STEPS}


def step_lines(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        m = re.match(r"^(done|skip|plan|FAIL)\s+(\S+)\s", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def test_up_from_nothing_runs_every_step_with_its_time(devnet_up, up_lines):
    assert step_lines(devnet_up.stdout) == up_lines
    timed = r"net\.route\s+added route 172\.17\.0\.0/16 via 172\.16\.0\.11 +\(\d+\.\d\ds\)"
    assert re.search(timed, devnet_up.stdout)
    assert "Use it:" in devnet_up.stdout


def test_the_topology_is_the_walkthroughs(provider):
    # Admin state and address; the veth's carrier may flap for a moment (operstate), and
    # the reachability tests prove traffic flows.
    # (-o, not -j: the tunnel's helper has busybox's ip; the tunnel's VM end is its wg link)
    vm_link = (Tunnel(provider.settings.instance, provider.settings.state_dir).vm_iface
               if tunnel_reach(provider) else "eth1")
    host_link = ("ip", "-n", provider.host_ns, "-o")
    for text, cidr in ((sh(*host_link, "link", "show", "dev", provider.hostonly_link()) +
                        sh(*host_link, "addr", "show", "dev", provider.hostonly_link()),
                        "172.16.0.1/16"),
                       (in_vm_sh(provider, f"ip -o link show dev {vm_link}; "
                                           f"ip -o addr show dev {vm_link}"),
                        "172.16.0.11/16")):
        assert re.search(r"<[^>]*\bUP\b", text), text
        assert f" inet {cidr} " in text, text
    host_routes = sh("ip", "-n", provider.host_ns, "route")
    assert "172.17.0.0/16 via 172.16.0.11" in host_routes
    # Hermetic: neither the host nor the VM can send anything anywhere else (a real VM's
    # NAT is QEMU's restrict=on: it has a default route that leads nowhere).
    assert "default" not in sh("ip", "-n", provider.host_ns, "route", "show", "table", "all")
    if provider.name in ("sim", "sim-desktop"):
        assert "default" not in in_vm_sh(provider, "ip route show table all")


def test_up_again_changes_nothing_and_says_so(cli, provider, marks, devnet_up, up_lines):
    before = snapshot(marks)
    vm_rules = vm_iptables_save(provider)
    second = cli("up")
    assert step_lines(second.stdout) == {s: "skip" for s in up_lines}
    assert "already done: route 172.17.0.0/16 via 172.16.0.11 present" in second.stdout
    assert "nothing to do, all steps already done" in second.stdout
    assert_same(before, snapshot(marks))
    after_rules = vm_iptables_save(provider)
    strip = lambda text: [x for x in text.splitlines() if not x.startswith(("#", ":"))]  # noqa
    assert strip(after_rules) == strip(vm_rules)


def test_status_shows_every_piece_up(cli, provider, devnet_up):
    out = cli("status")
    pieces = [*(p.name for p in provider.status()),
              *(TUNNEL_STATUS if tunnel_reach(provider) else STEPS[2:])]
    for piece in pieces:
        assert re.search(rf"^up\s+{re.escape(piece)}\s", out.stdout, re.M), out.stdout
    # exactly those: a route provider's status lists no tunnel pieces
    listed = [line[6:].split("  ")[0].strip() for line in out.stdout.splitlines()
              if line.startswith(("up ", "DOWN "))]  # `up    <name, padded>  <detail>`
    assert listed == pieces, out.stdout


def test_env_prints_docker_host_that_works(cli, provider, devnet_up):
    out = cli("env").stdout
    assert f"export DOCKER_HOST={provider.docker_url()}" in out
    version = sh("docker", "-H", provider.docker_url(), "version", "-f", "{{.Server.Version}}")
    assert version.strip()


@pytest.mark.route_only("a Desktop VM has no SSH: env says so, and DOCKER_HOST is the way in")
@pytest.mark.qemu_proves("the ssh line with devnet's key; vagrant's line is `vagrant ssh` "
                         "with vagrant's own key, which test_vm_ssh runs")
def test_env_prints_an_ssh_line_that_works(cli, provider, devnet_up):
    out = cli("env").stdout
    ssh = out.split("# ssh into the VM: ")[1].strip()
    version = sh(*ssh.split(), "-o", "BatchMode=yes", "docker", "version", "-f",
                 "{{.Server.Version}}")
    assert version.strip()  # the user's own ssh, with devnet's key, reaches the VM's dockerd


@pytest.mark.route_only("a Desktop VM has no SSH")
def test_vm_ssh_runs_a_command_in_the_vm(cli, devnet_up):
    out = cli("vm.ssh", "-c", "ip -br addr show dev eth1; docker info -f '{{.Name}}'")
    assert "172.16.0.11/16" in out.stdout


def test_dry_run_plans_and_changes_nothing(cli, marks, devnet_up):
    before = snapshot(marks)
    out = cli("down", "--dry-run")
    assert "plan   net.route" in out.stdout and "plan   vm.init" in out.stdout
    assert "plan   dns.resolver" in out.stdout
    assert_same(before, snapshot(marks))
