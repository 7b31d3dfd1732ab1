"""The zone: every running container's records, answered authoritatively.

The registrar changes it (upsert, remove, replace_all); each change builds a new immutable
`View` and swaps it in, so the server threads read without locks. Listeners hear of every
change (the server drops its cache of rendered answers).
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset
from devnet.dns.names import Naming, Records

A, AAAA, SRV, PTR, SOA, NS, ANY = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.SRV,
                                   dns.rdatatype.PTR, dns.rdatatype.SOA, dns.rdatatype.NS,
                                   dns.rdatatype.ANY)


def reverse_origin(subnet) -> dns.name.Name:
    """`172.17.0.0/16` -> `17.172.in-addr.arpa.` (the octet-aligned zone covering it)."""
    net = ipaddress.ip_network(str(subnet))
    octets = str(net.network_address).split(".")[: net.prefixlen // 8]
    return dns.name.from_text(".".join(reversed(octets)) + ".in-addr.arpa.")


@dataclass(frozen=True)
class View:
    a: dict = field(default_factory=dict)
    aaaa: dict = field(default_factory=dict)
    srv: dict = field(default_factory=dict)
    ptr: dict = field(default_factory=dict)
    exists: frozenset = frozenset()
    records: int = 0


class Zone:
    def __init__(self, naming: Naming, ttl: int, ns_address: str, reverse_subnets=()):
        self.naming, self.ttl = naming, ttl
        self.origin = dns.name.from_text(naming.domain)
        self.ns_name = dns.name.from_text("ns", self.origin)
        self.ns_address = ns_address
        self.reverse = [reverse_origin(s) for s in reverse_subnets]
        self.generation = 0
        self.listeners: list = []
        self._containers: dict[str, Records] = {}
        self._lock = threading.Lock()
        self.view = self._build()

    # -- changes (registrar) -------------------------------------------------------------

    def upsert(self, rec: Records) -> None:
        with self._lock:
            self._containers[rec.cid] = rec
            self._swap()

    def remove(self, cid: str) -> bool:
        with self._lock:
            if self._containers.pop(cid, None) is None:
                return False
            self._swap()
            return True

    def replace_all(self, recs: list[Records]) -> None:
        with self._lock:
            self._containers = {r.cid: r for r in recs}
            self._swap()

    def container_ids(self) -> set[str]:
        return set(self._containers)

    def _swap(self) -> None:
        self.view = self._build()
        self.generation += 1
        for listener in self.listeners:
            listener()

    def _build(self) -> View:
        a, aaaa, srv, ptr = {}, {}, {}, {}
        exists = {self.origin, self.ns_name, *self.reverse}
        count = 0
        for rec in self._containers.values():
            primary = dns.name.from_text(rec.primary)
            for text in rec.names:
                name = dns.name.from_text(text)
                a.setdefault(name, set()).update(rec.ipv4)
                aaaa.setdefault(name, set()).update(rec.ipv6)
                exists.update(_ancestors(name, self.origin))
            for owner, port in rec.srv:
                name = dns.name.from_text(owner)
                srv.setdefault(name, set()).add((port, primary))
                exists.update(_ancestors(name, self.origin))
            for ip in rec.ipv4 + rec.ipv6:
                rev = dns.reversename.from_address(ip)
                origin = next((o for o in self.reverse if rev.is_subdomain(o)), None)
                if origin is not None:
                    ptr.setdefault(rev, primary)
                    exists.update(_ancestors(rev, origin))
            count += len(rec.names) * (len(rec.ipv4) + len(rec.ipv6)) + len(rec.srv)
        freeze = lambda d: {k: sorted(v) for k, v in d.items() if v}  # noqa: E731
        return View(freeze(a), freeze(aaaa), freeze(srv), ptr, frozenset(exists),
                    count + len(ptr))

    # -- answers (server) ----------------------------------------------------------------

    def owns(self, qname: dns.name.Name) -> bool:
        return qname.is_subdomain(self.origin) or any(qname.is_subdomain(o) for o in self.reverse)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA
        resp.flags &= ~dns.flags.RA  # set by the server when the client may recurse
        q = query.question[0]
        if q.rdclass != dns.rdataclass.IN:
            resp.set_rcode(dns.rcode.REFUSED)
            return resp
        view, name, rdtype = self.view, q.name, q.rdtype
        for rrset in self._rrsets(view, name, rdtype):
            resp.answer.append(rrset)
        if not resp.answer:
            if name not in view.exists:
                resp.set_rcode(dns.rcode.NXDOMAIN)
            resp.authority.append(self._soa(name))
        return resp

    def _rrsets(self, view: View, name, rdtype):
        def want(t):
            return rdtype in (t, ANY)

        def rrset(t, values):
            return dns.rrset.from_text_list(name, self.ttl, "IN", t, [str(v) for v in values])

        if want(A) and name in view.a:
            yield rrset(A, view.a[name])
        if want(AAAA) and name in view.aaaa:
            yield rrset(AAAA, view.aaaa[name])
        if want(SRV) and name in view.srv:
            yield rrset(SRV, [f"0 0 {port} {target}" for port, target in view.srv[name]])
        if want(PTR) and name in view.ptr:
            yield rrset(PTR, [view.ptr[name]])
        if name == self.ns_name and want(A):
            yield rrset(A, [self.ns_address])
        if name == self.origin or name in self.reverse:
            if want(SOA):
                yield self._soa(name)
            if want(NS):
                yield rrset(NS, [self.ns_name])

    def _soa(self, name) -> dns.rrset.RRset:
        origin = next((o for o in [self.origin, *self.reverse] if name.is_subdomain(o)),
                      self.origin)
        serial = self.generation % 2**32
        text = f"{self.ns_name} hostmaster.{self.origin} {serial} 3600 600 86400 {self.ttl}"
        return dns.rrset.from_text(origin, self.ttl, "IN", "SOA", text)


def _ancestors(name: dns.name.Name, origin: dns.name.Name):
    """`name` and every name between it and `origin` (empty non-terminals exist too)."""
    while name != origin and len(name) > len(origin):
        yield name
        name = name.parent()
