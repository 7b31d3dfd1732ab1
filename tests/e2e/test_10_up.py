"""`invoke up` from nothing, then again; status, env, dry run, SSH into the VM."""

import json
import re

import pytest

from devnet.steps import REGISTRY
from tests.e2e.machine import assert_same, in_vm, sh, snapshot

STEPS = ["vm.init", "vm.up", "vm.hostonly", "vm.forward", "net.route", "docker.configure",
         "dns.start", "dns.resolver"]


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


def test_up_from_nothing_runs_every_step_with_its_time(devnet_up, settings):
    assert step_lines(devnet_up.stdout) == first_up(settings.provider)
    timed = r"net\.route\s+added route 172\.17\.0\.0/16 via 172\.16\.0\.11 +\(\d+\.\d\ds\)"
    assert re.search(timed, devnet_up.stdout)
    assert "Use it:" in devnet_up.stdout


def test_the_topology_is_the_walkthroughs(provider):
    # Admin state and address; the veth's carrier may flap for a moment (operstate), and
    # the reachability tests prove traffic flows.
    link = provider.hostonly_link() if provider.name == "vagrant" else provider.link
    for text, cidr in ((sh("ip", "-n", provider.host_ns, "-j", "addr", "show", "dev",
                           link), "172.16.0.1/16"),
                       (in_vm(provider, "ip", "-j", "addr", "show", "dev", "eth1"),
                        "172.16.0.11/16")):
        info = json.loads(text)[0]
        assert "UP" in info["flags"]
        assert cidr in [f"{a['local']}/{a['prefixlen']}" for a in info["addr_info"]]
    host_routes = sh("ip", "-n", provider.host_ns, "route")
    assert "172.17.0.0/16 via 172.16.0.11" in host_routes
    # Hermetic: neither the host nor the VM can send anything anywhere else (a real VM's
    # NAT is QEMU's restrict=on: it has a default route that leads nowhere).
    assert "default" not in sh("ip", "-n", provider.host_ns, "route", "show", "table", "all")
    if provider.name == "sim":
        assert "default" not in in_vm(provider, "ip", "route", "show", "table", "all")


def test_up_again_changes_nothing_and_says_so(cli, provider, marks, devnet_up):
    before = snapshot(marks)
    vm_rules = in_vm(provider, "iptables-save")
    second = cli("up")
    assert step_lines(second.stdout) == {s: "skip" for s in STEPS}
    assert "already done: route 172.17.0.0/16 via 172.16.0.11 present" in second.stdout
    assert "nothing to do, all steps already done" in second.stdout
    assert_same(before, snapshot(marks))
    after_rules = in_vm(provider, "iptables-save")
    strip = lambda text: [x for x in text.splitlines() if not x.startswith(("#", ":"))]  # noqa
    assert strip(after_rules) == strip(vm_rules)


def test_status_shows_every_piece_up(cli, provider, devnet_up):
    out = cli("status")
    pieces = [*(p.name for p in provider.status()), *STEPS[2:]]
    for piece in pieces:
        assert re.search(rf"^up\s+{re.escape(piece)}\s", out.stdout, re.M), out.stdout
    # exactly those: a route provider's status lists no tunnel pieces
    listed = [line[6:].split("  ")[0].strip() for line in out.stdout.splitlines()
              if line.startswith(("up ", "DOWN "))]  # `up    <name, padded>  <detail>`
    assert listed == pieces, out.stdout


@pytest.mark.qemu_proves("the ssh line with devnet's key; vagrant's line is `vagrant ssh` "
                         "with vagrant's own key, which test_vm_ssh runs")
def test_env_prints_docker_host_that_works(cli, provider, devnet_up):
    out = cli("env").stdout
    assert f"export DOCKER_HOST={provider.docker_url()}" in out
    ssh = out.split("# ssh into the VM: ")[1].strip()
    version = sh(*ssh.split(), "-o", "BatchMode=yes", "docker", "version", "-f",
                 "{{.Server.Version}}")
    assert version.strip()  # the user's own ssh, with devnet's key, reaches the VM's dockerd


def test_vm_ssh_runs_a_command_in_the_vm(cli, devnet_up):
    out = cli("vm.ssh", "-c", "ip -br addr show dev eth1; docker info -f '{{.Name}}'")
    assert "172.16.0.11/16" in out.stdout


def test_dry_run_plans_and_changes_nothing(cli, marks, devnet_up):
    before = snapshot(marks)
    out = cli("down", "--dry-run")
    assert "plan   net.route" in out.stdout and "plan   vm.init" in out.stdout
    assert "plan   dns.resolver" in out.stdout
    assert_same(before, snapshot(marks))
