"""The in-VM steps against a MockContext standing in for the Fabric connection."""

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.steps.vm import VM_DOWN, VmForward, VmHostOnly
from tests.unit.conftest import devnet_with_vm, fixture_text

ADDR = "ip -o addr show dev eth1"
LINK = "ip -o link show dev eth1"


def ip_o(name="ip-o-eth1.txt", address="172.16.0.11"):
    """{LINK: ..., ADDR: ...} from a saved `ip -o link` + `ip -o addr` transcript."""
    lines = fixture_text(name).replace("172.16.0.11", address).splitlines(keepends=True)
    return {LINK: Result(lines[0]), ADDR: Result("".join(lines[1:]))}
RULE = "-s 172.16.0.0/16 -d 172.17.0.0/16 -j ACCEPT"




def test_hostonly_adds_the_address_when_eth1_has_another(settings):
    dn = devnet_with_vm(settings, **{
        **ip_o(address="172.16.0.1"),  # eth1 has another address only
        "ip addr add 172.16.0.11/16 dev eth1": Result(""),
        "ip link set eth1 up": Result(""),
    })
    step = VmHostOnly(dn)
    assert step.check() is None
    assert step.apply() == "eth1 = 172.16.0.11/16, up"
    assert dn.journal.has("vm.hostonly", iface="eth1", cidr="172.16.0.11/16")


@pytest.mark.parametrize("transcript", ["ip-o-eth1.txt", "busybox-ip-o-eth1.txt"])
def test_hostonly_is_done_when_the_address_is_there(settings, transcript):
    dn = devnet_with_vm(settings, **ip_o(transcript))
    assert VmHostOnly(dn).check() == "eth1 has 172.16.0.11/16 and is up"


def test_hostonly_redoes_a_link_that_is_down(settings):
    down = {k: Result(v.stdout.replace(",UP,LOWER_UP", "")) for k, v in ip_o().items()}
    assert VmHostOnly(devnet_with_vm(settings, **down)).check() is None


def test_no_vm_or_a_provider_that_assigns_the_address_skips_hostonly(settings, monkeypatch):
    dn = devnet_with_vm(settings)
    monkeypatch.setattr(dn.provider, "assigns_vm_address", True)
    assert VmHostOnly(dn).check() == "sim gives the VM its host-only address (172.16.0.11)"
    monkeypatch.setattr(dn.provider, "has_vm", False)
    assert VmHostOnly(dn).check() == "no VM: no host-only network"
    assert "own bridge" in VmForward(dn).check()


def test_hostonly_names_a_missing_interface(settings):
    dn = devnet_with_vm(settings, **{ADDR: Result("", stderr='Device "eth1" does not exist.',
                                              exited=1)})
    with pytest.raises(DevnetError, match="the VM has no interface eth1"):
        VmHostOnly(dn).check()


def test_a_non_root_login_uses_sudo(settings):
    dn = devnet_with_vm(settings, user="docker",
                        **{f"sudo -n {k}": v for k, v in ip_o().items()})
    assert VmHostOnly(dn).check()


def test_forward_inserts_the_rule_once(settings):
    dn = devnet_with_vm(settings, **{
        "iptables -w -n -L DOCKER-USER": Result("Chain DOCKER-USER"),
        f"iptables -w -C DOCKER-USER {RULE}": Result("", exited=1),
        f"iptables -w -I DOCKER-USER 1 {RULE}": Result(""),
    })
    step = VmForward(dn)
    assert step.check() is None
    assert step.apply() == "DOCKER-USER accepts 172.16.0.0/16 -> 172.17.0.0/16"
    assert dn.journal.has("vm.forward", subnet="172.17.0.0/16")


def test_forward_without_docker_user_chain_needs_nothing(settings):
    dn = devnet_with_vm(settings, **{"iptables -w -n -L DOCKER-USER": Result("", exited=1)})
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
