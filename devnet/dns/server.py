"""The DNS server: UDP and TCP, a resolver chain (zone, then upstream), and a hot path.

The hot path answers a repeated plain query from bytes rendered the first time: it checks the
header, walks the question's labels, and glues the client's ID and question onto the cached
rest. Anything unusual (compression in the question, several questions, a malformed packet,
EDNS options it cannot vouch for) takes the slow path through dnspython, which answers
FORMERR, or drops what is not even a DNS header, and never stops the server.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
from devnet.dns.policy import RecursionPolicy
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone

log = logging.getLogger("devnet.dns")
EDNS_PAYLOAD = 1232  # the DNS flag day's safe UDP size
IP_FREEBIND = 15  # bind before docker0 has the address (dockerd may start after us)
NO_EDNS, EDNS = 0, 1


def question_end(wire: bytes) -> int:
    """Offset just past the question of a plain one-question query, or 0 if not plain."""
    n = len(wire)
    if n < 17 or wire[2] & 0xF8 or wire[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return 0  # a response, another opcode, or not exactly one question
    i = 12
    while i < n:
        length = wire[i]
        if length == 0:
            return i + 5 if i + 5 <= n else 0
        if length > 63:
            return 0  # a compression pointer (or garbage) in the question
        i += length + 1
    return 0


def cache_key(wire: bytes):
    """(key, question end, client UDP payload) for the hot path, or None."""
    qend = question_end(wire)
    if not qend:
        return None
    n, ar = len(wire), wire[10:12]
    if ar == b"\x00\x00":
        if qend != n:
            return None
        edns, payload = NO_EDNS, 512
    elif ar == b"\x00\x01":
        # Exactly one OPT RR, version 0: root owner, type 41, then its rdata to the end.
        if n < qend + 11 or wire[qend] != 0 or wire[qend + 1 : qend + 3] != b"\x00\x29":
            return None
        if wire[qend + 6] != 0 or qend + 11 + int.from_bytes(wire[qend + 9 : qend + 11]) != n:
            return None
        edns, payload = EDNS, max(512, int.from_bytes(wire[qend + 3 : qend + 5]))
    else:
        return None
    # Names are case-insensitive; the type and class bytes are not text.
    key = (wire[12 : qend - 4].lower() + wire[qend - 4 : qend], edns)
    return key, qend, payload


class Server:
    def __init__(self, zone: Zone, upstream: Upstream, allowed_networks, workers: int = 16):
        self.zone, self.upstream = zone, upstream
        # A RecursionPolicy the registrar keeps current, or a fixed list of networks.
        self.policy = allowed_networks if isinstance(allowed_networks, RecursionPolicy) \
            else RecursionPolicy(allowed_networks)
        self.cache: dict = {}  # (case-folded question, EDNS?, may recurse) -> answer parts
        self.exact: dict = {}  # (query bytes after the ID, may recurse) -> answer after the ID
        self._allowed_memo = self.policy.memo
        self.stats: Counter = Counter()
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="dns-slow")
        zone.listeners.append(self.clear_cache)

    def clear_cache(self) -> None:
        # In place: the UDP loop holds references to both.
        self.cache.clear()
        self.exact.clear()

    def may_recurse(self, ip: str) -> bool:
        return self.policy.allows(ip)

    # -- the two paths -------------------------------------------------------------------

    def fast(self, wire: bytes, ip: str):
        found = cache_key(wire)
        if found is None:
            return None
        key, qend, payload = found
        recurse = self.may_recurse(ip)
        hit = self.cache.get((key, recurse))
        if hit is None:
            return None
        head, tail = hit
        if 12 + (qend - 12) + len(tail) > payload:
            return None  # this client takes less than the cached answer: let the slow path cut
        self.stats["fast"] += 1
        out = wire[:2] + bytes((head[0] | (wire[2] & 0x01), head[1])) + head[2:] + \
            wire[12:qend] + tail
        self._exactly(wire, out, recurse)
        return out

    def _exactly(self, wire: bytes, out: bytes, recurse: bool) -> None:
        """Remember the answer to these exact query bytes: the next one costs a dict lookup."""
        if len(self.exact) > 200_000:
            self.exact.clear()
        self.exact[(wire[2:], recurse)] = out[2:]

    def slow(self, wire: bytes, ip: str, udp: bool) -> bytes | None:
        """Answer anything; None means drop (not even a DNS header, or a response)."""
        self.stats["slow"] += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.message.ShortHeader:
            self.stats["dropped"] += 1
            return None
        except Exception:  # any malformation dnspython detects: FORMERR
            return self._formerr(wire)
        if query.flags & dns.flags.QR:
            self.stats["dropped"] += 1
            return None
        if query.opcode() != dns.opcode.QUERY:
            return self._error(query, dns.rcode.NOTIMP)
        if len(query.question) != 1:
            return self._formerr(wire)
        recurse = self.may_recurse(ip)
        name = query.question[0].name
        if self.zone.owns(name):
            resp, cacheable = self.zone.answer(query), udp
        elif recurse:
            self.stats["forwarded"] += 1
            resp, cacheable = self.upstream.resolve(query), False
            resp.id = query.id
        else:
            self.stats["refused"] += 1
            return self._error(query, dns.rcode.REFUSED)
        if recurse:
            resp.flags |= dns.flags.RA
        out = self._render(resp, query, udp)
        if cacheable:
            self._remember(wire, out, recurse)
        return out

    def _render(self, resp, query, udp: bool) -> bytes:
        if query.edns >= 0:
            resp.use_edns(0, 0, EDNS_PAYLOAD)
        if not udp:
            return resp.to_wire()
        limit = min(max(512, query.payload), EDNS_PAYLOAD) if query.edns >= 0 else 512
        try:
            return resp.to_wire(max_size=limit)
        except dns.exception.TooBig:
            self.stats["truncated"] += 1
            resp.answer.clear()
            resp.authority.clear()
            resp.additional.clear()
            resp.flags |= dns.flags.TC
            return resp.to_wire(max_size=limit)

    def _remember(self, wire: bytes, out: bytes, recurse: bool) -> None:
        found = cache_key(wire)
        if found is None or len(self.cache) > 100_000:
            return
        key, qend, _ = found
        head, tail = out[2:12], out[qend:]
        self._exactly(wire, out, recurse)
        if key[1] == EDNS and out[2] & 0x02:
            return  # a truncated EDNS answer depends on the client's size: not cached
        self.cache[(key, recurse)] = (bytes((head[0] & 0xFE, head[1])) + head[2:], tail)

    def _formerr(self, wire: bytes) -> bytes:
        self.stats["formerr"] += 1
        flags = 0x8000 | (wire[2] & 0x79) << 8 | dns.rcode.FORMERR  # QR, opcode, RD kept
        return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)

    def _error(self, query, rcode) -> bytes:
        resp = dns.message.make_response(query)
        resp.set_rcode(rcode)
        return resp.to_wire()

    def answer(self, wire: bytes, ip: str, udp: bool = True) -> bytes | None:
        """The whole chain for one packet; never raises."""
        try:
            return (self.fast(wire, ip) if udp else None) or self.slow(wire, ip, udp)
        except Exception:
            log.exception("answering a query from %s failed", ip)
            self.stats["errors"] += 1
            return None

    # -- transports ----------------------------------------------------------------------

    def serve_udp(self, sock: socket.socket) -> None:
        # Every name here is a local: this loop is the whole hot path.
        recv, send, fast, exact = sock.recvfrom, sock.sendto, self.fast, self.exact
        memo, may_recurse, submit = self._allowed_memo, self.may_recurse, self.pool.submit
        hits = 0
        while True:
            try:
                wire, addr = recv(65535)
            except OSError:
                continue
            try:
                recurse = memo.get(addr[0])
                if recurse is None:
                    recurse = may_recurse(addr[0])
                tail = exact.get((wire[2:], recurse))
                if tail is not None:
                    send(wire[:2] + tail, addr)
                    hits += 1
                    if hits & 0xFFF == 0:
                        self.stats["exact"] += 0x1000
                    continue
                out = fast(wire, addr[0])
                if out is not None:
                    send(out, addr)
                    continue
            except Exception:  # a send error, an odd source: never stop serving
                continue
            submit(self._slow_udp, sock, wire, addr)

    def _slow_udp(self, sock, wire, addr) -> None:
        out = self.answer(wire, addr[0], udp=True)
        if out is not None:
            try:
                sock.sendto(out, addr)
            except OSError as err:
                log.warning("cannot answer %s: %s", addr[0], err)

    def tcp_server(self, address: tuple[str, int]) -> socketserver.ThreadingTCPServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                while True:
                    head = _recv_exactly(self.request, 2)
                    if not head:
                        return
                    wire = _recv_exactly(self.request, struct.unpack("!H", head)[0])
                    if wire is None:
                        return
                    out = server.answer(wire, self.client_address[0], udp=False)
                    if out is None:
                        return
                    self.request.sendall(struct.pack("!H", len(out)) + out)

        class TCP(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def server_bind(self):
                self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
                super().server_bind()

        return TCP(address, Handler)


def udp_socket(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(address)
    return sock


def _recv_exactly(sock, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
