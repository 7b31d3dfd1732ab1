"""The tunnel's pure parts: devnet.reach in the settings, which provider offers which reach,
the per-instance names, the keys (0600) and the host's wg config, the helper's root fs."""

import io
import stat
import subprocess
import tarfile

import pytest

from devnet import config, providers
from devnet.errors import ConfigError, DevnetError
from devnet.tunnel import image, keys
from devnet.tunnel.dial import Dial


def settings(tmp_path, **tree):
    return config.load({"instance": "tk", "state_dir": str(tmp_path), **tree})


def test_reach_is_validated_and_defaults_to_auto(tmp_path):
    assert settings(tmp_path).reach == "auto"
    with pytest.raises(ConfigError, match="devnet.reach: 'vpn' is not one of auto, route"):
        settings(tmp_path, reach="vpn")


@pytest.mark.parametrize("provider, reach, chosen", [
    ("sim", "auto", "route"), ("sim-desktop", "auto", "tunnel"), ("desktop", "auto", "tunnel"),
    ("sim-desktop", "tunnel", "tunnel")])
def test_auto_reach_is_the_providers_own(tmp_path, provider, reach, chosen):
    p = providers.get(settings(tmp_path, provider=provider, reach=reach))
    assert p.reach() == chosen
    assert p.tunnels() == (chosen == "tunnel")
    p.check_reach()


def test_a_reach_the_provider_cannot_offer_is_refused_before_anything(tmp_path):
    with pytest.raises(DevnetError, match="not possible with provider sim-desktop"):
        providers.get(settings(tmp_path, provider="sim-desktop", reach="route")).check_reach()
    with pytest.raises(DevnetError, match="offers route"):
        providers.get(settings(tmp_path, provider="sim", reach="tunnel")).check_reach()


def test_names_are_per_instance_and_fit_linux_interface_names(tmp_path):
    t = keys.Tunnel("abcdefgh", tmp_path)
    assert (t.host_iface, t.vm_iface) == ("abcdefgh-wg", "abcdefgh-wgvm")
    assert max(len(t.host_iface), len(t.vm_iface)) <= 15
    assert t.container == "devnet-abcdefgh-tunnel" and t.image == "devnet/tunnel-helper:abcdefgh"


def test_keys_are_owner_only_made_once_and_removed(tmp_path):
    t = keys.Tunnel("tk", tmp_path)
    assert keys.ensure_keys(t) == ["host", "vm"]
    assert keys.ensure_keys(t) == []
    for side in ("host", "vm"):
        assert stat.S_IMODE(t.key(side).stat().st_mode) == 0o600
    assert stat.S_IMODE(t.dir.stat().st_mode) == 0o700
    keys.write_host_config(t, Dial("host", 51820))
    conf = t.host_conf.read_text()
    assert stat.S_IMODE(t.host_conf.stat().st_mode) == 0o600
    assert f"PublicKey = {keys.public(t, 'vm')}" in conf
    assert "Endpoint = 127.0.0.1:51820" in conf and "AllowedIPs = 0.0.0.0/0" in conf
    assert keys.private(t, "host") in conf and keys.private(t, "vm") not in conf
    assert sorted(keys.remove(t)) == ["host.conf", "host.key", "vm.key"]
    assert not t.dir.exists()
    with pytest.raises(DevnetError, match="invoke up"):
        keys.private(t, "host")


def test_the_helper_rootfs_holds_its_programs_and_their_libraries():
    with tarfile.open(fileobj=io.BytesIO(image.rootfs_tar())) as tar:
        names = set(tar.getnames())
        entry = tar.extractfile("bin/tunnel-entry").read().decode()
    for program in image.PROGRAMS:
        assert f"bin/{program}" in names
    assert "lib/x86_64-linux-gnu/libc.so.6" in names and "bin/ip" in names
    assert any(n.endswith("xtables/libxt_standard.so") for n in names)
    # TERM takes the DOCKER-USER rule back out; the rule is added once (-C first)
    assert "trap stop TERM" in entry and '-w -C $RULE' in entry
    assert len(image.digest()) == 16


def test_where_the_vm_dials_the_host_listens_and_has_no_endpoint(tmp_path):
    t = keys.Tunnel("tk", tmp_path)
    keys.ensure_keys(t)
    conf = keys.host_config(t, Dial("vm", 40000))
    interface, _, peer = conf.partition("[Peer]")
    assert "ListenPort = 40000" in interface
    # the host learns the VM's endpoint from its handshake; the VM keeps the mapping open
    assert "Endpoint" not in peer and "PersistentKeepalive" not in peer
    assert "AllowedIPs = 0.0.0.0/0" in peer
    host = keys.host_config(t, Dial("host", 40000))
    assert "ListenPort" not in host and "PersistentKeepalive = 25" in host


@pytest.mark.parametrize("by, env, says", [
    ("vm", {"ENDPOINT": "host.docker.internal:51820", "KEEPALIVE": "25", "PORT": ""},
     "the VM dials host.docker.internal:51820, the host listens on udp 51820"),
    ("host", {"ENDPOINT": "", "KEEPALIVE": "", "PORT": "51820"},
     "the host dials 127.0.0.1:51820 (a port the VM publishes)")])
def test_the_dial_is_a_provider_fact_read_from_the_settings(tmp_path, by, env, says):
    for name in ("desktop", "sim-desktop"):
        p = providers.get(settings(tmp_path, provider=name, desktop={"dial": by}))
        d = p.tunnel_dial()
        assert (d.by, d.port) == (by, 51820)
        assert d.helper_env() == env and d.describe() == says
        assert p.tunnel_endpoint() == d.endpoint


def test_the_dial_defaults_to_the_vm_and_is_validated(tmp_path):
    assert providers.get(settings(tmp_path, provider="desktop")).tunnel_dial().by == "vm"
    with pytest.raises(ConfigError, match="devnet.desktop.dial: 'both' is not one of vm, host"):
        settings(tmp_path, desktop={"dial": "both"})
    with pytest.raises(ConfigError, match="devnet.desktop.udp_port: '70000' is not a UDP port"):
        settings(tmp_path, desktop={"udp_port": "70000"})
    with pytest.raises(DevnetError, match="no tunnel"):
        providers.get(settings(tmp_path, provider="sim")).tunnel_dial()


def test_the_helper_dials_or_listens_as_its_environment_says():
    """The entry script's wg line, run by sh with each dial's environment (wg echoed)."""
    line = next(x for x in image.ENTRY.splitlines() if x.startswith("if [ -n \"$ENDPOINT\""))
    wg_line = image.ENTRY.split("wg set \"$IFACE\" private-key", 1)[1].split("||")[0]
    script = f'{line}\necho wg set "$IFACE" private-key{wg_line}'
    for by, want in (("vm", "endpoint host.docker.internal:51820 persistent-keepalive 25"),
                     ("host", "listen-port 51820 peer")):
        env = {"IFACE": "x", "HOST_PUB": "K", "HOST_IP": "172.16.0.1",
               **Dial(by, 51820).helper_env()}
        out = subprocess.run(["sh", "-c", script], env=env, capture_output=True,
                             text=True).stdout
        assert want in out, out
        assert ("listen-port" in out) == (by == "host"), out
        assert ("endpoint" in out) == (by == "vm"), out
