"""The tunnel's pure parts: devnet.reach in the settings, which provider offers which reach,
the per-instance names, the keys (0600) and the host's wg config, the helper's root fs."""

import io
import stat
import tarfile

import pytest

from devnet import config, providers
from devnet.errors import ConfigError, DevnetError
from devnet.tunnel import image, keys


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
    keys.write_host_config(t, "127.0.0.1:51820")
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
