"""The UDP loop: one thread that reads the clients' socket and the forwarder's sockets in one
epoll, answers from the exact cache and the question cache, answers plain A and AAAA
questions for zone names itself (zone_wire), relays plain questions for names outside the
zone to the forwarder (no parse, no thread switch), and hands anything else to the zone
lane: a bounded queue read by a few threads that parse with dnspython. When the lane is
full, a packet is dropped and counted: the loop itself never waits."""

from __future__ import annotations

import gc
import logging
import queue
import socket
import sys
import threading

from devnet.dns.forwarder import epoll
from devnet.dns.query_key import cache_key
from devnet.dns.tcp import IP_FREEBIND

log = logging.getLogger("devnet.dns")
SWITCH_INTERVAL = 0.0002
BATCH = 64  # client packets read in a row before the loop looks at the upstream's answers


def serve(server, sock: socket.socket) -> None:
    """Serve `sock` for `server` (a devnet.dns.server.Server) forever."""
    # A thread holding the GIL keeps it up to the switch interval (5 ms by default) while
    # this loop waits with an answer ready: a short interval keeps hot answers' tail short.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # Everything loaded so far (dnspython, the Docker SDK, ...) is permanent: a full
    # collection walked it all, 21 ms measured under load with every answer waiting (the
    # caches hold tuples of bytes, which the collector stops tracking).
    gc.collect()
    gc.freeze()
    lane = server.lane
    for i in range(server.workers):
        threading.Thread(target=_zone_lane, args=(server, lane, sock), name=f"dns-zone-{i}",
                         daemon=True).start()
    # One poll: the clients' socket and the forwarder's sockets, so upstream answers are
    # handled here too, without a thread switch.
    handlers = server.forwarder.attach()
    handlers[sock.fileno()] = _batch(server, lane, sock)
    forwarder = server.forwarder
    poll, timeout, expire = epoll(handlers).poll, forwarder.timeout, forwarder.expire
    while True:
        try:
            for fd, _ in poll(timeout()):
                handlers[fd]()
            expire()
        except Exception:  # never stop serving
            log.exception("the UDP loop failed; going on")


def _batch(server, lane: queue.Queue, sock: socket.socket):
    """A function that answers up to BATCH waiting client packets (the socket stays
    blocking for the lane's senders: reads here never wait)."""
    # Every name here is a local: this loop is the whole hot path.
    recv, send, zone, stats = sock.recvfrom, sock.sendto, server.zone, server.stats
    exact = server.caches.exact.data
    exact_get, exact_move = exact.get, exact.move_to_end
    memo, may_recurse, enqueue = server.policy.memo, server.may_recurse, lane.put_nowait
    cached, forward, owns = server.caches.lookup, server.relay.plain, zone.owns_wire
    zone_fast = server.zone_fast
    dontwait, counter = socket.MSG_DONTWAIT, [0]

    def batch() -> None:
        for _ in range(BATCH):
            try:
                wire, addr = recv(65535, dontwait)
            except OSError:  # EAGAIN: nothing more waits
                return
            try:
                recurse = memo.get(addr[0])
                if recurse is None:
                    recurse = may_recurse(addr[0])
                key = (wire[2:], recurse)
                hit = exact_get(key)
                if hit is not None and hit[2] == zone.generation:
                    send(wire[:2] + hit[0], addr)
                    try:
                        exact_move(key)
                    except KeyError:
                        pass
                    counter[0] += 1
                    if counter[0] & 0xFFF == 0:
                        stats["exact"] += 0x1000
                    continue
                found = cache_key(wire)
                if found is not None:
                    out = cached(wire, found, recurse)
                    if out is not None:
                        send(out, addr)
                        continue
                    if owns(found[0][0][:-4]):
                        out = zone_fast(wire, found, recurse)
                        if out is not None:
                            send(out, addr)
                            continue
                    elif recurse:
                        forward(wire, found, sender(send, addr))
                        continue
            except Exception:  # a send error, an odd source: never stop serving
                continue
            try:
                enqueue((wire, addr))
            except queue.Full:
                stats["dropped_busy"] += 1

    return batch


def _zone_lane(server, lane: queue.Queue, sock) -> None:
    send = sock.sendto
    while True:
        wire, addr = lane.get()
        server.safe_slow(wire, addr[0], True, sender(send, addr))


def sender(send, addr):
    """reply(bytes or None) for a UDP client: None sends nothing."""
    def reply(out):
        if out is not None:
            try:
                send(out, addr)
            except OSError as err:
                log.warning("cannot answer %s: %s", addr[0], err)
    return reply


def udp_socket(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(address)
    return sock
