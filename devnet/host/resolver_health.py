"""Never make the host's own DNS worse than without devnet.

With the resolvconf method devnet's DNS is the first `nameserver` in /etc/resolv.conf, so
every lookup the developer's machine makes asks it first. While it does not answer (VM halted,
service down) glibc waits its whole timeout (5 s, per try and address family) before it asks
the next server: `getent hosts` of an outside name took 12 s with the VM halted. So the entry
follows the service's health:

- taken out while devnet's DNS does not answer, a marked comment left in its place (`down`
  removes it with devnet's other lines); `vm.halt` and `dns.stop` take it out at once;
- put back first when it answers again, by net.watch (each round) or by `up`/`dns.resolver`.

The user's own lines and options (`timeout:`, `attempts:`, `rotate`) are never changed: they
are the user's choice for all their lookups, and shortening them would make real outages
look like failures. The other methods are split DNS already and need nothing here: macOS
/etc/resolver/<domain> and systemd-resolved's per-link `~<domain>` (a link with only routing
domains is not resolved's default route) send only the containers' domain to devnet.
"""

from __future__ import annotations

import sys

from devnet.host.resolver import (
    first_nameserver,
    read_file,
    with_devnet_first,
    without_devnet,
    write_file,
)
from devnet.system import cmd

STEP = "dns.resolver"
OUT = ("# devnet: nameserver {ip} (.{domain}) out while devnet's DNS does not answer; "
       "net.watch or `invoke up` puts it back\n")


PROBE_TIMEOUT = 0.5  # s: devnet answers in well under 10 ms; dig's shortest wait is 1 s
PROBE = """\
import socket, sys
ip, name, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
q = b"\\xde\\x7e\\x01\\0\\0\\x01\\0\\0\\0\\0\\0\\0" + b"".join(
    bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0\\0\\x01\\0\\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
try:
    s.sendto(q, (ip, 53))
    a = s.recv(512)
    print("answers" if a[:2] == q[:2] and a[3] & 15 == 0 else "bad answer")
except OSError as err:
    print(type(err).__name__)
"""
FAILS_TO_TAKE_OUT = 2  # rounds in a row: one failed probe may be a VPN that vpn.fix repairs


def probe_argv(dn) -> list[str]:
    return [sys.executable, "-c", PROBE, dn.settings.dns_ip, f"ns.{dn.settings.dns.domain}",
            str(PROBE_TIMEOUT)]


def answers(dn) -> bool:
    """devnet's DNS answers its own name from the host, within half a second."""
    return dn.host.run(cmd(*probe_argv(dn)), hide=True, warn=True).stdout.strip() == "answers"


def edits_resolv_conf(dn) -> bool:
    return any(e["step"] == STEP and e["args"].get("method") == "resolvconf"
               for e in dn.journal.entries())


def is_out(text: str, ip: str) -> bool:
    return any(ln.startswith(f"# devnet: nameserver {ip} ") and " out while " in ln
               for ln in text.splitlines())


def taken_out(text: str, ip: str, domain: str) -> str:
    return OUT.format(ip=ip, domain=domain) + without_devnet(text, ip)


def _read(dn) -> str:
    return read_file(dn.host, dn.provider.resolv_conf) or ""


def _write(dn, text: str) -> None:
    write_file(dn.host, dn.provider.resolv_conf, text)  # the one writer: atomic, no symlink


def still_out(dn, text: str) -> str | None:
    """For dns.resolver's check: the entry is out on purpose and the service still does not
    answer (so that is the right state, and vpn.fix must not put it back), else None."""
    ip = dn.settings.dns_ip
    if is_out(text, ip) and not answers(dn):
        return f"{dn.provider.resolv_conf}: devnet's entry out while its DNS does not answer"
    return None


def take_out(dn, why: str) -> str | None:
    """Take devnet's entry out now (devnet itself stops its DNS); what it did, or None."""
    if not edits_resolv_conf(dn):
        return None
    ip, text = dn.settings.dns_ip, _read(dn)
    if first_nameserver(text) != ip:
        return None
    _write(dn, taken_out(text, ip, dn.settings.dns.domain))
    return f"took nameserver {ip} out of {dn.provider.resolv_conf} ({why})"


def put_back(dn) -> str | None:
    """devnet's DNS answers again (dns.start proved it): its entry first again, if it was out."""
    if not edits_resolv_conf(dn):
        return None
    ip, text = dn.settings.dns_ip, _read(dn)
    if not is_out(text, ip):
        return None
    _write(dn, with_devnet_first(text, ip, dn.settings.dns.domain))
    return f"nameserver {ip} first in {dn.provider.resolv_conf} again: devnet's DNS answers"


class Follower:
    """net.watch's part: the entry follows the service's health, round after round. It goes
    out after FAILS_TO_TAKE_OUT failed probes in a row (a VPN that just connected blocks the
    probe until vpn.fix repairs it, a round later), and back after one answer."""

    def __init__(self, dn):
        self.dn, self.fails = dn, 0

    def round(self) -> str | None:
        """What changed this round, or None."""
        dn = self.dn
        if not edits_resolv_conf(dn):
            return None
        ip, domain, text = dn.settings.dns_ip, dn.settings.dns.domain, _read(dn)
        first, out = first_nameserver(text) == ip, is_out(text, ip)
        if not (first or out):
            self.fails = 0
            return None  # someone else's resolv.conf now (a VPN's): vpn.fix decides
        if answers(dn):
            self.fails = 0
            return put_back(dn) if out else None
        self.fails += 1
        if first and self.fails >= FAILS_TO_TAKE_OUT:
            _write(dn, taken_out(text, ip, domain))
            return (f"took nameserver {ip} out of {dn.provider.resolv_conf}: "
                    "devnet's DNS does not answer "
                    "(outside names do not wait on it)")
        return None
