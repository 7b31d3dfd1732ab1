import json

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.steps.docker import DockerConfigure
from tests.unit.conftest import devnet_with_vm


def test_merges_bip_and_dns_into_the_users_daemon_json(settings, monkeypatch):
    users = '{"log-driver": "json-file", "dns": ["8.8.8.8"]}'
    written = []
    dn = devnet_with_vm(settings, **{"cat /etc/docker/daemon.json": Result(users),
                                     "ip -o addr show dev docker0": Result("", exited=1)})
    monkeypatch.setattr(dn, "vm_write", lambda path, text: written.append((path, text)))
    monkeypatch.setattr(dn.provider, "restart_docker", lambda: "restarted dockerd")
    step = DockerConfigure(dn)
    assert step.apply().startswith("restarted dockerd")
    path, text = written[0]
    assert path == "/etc/docker/daemon.json"
    assert json.loads(text) == {"log-driver": "json-file", "bip": "172.17.42.1/16",
                                "dns": ["172.17.42.1"]}
    assert dn.journal.entries()[0]["args"] == {"previous": users, "bridge": None}


def test_invalid_daemon_json_is_a_clear_error(settings):
    dn = devnet_with_vm(settings, **{"cat /etc/docker/daemon.json": Result("{oops")})
    with pytest.raises(DevnetError, match="is not valid JSON"):
        DockerConfigure(dn).check()


BRIDGE = ("4: docker0    inet 172.17.42.1/16 brd 172.17.255.255 scope global docker0\\"
          "       valid_lft forever preferred_lft forever\n")  # `ip -o addr show dev docker0`


def test_done_when_file_and_bridge_agree(settings):
    dn = devnet_with_vm(settings, **{
        "cat /etc/docker/daemon.json": Result('{"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]}'),
        "ip -o addr show dev docker0": Result(BRIDGE),
    })
    assert "docker0 is 172.17.42.1/16" in DockerConfigure(dn).check()


def test_a_bridge_with_another_address_is_not_done(settings):
    dn = devnet_with_vm(settings, **{
        "cat /etc/docker/daemon.json": Result('{"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]}'),
        "ip -o addr show dev docker0": Result(BRIDGE.replace("42.1/16", "0.1/16")),
    })
    assert DockerConfigure(dn).check() is None


def test_apply_notes_the_file_and_docker0s_address_to_put_back(settings, monkeypatch):
    dn = devnet_with_vm(settings, **{"cat /etc/docker/daemon.json": Result("", exited=1),
                                     "ip -o addr show dev docker0": Result(OLD_BRIDGE)})
    monkeypatch.setattr(dn, "vm_write", lambda path, text: None)
    monkeypatch.setattr(dn.provider, "restart_docker", lambda: "restarted dockerd")
    DockerConfigure(dn).apply()
    assert dn.journal.entries()[0]["args"] == {"previous": None, "bridge": "172.17.0.1/16"}


OLD_BRIDGE = BRIDGE.replace("42.1/16", "0.1/16")


def test_undo_brings_docker0s_old_address_back_then_the_users_exact_file(settings,
                                                                          monkeypatch):
    """dockerd keeps --bip in its network store: one start with the old address as --bip,
    then the user's own file (here: none) and a last restart."""
    dn = devnet_with_vm(settings, **{
        "ip -o addr show dev docker0": Result(BRIDGE),
        "cat /etc/docker/daemon.json": Result('{"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]}'),
        "rm -f /etc/docker/daemon.json": Result(""),
    })
    writes, restarts = [], []
    monkeypatch.setattr(dn, "vm_write", lambda path, text: writes.append(json.loads(text)))
    monkeypatch.setattr(dn.provider, "running", lambda: True)
    monkeypatch.setattr(dn.provider, "restart_docker", lambda: restarts.append(1) or "restarted")
    said = DockerConfigure(dn).undo({"previous": None, "bridge": "172.17.0.1/16"})
    assert writes == [{"bip": "172.17.0.1/16", "dns": ["172.17.42.1"]}]
    assert len(restarts) == 2
    assert said == ("restored /etc/docker/daemon.json, docker0 back to 172.17.0.1/16 "
                    "(restarted), restarted")
