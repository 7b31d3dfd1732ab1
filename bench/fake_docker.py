"""A stand-in dockerd on a unix socket for the etcd benchmark's memory-store reference: the
five Docker API calls devnet's registrar makes (version, events, containers list, inspect,
networks), serving N synthetic running containers. Real dockerd with 10,000 containers is not
something a 2-core CI machine can start; the registrar cannot tell the difference.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler


def inspect(i: int) -> dict:
    cid = f"{i:012x}" + "0" * 52
    return {"Id": cid, "Name": f"/c{i}", "State": {"Running": True},
            "Config": {"Image": f"img{i % 50}", "Hostname": f"c{i}", "Labels": {}},
            "NetworkSettings": {"Networks": {"bridge": {
                "IPAddress": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}}}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    containers: dict = {}

    def log_message(self, *args) -> None:
        pass

    def address_string(self) -> str:
        return "unix"

    def send_json(self, data) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0].split("/", 2)[-1] if self.path.startswith("/v1.") \
            else self.path.split("?", 1)[0].lstrip("/")
        if path == "version":
            return self.send_json({"ApiVersion": "1.41", "Version": "fake"})
        if path == "events":  # a stream that never says anything
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                time.sleep(3600)
        if path == "networks":
            return self.send_json([])
        if path == "containers/json":
            return self.send_json([{"Id": c["Id"]} for c in self.containers.values()])
        if path.startswith("containers/") and path.endswith("/json"):
            found = self.containers.get(path.split("/")[1])
            if found:
                return self.send_json(found)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: str, count: int) -> Server:
    handler = type("H", (Handler,), {"containers": {c["Id"]: c for c in map(inspect,
                                                                             range(count))}})
    server = Server(socket_path, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
