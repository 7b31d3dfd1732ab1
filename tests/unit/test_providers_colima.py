"""provider colima: its commands through MockContext, and what `colima list --json` and
`colima ssh-config` print."""

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.providers.cli.colima import ColimaProvider, parse_list
from devnet.providers.cli.ssh_target import SshTarget
from tests.unit.test_providers_remote import FakeTarget, failed, fixture, local, ran, settings

LIST = "colima list --json"
START = "colima start -p devnet --network-address"


def colima(run: dict, **options) -> ColimaProvider:
    return ColimaProvider(settings(provider="colima", colima=options), local=local(run))


def test_colima_list_is_one_json_object_per_profile():
    profiles = parse_list(fixture("colima-list.json"))
    assert profiles["devnet"]["status"] == "Running"
    assert profiles["devnet"]["address"] == "192.168.106.2"
    assert profiles["default"] == {"name": "default", "status": "Stopped", "arch": "aarch64",
                                   "cpus": 2, "memory": 2147483648, "disk": 107374182400}
    assert parse_list("") == {}


def test_state_and_address_of_the_profile():
    p = colima({LIST: fixture("colima-list.json")})
    assert p.vm_state() == "Running" and p.is_up(p.vm_state())
    assert p.gateway() == "192.168.106.2"
    assert colima({LIST: fixture("colima-list.json")}, profile="default").vm_state() == "Stopped"
    assert not colima({LIST: fixture("colima-list.json")}, profile="other").exists()


def test_a_profile_without_network_address_has_no_gateway():
    p = colima({LIST: fixture("colima-list.json")}, profile="default")
    with pytest.raises(DevnetError, match="profile default has no address") as err:
        p.gateway()
    assert err.value.hint == "colima start -p default --network-address   (macOS only)"


def test_start_creates_or_boots_the_profile_and_stop_and_delete_name_it():
    p = colima({LIST: [Result(""), Result(""), fixture("colima-list.json"),
                       fixture("colima-list.json")],
                START: Result(""), "colima stop -p devnet": Result(""),
                "colima delete -f -p devnet": Result("")})
    p.ssh_answers = p.docker_answers = lambda: True
    assert p.plan_create() == p.plan_start() == [START]
    assert not p.exists()
    assert p.start() == f"profile devnet up ({START}), SSH and Docker answer"
    assert p.stop() == "stopped profile devnet (colima stop -p devnet)"
    assert p.destroy() == "removed profile devnet (colima delete -f -p devnet)"
    assert ran(p.local) == [LIST, LIST, START, LIST, "colima stop -p devnet", LIST,
                            "colima delete -f -p devnet"]
    assert p.ssh_command() == "colima ssh -p devnet"


def test_ssh_goes_through_limas_ssh_config():
    p = colima({"colima ssh-config -p devnet": fixture("colima-ssh-config.txt")})
    assert p.ssh_target() == SshTarget("127.0.0.1", 51022, "dev",
                                       ("/Users/dev/.colima/_lima/_config/user",))


def test_the_docker_socket_is_in_the_profiles_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("COLIMA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert colima({}).docker_url() == f"unix://{tmp_path}/.colima/devnet/docker.sock"
    monkeypatch.setenv("COLIMA_HOME", "/opt/colima")
    assert colima({}, profile="work").docker_url() == "unix:///opt/colima/work/docker.sock"


def test_ubuntus_dockerd_restarts_with_systemctl_and_dns_runs_in_a_container():
    p = colima({})
    p.target = FakeTarget("dev", **{"sudo -n systemctl restart docker": Result("")})
    p.ssh_target, p.docker_answers = (lambda: p.target), (lambda: True)
    assert p.restart_docker() == "restarted dockerd (systemctl restart docker)"
    assert p.dns_runtime() == "container" and p.vm_python() == ("python3", None)


def test_detect_says_where_the_profile_runs():
    installed = {"command -v colima": Result("/opt/homebrew/bin/colima\n")}
    ctx = local({**installed, LIST: fixture("colima-list.json")})
    assert ColimaProvider.detect(ctx, settings()) == \
        "colima: profile devnet is Running at 192.168.106.2 (colima list --json)"
    ctx = local({**installed, LIST: fixture("colima-list.json")})
    s = settings(colima={"profile": "default"})
    assert ColimaProvider.detect(ctx, s) is None  # stopped
    # an x86_64 VM on Apple Silicon lists no address (abiosoft/colima#1304)
    no_address = ('{"name":"devnet","status":"Running","arch":"x86_64","cpus":2,'
                  '"memory":2147483648,"disk":107374182400,"runtime":"docker"}\n')
    assert ColimaProvider.detect(local({**installed, LIST: no_address}), settings()) == \
        "colima: profile devnet is Running without --network-address (colima list --json)"
    ctx = local({**installed, LIST: failed("FATA[0000] error retrieving instances\n")})
    assert ColimaProvider.detect(ctx, settings()) is None
