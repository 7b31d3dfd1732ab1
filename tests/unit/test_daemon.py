import json

import pytest
from invoke import Result

from devnet.daemon import DockerConfigure
from devnet.errors import DevnetError
from tests.unit.conftest import devnet_with_vm


def test_merges_bip_and_dns_into_the_users_daemon_json(settings, monkeypatch):
    users = '{"log-driver": "json-file", "dns": ["8.8.8.8"]}'
    written = []
    dn = devnet_with_vm(settings, **{"cat /etc/docker/daemon.json": Result(users)})
    monkeypatch.setattr(dn, "vm_write", lambda path, text: written.append((path, text)))
    monkeypatch.setattr(dn.provider, "restart_docker", lambda: "restarted dockerd")
    step = DockerConfigure(dn)
    assert step.apply().startswith("restarted dockerd")
    path, text = written[0]
    assert path == "/etc/docker/daemon.json"
    assert json.loads(text) == {"log-driver": "json-file", "bip": "172.17.42.1/16",
                                "dns": ["172.17.42.1"]}
    assert dn.journal.entries()[0]["args"] == {"previous": users}


def test_invalid_daemon_json_is_a_clear_error(settings):
    dn = devnet_with_vm(settings, **{"cat /etc/docker/daemon.json": Result("{oops")})
    with pytest.raises(DevnetError, match="is not valid JSON"):
        DockerConfigure(dn).check()


def test_done_when_file_and_bridge_agree(settings):
    addr = json.dumps([{"ifname": "docker0", "addr_info": [
        {"family": "inet", "local": "172.17.42.1", "prefixlen": 16}]}])
    dn = devnet_with_vm(settings, **{
        "cat /etc/docker/daemon.json": Result('{"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]}'),
        "ip -j addr show dev docker0": Result(addr),
    })
    assert "docker0 is 172.17.42.1/16" in DockerConfigure(dn).check()
