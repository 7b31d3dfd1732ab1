import shlex

import pytest
from invoke import MockContext, Result

from devnet import files
from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.host import resolver
from devnet.steps.resolver import DnsResolver
from tests.unit.conftest import fixture_text

ORIGINAL = "# the developer's machine\nsearch corp.example\nnameserver 10.0.0.138\n"


def test_devnet_goes_first_and_the_old_servers_stay_as_backup():
    new = resolver.with_devnet_first(ORIGINAL, "172.17.42.1", "docker")
    assert resolver.first_nameserver(new) == "172.17.42.1"
    assert new.endswith(ORIGINAL)
    assert resolver.with_devnet_first(new, "172.17.42.1", "docker") == new  # idempotent


def test_without_devnet_takes_out_only_devnets_lines():
    vpn = "nameserver 10.8.0.1\n" + resolver.with_devnet_first(ORIGINAL, "172.17.42.1", "x")
    assert resolver.without_devnet(vpn, "172.17.42.1") == "nameserver 10.8.0.1\n" + ORIGINAL


class Recorder(MockContext):
    """A MockContext that also records the files written (files.write_atomic_argv), as root
    (uid 0) or as a person whose writes go through sudo."""

    def __init__(self, uid=0, run=(), links=None, **kw):
        super().__init__(run={"id -u": Result(f"{uid}\n"), **dict(run)}, **kw)
        self._set(written=[], sudo=uid != 0, links=links or {})

    def run(self, command, **kw):
        argv = shlex.split(command)
        if argv[:1] == ["sudo"] and self.sudo:
            argv = argv[1:]
        if argv[:3] == ["sh", "-c", files.SCRIPT]:
            self.written.append(argv[3])
            return Result("")
        if argv[:3] == ["sh", "-c", 'test -L "$0" && readlink -f "$0"']:
            target = self.links.get(argv[3])
            return Result(f"{target}\n" if target else "", exited=0 if target else 1)
        return super().run(command, **kw)


SUDO = pytest.mark.parametrize("uid, sudo", [(0, ""), (501, "sudo ")])


def devnet(settings, host):
    dn = Devnet(settings, echo=lambda _: None)
    dn.provider.host = lambda: host
    dn.provider.host_exists = lambda: True
    dn.provider.resolv_conf = "/etc/resolv.conf"  # a real machine's, not the sim's netns one
    return dn


@SUDO
def test_resolvconf_apply_journals_the_original_and_undo_restores_it(settings, uid, sudo):
    host = Recorder(uid, run={"cat /etc/resolv.conf": Result(ORIGINAL),
                              "uname -s": Result("Linux"),
                              "resolvectl status": Result("", exited=1)})
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolvconf" and step.check() is None
    step.apply()
    assert host.written[0] == resolver.with_devnet_first(ORIGINAL, "172.17.42.1", "docker")
    entry = dn.journal.entries()[0]
    assert entry["args"] == {"method": "resolvconf", "path": "/etc/resolv.conf",
                             "previous": ORIGINAL}

    host2 = Recorder(uid, run={"cat /etc/resolv.conf": Result(host.written[0]),
                               "uname -s": Result("Linux")})
    DnsResolver(devnet(settings, host2)).undo(entry["args"])
    assert host2.written == [ORIGINAL]
    ran = [c.args[0] for c in host.run.call_args_list]
    assert not [line for line in ran if "resolvectl" in line]  # not resolved's stub: no cache
    assert [line.startswith("sudo ") for line in ran if "mktemp" in line] == [bool(sudo)]


@SUDO
def test_resolved_hosts_get_split_dns_on_the_hostonly_link(settings, uid, sudo):
    host = Recorder(uid, run={
        "uname -s": Result("Linux\n"),
        "cat /etc/resolv.conf": Result("nameserver 127.0.0.53\noptions edns0\n"),
        "resolvectl status": Result("Global\n"),
        f"{sudo}resolvectl dns dntest-ho0 172.17.42.1": Result(""),
        f"{sudo}resolvectl domain dntest-ho0 '~docker'": Result(""),
        f"{sudo}resolvectl flush-caches": Result(""),
        f"{sudo}resolvectl revert dntest-ho0": Result(""),
    })
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolved"
    assert step.apply() == "systemd-resolved: ~docker -> 172.17.42.1 on dntest-ho0"
    assert step.undo(dn.journal.entries()[0]["args"]) == "resolvectl revert dntest-ho0"
    ran = [c.args[0] for c in host.run.call_args_list]
    assert [line for line in ran if line.startswith(f"{sudo}resolvectl ") and "status" not in
            line] == [f"{sudo}resolvectl dns dntest-ho0 172.17.42.1",
                      f"{sudo}resolvectl domain dntest-ho0 '~docker'",
                      f"{sudo}resolvectl flush-caches", f"{sudo}resolvectl revert dntest-ho0",
                      f"{sudo}resolvectl flush-caches"]


def test_resolved_goes_on_the_providers_resolver_link(settings):
    host = Recorder(run={"uname -s": Result("Linux\n")})
    dn = devnet(settings, host)
    dn.provider.resolver_link = lambda: "docker0"  # provider local: the bridge
    assert DnsResolver(dn)._link() == "docker0"




def test_a_resolv_conf_that_was_not_there_is_removed_not_left_empty(settings):
    host = Recorder(run={"cat /etc/resolv.conf": Result("", exited=1),
                         "uname -s": Result("Linux"), "resolvectl status": Result("", exited=1),
                         "rm -f /etc/resolv.conf": Result("")})
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.apply() == "/etc/resolv.conf: nameserver 172.17.42.1 first, 0 line(s) kept"
    args = dn.journal.entries()[0]["args"]
    assert args["previous"] is None
    after = Recorder(run={"cat /etc/resolv.conf": Result(host.written[0]),
                          "rm -f /etc/resolv.conf": Result("")})
    assert DnsResolver(devnet(settings, after)).undo(args) == \
        "/etc/resolv.conf removed (it was not there)"
    assert after.written == []
    assert "rm -f /etc/resolv.conf" in [c.args[0] for c in after.run.call_args_list]


@pytest.mark.parametrize("target, said", [
    ("/run/systemd/resolve/resolv.conf", "libc asks them directly"),
    ("/run/NetworkManager/resolv.conf", "NetworkManager generates it"),
    ("/run/NetworkManager/no-stub-resolv.conf", "NetworkManager generates it"),
    ("/run/systemd/resolve/stub-resolv.conf", "resolvectl status` does not answer"),
    ("/opt/vpn/resolv.conf", "does not know the program that generates it"),
])
def test_a_symlinked_resolv_conf_is_never_written_through(settings, target, said):
    host = Recorder(run={"cat /etc/resolv.conf": Result("nameserver 10.0.0.138\n"),
                         "uname -s": Result("Linux"), "resolvectl status": Result("", exited=1)},
                    links={"/etc/resolv.conf": target})
    step = DnsResolver(devnet(settings, host))
    with pytest.raises(DevnetError, match=f"/etc/resolv.conf is a symlink to {target}: devnet "
                                          "does not write through it") as err:
        step.method()
    assert said in str(err.value)
    assert host.written == []


@SUDO
def test_resolvconfs_own_file_gets_a_record_through_resolvconf(settings, uid, sudo):
    add = f"{sudo}sh -c 'printf \"%s\" \"$0\" | resolvconf -a \"$1\"' " \
        "'nameserver 172.17.42.1\n' dntest-ho0.devnet"
    host = Recorder(uid, run={"cat /etc/resolv.conf": Result("nameserver 10.0.0.138\n"),
                              "uname -s": Result("Linux"),
                              "resolvectl status": Result("", exited=1),
                              add: Result(""),
                              f"{sudo}resolvconf -d dntest-ho0.devnet": Result("")},
                    links={"/etc/resolv.conf": "/run/resolvconf/resolv.conf"})
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolvconf-tool" and step.check() is None
    assert step.plan() == ["resolvconf -a dntest-ho0.devnet (nameserver 172.17.42.1)"]
    assert step.apply() == "resolvconf: record dntest-ho0.devnet with nameserver 172.17.42.1"
    args = dn.journal.entries()[0]["args"]
    assert step.undo(args) == "resolvconf -d dntest-ho0.devnet"
    assert host.written == []


def test_a_refused_write_says_so(settings):
    host = Recorder(run={"cat /etc/resolv.conf": Result("nameserver 10.0.0.138\n"),
                         "uname -s": Result("Linux"), "resolvectl status": Result("", exited=1)})
    step = DnsResolver(devnet(settings, host))
    refused = Result("", stderr="/etc/resolv.conf is a symlink (to x): devnet does not write "
                     "through it\n", exited=files.REFUSED)
    host.run = lambda *a, **k: refused
    with pytest.raises(DevnetError, match="cannot write /etc/resolv.conf: .* is a symlink"):
        step.write("/etc/resolv.conf", "nameserver 172.17.42.1\n")


SCUTIL = fixture_text("macos/scutil-dns-vpn.txt")


def mac(uid, sudo, scutil=SCUTIL, previous=None):
    return Recorder(uid, run={
        "uname -s": Result("Darwin\n"),
        "cat /etc/resolver/docker": Result(previous or "", exited=0 if previous else 1),
        "test -d /etc/resolver": Result("", exited=0 if previous else 1),
        f"{sudo}rmdir /etc/resolver": Result(""),
        f"{sudo}mkdir -p /etc/resolver": Result(""),
        "dscacheutil -flushcache": Result(""),
        f"{sudo}killall -HUP mDNSResponder": Result(""),
        "scutil --dns": Result(scutil),
        f"{sudo}rm -f /etc/resolver/docker": Result(""),
    })


@SUDO
def test_macos_gets_an_etc_resolver_file_and_scutil_proves_it(settings, uid, sudo):
    host = mac(uid, sudo)
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolverdir" and step.check() is None
    assert step.apply() == "/etc/resolver/docker: .docker -> 172.17.42.1"
    assert host.written == ["# devnet\nnameserver 172.17.42.1\nport 53\n"]
    step.verify()
    entry = dn.journal.entries()[0]["args"]
    assert entry["previous"] is None
    assert step.undo(entry) == "/etc/resolver/docker removed, /etc/resolver removed"
    ran = [c.args[0] for c in host.run.call_args_list]
    assert ran.count("id -u") == 1
    assert [line.split(" '")[0] for line in ran if line.startswith("sudo")] == (
        [] if uid == 0 else ["sudo mkdir -p /etc/resolver", "sudo sh -c",
                             "sudo killall -HUP mDNSResponder",
                             "sudo rm -f /etc/resolver/docker", "sudo rmdir /etc/resolver",
                             "sudo killall -HUP mDNSResponder"])
    assert "sudo scutil --dns" not in ran and "sudo cat /etc/resolver/docker" not in ran


def test_macos_undo_puts_a_previous_resolver_file_back(settings):
    host = mac(0, "", previous="nameserver 10.0.0.2\n")
    dn = devnet(settings, host)
    DnsResolver(dn).apply()
    assert DnsResolver(dn).undo(dn.journal.entries()[0]["args"]) == \
        "/etc/resolver/docker restored"  # /etc/resolver was there: it stays
    assert host.written[-1] == "nameserver 10.0.0.2\n"
    assert "rmdir /etc/resolver" not in [c.args[0] for c in host.run.call_args_list]


@pytest.mark.parametrize("scutil, seen", [
    (SCUTIL.replace("  domain   : docker\n", "  domain   : dockerx\n"),
     "no resolver for .docker"),
    (SCUTIL.replace("nameserver[0] : 172.17.42.1", "nameserver[0] : 10.8.0.53"),
     "it sends .docker to 10.8.0.53 port 53"),
    (SCUTIL.replace("  port     : 53\n", "  port     : 5353\n"),
     "it sends .docker to 172.17.42.1 port 5353"),
])
def test_scutil_verify_reads_the_domains_own_entry(settings, scutil, seen):
    step = DnsResolver(devnet(settings, mac(0, "", scutil=scutil)))
    with pytest.raises(DevnetError, match=seen):
        step.verify()
