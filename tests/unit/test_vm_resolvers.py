"""The VM's real DNS servers, from real systemd-resolved output (fixtures/resolved): never the
127.0.0.53 stub, which would loop or fail from inside devnet's service."""

import pytest

from devnet.dns import vm_resolvers
from devnet.dns.vm_resolvers import discover, nameservers, resolvectl_servers, usable
from tests.unit.conftest import fixture_text

STUB = fixture_text("resolved/stub-resolv.conf")
UPLINK = fixture_text("resolved/uplink-resolv.conf")


def files(**by_path):
    return lambda path: by_path.get(path, "")


def no_resolvectl():
    raise AssertionError("resolvectl asked although a file had the servers")


def test_a_plain_resolv_conf_is_used_as_it_is():
    found = discover("172.17.42.1", read=files(**{"/etc/resolv.conf": "nameserver 10.0.2.3\n"}),
                     resolvectl=no_resolvectl)
    assert found == (["10.0.2.3"], "/etc/resolv.conf")


def test_under_the_stub_the_uplink_file_has_the_real_servers():
    read = files(**{"/etc/resolv.conf": STUB, "/run/systemd/resolve/resolv.conf": UPLINK})
    servers, source = discover("172.17.42.1", read=read, resolvectl=no_resolvectl)
    # All four, the one past systemd's "Too many DNS servers" comment too: devnet has no
    # glibc limit of three.
    assert servers == ["146.141.8.16", "146.141.15.210", "8.8.8.8", "8.8.4.4"]
    assert source == "/run/systemd/resolve/resolv.conf (/etc/resolv.conf has 127.0.0.53)"
    assert "127.0.0.53" not in servers


def test_without_the_uplink_file_resolvectl_is_asked():
    read = files(**{"/etc/resolv.conf": STUB})
    out = fixture_text("resolved/resolvectl-dns-vagrant-ubuntu.txt")
    assert discover("172.17.42.1", read=read, resolvectl=lambda: out) == (
        ["10.0.2.3"], "resolvectl dns (/etc/resolv.conf has 127.0.0.53)")


def test_nothing_usable_is_said_not_a_stub():
    servers, why = discover("172.17.42.1", read=files(**{"/etc/resolv.conf": STUB}),
                            resolvectl=lambda: "")
    assert servers == [] and why.startswith("none: /etc/resolv.conf has 127.0.0.53")


@pytest.mark.parametrize("fixture, expect", [
    ("resolvectl-dns-vagrant-ubuntu.txt", ["10.0.2.3"]),
    ("resolvectl-dns-vpn.txt", ["1.1.1.1", "1.0.0.1", "10.45.248.15", "10.38.5.26"]),
    ("resolvectl-dns-ipv6.txt", ["192.168.5.1", "223.5.5.5", "192.168.5.11", "fe80::5"]),
])
def test_resolvectl_dns_is_parsed(fixture, expect):
    assert resolvectl_servers(fixture_text(f"resolved/{fixture}")) == expect


def test_resolvectl_server_names_and_ports():
    text = "Global: 1.1.1.1#cloudflare-dns.com [2606:4700::1111]:853#one.one.one.one\n"
    assert resolvectl_servers(text) == ["1.1.1.1", "2606:4700::1111"]


def test_loopback_link_local_and_ipv6_are_skipped():
    linklocal = nameservers(fixture_text("resolved/uplink-resolv-linklocal.conf"))
    assert linklocal[2] == "fe80::8226:89ff:fe1c:15bc%3"
    assert usable(linklocal) == ["1.0.0.1", "1.1.1.1"]
    assert usable(nameservers(fixture_text("resolved/uplink-resolv-loopback.conf"))) == \
        ["1.1.1.1", "8.8.8.8"]
    assert usable(resolvectl_servers(fixture_text("resolved/resolvectl-dns-ipv6.txt"))) == \
        ["192.168.5.1", "223.5.5.5", "192.168.5.11"]
    assert vm_resolvers.skip_reason("172.17.42.1", "172.17.42.1") == "devnet itself"
    assert vm_resolvers.skip_reason("192.0.2.53:5353") is None
