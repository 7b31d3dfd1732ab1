"""The in-VM steps against a MockContext standing in for the Fabric connection."""

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.vm import VM_DOWN, VmForward, VmHostOnly
from tests.unit.conftest import devnet_with_vm, fixture_text

ADDR = "ip -j addr show dev eth1"
RULE = "-s 172.16.0.0/16 -d 172.17.0.0/16 -j ACCEPT"




def test_hostonly_adds_the_address_when_eth1_has_another(settings):
    dn = devnet_with_vm(settings, **{
        ADDR: Result(fixture_text("ip-addr-eth1.json")),  # real output: 172.16.0.1/16 only
        "ip addr add 172.16.0.11/16 dev eth1": Result(""),
        "ip link set eth1 up": Result(""),
    })
    step = VmHostOnly(dn)
    assert step.check() is None
    assert step.apply() == "eth1 = 172.16.0.11/16, up"
    assert dn.journal.has("vm.hostonly", iface="eth1", cidr="172.16.0.11/16")


def test_hostonly_is_done_when_the_address_is_there(settings):
    text = fixture_text("ip-addr-eth1.json").replace('"172.16.0.1"', '"172.16.0.11"')
    dn = devnet_with_vm(settings, **{ADDR: Result(text)})
    assert VmHostOnly(dn).check() == "eth1 has 172.16.0.11/16 and is up"


def test_hostonly_names_a_missing_interface(settings):
    dn = devnet_with_vm(settings, **{ADDR: Result("", stderr='Device "eth1" does not exist.',
                                              exited=1)})
    with pytest.raises(DevnetError, match="the VM has no interface eth1"):
        VmHostOnly(dn).check()


def test_a_non_root_login_uses_sudo(settings):
    text = fixture_text("ip-addr-eth1.json").replace('"172.16.0.1"', '"172.16.0.11"')
    dn = devnet_with_vm(settings, user="docker", **{f"sudo -n {ADDR}": Result(text)})
    assert VmHostOnly(dn).check()


def test_forward_inserts_the_rule_once(settings):
    dn = devnet_with_vm(settings, **{
        "iptables -n -L DOCKER-USER": Result("Chain DOCKER-USER"),
        f"iptables -C DOCKER-USER {RULE}": Result("", exited=1),
        f"iptables -I DOCKER-USER 1 {RULE}": Result(""),
    })
    step = VmForward(dn)
    assert step.check() is None
    assert step.apply() == "DOCKER-USER accepts 172.16.0.0/16 -> 172.17.0.0/16"
    assert dn.journal.has("vm.forward", subnet="172.17.0.0/16")


def test_forward_without_docker_user_chain_needs_nothing(settings):
    dn = devnet_with_vm(settings, **{"iptables -n -L DOCKER-USER": Result("", exited=1)})
    assert "does not filter forwarded traffic" in VmForward(dn).check()


def test_undo_in_a_stopped_vm_reports_the_change_gone(settings, monkeypatch):
    dn = devnet_with_vm(settings)
    monkeypatch.setattr(dn.provider, "running", lambda: False)
    assert VmForward(dn).undo({"subnet": "172.17.0.0/16"}) == VM_DOWN
    assert VmHostOnly(dn).undo({"iface": "eth1", "cidr": "172.16.0.11/16"}) == VM_DOWN


def test_an_unreachable_vm_names_the_hop_and_the_next_command(settings):
    dn = devnet_with_vm(settings)

    def refuse(*a, **k):
        raise ConnectionRefusedError(111, "Connection refused")

    dn._conn._set(run=refuse, close=lambda: None)
    with pytest.raises(DevnetError) as err:
        dn.vm_run("true")
    assert "cannot reach the VM over SSH (127.0.0.1:2222)" in str(err.value)
    assert "invoke vm.up" in str(err.value)


def test_a_dropped_ssh_session_is_a_devnet_error_too(settings):
    dn = devnet_with_vm(settings)

    def drop(*a, **k):
        raise EOFError()  # paramiko, when the transport dies mid-command

    dn._conn._set(run=drop, close=lambda: None)
    with pytest.raises(DevnetError, match="cannot reach the VM over SSH"):
        dn.vm_run("iptables", "-S")
