"""provider local, end to end: devnet on a Linux machine whose dockerd runs right there, no VM.

"The machine" is a bare simulated VM of its own (`vm.init vm.up` of a second sim instance:
its own network and mount namespaces, its own /etc/resolv.conf, /etc/docker and /run, a real
dockerd), so devnet's changes to the resolver and daemon.json land there, never on the real
machine. devnet runs inside it with provider=auto, which must pick local; dockerd is restarted
through devnet.local.docker_service (that machine has no init system).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devnet import config
from devnet.providers.sim.provider import SimProvider
from tests.e2e.machine import ROOT, Cli, wait_for

pytestmark = [pytest.mark.usefixtures("before"),
              pytest.mark.sim_only("provider local runs inside a second simulated VM")]


@pytest.fixture(scope="module")
def machine(instance):
    """A Linux machine with dockerd and nothing of devnet's in it; destroyed afterwards."""
    name = f"l{instance[1:]}"[:8]
    cli = Cli(name)
    try:
        cli("vm.init", "vm.up")
        yield SimProvider(config.load({"instance": name}))
    finally:
        cli("down", check=False)


class Inside:
    """Run a command inside the machine (its network and mount namespaces)."""

    def __init__(self, sim: SimProvider, state: Path):
        self.sim = sim
        self.state = state  # devnet's own state on that machine
        self.env = {
            "INVOKE_DEVNET_PROVIDER": os.environ.get("T70_PROVIDER", "auto"),
            "INVOKE_DEVNET_INSTANCE": sim.settings.instance,
            "INVOKE_DEVNET_STATE_DIR": str(self.state),
            "INVOKE_DEVNET_LOCAL_DOCKER_SERVICE":
                f"env PYTHONPATH={ROOT} {sys.executable} -m tests.e2e.sim_dockerd "
                f"{sim.settings.instance}",
            "PYTHONPATH": str(ROOT),
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        }

    def __call__(self, *argv: str, check: bool = True, timeout: float = 120):
        full = ["nsenter", "-t", str(self.sim.power_pid()), "-m", "-n", f"--wd={ROOT}", "--",
                "env", *(f"{k}={v}" for k, v in self.env.items()), *argv]
        out = subprocess.run(full, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode:
            raise AssertionError(f"{' '.join(argv)} exited {out.returncode}\n"
                                 f"{out.stdout}\n{out.stderr}")
        return out

    def invoke(self, *args: str, check: bool = True):
        return self(sys.executable, "-m", "invoke", *args, check=check)

    def read(self, path: str) -> str | None:
        out = self("cat", path, check=False)
        return out.stdout if out.returncode == 0 else None


@pytest.fixture(scope="module")
def inside(machine, tmp_path_factory):
    return Inside(machine, tmp_path_factory.mktemp("local-state"))


@pytest.fixture(scope="module")
def found(inside):
    """The machine as it was before devnet: resolver, daemon.json, the bridge's address."""
    return {"resolv.conf": inside.read("/etc/resolv.conf"),
            "daemon.json": inside.read("/etc/docker/daemon.json"),
            "docker0": inside("ip", "-br", "addr", "show", "docker0").stdout.split()[2:3]}


@pytest.fixture(scope="module")
def local_up(inside, found):
    try:
        yield inside.invoke("up")
    finally:
        out = inside.invoke("down", check=False)
        assert out.returncode == 0, out.stdout + out.stderr


def test_auto_picks_local_and_says_why(local_up):
    assert "devnet up: provider local" in local_up.stdout
    assert "why local: auto: local: Docker answers at unix:///var/run/docker.sock" in \
        local_up.stdout


def test_no_vm_steps_skip_and_say_so(local_up):
    lines = {ln.split()[1]: ln for ln in local_up.stdout.splitlines()
             if ln.split()[:1] in (["done"], ["skip"])}
    assert lines["vm.hostonly"].startswith("skip") and "no host-only network" in \
        lines["vm.hostonly"]
    assert lines["net.route"].startswith("skip") and "no route needed" in lines["net.route"]
    for step in ("docker.configure", "dns.start", "dns.resolver"):
        assert lines[step].startswith("done"), lines[step]


def test_names_resolve_through_the_machines_own_resolver(inside, local_up):
    inside.invoke("test.image")
    inside("docker", "run", "-d", "--name", "u1", "ubuntu", "nc", "-ll", "-p", "7777", "-e",
           "/bin/echo-server")
    try:
        ip = inside("docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "u1"
                    ).stdout.strip()

        def resolves():
            out = inside("getent", "hosts", "u1.ubuntu.dev.docker", check=False).stdout
            return out.split()[:1] == [ip]

        wait_for(resolves, timeout=5)
        assert inside("dig", "+short", "@172.17.42.1", "ubuntu.dev.docker").stdout.split() == [ip]
        # A real TCP connection by name, from the machine to the container.
        out = inside("sh", "-c", "echo hi | nc -N -w 3 u1.ubuntu.dev.docker 7777")
        assert "hi" in out.stdout
        # Containers get devnet's DNS from daemon.json (--dns) and resolve each other.
        peer = inside("docker", "run", "--rm", "ubuntu", "nslookup", "u1.ubuntu.dev.docker",
                      check=False).stdout
        assert ip in peer
    finally:
        inside("docker", "rm", "-f", "u1", check=False)


def test_the_dns_service_runs_only_root_owned_code(inside, local_up):
    """Not the checkout, not the virtualenv: a root-owned copy, the base interpreter, -s."""
    code = Path("/usr/local/lib/devnet") / inside.sim.settings.instance
    text = inside("cat", "/run/devnet-dns/supervisor.pid").stdout.strip()
    pid = json.loads(text)["pid"]  # devnet's pidfiles carry the process's identity
    environ = inside("cat", f"/proc/{pid}/environ").stdout.split("\0")
    assert f"PYTHONPATH={code}" in environ
    argv = inside("cat", f"/proc/{pid}/cmdline").stdout.split("\0")
    assert argv[0] == os.path.realpath(sys.executable) and argv[1:4] == [
        "-s", "-m", "devnet.dns.supervise"]
    for path in [code, *code.rglob("*")]:
        st = path.lstat()
        assert st.st_uid == 0 and not st.st_mode & 0o022, path


def test_a_second_up_changes_nothing(inside, local_up):
    again = inside.invoke("up").stdout
    assert "nothing to do, all steps already done" in again


def test_down_puts_the_machine_back(inside, found, local_up):
    out = inside.invoke("down")
    assert "undone" in out.stdout
    assert inside.read("/etc/resolv.conf") == found["resolv.conf"]
    assert inside.read("/etc/docker/daemon.json") == found["daemon.json"]
    assert inside("ip", "-br", "addr", "show", "docker0").stdout.split()[2:3] == \
        found["docker0"]
    # No DNS answers on the bridge any more (the old --bip address is not even local now).
    gone = inside("dig", "+short", "+time=1", "+tries=1", "@172.17.42.1", "ns.docker",
                  check=False).stdout
    assert [ln for ln in gone.splitlines() if not ln.startswith(";")] == []
    assert not (inside.state / "provider").exists()  # auto's choice goes with the journal
    assert not (Path("/usr/local/lib/devnet") / inside.sim.settings.instance).exists()
    again = inside.invoke("down").stdout
    assert "already done: the journal is empty" in again


def test_vagrant_style_provisioning_makes_up_find_the_vm_steps_done(instance, tmp_path):
    """What the Vagrantfile does: inside a fresh VM, `invoke vm.provision` with provider guest
    (devnet's own in-VM steps, run locally there); then the host's `invoke up` finds DOCKER-USER,
    daemon.json and the DNS service done and adds only the host-only address, route and
    resolver."""
    name = f"g{instance[1:]}"[:8]
    host = Cli(name)
    try:
        host("vm.init", "vm.up")
        guest = Inside(SimProvider(config.load({"instance": name})), tmp_path)
        guest.env["INVOKE_DEVNET_PROVIDER"] = "guest"
        provisioned = guest.invoke("vm.provision").stdout
        for step in ("vm.forward", "docker.configure", "dns.start"):
            assert f"done   {step}" in provisioned, provisioned
        assert "skip   vm.hostonly" in provisioned  # the VM's own network gives the address
        up = host("up").stdout
        for step in ("vm.forward", "docker.configure", "dns.start"):
            assert f"skip   {step}" in up, up
        for step in ("vm.hostonly", "net.route", "dns.resolver"):
            assert f"done   {step}" in up, up
        again = guest.invoke("vm.provision").stdout  # idempotent: every step says skip
        assert [ln.split()[0] for ln in again.splitlines()] == ["skip"] * 4, again
    finally:
        host("down", check=False)
        # A real VM's disk holds the DNS service's code copy; the sim VM shares this one's.
        subprocess.run(["rm", "-rf", f"/usr/local/lib/devnet/{name}"], check=False)
        subprocess.run(["rmdir", "/usr/local/lib/devnet"], capture_output=True, check=False)
