"""dns.resolver: send the host's lookups to devnet's DNS.

- macOS: /etc/resolver/<domain> (split DNS), then flush the resolver caches; `scutil --dns`
  proves it.
- systemd-resolved (where /etc/resolv.conf is its stub): per-link DNS with `~<domain>` on the
  host-only link, so only the domain goes to devnet (split DNS); `resolvectl revert` undoes it.
- otherwise the walk-through's way: devnet's DNS first in /etc/resolv.conf, the old servers
  kept after it as backup (devnet forwards other names upstream anyway). The sim's host
  namespace reads /etc/netns/<ns>/resolv.conf as its /etc/resolv.conf, so this same code,
  run through its Context, edits that file.

The method (when `auto`), the cache flush and reading the resolvers back come from the host's
OS adapter (`dn.os`); changes go through sudo when devnet does not run as root.
"""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.host.linux import RESOLV_CONF, nameservers
from devnet.host.sudo import run_as_root
from devnet.steps import Step
from devnet.system import cmd, wait_until, write_file_argv

MARK = "# devnet: containers' names (.{domain}) via {ip}; `invoke down` removes this\n"


def with_devnet_first(text: str, ip: str, domain: str) -> str:
    keep = [ln for ln in text.splitlines(keepends=True)
            if ln.split()[:2] != ["nameserver", ip] and not ln.startswith("# devnet:")]
    return MARK.format(domain=domain, ip=ip) + f"nameserver {ip}\n" + "".join(keep)


def without_devnet(text: str, ip: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True)
                   if ln.split()[:2] != ["nameserver", ip] and not ln.startswith("# devnet:"))


def first_nameserver(text: str) -> str | None:
    return next(iter(nameservers(text)), None)


class DnsResolver(Step):
    name = "dns.resolver"
    on_host = True
    summary = "point the host's resolver at devnet's DNS for the containers' domain"

    @property
    def ip(self):
        return self.dn.settings.dns_ip

    @property
    def domain(self):
        return self.dn.settings.dns.domain

    def method(self) -> str:
        wanted = self.dn.settings.dns.resolver
        return wanted if wanted != "auto" else self.dn.os.resolver_method(self.dn.host)

    @property
    def resolver_file(self) -> str:
        return f"/etc/resolver/{self.domain}"

    def _read(self) -> str:
        out = self.dn.host.run(f"cat {RESOLV_CONF}", hide=True, warn=True)
        return out.stdout if out.ok else ""

    def _link(self) -> str:
        link = self.dn.provider.resolver_link()
        if not link:
            raise DevnetError("no host-only link is known for systemd-resolved's per-link DNS",
                              "set devnet.dns.resolver: resolvconf")
        return link

    def check(self):
        if self.method() == "resolverdir":
            out = self.dn.host.run(f"cat {self.resolver_file}", hide=True, warn=True)
            if out.ok and first_nameserver(out.stdout) == self.ip:
                return f"{self.resolver_file} sends .{self.domain} to {self.ip}"
            return None
        if self.method() == "resolved":
            out = self.dn.host.run(cmd("resolvectl", "domain", self._link()), hide=True, warn=True)
            dns = self.dn.host.run(cmd("resolvectl", "dns", self._link()), hide=True, warn=True)
            if f"~{self.domain}" in out.stdout and self.ip in dns.stdout:
                return f"systemd-resolved sends ~{self.domain} to {self.ip}"
            return None
        text = self._read()
        if first_nameserver(text) == self.ip:
            return f"{RESOLV_CONF} asks {self.ip} first"
        from devnet.host import resolver_health  # builds on this module

        return resolver_health.still_out(self.dn, text)  # out while the DNS does not answer

    def plan(self):
        if self.method() == "resolverdir":
            return [f"write {self.resolver_file}: nameserver {self.ip}; flush the DNS caches"]
        if self.method() == "resolved":
            return [f"resolvectl dns <host-only link> {self.ip}; resolvectl domain ... "
                    f"~{self.domain}"]
        return [f"put `nameserver {self.ip}` first in {RESOLV_CONF}, keep the others as backup"]

    def apply(self):
        host = self.dn.host
        if self.method() == "resolverdir":
            out = host.run(f"cat {self.resolver_file}", hide=True, warn=True)
            self.dn.journal.record_first(self.name, method="resolverdir",
                                         path=self.resolver_file,
                                         previous=out.stdout if out.ok else None)
            self._write_resolver_file(f"# devnet\nnameserver {self.ip}\nport 53\n")
            return f"{self.resolver_file}: .{self.domain} -> {self.ip}"
        if self.method() == "resolved":
            link = self._link()
            self.dn.journal.record(self.name, method="resolved", link=link)
            run_as_root(host, cmd("resolvectl", "dns", link, self.ip), hide=True)
            run_as_root(host, cmd("resolvectl", "domain", link, f"~{self.domain}"), hide=True)
            self.dn.os.flush_dns(host)
            return f"systemd-resolved: ~{self.domain} -> {self.ip} on {link}"
        text = self._read()
        self.dn.journal.record_first(self.name, method="resolvconf", previous=text)
        new = with_devnet_first(text, self.ip, self.domain)
        run_as_root(host, cmd(*write_file_argv(RESOLV_CONF, new)), hide=True)
        return f"{RESOLV_CONF}: nameserver {self.ip} first, {len(text.splitlines())} line(s) kept"

    def _write_resolver_file(self, text: str | None) -> None:
        host = self.dn.host
        if text is None:
            run_as_root(host, cmd("rm", "-f", self.resolver_file), hide=True)
        else:
            run_as_root(host, "mkdir -p /etc/resolver", hide=True)
            run_as_root(host, cmd(*write_file_argv(self.resolver_file, text)), hide=True)
        self.dn.os.flush_dns(host)

    def verify(self):
        if self.method() == "resolverdir":  # macOS has no getent; scutil shows the resolvers
            entry = next((r for r in self.dn.os.resolvers(self.dn.host)
                          if r["domain"] == self.domain.lower()), None)
            if not entry or self.ip not in entry["nameservers"] or entry["port"] != 53:
                seen = (f"it sends .{self.domain} to {', '.join(entry['nameservers'])} port "
                        f"{entry['port']}" if entry else f"no resolver for .{self.domain}")
                raise DevnetError(f"`scutil --dns` does not list {self.resolver_file} ({seen})",
                                  "sudo killall -HUP mDNSResponder, then invoke dns.resolver")
            return
        name = f"ns.{self.domain}"
        wait_until(
            lambda: self.ip in self.dn.host.run(cmd("getent", "hosts", name), hide=True,
                                                warn=True).stdout,
            5, f"`getent hosts {name}` to answer {self.ip}",
            "invoke dns.status; invoke status",
        )

    def describe_undo(self, args):
        if args.get("method") == "resolved":
            return f"resolvectl revert {args['link']}"
        if args.get("method") == "resolverdir":
            return f"{args['path']}: remove it, or put the old one back"
        return f"{RESOLV_CONF}: back as it was (or only devnet's lines out)"

    def undo(self, args):
        host = self.dn.host
        if args.get("method") == "resolved":
            run_as_root(host, cmd("resolvectl", "revert", args["link"]), hide=True, warn=True)
            self.dn.os.flush_dns(host)
            return f"resolvectl revert {args['link']}"
        if args.get("method") == "resolverdir":
            self._write_resolver_file(args.get("previous"))
            return f"{args['path']} {'restored' if args.get('previous') else 'removed'}"
        current = self._read()
        previous = args.get("previous", "")
        if current == with_devnet_first(previous, self.ip, self.domain):
            restored, how = previous, "restored as it was"
        else:  # someone else changed it since (a VPN client?): take out only devnet's lines
            restored, how = without_devnet(current, self.ip), "removed devnet's lines"
        run_as_root(host, cmd(*write_file_argv(RESOLV_CONF, restored)), hide=True)
        return f"{RESOLV_CONF} {how}"
