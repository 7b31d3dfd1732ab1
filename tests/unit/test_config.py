import ipaddress
import os
from pathlib import Path

import pytest

from devnet import config, subnets
from devnet.errors import ConfigError


def test_defaults_are_the_walkthroughs_topology():
    s = config.load({})
    assert s.provider == "sim"
    assert s.hostonly.host_cidr == "172.16.0.1/16"
    assert s.hostonly.vm_cidr == "172.16.0.11/16"
    assert s.hostonly.vm_iface == "eth1"
    assert s.docker_subnets == (ipaddress.ip_network("172.17.0.0/16"),)
    assert s.instance == config.default_instance()
    # Root's state is the machine's; anyone else's (unit tests run as the calling user) theirs.
    where = "/var/lib/devnet" if os.geteuid() == 0 else \
        str(Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "devnet")
    assert str(s.state_dir) == f"{where}/{s.instance}"


def test_instance_differs_per_checkout(tmp_path):
    assert config.default_instance(tmp_path / "a") != config.default_instance(tmp_path / "b")
    assert config.INSTANCE_RE.match(config.default_instance(tmp_path))


@pytest.mark.parametrize(
    "tree, message",
    [
        ({"hostonly": {"network": "172.16.0.0/33"}}, "is not a network in CIDR form"),
        ({"hostonly": {"network": "172.16.0.1/16"}}, "host bits set"),
        ({"docker": {"subnets": ["not-a-net"]}}, "devnet.docker.subnets[0]"),
        ({"docker": {"subnets": ["fd00::/64"]}}, "is IPv6"),
        ({"hostonly": {"vm_ip": "10.0.0.5"}}, "vm_ip: 10.0.0.5 is not a usable address"),
        ({"hostonly": {"host_ip": "172.16.255.255"}}, "host_ip: 172.16.255.255 is not a usable"),
        ({"hostonly": {"vm_ip": "172.16.0.1"}}, "host_ip and vm_ip are both"),
        ({"hostonly": {"vm_ip": "banana"}}, "'banana' is not an IPv4 address"),
        ({"docker": {"subnets": ["172.16.0.0/12"]}}, "overlaps devnet.docker.subnets"),
        ({"docker": {"subnets": ["172.17.0.0/16", "172.17.5.0/24"]}}, "172.17.5.0/24"),
        ({"provider": "virtualbox"}, "devnet.provider: 'virtualbox' is not one of"),
        ({"instance": "Bad;rm -rf"}, "devnet.instance"),
        ({"instance": "waytoolongname"}, "2-8 lower-case"),
        ({"hostonly": {"vm_iface": "eth1; reboot"}}, "is not an interface name"),
        ({"state_dir": "relative/dir"}, "must be an absolute path"),
        ({"start_timeout": "soon"}, "is not a number of seconds"),
        ({"colima": {"profile": "dev;reboot"}}, "devnet.colima.profile: 'dev;reboot' must be"),
        ({"vagrant": {"machine": "$(id)"}}, "devnet.vagrant.machine"),
        ({"docker_machine": {"machine": "-rf"}}, "devnet.docker-machine.machine"),
        ({"vagrant": {"box": "x"}}, "devnet.vagrant.box: unknown setting (known: machine, dir,"),
        ({"vagrant": {"cpus": "0"}}, "devnet.vagrant.cpus: '0' must be a whole number above 0"),
        ({"vagrant": {"memory_mb": "1g"}}, "devnet.vagrant.memory_mb: '1g' must be a whole"),
        ({"qemu": {"boot_timeout": "-5"}}, "devnet.qemu.boot_timeout: '-5' must be a whole"),
        ({"vagrant": {"cpus": "\u00b2"}}, "devnet.vagrant.cpus: '\u00b2' must be a whole"),
        ({"qemu": {"cpus": "\u0661"}}, "devnet.qemu.cpus: '\u0661' must be a whole"),
        ({"desktop": {"udp_port": "\u00b2"}}, "devnet.desktop.udp_port: '\u00b2' is not a UDP"),
        ({"local": {"docker_host": "/var/run/docker.sock"}}, "must be unix:///path or tcp://"),
        ({"local": {"docker_service": "a\nb"}}, "devnet.local.docker_service: must be one line"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(tree, message):
    with pytest.raises(ConfigError) as err:
        config.load(tree)
    assert message in str(err.value)
    assert "invoke.yaml" in str(err.value)  # says where to fix it


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as err:
        config.load({"hostonly": {"vm_ip": "10.0.0.5"}, "docker": {"subnets": ["x"]}})
    text = str(err.value)
    assert "vm_ip" in text and "subnets[0]" in text


def test_a_single_subnet_string_is_accepted():
    s = config.load({"docker": {"subnets": "10.99.0.0/16", "bip": "10.99.42.1/16"}})
    assert [str(n) for n in s.docker_subnets] == ["10.99.0.0/16"]


def test_suggest_free_skips_taken_ranges():
    taken = [ipaddress.ip_network(n) for n in ("172.16.0.0/12",)]
    assert subnets.suggest_free([ipaddress.ip_network("172.18.0.0/16")]) == "172.19.0.0/16"
    assert subnets.suggest_free(taken) == "10.10.0.0/16"
    assert subnets.suggest_free([ipaddress.ip_network("0.0.0.0/1"), ipaddress.ip_network(
        "128.0.0.0/1")]) == "a free private range"


def test_provider_options_have_defaults_and_take_either_spelling():
    s = config.load({"docker_machine": {"machine": "dev2"}, "colima": {"profile": "work"}})
    assert s.options["docker-machine"] == {"machine": "dev2", "driver": "virtualbox"}
    assert s.options["colima"] == {"profile": "work"}
    assert s.options["local"]["docker_host"] == "unix:///var/run/docker.sock"
    assert config.load({"docker-machine": {"machine": "m"}}).options["docker-machine"][
        "machine"] == "m"


def test_state_dir_is_a_persons_own_when_not_root(monkeypatch, tmp_path):
    monkeypatch.setattr(config.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert config.load({"instance": "ab"}).state_dir == tmp_path / "devnet/ab"
    monkeypatch.setattr(config.os, "geteuid", lambda: 0)
    assert str(config.load({"instance": "ab"}).state_dir) == "/var/lib/devnet/ab"
