"""The base of the CLI-managed VM providers (devnet.providers.remote): running the CLI, its
errors, the SSH target from ssh-config fields, `export` lines. Also the helpers the four
provider test modules share."""

from pathlib import Path

import paramiko
import pytest
from invoke import MockContext, Result

from devnet import config
from devnet.errors import DevnetError
from devnet.providers.cli.remote import RemoteProvider
from devnet.providers.cli.ssh_target import SshTarget, parse_exports, parse_ip, parse_ssh_config

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
MISSING = Result(stderr="bash: line 1: toyvm: command not found\n", exited=127)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def settings(**tree):
    return config.load({"instance": "dntest", "state_dir": "/nonexistent/devnet-test",
                        "start_timeout": 0.2, **tree})


def local(run: dict) -> MockContext:
    """This machine, answering each command line in `run` (a list answers in turn)."""
    return MockContext(run=run, repeat=True)


def ran(ctx: MockContext) -> list[str]:
    return [call.args[0] for call in ctx.run.call_args_list]


def failed(stderr: str, exited: int = 1) -> Result:
    return Result(stderr=stderr, exited=exited)


class FakeTarget:
    """An SshTarget whose connection is a MockContext answering `commands`."""

    def __init__(self, user="vagrant", **commands):
        self.conn = MockContext(run=commands)
        self.conn._set(user=user, close=lambda: None)

    def connect(self, timeout):
        return self.conn

    def pinned(self, path, fetch):
        return self  # the host key check is SshTarget's, tested with it

    def __str__(self):
        return f"{self.conn.user}@127.0.0.1:2222"


class ToyProvider(RemoteProvider):
    name = cli = "toyvm"
    install_hint = "get toyvm from toyvm.example"
    label = "VM toy"
    target = FakeTarget()

    def commands(self):
        return {"status": ("state",), "create": ("make", "toy"), "start": ("boot",),
                "stop": ("halt",), "destroy": ("rm",), "ssh": ("ssh",)}

    def parse_state(self, text):
        return text.strip() or None

    def ssh_target(self):
        return self.target

    def docker_url(self):
        return "tcp://172.16.0.11:2375"


def toy(run: dict) -> ToyProvider:
    return ToyProvider(settings(), local=local(run))


# -- parsers ---------------------------------------------------------------------------------

def test_ssh_config_fields_come_out_lower_cased_and_unquoted():
    fields = parse_ssh_config(fixture("colima-ssh-config.txt"))
    assert fields["hostname"] == ["127.0.0.1"] and fields["port"] == ["51022"]
    assert fields["identityfile"] == ["/Users/dev/.colima/_lima/_config/user"]
    assert fields["ciphers"] == ["^aes128-gcm@openssh.com,aes256-gcm@openssh.com"]
    assert "#" not in " ".join(fields)  # the comment lines are not fields
    assert parse_ssh_config("Host x\n  Port=2200\n  User = dev\n") == {
        "host": ["x"], "port": ["2200"], "user": ["dev"]}


def test_an_ssh_target_from_vagrants_ssh_config_skips_host_key_checks_as_vagrant_does():
    target = SshTarget.from_ssh_config(fixture("vagrant-ssh-config-virtualbox.txt"))
    assert target == SshTarget(
        "127.0.0.1", 2222, "vagrant",
        ("/Users/dev/src/devnet/.vagrant/machines/default/virtualbox/private_key",), None)
    assert str(target) == "vagrant@127.0.0.1:2222"


def test_an_ssh_config_that_checks_host_keys_uses_its_known_hosts(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    target = SshTarget.from_ssh_config(
        f"Host vm\n  HostName 10.0.0.5\n  User root\n  UserKnownHostsFile {known}\n")
    assert (target.port, target.known_hosts) == (22, str(known))
    conn = target.connect(5)
    assert isinstance(conn.client._policy, paramiko.RejectPolicy)
    with pytest.raises(DevnetError, match="no HostName"):
        SshTarget.from_ssh_config("Host vm\n  User root\n")


def test_the_connection_uses_only_the_given_key_and_ignores_the_users_ssh_config(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("[127.0.0.1]:2022 " + " ".join(
        fixture("vm-host-keys.txt").splitlines()[1].split()[:2]) + "\n")
    conn = SshTarget("127.0.0.1", 2022, "docker", ("/keys/id_boot2docker",),
                     str(known)).connect(5)
    assert (conn.host, conn.port, conn.user) == ("127.0.0.1", 2022, "docker")
    assert conn.connect_kwargs == {"key_filename": ["/keys/id_boot2docker"],
                                   "look_for_keys": False, "allow_agent": False}
    assert conn.connect_timeout == 5
    assert isinstance(conn.client._policy, paramiko.RejectPolicy)  # never Fabric's AutoAdd
    assert conn.client.get_host_keys().lookup("[127.0.0.1]:2022")


def test_a_target_without_a_pinned_key_does_not_connect():
    with pytest.raises(DevnetError, match="no pinned SSH host key for docker@127.0.0.1:2022"):
        SshTarget("127.0.0.1", 2022, "docker", ("/keys/id_boot2docker",)).connect(5)


def test_export_lines_are_read_with_their_quotes_and_the_rest_ignored():
    assert parse_exports(fixture("docker-machine-env.txt")) == {
        "DOCKER_TLS_VERIFY": "1", "DOCKER_HOST": "tcp://172.16.0.100:2376",
        "DOCKER_CERT_PATH": "/Users/dev/.docker/machine/machines/devnet",
        "DOCKER_MACHINE_NAME": "devnet"}
    assert parse_exports(fixture("boot2docker-shellinit.stderr.txt")) == {}
    assert parse_exports("export A='x y'\necho hi\nexport B\n# export C=1\n") == {"A": "x y"}


def test_an_ip_is_checked_to_be_one():
    assert parse_ip(fixture("boot2docker-ip.txt"), "boot2docker ip") == "172.16.0.11"
    with pytest.raises(DevnetError, match="`docker-machine ip` printed 'Host is not running'"):
        parse_ip("Host is not running\n", "docker-machine ip")


# -- the CLI and its errors ------------------------------------------------------------------

def test_a_missing_cli_is_named_with_how_to_install_it():
    p = toy({"command -v toyvm": Result(exited=1), "toyvm state": MISSING})
    with pytest.raises(DevnetError) as err:
        p.preflight()
    assert "needs `toyvm`" in err.value.what and err.value.hint == "get toyvm from toyvm.example"
    with pytest.raises(DevnetError, match="needs `toyvm`"):
        p.exists()  # the shell's 127 from any command says the same


def test_a_failing_cli_command_says_what_failed_with_its_stderr():
    p = toy({"toyvm make toy": failed("disk full\n")})
    with pytest.raises(DevnetError) as err:
        p.create()
    assert err.value.what == "`toyvm make toy` failed (1): disk full"
    assert "toyvm make toy" in err.value.hint
    broken = toy({"toyvm state": failed("cannot read the VM list\n", 2)})
    with pytest.raises(DevnetError, match=r"`toyvm state` failed \(2\): cannot read"):
        broken.running()
    assert broken.status()[0].detail == "`toyvm state` failed (2): cannot read the VM list"


def test_detect_never_raises():
    assert ToyProvider.detect(local({}), settings()) is None  # every command unanswered
    assert ToyProvider.detect(local({"command -v toyvm": Result(exited=1)}), settings()) is None
    assert ToyProvider.detect(local({"command -v toyvm": Result("/usr/bin/toyvm"),
                                     "toyvm state": Result("running\n")}), settings()) == \
        "toyvm: VM toy is running (toyvm state)"


# -- the lifecycle ---------------------------------------------------------------------------

def test_start_boots_a_stopped_vm_then_waits_for_ssh_and_docker():
    p = toy({"toyvm state": Result("poweroff\n"), "toyvm boot": Result("")})
    p.ssh_answers = p.docker_answers = lambda: True
    assert p.plan_start() == ["toyvm boot"]
    assert p.start() == "VM toy up (toyvm boot), SSH and Docker answer"
    assert ran(p.local) == ["toyvm state", "toyvm boot"]


def test_start_times_out_saying_what_it_waited_for():
    p = toy({"toyvm state": Result("running\n")})
    p.ssh_answers, p.docker_answers = (lambda: True), (lambda: False)
    with pytest.raises(DevnetError, match="timed out after 0.2s waiting for dockerd in VM toy"):
        p.start()
    assert ran(p.local) == ["toyvm state"]  # a running VM is not booted again


def test_stop_and_destroy_tolerate_a_vm_that_is_off_or_gone():
    assert toy({"toyvm state": Result("poweroff\n")}).stop() == "VM toy already stopped"
    gone = toy({"toyvm state": Result("")})
    assert gone.destroy() == "VM toy already gone" and not gone.exists()
    p = toy({"toyvm state": Result("running\n"), "toyvm halt": Result(""), "toyvm rm": Result("")})
    assert p.stop() == "stopped VM toy (toyvm halt)"
    assert p.destroy() == "removed VM toy (toyvm rm)"


def test_a_vm_that_is_down_is_not_running_and_cannot_be_connected_to():
    p = toy({"toyvm state": Result("poweroff\n")})
    assert p.running() is False
    with pytest.raises(DevnetError, match="VM toy is poweroff, not running") as err:
        p.connection()
    assert err.value.hint == "invoke vm.up"
    assert [(piece.name, piece.ok) for piece in p.status()] == [
        ("toyvm", False), ("ssh", False), ("docker", False)]
    assert ran(p.local) == ["toyvm state"] * 3


def test_commands_in_the_vm_go_through_sudo_for_a_non_root_login():
    p = toy({})
    p.target = FakeTarget("vagrant", **{"sudo -n true": Result(""),
                                        "sudo -n systemctl restart docker": Result("")})
    p.docker_answers = lambda: True
    assert p.ssh_answers()
    assert p.restart_docker() == "restarted dockerd (systemctl restart docker)"
    assert ran(p.target.conn) == ["sudo -n true", "sudo -n systemctl restart docker"]
    p.target = FakeTarget("root", true=Result(""))
    assert p.ssh_answers() and ran(p.target.conn) == ["true"]


def test_a_failing_docker_restart_and_an_unreachable_vm_are_devnet_errors():
    p = toy({})
    p.target = FakeTarget(**{"sudo -n systemctl restart docker": failed("Job failed.\n")})
    with pytest.raises(DevnetError, match=r"`systemctl restart docker` failed \(1\): Job failed"):
        p.restart_docker()

    class Refused(FakeTarget):
        def connect(self, timeout):
            self.conn._set(run=self.refuse)
            return self.conn

        def refuse(self, *args, **kwargs):
            raise paramiko.ssh_exception.NoValidConnectionsError({("127.0.0.1", 2222): OSError()})

    p.target = Refused()
    with pytest.raises(DevnetError, match=r"cannot reach VM toy over SSH \(vagrant@127"):
        p.vm_command("true")
    assert p.ssh_answers() is False


def test_status_names_each_piece_when_the_vm_is_up():
    p = toy({"toyvm state": Result("running\n")})
    p.ssh_answers, p.docker_answers = (lambda: True), (lambda: False)
    assert [(piece.name, piece.ok, piece.detail) for piece in p.status()] == [
        ("toyvm", True, "VM toy: running"), ("ssh", True, "vagrant@127.0.0.1:2222"),
        ("docker", False, "tcp://172.16.0.11:2375")]
