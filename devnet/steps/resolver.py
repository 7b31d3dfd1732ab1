"""dns.resolver: send the host's lookups to devnet's DNS (the ways, per OS and resolver
manager, are described in devnet.host.resolver, which also reads and writes the files)."""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.host import resolv_owner, resolver_health
from devnet.host.resolver import (
    first_nameserver,
    read_file,
    with_devnet_first,
    without_devnet,
    write_file,
)
from devnet.host.sudo import run_as_root
from devnet.steps.base import Step
from devnet.system import cmd, wait_until


class DnsResolver(Step):
    name = "dns.resolver"
    up_order = 80
    on_host = True
    summary = "point the host's resolver at devnet's DNS for the containers' domain"

    @property
    def ip(self):
        return self.dn.settings.dns_ip

    @property
    def domain(self):
        return self.dn.settings.dns.domain

    @property
    def resolv_conf(self) -> str:
        return self.dn.provider.resolv_conf

    def method(self) -> str:
        """resolverdir, resolved, resolvconf (edit the file) or resolvconf-tool (the
        resolvconf program's own records, where resolv.conf is its generated file)."""
        if getattr(self, "_method", None) is None:
            wanted = self.dn.settings.dns.resolver
            found = wanted if wanted != "auto" else self.dn.os.resolver_method(self.dn.host)
            if found == "resolvconf":
                found = self._file_or_manager()
            self._method = found
        return self._method

    def _file_or_manager(self) -> str:
        target = resolv_owner.link_target(self.dn.host, self.resolv_conf)
        if target is None:
            return "resolvconf"
        who = resolv_owner.manager(target)
        if who == "resolvconf":
            return "resolvconf-tool"
        raise resolv_owner.refusal(self.resolv_conf, target, who)

    @property
    def record(self) -> str:
        """devnet's record with the resolvconf program: `<link>.devnet`."""
        return f"{self.dn.provider.resolver_link() or 'lo'}.devnet"

    @property
    def resolver_file(self) -> str:
        return f"/etc/resolver/{self.domain}"

    def read(self, path: str | None = None) -> str | None:
        """A file's text on the host; None when it is not there."""
        return read_file(self.dn.host, path or self.resolv_conf)

    def write(self, path: str, text: str | None) -> None:
        """Replace `path` atomically (None: remove it), as root."""
        write_file(self.dn.host, path, text)

    def _link(self) -> str:
        link = self.dn.provider.resolver_link()
        if not link:
            raise DevnetError("no host-only link is known for systemd-resolved's per-link DNS",
                              "set devnet.dns.resolver: resolvconf")
        return link

    def check(self):
        if self.method() == "resolverdir":
            if first_nameserver(self.read(self.resolver_file) or "") == self.ip:
                return f"{self.resolver_file} sends .{self.domain} to {self.ip}"
            return None
        if self.method() == "resolved":
            out = self.dn.host.run(cmd("resolvectl", "domain", self._link()), hide=True, warn=True)
            dns = self.dn.host.run(cmd("resolvectl", "dns", self._link()), hide=True, warn=True)
            if f"~{self.domain}" in out.stdout and self.ip in dns.stdout:
                return f"systemd-resolved sends ~{self.domain} to {self.ip}"
            return None
        text = self.read() or ""
        if first_nameserver(text) == self.ip:
            return f"{self.resolv_conf} asks {self.ip} first"
        return resolver_health.still_out(self.dn, text)  # out while the DNS does not answer

    def plan(self):
        if self.method() == "resolverdir":
            return [f"write {self.resolver_file}: nameserver {self.ip}; flush the DNS caches"]
        if self.method() == "resolved":
            return [f"resolvectl dns <host-only link> {self.ip}; resolvectl domain ... "
                    f"~{self.domain}"]
        if self.method() == "resolvconf-tool":
            return [f"resolvconf -a {self.record} (nameserver {self.ip})"]
        return [f"put `nameserver {self.ip}` first in {self.resolv_conf}, keep the others as "
                "backup"]

    def apply(self):
        host = self.dn.host
        if self.method() == "resolverdir":
            made_dir = host.run("test -d /etc/resolver", hide=True, warn=True).failed
            self.dn.journal.record_first(self.name, method="resolverdir",
                                         path=self.resolver_file, made_dir=made_dir,
                                         previous=self.read(self.resolver_file))
            run_as_root(host, "mkdir -p /etc/resolver", hide=True)
            self.write(self.resolver_file, f"# devnet\nnameserver {self.ip}\nport 53\n")
            self.dn.os.flush_dns(host)
            return f"{self.resolver_file}: .{self.domain} -> {self.ip}"
        if self.method() == "resolved":
            link = self._link()
            self.dn.journal.record(self.name, method="resolved", link=link)
            run_as_root(host, cmd("resolvectl", "dns", link, self.ip), hide=True)
            run_as_root(host, cmd("resolvectl", "domain", link, f"~{self.domain}"), hide=True)
            self.dn.os.flush_dns(host)
            return f"systemd-resolved: ~{self.domain} -> {self.ip} on {link}"
        if self.method() == "resolvconf-tool":
            self.dn.journal.record(self.name, method="resolvconf-tool", record=self.record)
            run_as_root(host, cmd("sh", "-c", 'printf "%s" "$0" | resolvconf -a "$1"',
                                  f"nameserver {self.ip}\n", self.record), hide=True)
            return f"resolvconf: record {self.record} with nameserver {self.ip}"
        text = self.read()
        self.dn.journal.record_first(self.name, method="resolvconf", path=self.resolv_conf,
                                     previous=text)
        self.write(self.resolv_conf, with_devnet_first(text or "", self.ip, self.domain))
        kept = len((text or "").splitlines())
        return f"{self.resolv_conf}: nameserver {self.ip} first, {kept} line(s) kept"

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
        if args.get("method") == "resolvconf-tool":
            return f"resolvconf -d {args['record']}"
        if args.get("method") == "resolverdir":
            return f"{args['path']}: remove it, or put the old one back"
        path = args.get("path", self.resolv_conf)
        return f"{path}: back as it was (or only devnet's lines out)"

    def undo(self, args):
        host = self.dn.host
        if args.get("method") == "resolved":
            run_as_root(host, cmd("resolvectl", "revert", args["link"]), hide=True, warn=True)
            self.dn.os.flush_dns(host)
            return f"resolvectl revert {args['link']}"
        if args.get("method") == "resolvconf-tool":
            run_as_root(host, cmd("resolvconf", "-d", args["record"]), hide=True, warn=True)
            return f"resolvconf -d {args['record']}"
        if args.get("method") == "resolverdir":
            return self._undo_resolver_file(args)
        path = args.get("path", self.resolv_conf)
        current, previous = self.read(path), args.get("previous")
        if current == with_devnet_first(previous or "", self.ip, self.domain):
            restored, how = previous, "restored as it was"
        else:  # someone else changed it since (a VPN client?): take out only devnet's lines
            restored, how = without_devnet(current or "", self.ip), "removed devnet's lines"
        self.write(path, restored)
        return f"{path} {how if restored is not None else 'removed (it was not there)'}"

    def _undo_resolver_file(self, args) -> str:
        previous = args.get("previous")
        self.write(args["path"], previous)
        said = f"{args['path']} {'restored' if previous is not None else 'removed'}"
        if args.get("made_dir"):  # devnet made /etc/resolver: gone again once empty
            if run_as_root(self.dn.host, "rmdir /etc/resolver", hide=True, warn=True).ok:
                said += ", /etc/resolver removed"
        self.dn.os.flush_dns(self.dn.host)
        return said
