"""The zone: every running container's records, answered authoritatively.

The registrar changes it (upsert, remove, replace_all). Names are parsed once per container
and indexed by name, then by container, so a change costs the size of that container, not of
the zone. Every change bumps `generation` under the same lock as the indices, and an answer
reports the generation it was computed from: the server caches it only while that holds.
Listeners hear of every change (the server drops its caches of rendered answers).

Takeover rule: a name that is some running container's `<container>.<image>.<env>.<domain>`
answers only with that container's addresses, whatever other containers' hostnames, aliases
or labels say; the apex and `ns.<domain>` are devnet's own and never come from a container.
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
MEMO_MAX = 8192  # answers built once per generation: ~800 bytes each at most


def reverse_origin(subnet) -> dns.name.Name:
    """`172.17.0.0/16` -> `17.172.in-addr.arpa.` (the octet-aligned zone covering it)."""
    net = ipaddress.ip_network(str(subnet))
    octets = str(net.network_address).split(".")[: net.prefixlen // 8]
    return dns.name.from_text(".".join(reversed(octets)) + ".in-addr.arpa.")


@dataclass
class _Parts:
    """One container's records as parsed DNS names."""

    rec: Records
    primary: dns.name.Name
    names: list = field(default_factory=list)
    srv: list = field(default_factory=list)
    ptr: list = field(default_factory=list)
    exists: set = field(default_factory=set)

    @property
    def count(self) -> int:
        rec = self.rec
        return len(self.names) * (len(rec.ipv4) + len(rec.ipv6)) + len(self.srv) + len(self.ptr)


class Zone:
    def __init__(self, naming: Naming, ttl: int, ns_address: str, reverse_subnets=()):
        self.naming, self.ttl = naming, ttl
        self.origin = dns.name.from_text(naming.domain)
        self.ns_name = dns.name.from_text("ns", self.origin)
        self.ns_address = ns_address
        self.reverse = [reverse_origin(s) for s in reverse_subnets]
        rev = dns.reversename.from_address(ns_address)
        origin = next((o for o in self.reverse if rev.is_subdomain(o)), None)
        self.ns_ptr = rev if origin is not None else None  # the bridge address's PTR
        # owns(), for the UDP loop: the origins as lower-case wire-format names
        self._owned = frozenset(key(o) for o in (self.origin, *self.reverse))
        self._ns_key = key(self.ns_name)
        self._fixed = {key(n) for n in (self.origin, self.ns_name, *self.reverse,
                                        *(_ancestors(rev, origin) if origin is not None else ()))}
        self.generation = 0
        self.records = 0
        self.listeners: list = []
        self._containers: dict[str, _Parts] = {}
        # Names are keyed by key(name): hashing dnspython's names cost more than the rest
        # of a zone_wire answer.
        # name -> {container id: its values}: a change touches only its own container's names
        self._a: dict = {}
        self._aaaa: dict = {}
        self._srv: dict = {}
        self._ptr: dict = {}
        self._exists: dict = {}  # name -> how many containers make it exist
        self._primary: dict = {}  # a container's primary name -> {its container ids}
        self._lock = threading.Lock()
        # (name, type) -> answer records, for names that exist, computed once per generation:
        # after a container event every cached answer is dropped and each first question
        # comes here, where building records from text was a quarter of its cost
        self._memo: dict = {}
        self._memo_generation = -1

    # -- changes (registrar) -------------------------------------------------------------

    def upsert(self, rec: Records) -> bool:
        """False when the container already has exactly these records: one start brings
        several events (network connect, start), and a repeat must not bump the generation
        (every cached answer dropped) nor take the lock and the GIL from the answers."""
        known = self._containers.get(rec.cid)
        if known is not None and known.rec == rec:
            return False
        parts = self._parse(rec)  # outside the lock: the costly part
        with self._lock:
            self._drop(rec.cid)
            self._add(parts)
            self.generation += 1
        self._changed()
        return True

    def remove(self, cid: str) -> bool:
        with self._lock:
            dropped = self._drop(cid)
            self.generation += dropped
        if dropped:
            self._changed()
        return dropped

    def replace_all(self, recs: list[Records], scope=None) -> None:
        """Replace every container (or only those whose id `scope(cid)` accepts)."""
        parsed = [self._parse(r) for r in recs]
        with self._lock:
            for cid in list(self._containers):
                if scope is None or scope(cid):
                    self._drop(cid)
            for parts in parsed:
                self._add(parts)
            self.generation += 1
        self._changed()

    def container_ids(self) -> set[str]:
        with self._lock:  # the status thread asks while the registrar or etcd view changes it
            return set(self._containers)

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    def _parse(self, rec: Records) -> _Parts:
        primary = dns.name.from_text(rec.primary)
        parts = _Parts(rec, primary)
        for text in rec.names:
            name = dns.name.from_text(text)
            if name in (self.origin, self.ns_name):
                continue  # devnet's own names: see the takeover rule above
            parts.names.append(key(name))
            parts.exists.update(map(key, _ancestors(name, self.origin)))
        for owner, port in rec.srv:
            name = dns.name.from_text(owner)
            parts.srv.append((key(name), (port, primary)))
            parts.exists.update(map(key, _ancestors(name, self.origin)))
        for ip in rec.ipv4 + rec.ipv6:
            rev = dns.reversename.from_address(ip)
            origin = next((o for o in self.reverse if rev.is_subdomain(o)), None)
            if origin is not None:
                parts.ptr.append((key(rev), primary))
                parts.exists.update(map(key, _ancestors(rev, origin)))
        return parts

    def _indexed(self, parts: _Parts):
        rec = parts.rec
        yield self._a, [(n, rec.ipv4) for n in parts.names if rec.ipv4]
        yield self._aaaa, [(n, rec.ipv6) for n in parts.names if rec.ipv6]
        yield self._srv, [(n, [target]) for n, target in parts.srv]
        yield self._ptr, [(rev, [primary]) for rev, primary in parts.ptr]

    def _add(self, parts: _Parts) -> None:
        cid = parts.rec.cid
        self._containers[cid] = parts
        self._primary.setdefault(key(parts.primary), set()).add(cid)
        for index, entries in self._indexed(parts):
            for name, values in entries:
                index.setdefault(name, {}).setdefault(cid, []).extend(values)
        for name in parts.exists:
            self._exists[name] = self._exists.get(name, 0) + 1
        self.records += parts.count

    def _drop(self, cid: str) -> bool:
        parts = self._containers.pop(cid, None)
        if parts is None:
            return False
        owners = self._primary.get(key(parts.primary), set())
        owners.discard(cid)
        if not owners:
            self._primary.pop(key(parts.primary), None)
        for index, entries in self._indexed(parts):
            for name, _ in entries:
                owners = index.get(name)
                if owners is not None and owners.pop(cid, None) is not None and not owners:
                    del index[name]
        for name in parts.exists:
            left = self._exists.pop(name, 1) - 1
            if left:
                self._exists[name] = left
        self.records -= parts.count
        return True

    # -- answers (server) ----------------------------------------------------------------

    def owns(self, qname: dns.name.Name) -> bool:
        return qname.is_subdomain(self.origin) or any(qname.is_subdomain(o) for o in self.reverse)

    def owns_wire(self, name: bytes) -> bool:
        """owns() for a lower-case, uncompressed name in wire form (no parse: each suffix
        that starts a label is looked up)."""
        owned, i = self._owned, 0
        while True:
            if name[i:] in owned:
                return True
            if not name[i]:
                return False
            i += name[i] + 1

    def answer(self, query: dns.message.Message) -> tuple[dns.message.Message, int]:
        """The answer and the zone generation it was computed from."""
        resp = dns.message.make_response(query, pad=0)
        resp.flags |= dns.flags.AA
        resp.flags &= ~dns.flags.RA  # set by the server when the client may recurse
        q = query.question[0]
        if q.rdclass != dns.rdataclass.IN:
            resp.set_rcode(dns.rcode.REFUSED)
            return resp, self.generation
        name, rdtype = q.name, q.rdtype
        with self._lock:  # the registrar may be changing the indices right now
            generation = self.generation
            k = key(name)
            known = k in self._exists or k in self._fixed
            resp.answer.extend(self._memoized((name, rdtype), generation, known,
                                              lambda: list(self._rrsets(name, rdtype))))
            if not resp.answer:
                origin = self.origin_of(name)
                resp.authority.extend(self._memoized(
                    origin, generation, True, lambda: [self.soa(origin, generation)]))
        if not resp.answer and not known:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        return resp, generation

    def addresses(self, k: bytes, rdtype) -> tuple[int, list[str], bool]:
        """For an A or AAAA question in the zone, without dnspython (zone_wire's path): the
        name as key(name); (generation, the addresses as text, does the name exist)."""
        index = self._a if rdtype == A else self._aaaa
        with self._lock:
            values = self._merged(index, k) if k in index else []
            if rdtype == A and k == self._ns_key:
                values = [*values, self.ns_address]
            return self.generation, values, k in self._exists or k in self._fixed

    def _memoized(self, key, generation: int, keep: bool, compute) -> list:
        """compute() once per zone generation (under the lock); kept only for `keep` keys
        and up to MEMO_MAX of them, so names that do not exist cannot grow it."""
        if self._memo_generation != generation or len(self._memo) >= MEMO_MAX:
            self._memo.clear()
            self._memo_generation = generation
        found = self._memo.get(key)
        if found is None:
            found = compute()
            if keep:
                self._memo[key] = found
        return found

    def origin_of(self, name) -> dns.name.Name:
        """The zone origin (the domain, or a reverse zone) `name` is in."""
        return next((o for o in [self.origin, *self.reverse] if name.is_subdomain(o)),
                    self.origin)

    def _rrsets(self, name, rdtype):
        def want(t):
            return rdtype in (t, ANY)

        def rrset(t, values):
            return dns.rrset.from_text_list(name, self.ttl, "IN", t, [str(v) for v in values])

        k = key(name)

        def merged(index):
            return self._merged(index, k)

        for t, index in ((A, self._a), (AAAA, self._aaaa)):
            values = merged(index) if want(t) and k in index else None
            if values:
                yield rrset(t, values)
        if want(SRV) and k in self._srv:
            yield rrset(SRV, [f"0 0 {port} {target}" for port, target in merged(self._srv)])
        if want(PTR) and k in self._ptr:
            yield rrset(PTR, [next(iter(self._ptr[k].values()))[0]])
        elif want(PTR) and name == self.ns_ptr:
            yield rrset(PTR, [self.ns_name])
        if name == self.ns_name and want(A):
            yield rrset(A, [self.ns_address])
        if name == self.origin or name in self.reverse:
            if want(SOA):
                yield self.soa(name, self.generation)
            if want(NS):
                yield rrset(NS, [self.ns_name])

    def _merged(self, index: dict, k: bytes) -> list:
        owners = index[k]
        primary = self._primary.get(k)  # the takeover rule
        return sorted({v for cid, values in owners.items() if not primary or cid in primary
                       for v in values})

    def soa(self, name, generation: int) -> dns.rrset.RRset:
        origin = self.origin_of(name)
        serial = generation % 2**32
        text = f"{self.ns_name} hostmaster.{self.origin} {serial} 3600 600 86400 {self.ttl}"
        return dns.rrset.from_text(origin, self.ttl, "IN", "SOA", text)


def key(name: dns.name.Name) -> bytes:
    """How the zone's indices know a name: lower case, in wire form."""
    return name.canonicalize().to_wire()


def _ancestors(name: dns.name.Name, origin: dns.name.Name):
    """`name` and every name between it and `origin` (empty non-terminals exist too)."""
    while name != origin and len(name) > len(origin):
        yield name
        name = name.parent()
