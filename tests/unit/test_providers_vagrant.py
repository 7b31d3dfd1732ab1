"""provider vagrant: its commands through MockContext, `vagrant status --machine-readable` and
`vagrant ssh-config` as Vagrant 2.3.4 prints them."""

import json
import shlex

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.providers.cli.ssh_target import SshTarget
from devnet.providers.cli.vagrant import VagrantProvider, parse_machine_readable
from tests.unit.test_providers_remote import fixture, local, ran, settings

CWD = "VAGRANT_CWD=/srv/devnet"
STATUS = f"{CWD} vagrant status --machine-readable default"


def vagrant(run: dict, **options) -> VagrantProvider:
    tree = {"vagrant": {"dir": "/srv/devnet", **options}}
    return VagrantProvider(settings(provider="vagrant", **tree), local=local(run))


def status(name: str) -> Result:
    return Result(fixture(f"vagrant-status-{name}.txt"))


def test_machine_readable_lines_by_machine_with_commas_and_newlines_put_back():
    machines = parse_machine_readable(fixture("vagrant-status-running.txt"))
    assert list(machines) == ["default"]  # the "ui" lines name no machine
    default = machines["default"]
    assert (default["state"], default["provider-name"]) == ("running", "libvirt")
    assert default["state-human-long"].startswith(
        "The Libvirt domain is running. To stop this machine, you can run\n`vagrant halt`.")
    assert parse_machine_readable(fixture("vagrant-status-poweroff.txt"))["default"][
        "state"] == "poweroff"


def test_state_from_vagrant_status_and_not_created_means_no_vm():
    assert vagrant({STATUS: status("running")}).vm_state() == "running"
    assert vagrant({STATUS: status("poweroff")}).vm_state() == "poweroff"
    gone = vagrant({STATUS: status("not-created")})
    assert gone.vm_state() is None and not gone.exists()
    assert gone.destroy() == "machine default already gone"


def test_vagrant_runs_in_the_project_dir_unless_told_otherwise():
    p = VagrantProvider(settings(provider="vagrant"), local=local({}))
    assert p.plan_create() == [f"VAGRANT_CWD={shlex.quote(str(PROJECT_DIR))} vagrant up default"]
    p = vagrant({}, machine="b2d", dir="/home/dev/my vms")
    assert p.plan_start() == ["VAGRANT_CWD='/home/dev/my vms' vagrant up b2d"]
    assert p.ssh_command() == "VAGRANT_CWD='/home/dev/my vms' vagrant ssh b2d"


def test_up_halt_and_destroy_are_the_exact_commands_that_run():
    p = vagrant({STATUS: [status("not-created"), status("poweroff"), status("running"),
                          status("running")],
                 f"{CWD} vagrant up default": Result(""),
                 f"{CWD} vagrant halt default": Result(""),
                 f"{CWD} vagrant destroy -f default": Result("")})
    p.ssh_answers = p.docker_answers = lambda: True
    forwards = []
    p.forward_docker = lambda: forwards.append(1)  # ssh -L: tested in test_socket_forward
    assert not p.exists()
    assert p.create() == f"machine default ({CWD} vagrant up default)"
    assert p.start() == f"machine default up ({CWD} vagrant up default), SSH and Docker answer"
    assert forwards == [1]  # Docker's socket forwarded once SSH answers
    assert p.stop() == f"stopped machine default ({CWD} vagrant halt default)"
    assert p.destroy() == f"removed machine default ({CWD} vagrant destroy -f default)"
    assert ran(p.local) == [STATUS, f"{CWD} vagrant up default", STATUS,
                            f"{CWD} vagrant up default", STATUS, f"{CWD} vagrant halt default",
                            STATUS, f"{CWD} vagrant destroy -f default"]


def test_a_failing_vagrant_up_says_why():
    p = vagrant({f"{CWD} vagrant up default": Result(
        stderr="The box 'debian/bookworm64' could not be found.\n", exited=1)})
    with pytest.raises(DevnetError, match="could not be found") as err:
        p.create()
    assert err.value.what.startswith(f"`{CWD} vagrant up default` failed (1): ")


def test_ssh_goes_where_vagrant_ssh_config_says():
    p = vagrant({STATUS: status("running"),
                 f"{CWD} vagrant ssh-config default": fixture("vagrant-ssh-config-libvirt.txt")})
    assert p.ssh_target() == SshTarget(
        "192.168.121.37", 22, "vagrant",
        ("/home/dev/src/devnet/.vagrant/machines/default/libvirt/private_key",))


def test_a_halted_vm_cannot_be_reached():
    p = vagrant({STATUS: status("poweroff")})
    assert p.running() is False
    with pytest.raises(DevnetError, match="vagrant: machine default is poweroff, not running"):
        p.connection()
    assert ran(p.local) == [STATUS, STATUS]  # no ssh-config for a VM that is off


def test_what_the_vagrantfile_provides():
    p = vagrant({})
    assert p.assigns_vm_address and p.gateway() == "172.16.0.11"
    sock = f"unix://{p.settings.state_dir}/docker.sock"  # ssh -L, never a TCP port
    assert p.docker_url() == sock and p.env() == {"DOCKER_HOST": sock}
    assert p.vm_python() == ("/opt/devnet/bin/python", "/devnet")
    assert p.dns_runtime() == "process" and p.docker_restart == "systemctl restart docker"
    assert p.host() is p.local


def route(**fields) -> Result:
    return Result(json.dumps([{"dst": "172.16.0.11", "flags": [], "uid": 0, "cache": [],
                               **fields}]))


def test_the_hostonly_link_is_the_bridge_that_reaches_the_vm_directly():
    get = "ip -j route get 172.16.0.11"
    linux = {"uname -s": Result("Linux\n")}
    assert vagrant({**linux, get: route(dev="virbr1", prefsrc="172.16.0.1")}
                   ).hostonly_link() == "virbr1"
    # a VPN that took the host-only network: its tunnel is not the host-only link
    assert vagrant({**linux, get: route(dev="cscotun0", prefsrc="10.8.0.5")}
                   ).hostonly_link() is None
    assert vagrant({**linux, get: route(dev="wlan0", gateway="192.168.1.1",
                                        prefsrc="192.168.1.20")}).hostonly_link() is None
    assert vagrant({**linux, get: Result(stderr="RTNETLINK answers: Network is unreachable",
                                         exited=2)}).hostonly_link() is None


def test_detect_names_the_running_machine():
    ctx = local({"command -v vagrant": Result("/usr/bin/vagrant\n"), STATUS: status("running")})
    s = settings(vagrant={"dir": "/srv/devnet"})
    assert VagrantProvider.detect(ctx, s) == f"vagrant: machine default is running ({STATUS})"
    ctx = local({"command -v vagrant": Result("/usr/bin/vagrant\n"), STATUS: status("poweroff")})
    assert VagrantProvider.detect(ctx, s) is None
