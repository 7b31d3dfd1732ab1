"""DNS over TCP (RFC 7766), bounded: at most MAX_CONNECTIONS at once, each closed when idle
for IDLE seconds or open for TOTAL seconds (a client sending one byte every few seconds
cannot hold a connection forever)."""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
import threading
import time

log = logging.getLogger("devnet.dns")
IP_FREEBIND = 15  # bind before docker0 has the address (dockerd may start after us)
MAX_CONNECTIONS = 64
IDLE, TOTAL = 5.0, 30.0


def tcp_server(server, address: tuple[str, int], max_connections: int = MAX_CONNECTIONS,
               idle: float = IDLE, total: float = TOTAL) -> socketserver.ThreadingTCPServer:
    """server: anything with answer(wire, ip, udp=False) and a stats Counter."""
    slots = threading.BoundedSemaphore(max_connections)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                self._serve(time.monotonic() + total)
            finally:
                slots.release()

        def _serve(self, deadline: float):
            while True:
                head = _recv_exactly(self.request, 2, deadline, idle)
                if not head:
                    return
                wire = _recv_exactly(self.request, struct.unpack("!H", head)[0], deadline, idle)
                if wire is None:
                    return
                out = server.answer(wire, self.client_address[0], udp=False)
                if out is None:
                    return
                self.request.settimeout(max(deadline - time.monotonic(), 0.01))
                self.request.sendall(struct.pack("!H", len(out)) + out)

    class TCP(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = max_connections

        def server_bind(self):
            self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            super().server_bind()

        def verify_request(self, request, client_address):
            if slots.acquire(blocking=False):
                return True
            server.stats["tcp_refused"] += 1  # at the cap: closed at once
            return False

    return TCP(address, Handler)


def _recv_exactly(sock, n: int, deadline: float, idle: float) -> bytes | None:
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(min(idle, left))
        try:
            chunk = sock.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
