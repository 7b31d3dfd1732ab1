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
    assert d.provider.tunnel_endpoint() == "127.0.0.1:51820"
    plan = TunnelHelper(d).plan()
    assert "--network host --cap-add NET_ADMIN --device /dev/net/tun --restart always" in plan[-1]
