import shlex

from invoke import MockContext, Result

from devnet.core import Devnet
from devnet.host import resolver
from devnet.host.resolver import DnsResolver

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
    """A MockContext that also records the files written (system.write_file_argv)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._set(written=[])

    def run(self, command, **kw):
        argv = shlex.split(command)
        if argv[:3] == ["sh", "-c", 'printf "%s" "$0" > "$1"']:
            self.written.append(argv[3])
            return Result("")
        return super().run(command, **kw)


def devnet(settings, host):
    dn = Devnet(settings, echo=lambda _: None)
    dn.provider.host = lambda: host
    dn.provider.host_exists = lambda: True
    return dn


def test_resolvconf_apply_journals_the_original_and_undo_restores_it(settings):
    host = Recorder(run={"cat /etc/resolv.conf": Result(ORIGINAL), "uname -s": Result("Linux"),
                         "resolvectl status": Result("", exited=1)})
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolvconf" and step.check() is None
    step.apply()
    assert host.written[0] == resolver.with_devnet_first(ORIGINAL, "172.17.42.1", "docker")
    entry = dn.journal.entries()[0]
    assert entry["args"] == {"method": "resolvconf", "previous": ORIGINAL}

    host2 = Recorder(run={"cat /etc/resolv.conf": Result(host.written[0])})
    DnsResolver(devnet(settings, host2)).undo(entry["args"])
    assert host2.written == [ORIGINAL]


def test_resolved_hosts_get_split_dns_on_the_hostonly_link(settings):
    host = MockContext(run={
        "uname -s": Result("Linux\n"),
        "cat /etc/resolv.conf": Result("nameserver 127.0.0.53\noptions edns0\n"),
        "resolvectl status": Result("Global\n"),
        "resolvectl dns dntest-ho0 172.17.42.1": Result(""),
        "resolvectl domain dntest-ho0 '~docker'": Result(""),
    })
    step = DnsResolver(devnet(settings, host))
    assert step.method() == "resolved"
    assert step.apply() == "systemd-resolved: ~docker -> 172.17.42.1 on dntest-ho0"




SCUTIL = """DNS configuration

resolver #1
  nameserver[0] : 192.168.1.1
  flags    : Request A records
  reach    : 0x00020002 (Reachable,Directly Reachable Address)

resolver #8
  domain   : docker
  nameserver[0] : 172.17.42.1
  port     : 53
  flags    : Request A records, Request AAAA records
  reach    : 0x00000002 (Reachable)
"""


def test_macos_gets_an_etc_resolver_file_and_scutil_proves_it(settings):
    host = Recorder(run={
        "uname -s": Result("Darwin\n"),
        "cat /etc/resolver/docker": Result("", exited=1),
        "mkdir -p /etc/resolver": Result(""),
        "dscacheutil -flushcache": Result(""),
        "killall -HUP mDNSResponder": Result(""),
        "scutil --dns": Result(SCUTIL),
        "rm -f /etc/resolver/docker": Result(""),
    })
    dn = devnet(settings, host)
    step = DnsResolver(dn)
    assert step.method() == "resolverdir" and step.check() is None
    assert step.apply() == "/etc/resolver/docker: .docker -> 172.17.42.1"
    assert host.written == ["# devnet\nnameserver 172.17.42.1\nport 53\n"]
    step.verify()
    entry = dn.journal.entries()[0]["args"]
    assert entry["previous"] is None
    assert step.undo(entry) == "/etc/resolver/docker removed"
