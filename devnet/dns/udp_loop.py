"""The UDP loop: one thread that reads the clients' socket and the forwarder's sockets in one
epoll, answers from the exact cache and the question cache, answers plain A and AAAA
questions for zone names itself (zone_wire), relays plain questions for names outside the
zone to the forwarder (no parse, no thread switch), and hands anything else to the zone
lane: a bounded queue read by a few threads that parse with dnspython. When the lane is
full, a packet is dropped and counted: the loop itself never waits.
On Linux the clients' packets are read, and their answers sent, a batch at a time (mmsg:
one recvmmsg and one sendmmsg call for up to 64) while they come in bursts; a wake that
finds one packet alone (a quiet moment) reads and answers it with recvfrom and sendto,
which cost less than a batch's bookkeeping for one packet. Elsewhere always one at a time."""

from __future__ import annotations

import gc
import logging
import queue
import socket
import sys
import threading
import time

from devnet.dns import mmsg
from devnet.dns.forwarder import epoll
from devnet.dns.query_key import cache_key
from devnet.dns.tcp import IP_FREEBIND

log = logging.getLogger("devnet.dns")
SWITCH_INTERVAL = 0.0002
# recvmmsg/sendmmsg where Linux has them (mmsg.SIZE client packets per batch, after which the
# loop looks at the upstream's answers); False: recvfrom/sendto, one packet at a time.
BATCHED = True
PEERS = 4096  # client addresses remembered as tuples (a new source costs a parse)
# Two wakes for the clients' socket closer than this: packets come in a burst, read a batch.
BURST = 0.00005
# The longest the loop sleeps. A signal is handled by the main thread (this loop), but the
# kernel may deliver SIGTERM to another thread: then only a wake lets the handler run (seen:
# an idle service that outlived its SIGTERM until the next query came).
IDLE_WAIT = 1.0


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
            wait = timeout()
            for fd, _ in poll(IDLE_WAIT if wait is None or wait > IDLE_WAIT else wait):
                handlers[fd]()
            expire()
        except Exception:  # never stop serving
            log.exception("the UDP loop failed; going on")


def _batch(server, lane: queue.Queue, sock: socket.socket, batched: bool | None = None):
    """A function that answers the client packets waiting, up to a batch: read and answered
    with one recvmmsg and one sendmmsg where Linux has them (mmsg), else one recvfrom and
    one sendto per packet (the socket stays blocking for the lane's senders: reads here
    never wait)."""
    respond = _responder(server, lane, sock)
    if batched is None:
        batched = BATCHED
    recv, send, dontwait = sock.recvfrom, sock.sendto, socket.MSG_DONTWAIT

    def one() -> bool:
        """Answer the next packet waiting; False: none waits."""
        try:
            wire, addr = recv(65535, dontwait)
        except OSError:  # EAGAIN: nothing more waits
            return False
        out = respond(wire, addr)
        if out is not None:
            try:
                send(out, addr)
            except OSError:  # an odd source: never stop serving
                pass
        return True

    if batched and mmsg.Batch.supported():
        return _adaptive(_batched(mmsg.Batch(sock, server.stats), respond), one)

    def one_by_one() -> None:
        for _ in range(mmsg.SIZE):
            if not one():
                return

    return one_by_one


def _adaptive(many, one, clock=time.monotonic):
    """Batches while packets come in bursts (`many` read more than one, or two wakes came
    closer than BURST); else one packet per wake. In back-to-back tcpdump captures on the sim
    at 1,000 queries/s, a zone answer's p50 from the query's arrival to the answer's
    departure went from 71-86 us (batches of one) to 56-66 us (one at a time)."""
    state = [True, -1.0]  # [reading batches, when the last single read was]

    def adaptive() -> None:
        if state[0]:
            state[0] = many() > 1
            return
        now = clock()
        state[0] = now - state[1] < BURST
        state[1] = now
        one()

    return adaptive


def _batched(batch: mmsg.Batch, respond):
    """The batch function over recvmmsg/sendmmsg: Batch.queue's work is written out here,
    on local names (the per-packet cost is the point of batching)."""
    receive, flush, alone = batch.receive, batch.flush, batch.sock.sendto
    data, names, lengths, out_slots = batch.data, batch.names, batch.lengths, batch.out
    send_u32, send_u64, send_lens = batch.send.u32, batch.send.u64, batch.send.iov_u64
    names_at, stats = batch.names_at, batch.stats
    hdr, msg_len, namelen, slot, name_size, out_slot, name_ptr = (
        mmsg.HDR, mmsg.MSG_LEN, mmsg.NAMELEN, mmsg.RECV_SLOT, mmsg.NAME, mmsg.SEND_SLOT,
        mmsg.NAME_PTR)
    peers: dict = {}  # sockaddr bytes -> recvfrom's address tuple

    def batched() -> int:
        """Answer the packets waiting, up to a batch; how many were read."""
        try:
            n = receive()
        except OSError:
            return 0
        j = 0
        for i in range(n):
            at, start, name = i * hdr, i * slot, i * name_size
            wire = data[start : start + lengths[at + msg_len]].tobytes()
            raw = names[name : name + lengths[at + namelen]].tobytes()
            addr = peers.get(raw)
            if addr is None:
                try:
                    addr = mmsg.peer(raw)
                except ValueError:
                    continue
                if len(peers) >= PEERS:
                    peers.clear()
                peers[raw] = addr
            out = respond(wire, addr)
            if out is None:
                continue
            size = len(out)
            if size > out_slot:  # never from the hot path's caches; sent on its own
                try:
                    alone(out, addr)
                except OSError:
                    stats["dropped_send"] += 1
                continue
            # Answer j: its bytes in send slot j, to packet i's sockaddr.
            start = j * out_slot
            out_slots[start : start + size] = out
            send_lens[j * 2 + 1] = size
            send_u64[j * hdr // 2 + name_ptr] = names_at + name
            send_u32[j * hdr + namelen] = lengths[at + namelen]
            j += 1
        if j:
            batch.queued = j
            flush()
        return n

    return batched


def _responder(server, lane: queue.Queue, sock: socket.socket):
    """respond(wire, addr): the answer the hot path has for this packet now, or None when it
    went to the forwarder or the zone lane (or was dropped)."""
    # Every name here is a local: this is the whole hot path.
    send, zone, stats = sock.sendto, server.zone, server.stats
    exact = server.caches.exact.data
    exact_get, exact_move = exact.get, exact.move_to_end
    memo, may_recurse, enqueue = server.policy.memo, server.may_recurse, lane.put_nowait
    cached, forward, owns = server.caches.lookup, server.relay.plain, zone.owns_wire
    zone_fast = server.zone_fast
    counter = [0]

    def respond(wire: bytes, addr):
        try:
            recurse = memo.get(addr[0])
            if recurse is None:
                recurse = may_recurse(addr[0])
            key = (wire[2:], recurse)
            hit = exact_get(key)
            if hit is not None and hit[2] == zone.generation:
                try:
                    exact_move(key)
                except KeyError:
                    pass
                counter[0] += 1
                if counter[0] & 0xFFF == 0:
                    stats["exact"] += 0x1000
                return wire[:2] + hit[0]
            found = cache_key(wire)
            if found is not None:
                out = cached(wire, found, recurse)
                if out is not None:
                    return out
                if owns(found[0][0][:-4]):
                    out = zone_fast(wire, found, recurse)
                    if out is not None:
                        return out
                elif recurse:
                    forward(wire, found, addr, send)
                    return None
        except Exception:  # an odd source: never stop serving
            return None
        try:
            enqueue((wire, addr))
        except queue.Full:
            stats["dropped_busy"] += 1
        return None

    return respond


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
