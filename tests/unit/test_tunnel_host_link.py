"""The host's WireGuard link: the kernel's where `ip link add ... type wireguard` works, else
wireguard-go; which one runs is read off the link (real `ip -d link` output, fixtures/tunnel)."""

from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet import procs
from devnet.host import macos
from devnet.tunnel import host_link
from devnet.tunnel.keys import Tunnel

FIX = Path(__file__).parent / "fixtures" / "tunnel"
KERNEL = (FIX / "ip-d-link-kernel-wireguard.txt").read_text()
TUN = (FIX / "ip-d-link-tun.txt").read_text()
NO_MODULE = (FIX / "ip-link-add-wireguard-no-module.txt").read_text()


class Host:
    """Answers `ip` as a machine would: links made by `ip link add` show as the kernel's."""

    def __init__(self, kernel_has_wireguard: bool, links: dict[str, str] | None = None):
        self.kernel = kernel_has_wireguard
        self.links = dict(links or {})
        self.ran: list[str] = []

    def run(self, command, **_):
        self.ran.append(command)
        argv = command.split()
        if argv[:4] == ["ip", "-d", "-o", "link"]:
            shown = self.links.get(argv[-1])
            return Result(stdout=shown or "", exited=0 if shown else 1)
        if argv[:3] == ["ip", "link", "add"]:
            if not self.kernel:
                return Result(stderr=NO_MODULE, exited=2)
            self.links[argv[4]] = KERNEL
            return Result()
        if argv[:3] == ["ip", "link", "del"]:
            return Result(exited=0 if self.links.pop(argv[-1], None) else 1)
        raise AssertionError(f"unexpected command {command}")


@pytest.fixture
def tunnel(tmp_path):
    t = Tunnel("tk", tmp_path)
    t.dir.mkdir()
    return t


def test_the_kind_is_read_off_the_link():
    assert host_link.kernel_link(Host(True, {"tk-wg": KERNEL}), "tk-wg")
    assert not host_link.kernel_link(Host(True, {"tk-wg": TUN}), "tk-wg")
    assert not host_link.kernel_link(Host(True), "tk-wg")


def test_kernel_wireguard_is_used_where_the_kernel_has_it(tunnel, monkeypatch):
    monkeypatch.setattr(procs.Pidfile, "spawn", lambda *a, **k: pytest.fail("wireguard-go"))
    host = Host(kernel_has_wireguard=True)
    assert host_link.start(host, tunnel, []) == "kernel WireGuard"
    assert "ip link add dev tk-wg type wireguard" in host.ran
    assert host_link.running(host, tunnel)
    # a second start finds it and makes nothing
    made = len([c for c in host.ran if c.startswith("ip link add")])
    assert host_link.start(host, tunnel, []) == "kernel WireGuard"
    assert len([c for c in host.ran if c.startswith("ip link add")]) == made
    assert host_link.stop(host, tunnel, "tk-wg") == ["link tk-wg"]
    assert not host_link.running(host, tunnel)


def test_wireguard_go_where_the_kernel_has_none(tunnel, monkeypatch):
    spawned = []

    def spawn(self, argv, **kwargs):
        spawned.append(argv)
        (host_link.SOCKETS / "tk-wg.sock").touch()

    monkeypatch.setattr(host_link, "SOCKETS", tunnel.dir)
    monkeypatch.setattr(procs.Pidfile, "spawn", spawn)
    host = Host(kernel_has_wireguard=False)
    assert host_link.start(host, tunnel, ["nsenter", "--net=/run/netns/h"]) == "wireguard-go"
    assert spawned == [["nsenter", "--net=/run/netns/h", "wireguard-go", "tk-wg"]]
    assert "tk-wg" not in host.links  # the failed kernel attempt left no link behind


MAC = Path(__file__).parent / "fixtures" / "macos"


def test_macos_uses_a_utun_named_by_wireguard_go(tunnel, monkeypatch):
    """macOS: no `ip`, no kernel WireGuard; wireguard-go utun writes the utun it got into
    the .name file (WG_TUN_NAME_FILE), and every command names that utun."""
    spawned = []

    def spawn(self, argv, env=None, **kwargs):
        spawned.append((argv, env["WG_TUN_NAME_FILE"]))
        Path(env["WG_TUN_NAME_FILE"]).write_text("utun4\n")
        (tunnel.dir / "utun4.sock").touch()

    monkeypatch.setattr(host_link, "DARWIN", True)
    monkeypatch.setattr(host_link, "SOCKETS", tunnel.dir)
    monkeypatch.setattr(procs.Pidfile, "spawn", spawn)
    monkeypatch.setattr(procs.Pidfile, "alive", lambda self: False)
    host = Host(kernel_has_wireguard=True)  # would answer `ip`: it must not be asked
    assert host_link.iface(tunnel) == "tk-wg"
    assert host_link.start(host, tunnel, []) == "wireguard-go (utun4)"
    assert spawned == [(["wireguard-go", "utun"], str(tunnel.dir / "tk-wg.name"))]
    assert host.ran == []
    assert host_link.iface(tunnel) == "utun4"
    (tunnel.dir / "utun4.sock").unlink()  # wireguard-go removes it as it exits
    assert host_link.stop(host, tunnel, "tk-wg") == []  # (Pidfile: nothing ran here)
    assert host_link.iface(tunnel) == "tk-wg" and host.ran == []


def test_macos_addresses_the_utun_point_to_point():
    c = MockContext(run={
        "ifconfig utun4 inet 172.16.0.1 172.16.0.11 netmask 255.255.255.255 up": Result(),
        "route -n change -net 172.16.0.0/16 -interface utun4": Result(exited=1),
        "route -n add -net 172.16.0.0/16 -interface utun4": Result(),
        "id -u": Result("0\n")})
    macos.set_tunnel_address(c, "utun4", "172.16.0.1/16", "172.16.0.11")
    shown = MockContext(run={"ifconfig utun4": Result((MAC / "ifconfig-utun.txt").read_text())})
    assert macos.has_tunnel_address(shown, "utun4", "172.16.0.1/16")
    assert not macos.has_tunnel_address(shown, "utun4", "172.16.0.2/16")
