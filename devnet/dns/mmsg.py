"""Batched datagrams: recvmmsg(2) and sendmmsg(2) through ctypes, so the UDP loop makes one
system call for up to SIZE client packets, and one for their answers, instead of one per
packet each way (the server is CPU-bound, and the calls were a large share of its time).

Linux only: `Batch.supported()` says whether this Python and libc have them; the loop falls
back to recvfrom/sendto where they do not (macOS, a libc without them).

The buffers are allocated once. The UDP loop reads and writes them through memoryviews (the
per-packet work is a few index operations, no ctypes call): packet i is in `data` at
i * RECV_SLOT, `lengths[i * HDR + MSG_LEN]` long, from the sockaddr at `names`[i * NAME:],
`lengths[i * HDR + NAMELEN]` long. An answer j goes to the send slot j (`queue`, which the
UDP loop writes out inline), sent by `flush` with one call.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import socket

SIZE = 64  # packets per call
RECV_SLOT = 65536  # as recvfrom(65535): any datagram fits (pages only touched when used)
SEND_SLOT = 4096  # answers from the hot path are far smaller; a larger one is sent alone
NAME = 32  # a sockaddr_in6 (28 bytes) fits
RETRY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.c_void_p), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint32)]


# Indexes into a uint32 view of an mmsghdr array: entry i's field is at i * HDR + field.
HDR = ctypes.sizeof(_Mmsghdr) // 4
NAMELEN = _Msghdr.namelen.offset // 4
MSG_LEN = _Mmsghdr.len.offset // 4
NAME_PTR = _Msghdr.name.offset // 8  # in a uint64 view: entry i's at i * HDR // 2 + this


def _libc():
    try:
        # PyDLL: called holding the GIL (with MSG_DONTWAIT they never wait), so a call is no
        # chance for another thread to take the loop's core mid-batch.
        libc = ctypes.PyDLL(None, use_errno=True)
        calls = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    for call in calls:
        call.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                         ctypes.c_void_p][: 5 if call is calls[0] else 4]
        call.restype = ctypes.c_int
    return calls


_CALLS = _libc() if hasattr(socket, "MSG_DONTWAIT") else None


def _array(kind, count: int, buffer):
    """`count` structures over `buffer`, and the buffer's address."""
    arr = (kind * count).from_buffer(buffer)
    return arr, ctypes.addressof(arr)


def peer(raw: bytes):
    """recvfrom's address tuple for a sockaddr's bytes (AF_INET or AF_INET6)."""
    family = int.from_bytes(raw[:2], "little")
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    if family == socket.AF_INET6:
        return (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port,
                int.from_bytes(raw[4:8], "big"), int.from_bytes(raw[24:28], "little"))
    raise ValueError(f"address family {family}")


class _Headers:
    """An mmsghdr array, each entry with one iovec on its own slot of a buffer at `slots_at`
    (and, when names_at, its own sockaddr buffer), with views to patch it."""

    def __init__(self, size: int, slots_at: int, slot: int, names_at: int = 0):
        self._hdrs = bytearray(ctypes.sizeof(_Mmsghdr) * size)
        self._iovs = bytearray(ctypes.sizeof(_Iovec) * size)
        hdrs, self.at = _array(_Mmsghdr, size, self._hdrs)
        iovs, iovs_at = _array(_Iovec, size, self._iovs)
        for i in range(size):
            iovs[i].base, iovs[i].len = slots_at + i * slot, slot
            h = hdrs[i].hdr
            h.iov, h.iovlen = iovs_at + i * ctypes.sizeof(_Iovec), 1
            if names_at:
                h.name, h.namelen = names_at + i * NAME, NAME
        self._keep = hdrs, iovs
        self.u32 = memoryview(self._hdrs).cast("I")
        self.u64 = memoryview(self._hdrs).cast("Q")
        self.iov_u64 = memoryview(self._iovs).cast("Q")  # [i * 2 + 1]: entry i's iov_len


class Batch:
    """Receive and send buffers for up to `size` datagrams on `sock`."""

    @staticmethod
    def supported() -> bool:
        return _CALLS is not None

    def __init__(self, sock: socket.socket, stats, size: int = SIZE, calls=None):
        """stats: a Counter for send fallbacks and drops; calls: (recvmmsg, sendmmsg) with
        libc's signatures (tests pass wrappers)."""
        self.sock, self.fd, self.size, self.stats = sock, sock.fileno(), size, stats
        self.recvmmsg, self.sendmmsg = calls or _CALLS
        # Received packets: an anonymous mapping, so only the pages packets touch use memory.
        self._data = mmap.mmap(-1, size * RECV_SLOT)
        _, data_at = _array(ctypes.c_char, size * RECV_SLOT, self._data)
        self._names = bytearray(size * NAME)
        _, self.names_at = _array(ctypes.c_char, size * NAME, self._names)
        self._out = bytearray(size * SEND_SLOT)
        _, out_at = _array(ctypes.c_char, size * SEND_SLOT, self._out)
        self.data, self.names, self.out = (memoryview(b) for b in
                                           (self._data, self._names, self._out))
        self.recv = _Headers(size, data_at, RECV_SLOT, self.names_at)
        self.send = _Headers(size, out_at, SEND_SLOT)
        self.lengths = self.recv.u32
        self.queued = self.used = 0

    def receive(self) -> int:
        """Read the packets waiting (up to size) without waiting; how many (0: none)."""
        lengths = self.lengths
        for i in range(self.used):  # the kernel wrote each sockaddr's length over it
            lengths[i * HDR + NAMELEN] = NAME
        self.used = 0
        n = self.recvmmsg(self.fd, self.recv.at, self.size, socket.MSG_DONTWAIT, None)
        if n < 0:
            err = ctypes.get_errno()
            if err in RETRY:
                return 0
            raise OSError(err, errno.errorcode.get(err, "recvmmsg failed"))
        self.used = n
        return n

    def queue(self, out: bytes, i: int) -> None:
        """Answer packet i with `out` at the next flush (a large answer is sent at once)."""
        if len(out) > SEND_SLOT:
            return self._alone(out, self._sockaddr(i))
        j, send = self.queued, self.send
        start = j * SEND_SLOT
        self.out[start : start + len(out)] = out
        send.iov_u64[j * 2 + 1] = len(out)
        send.u64[j * HDR // 2 + NAME_PTR] = self.names_at + i * NAME
        send.u32[j * HDR + NAMELEN] = self.lengths[i * HDR + NAMELEN]
        self.queued = j + 1

    def flush(self) -> None:
        """Send the queued answers: one call for all when the socket takes them; an answer
        the kernel refuses (a full buffer, an unreachable client) is sent alone with
        sendto, or dropped and counted."""
        done, total, send = 0, self.queued, self.send
        self.queued = 0
        while done < total:
            n = self.sendmmsg(self.fd, send.at + done * HDR * 4, total - done,
                              socket.MSG_DONTWAIT)
            if n > 0:
                done += n
                continue
            j = done * HDR
            name = send.u64[j // 2 + NAME_PTR] - self.names_at
            start = done * SEND_SLOT
            self.stats["send_one_by_one"] += 1
            self._alone(self.out[start : start + send.iov_u64[done * 2 + 1]].tobytes(),
                        self._names[name : name + send.u32[j + NAMELEN]])
            done += 1

    def _sockaddr(self, i: int) -> bytes:
        name = i * NAME
        return self._names[name : name + self.lengths[i * HDR + NAMELEN]]

    def _alone(self, out: bytes, sockaddr) -> None:
        try:
            self.sock.sendto(out, peer(bytes(sockaddr)))
        except (OSError, ValueError):
            self.stats["dropped_send"] += 1
