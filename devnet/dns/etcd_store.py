"""devnet.dns.store = etcd: one DNS view across many Docker hosts.

Three parts, each on its own thread in the DNS service:
- Union: the server's zone, fed by this host's registrar at once (its own names never wait
  for etcd) and by every other host's records from etcd. Zone ids are `<host>/<cid>`, so a
  container name used on two hosts is answered with both addresses, and logged.
- Publisher: the registrar's sink. It writes this host's records in the SkyDNS layout
  (etcd_layout.py), all under one lease it keeps alive: a host that dies or is cut off loses
  its records when the lease expires. A lease found expired (etcd was away longer than its
  TTL) is replaced and everything is written again.
- RemoteView: reads the prefix once, then follows it with an etcd watch (no polling). While
  etcd is unreachable the zone keeps its last view; on return it reads the prefix again and
  catches up. A heartbeat on the watch's own endpoint notices a member that is cut off
  (its stream goes silent rather than closing).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from dataclasses import replace

from devnet.dns import etcd_layout as layout
from devnet.dns.etcd_client import EtcdClient, EtcdError, b64

log = logging.getLogger("devnet.dns.etcd")


def _trim() -> None:
    """After loading a view: keep the cyclic GC from walking it again and again (a full
    collection over a 10,000-record zone stalls answers for tens of ms), and give the heap
    that parsing the range used back to the OS (glibc keeps it otherwise)."""
    gc.collect()
    gc.freeze()  # the zone is freed by reference counting when records go; it has no cycles
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (musl, macOS): the memory is reused, just not returned


class Union:
    def __init__(self, zone, me: str):
        self.zone, self.me = zone, me
        self.remote: dict[str, str] = {}  # etcd key -> zone id
        self._owners: dict[str, dict[str, str]] = {}  # primary name -> {zone id: host}
        self._lock = threading.Lock()

    def _scoped(self, host: str, rec):
        zid = f"{host}/{rec.cid}"
        with self._lock:
            owners = self._owners.setdefault(rec.primary, {})
            owners[zid] = host
            hosts = sorted(set(owners.values()))
        if len(hosts) > 1:
            log.warning("%s runs on hosts %s: answering with every address",
                        rec.primary, ", ".join(hosts))
        return replace(rec, cid=zid)

    def _forget(self, zid: str) -> None:
        with self._lock:
            for primary, owners in list(self._owners.items()):
                if owners.pop(zid, None) is not None and not owners:
                    del self._owners[primary]

    # this host's registrar
    def upsert(self, rec) -> None:
        self.zone.upsert(self._scoped(self.me, rec))

    def remove(self, cid: str) -> bool:
        self._forget(f"{self.me}/{cid}")
        return self.zone.remove(f"{self.me}/{cid}")

    def replace_all(self, recs) -> None:
        mine = f"{self.me}/"
        for zid in [z for z in self.zone.container_ids() if z.startswith(mine)]:
            self._forget(zid)
        self.zone.replace_all([self._scoped(self.me, r) for r in recs],
                              scope=lambda zid: zid.startswith(mine))

    # other hosts, from etcd
    def remote_put(self, key: str, host: str, rec) -> None:
        scoped = self._scoped(host, rec)
        self.remote[key] = scoped.cid
        self.zone.upsert(scoped)

    def remote_delete(self, key: str) -> None:
        zid = self.remote.pop(key, None)
        if zid is not None:
            self._forget(zid)
            self.zone.remove(zid)

    def remote_replace(self, entries) -> None:
        for zid in self.remote.values():
            self._forget(zid)
        scoped = {key: self._scoped(host, rec) for key, host, rec in entries}
        self.remote = {key: rec.cid for key, rec in scoped.items()}
        mine = f"{self.me}/"
        self.zone.replace_all(list(scoped.values()), scope=lambda zid: not zid.startswith(mine))

    def hosts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for zid in self.zone.container_ids():
            host = zid.split("/", 1)[0]
            counts[host] = counts.get(host, 0) + 1
        return counts


class Tee:
    """What the registrar writes to: the local zone (through Union) and the publisher."""

    def __init__(self, *sinks):
        self.sinks = sinks

    def upsert(self, rec) -> None:
        for s in self.sinks:
            s.upsert(rec)

    def remove(self, cid: str) -> bool:
        return any([s.remove(cid) for s in self.sinks])

    def replace_all(self, recs) -> None:
        for s in self.sinks:
            s.replace_all(recs)


class Publisher:
    def __init__(self, client: EtcdClient, prefix: str, host: str, ttl: int, lease_ttl: int):
        self.client, self.prefix, self.host = client, prefix, host
        self.ttl, self.lease_ttl = ttl, lease_ttl
        self.wanted: dict[str, dict[str, str]] = {}  # cid -> its keys and values
        self.published: dict[str, str] = {}  # what etcd holds under our lease
        self.lease = 0
        self.connected, self.last_error, self.cleaned = False, "", False
        self.wake, self.stopping = threading.Event(), threading.Event()
        self._lock = threading.Lock()

    def upsert(self, rec) -> None:
        keys = layout.encode(self.prefix, self.host, rec, self.ttl)
        with self._lock:
            self.wanted[rec.cid] = keys
        self.wake.set()

    def remove(self, cid: str) -> bool:
        with self._lock:
            gone = self.wanted.pop(cid, None) is not None
        self.wake.set()
        return gone

    def replace_all(self, recs) -> None:
        wanted = {r.cid: layout.encode(self.prefix, self.host, r, self.ttl) for r in recs}
        with self._lock:
            self.wanted = wanted
        self.wake.set()

    def run(self) -> None:
        pause, renewed = 0.2, 0.0
        while not self.stopping.is_set():
            try:
                if not self.lease:
                    self._new_lease()
                    renewed = time.monotonic()
                self._sync()
                if time.monotonic() - renewed >= self.lease_ttl / 3:
                    if self.client.keepalive(self.lease) <= 0:
                        log.warning("lease %x expired while etcd was away: publishing again",
                                    self.lease)
                        self.lease, self.published = 0, {}
                        continue
                    renewed = time.monotonic()
                if not self.connected:
                    log.info("publishing %d record(s) to etcd at %s", len(self.published),
                             self.client.current)
                self.connected, pause = True, 0.2
                self.wake.wait(max(0.0, renewed + self.lease_ttl / 3 - time.monotonic()))
                self.wake.clear()
            except EtcdError as err:
                if self.connected or not self.last_error:
                    log.warning("cannot publish to etcd: %s", err)
                self.connected, self.last_error = False, str(err)
                self.stopping.wait(pause)
                pause = min(pause * 2, max(1.0, self.lease_ttl / 3))

    def _new_lease(self) -> None:
        self.lease = self.client.grant(self.lease_ttl)
        self.published = {}
        if not self.cleaned:  # a previous run of this host left keys under an older lease
            kvs, _ = self.client.range(self.prefix.rstrip("/") + "/")
            stale = [k for k, v in kvs if layout.host_of(v) == self.host]
            self.client.txn({}, stale)
            self.cleaned = True
            if stale:
                log.info("removed %d record(s) an earlier run of %s left", len(stale), self.host)

    def _sync(self) -> None:
        with self._lock:
            wanted = {k: v for keys in self.wanted.values() for k, v in keys.items()}
        puts = {k: v for k, v in wanted.items() if self.published.get(k) != v}
        deletes = [k for k in self.published if k not in wanted]
        if puts or deletes:
            self.client.txn(puts, deletes, self.lease)
            self.published = wanted

    def status(self) -> dict:
        return {"published": len(self.published), "lease": f"{self.lease:x}",
                "lease_ttl": self.lease_ttl, "publishing": self.connected,
                "publish_error": "" if self.connected else self.last_error}


class RemoteView:
    HEARTBEAT = 1.0

    def __init__(self, client: EtcdClient, prefix: str, union: Union):
        self.client, self.prefix, self.union = client, prefix.rstrip("/") + "/", union
        self.connected, self.last_error = False, ""
        self.since = 0.0  # when the view last changed connection state
        self.revision = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        pause = 0.2
        while not self.stopping.is_set():
            try:
                started = time.monotonic()
                kvs, self.revision = self.client.range(self.prefix)
                self.union.remote_replace(self._entries(kvs))
                del kvs  # the raw values: the frame lives as long as the watch below
                _trim()
                self._state(True, "")
                log.info("view: %d record(s) from etcd at %s in %.0f ms, revision %d",
                         len(self.union.remote), self.client.current,
                         (time.monotonic() - started) * 1000, self.revision)
                pause = 0.2
                self._follow()
            except EtcdError as err:
                self._state(False, str(err))
            self.stopping.wait(pause)
            pause = min(pause * 2, 2.0)

    def _state(self, connected: bool, error: str) -> None:
        if connected != self.connected or not self.since:
            self.since = time.time()
            if not connected:
                log.warning("etcd unreachable (%s): answering from the last view", error)
        self.connected, self.last_error = connected, error

    def _entries(self, kvs):
        out = []
        for key, value in kvs:
            found = layout.decode(value)
            if found and found[0] != self.union.me:
                out.append((key, *found))
        return out

    def _follow(self) -> None:
        stream = {}
        watching = threading.Event()
        endpoint = self.client.current

        def hold(conn):
            stream["conn"] = conn
            watching.set()

        def heartbeat():
            misses = 0
            while not self.stopping.wait(self.HEARTBEAT) and "conn" in stream:
                try:
                    self.client.call("/v3/kv/range", {"key": b64(self.prefix),
                                                      "count_only": True}, only=endpoint)
                    misses = 0
                except EtcdError as err:
                    misses += 1
                    log.info("heartbeat to %s missed (%d): %s", endpoint, misses, err)
                    if misses >= 2:
                        self._state(False, str(err))
                        conn = stream.pop("conn", None)
                        if conn is not None and conn.sock is not None:
                            conn.sock.shutdown(2)  # ends the blocked read of the stream
                        return

        threading.Thread(target=heartbeat, name="etcd-heartbeat", daemon=True).start()
        try:
            for kind, key, value in self.client.watch(self.prefix, self.revision + 1, hold):
                if kind == "DELETE":
                    self.union.remote_delete(key)
                    continue
                found = layout.decode(value)
                if found and found[0] != self.union.me:
                    self.union.remote_put(key, *found)
        finally:
            stream.pop("conn", None)

    def status(self) -> dict:
        return {"etcd_connected": self.connected, "etcd_since": self.since,
                "etcd_error": "" if self.connected else self.last_error,
                "etcd_endpoint": self.client.current, "revision": self.revision,
                "hosts": self.union.hosts()}
