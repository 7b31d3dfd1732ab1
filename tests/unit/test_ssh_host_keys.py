"""Every CLI provider pins its VM's SSH host key: read once through the CLI's own ssh
(vm-host-keys.txt: `cat /etc/ssh/ssh_host_*_key.pub` as the VM prints it), kept in
<state_dir>/known_hosts, checked by every connection (paramiko's RejectPolicy, the socket
forward's StrictHostKeyChecking=yes); a changed key is refused with what to do."""

import re
from pathlib import Path

import paramiko
import pytest
from invoke import MockContext, Result
from invoke.exceptions import CommandTimedOut

from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.providers.cli import remote
from devnet.providers.cli.boot2docker import Boot2DockerProvider
from devnet.providers.cli.colima import ColimaProvider
from devnet.providers.cli.docker_machine import DockerMachineProvider
from devnet.providers.cli.ssh_target import HostKeyChanged, known_hosts_lines
from devnet.providers.cli.vagrant import VagrantProvider
from devnet.system import REMOTE_TIMEOUT
from tests.unit.test_providers_remote import FakeTarget, fixture, local, ran, settings

KEYS = fixture("vm-host-keys.txt")
HK = remote.HOST_KEYS.replace("'", "'\"'\"'")

# Each provider: its settings, the CLI answers that make the VM running with an SSH target,
# and the exact line that reads the host keys through the CLI's own ssh.
CASES = {
    "vagrant": (VagrantProvider, {"vagrant": {"dir": "/srv/devnet"}}, {
        "VAGRANT_CWD=/srv/devnet vagrant status --machine-readable default":
            fixture("vagrant-status-running.txt"),
        "VAGRANT_CWD=/srv/devnet vagrant ssh-config default":
            fixture("vagrant-ssh-config-libvirt.txt")},
        f"VAGRANT_CWD=/srv/devnet vagrant ssh default -c '{HK}'", "192.168.121.37"),
    "docker-machine": (DockerMachineProvider, {}, {
        "docker-machine status devnet": fixture("docker-machine-status.txt"),
        "docker-machine inspect devnet": fixture("docker-machine-inspect.json")},
        f"docker-machine ssh devnet '{HK}'", "[127.0.0.1]:53770"),
    "boot2docker": (Boot2DockerProvider, {}, {
        "boot2docker --vm=boot2docker-vm status": fixture("boot2docker-status.txt"),
        "boot2docker --vm=boot2docker-vm config": fixture("boot2docker-config.txt")},
        f"boot2docker --vm=boot2docker-vm ssh '{HK}'", "[127.0.0.1]:2022"),
    "colima": (ColimaProvider, {"colima": {"profile": "devnet"}}, {
        "colima list --json": fixture("colima-list.json"),
        "colima ssh-config -p devnet": fixture("colima-ssh-config.txt")},
        f"colima ssh -p devnet -- sh -c '{HK}'", "[127.0.0.1]:51022"),
}


def provider(name, tmp_path, keys=KEYS):
    cls, tree, run, keys_line, _ = CASES[name]
    s = settings(provider=name, state_dir=str(tmp_path), **tree)
    return cls(s, local=local({**run, keys_line: Result(keys)}))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_provider_pins_the_key_it_read_through_its_own_cli(name, tmp_path):
    p = provider(name, tmp_path)
    keys_line, host = CASES[name][3], CASES[name][4]
    conn = p.connection()
    assert isinstance(conn.client._policy, paramiko.RejectPolicy)
    pinned = (tmp_path / "known_hosts").read_text().splitlines()
    assert [ln.split()[:2] for ln in pinned] == [
        [host, "ecdsa-sha2-nistp256"], [host, "ssh-ed25519"], [host, "ssh-rsa"]]
    assert (tmp_path / "known_hosts").stat().st_mode & 0o777 == 0o600
    assert set(conn.client.get_host_keys().lookup(host).keys()) == {
        "ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"}
    p.connection()  # the second time: pinned already, the CLI is not asked again
    assert ran(p.local).count(keys_line) == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_docker_socket_forward_checks_the_pinned_key(name, tmp_path, monkeypatch):
    p = provider(name, tmp_path)
    started = []
    monkeypatch.setattr(remote.socket_forward, "start", lambda argv, *a: started.append(argv))
    p.forward_docker()
    argv = " ".join(started[0])
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in argv
    assert "StrictHostKeyChecking=yes" in argv and "StrictHostKeyChecking=no" not in argv
    assert "/dev/null" not in argv.replace("-F /dev/null", "").replace(
        "GlobalKnownHostsFile=/dev/null", "")


def test_a_vm_that_shows_no_key_is_not_connected_to(tmp_path):
    p = provider("vagrant", tmp_path, keys="Last login: Mon Nov 30 19:00:00 2026\n")
    with pytest.raises(DevnetError, match="could not read the SSH host key of the VM at "
                                          "vagrant@192.168.121.37:22"):
        p.connection()
    assert not (tmp_path / "known_hosts").exists()


def test_known_hosts_lines_keep_only_keys():
    text = "Welcome to Tiny Core\n" + KEYS + "ssh-ed25519 !!notbase64!!\n\n"
    lines = known_hosts_lines("127.0.0.1", 2022, text)
    assert len(lines) == 3 and all(ln.startswith("[127.0.0.1]:2022 ") for ln in lines)
    assert known_hosts_lines("10.0.0.5", 22, KEYS)[0].startswith("10.0.0.5 ecdsa-sha2-")


def test_destroy_forgets_the_key(tmp_path):
    p = provider("vagrant", tmp_path)
    p.connection()
    p.local = local({**CASES["vagrant"][2],
                     "VAGRANT_CWD=/srv/devnet vagrant status --machine-readable default":
                         fixture("vagrant-status-not-created.txt")})
    assert p.destroy() == "machine default already gone"
    assert not (tmp_path / "known_hosts").exists()


def test_a_changed_key_is_refused_with_what_to_do(tmp_path):
    p = provider("vagrant", tmp_path)
    target = FakeTarget()
    p.pinned_target = lambda: target

    def changed(*a, **k):
        key = paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate") \
            else paramiko.ECDSAKey.generate()
        raise paramiko.BadHostKeyException("192.168.121.37", key, key)

    target.conn.run = changed
    with pytest.raises(HostKeyChanged) as err:
        p.ssh_answers()  # not "not up yet": waiting would not change the key
    assert "is not the one devnet pinned in" in err.value.what
    assert re.search(r"rm \S+/known_hosts, then invoke vm.up", err.value.hint)


def test_no_module_accepts_unknown_host_keys():
    """No AutoAddPolicy, no StrictHostKeyChecking=no, no known_hosts in /dev/null."""
    devnet = Path(__file__).resolve().parents[2] / "devnet"
    for path in devnet.rglob("*.py"):
        text = path.read_text()
        for bad in ("AutoAddPolicy", "WarningPolicy", "StrictHostKeyChecking=no",
                    "UserKnownHostsFile=/dev/null"):
            assert bad not in text, f"{path}: {bad}"



# -- every command in the VM has a timeout ---------------------------------------------------

def test_vm_run_has_a_timeout_and_says_when_it_hit_it(settings):
    dn = Devnet(settings, echo=lambda _: None)
    dn._conn = MockContext(run={"true": Result("")})
    dn.vm_run("true")
    assert dn._conn.run.call_args.kwargs["timeout"] == REMOTE_TIMEOUT

    def hangs(line, **kw):
        raise CommandTimedOut(Result(command=line), kw["timeout"])

    dn._conn = MockContext()
    dn._conn.run = hangs
    with pytest.raises(DevnetError, match=r"in the VM, `sleep 1000` did not finish within "
                                          rf"{REMOTE_TIMEOUT}s"):
        dn.vm_run("sleep", "1000")


def test_cli_providers_commands_in_the_vm_have_a_timeout(tmp_path):
    p = provider("vagrant", tmp_path)
    target = FakeTarget(**{"sudo -n systemctl restart docker": Result("")})
    p.pinned_target = lambda: target
    p.vm_command("systemctl restart docker")
    assert target.conn.run.call_args.kwargs["timeout"] == REMOTE_TIMEOUT
