"""Which steps run for which reach: in route mode the tunnel's steps skip; in tunnel mode the
host-only and SSH steps skip, each saying why (no VM, no SSH, nothing changed)."""

from types import SimpleNamespace

import pytest

from devnet import config, providers
from devnet.steps.dns import DnsStart
from devnet.steps.docker import DockerConfigure
from devnet.steps.tunnel_dns import TunnelDns
from devnet.steps.tunnel_helper import TunnelHelper
from devnet.steps.tunnel_link import TunnelLink
from devnet.steps.vm import VmForward, VmHostOnly
from devnet.tunnel import keeper


def dn(tmp_path, provider: str):
    s = config.load({"instance": "tk", "state_dir": str(tmp_path), "provider": provider})
    p = providers.get(s)
    return SimpleNamespace(settings=s, provider=p, gateway=s.vm_ip,
                           vm_run=lambda *a, **k: pytest.fail(f"SSH into the VM: {a}"))


@pytest.mark.parametrize("step", [TunnelHelper, TunnelLink, TunnelDns])
def test_route_mode_has_no_tunnel(tmp_path, step):
    assert step(dn(tmp_path, "sim")).check().startswith("reach is route")


@pytest.mark.parametrize("step, says", [
    (VmHostOnly, "no host-only network: tunnel.link gives the VM 172.16.0.11"),
    (VmForward, "tunnel: the helper accepts"),
    (DockerConfigure, "tunnel: the VM's engine settings are its app's own"),
    (DnsStart, "tunnel: no SSH into the VM")])
def test_tunnel_mode_skips_the_ssh_steps_without_ssh(tmp_path, step, says):
    assert step(dn(tmp_path, "sim-desktop")).check().startswith(says)


def test_the_tunnel_link_is_the_providers_host_only_link(tmp_path):
    d = dn(tmp_path, "sim-desktop")
    assert d.provider.hostonly_link() == "tk-wg"  # vpn.fix and net.watch look at this link
    assert d.provider.tunnel_endpoint() == "host.docker.internal:51820"  # the VM dials
    plan = TunnelHelper(d).plan()
    assert "--network host --cap-add NET_ADMIN --device /dev/net/tun --restart always" in plan[-1]
    assert "(the VM dials host.docker.internal:51820, the host listens on udp 51820)" in plan[-1]


@pytest.mark.parametrize("by, redial", [
    ("vm", ["docker", "-H", "unix://{run}/docker.sock", "exec", "devnet-tk-tunnel",
            "/bin/tunnel-redial"]),
    ("host", ["wg", "setconf", "tk-wg", "{state}/tunnel/host.conf"])])
def test_the_keeper_redials_from_the_dialing_end(tmp_path, by, redial):
    s = config.load({"instance": "tk", "state_dir": str(tmp_path), "provider": "sim-desktop",
                     "desktop": {"dial": by}})
    d = SimpleNamespace(settings=s, provider=providers.get(s))
    want = [w.format(run=d.provider.vm_run, state=tmp_path) for w in redial]
    assert TunnelLink(d).redial() == want
    assert d.provider.tunnel_dial().describe() in TunnelLink(d).plan()[0]


def test_the_keeper_runs_the_redial_while_the_vm_is_silent_and_ends_with_the_link(monkeypatch):
    ran, pings = [], iter([True, False, False, True, False, False])
    monkeypatch.setattr(keeper, "answers", lambda ip: next(pings))
    monkeypatch.setattr(keeper, "link_alive", lambda iface: len(ran) < 3)
    monkeypatch.setattr(keeper, "redial", lambda command: ran.append(command) or True)
    monkeypatch.setattr(keeper.time, "sleep", lambda s: None)
    assert keeper.main(["tk-wg", "172.16.0.11", "docker", "exec", "h", "/bin/tunnel-redial"]) == 1
    assert ran == [["docker", "exec", "h", "/bin/tunnel-redial"]] * 3
