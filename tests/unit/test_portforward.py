"""The NAT-style forwarder's relay, on loopback (entering a namespace needs root: e2e)."""

import socket
import threading

from devnet.providers import portforward


def echo_server():
    srv = socket.create_server(("127.0.0.1", 0))

    def loop():
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"SSH-2.0-fake\r\n")
            while data := conn.recv(1024):
                conn.sendall(data.upper())

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1]


def test_bytes_flow_both_ways_and_close_propagates():
    target = echo_server()
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=portforward.serve, args=(listener, target), daemon=True).start()
    with socket.create_connection(listener.getsockname(), timeout=5) as c:
        assert c.recv(100) == b"SSH-2.0-fake\r\n"
        c.sendall(b"hello")
        assert c.recv(100) == b"HELLO"
        c.shutdown(socket.SHUT_WR)
        assert c.recv(100) == b""


def test_a_dead_target_closes_the_client_and_keeps_listening():
    with socket.socket() as dead:  # bound, never listening: the port is held and refuses
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
        listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=portforward.serve, args=(listener, port), daemon=True).start()
        for _ in range(2):
            with socket.create_connection(listener.getsockname(), timeout=5) as c:
                assert c.recv(100) == b""
