"""A real TCP client run inside the simulated host: connect, send a line, print the reply."""

import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
try:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"ping\n")
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
except OSError as err:
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
print(reply.decode(), end="")
