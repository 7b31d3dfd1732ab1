"""A small etcd v3 client over etcd's own JSON gateway (`/v3/...`, etcd 3.4+), stdlib only.

Why not a client library: python-etcd3 is unmaintained and breaks with protobuf 4, etcd3gw
pulls requests, futurist and pbr into the DNS service (which runs in the VM, where its
memory counts). The gateway is part of every etcd server since 3.4 and speaks JSON over
HTTP/1.1; the few calls devnet needs (range, txn, lease grant/keepalive/revoke, watch) are
one POST each. Keys and values are base64 in the gateway's JSON; int64s are strings.

Endpoints are tried in order; the one that answered last is tried first next time, so a
dead member costs one failed connection, once.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TXN_OPS = 128  # etcd's default --max-txn-ops


class EtcdError(Exception):
    """etcd could not be reached, or refused the request."""


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(text: str) -> str:
    return base64.b64decode(text or "").decode()


def prefix_end(prefix: str) -> str:
    """The range_end that makes a range cover every key starting with `prefix`."""
    raw = prefix.encode()
    return b64(raw[:-1] + bytes([raw[-1] + 1]))


@dataclass(frozen=True)
class Tls:
    ca: str = ""
    cert: str = ""
    key: str = ""

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca or None)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key or None)
        return ctx


class EtcdClient:
    def __init__(self, endpoints, tls: Tls | None = None, timeout: float = 0.6):
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("no etcd endpoints")
        self.tls, self.timeout = tls, timeout
        self.current = self.endpoints[0]
        self._ctx = tls.context() if tls and (tls.ca or tls.cert) else None
        self._local = threading.local()  # one kept-alive connection per thread

    # -- transport -------------------------------------------------------------------------

    def connect(self, endpoint: str, timeout: float | None) -> http.client.HTTPConnection:
        url = urlsplit(endpoint)
        if url.scheme == "https":
            return http.client.HTTPSConnection(url.hostname, url.port or 2379,
                                               timeout=timeout, context=self._ctx)
        return http.client.HTTPConnection(url.hostname, url.port or 2379, timeout=timeout)

    def _order(self):
        return [self.current] + [e for e in self.endpoints if e != self.current]

    def call(self, path: str, body: dict, only: str | None = None,
             timeout: float | None = None) -> dict:
        """POST to the first endpoint that answers (or to `only`); EtcdError when none does.

        A write sent while the cluster elects a leader is dropped, not queued: it only ever
        answers with a timeout. So writes wait briefly (`timeout`, 0.6 s) and are sent again
        (they are idempotent); a range waits longer, since a big one takes a while.
        """
        errors = []
        for endpoint in [only] if only else self._order():
            conn = getattr(self._local, "conns", {}).get(endpoint)
            for attempt in (0, 1):  # a kept-alive connection the server closed: once more
                if conn is None:
                    conn = self.connect(endpoint, self.timeout)
                conn.timeout = timeout or self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                try:
                    conn.request("POST", path, json.dumps(body),
                                 {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = json.loads(resp.read() or b"{}")
                except (OSError, http.client.HTTPException, ValueError) as err:
                    conn.close()
                    conn = None
                    if attempt:
                        errors.append(f"{endpoint}: {err}")
                    continue
                self._local.__dict__.setdefault("conns", {})[endpoint] = conn
                if resp.status != 200:
                    raise EtcdError(f"{endpoint}{path}: HTTP {resp.status} "
                                    f"{data.get('error') or data.get('message') or ''}".strip())
                if not only:
                    self.current = endpoint
                return data
            self._local.__dict__.setdefault("conns", {}).pop(endpoint, None)
        raise EtcdError("no etcd endpoint answered: " + "; ".join(errors))

    # -- the calls -------------------------------------------------------------------------

    def range(self, prefix: str) -> tuple[list[tuple[str, str]], int]:
        """Every (key, value) under `prefix`, and the revision they were read at."""
        data = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": prefix_end(prefix)},
                         timeout=max(self.timeout, 5.0))
        kvs = [(unb64(kv["key"]), unb64(kv.get("value", ""))) for kv in data.get("kvs", [])]
        return kvs, int(data["header"]["revision"])

    def txn(self, puts: dict[str, str], deletes=(), lease: int = 0) -> None:
        """Puts (under `lease`) and deletes, in transactions of at most MAX_TXN_OPS."""
        ops = [{"request_put": {"key": b64(k), "value": b64(v), "lease": str(lease)}}
               for k, v in puts.items()]
        ops += [{"request_delete_range": {"key": b64(k)}} for k in deletes]
        for i in range(0, len(ops), MAX_TXN_OPS):
            self.call("/v3/kv/txn", {"success": ops[i:i + MAX_TXN_OPS]})

    def grant(self, ttl: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": ttl})["ID"])

    def keepalive(self, lease: int) -> int:
        """The lease's TTL after the refresh; 0 when it has expired (its keys are gone)."""
        data = self.call("/v3/lease/keepalive", {"ID": str(lease)})
        return int(data.get("result", {}).get("TTL", 0))

    def revoke(self, lease: int) -> None:
        self.call("/v3/lease/revoke", {"ID": str(lease)})

    def watch(self, prefix: str, start_revision: int, stop=None):
        """Yield (type, key, value) for every change under `prefix` from `start_revision` on.

        Blocks on the stream and ends with EtcdError when it breaks or ends. `stop(conn)`,
        if given, is handed the open connection, so another thread can shut its socket.
        """
        conn = self.connect(self.current, None)
        body = {"create_request": {"key": b64(prefix), "range_end": prefix_end(prefix),
                                   "start_revision": str(start_revision)}}
        try:
            conn.request("POST", "/v3/watch", json.dumps(body))
            if stop is not None:
                stop(conn)
            resp = conn.getresponse()
            for line in resp:
                result = json.loads(line).get("result", {})
                if result.get("canceled") or result.get("compact_revision"):
                    raise EtcdError(f"watch canceled: {result.get('cancel_reason', 'compacted')}")
                for ev in result.get("events", []):
                    kv = ev["kv"]
                    yield ev.get("type", "PUT"), unb64(kv["key"]), unb64(kv.get("value", ""))
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise EtcdError(f"watch on {self.current} broke: {err}") from err
        finally:
            conn.close()
        raise EtcdError(f"watch on {self.current} ended")
