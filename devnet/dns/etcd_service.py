"""The DNS service's etcd side: its flags, and the union, publisher and view started together."""

from __future__ import annotations

import threading
import time

from devnet.dns.etcd_client import EtcdClient, Tls
from devnet.dns.etcd_store import Publisher, RemoteView, Tee, Union


def add_arguments(p) -> None:
    p.add_argument("--store", choices=("memory", "etcd"), default="memory")
    p.add_argument("--etcd-endpoint", action="append", default=[], help="http(s)://host:port")
    p.add_argument("--etcd-prefix", default="/skydns")
    p.add_argument("--etcd-host", default="", help="this VM's name in the records")
    p.add_argument("--etcd-lease-ttl", type=int, default=10)
    for name in ("ca", "cert", "key"):
        p.add_argument(f"--etcd-{name}", default="", help=f"TLS {name} file")


class EtcdStore:
    def __init__(self, zone, endpoints, prefix: str, host: str, ttl: int, lease_ttl: int,
                 tls: Tls | None = None):
        self.union = Union(zone, host)
        # One client each: the view's watch and the publisher's writes never wait on each other.
        self.publisher = Publisher(EtcdClient(endpoints, tls), prefix, host, ttl, lease_ttl)
        self.view = RemoteView(EtcdClient(endpoints, tls), prefix, self.union)
        self.sink = Tee(self.union, self.publisher)
        self.host, self.prefix = host, prefix

    def start(self) -> EtcdStore:
        threading.Thread(target=self.publisher.run, name="etcd-publish", daemon=True).start()
        threading.Thread(target=self.view.run, name="etcd-view", daemon=True).start()
        return self

    def status(self) -> dict:
        st = {"kind": "etcd", "host": self.host, "prefix": self.prefix,
              **self.publisher.status(), **self.view.status()}
        st["etcd_for"] = round(time.time() - st["etcd_since"], 1) if st["etcd_since"] else 0
        return st


def from_args(args, zone) -> EtcdStore | None:
    if args.store != "etcd":
        return None
    if not args.etcd_endpoint or not args.etcd_host:
        raise SystemExit("--store etcd needs --etcd-endpoint and --etcd-host")
    tls = Tls(args.etcd_ca, args.etcd_cert, args.etcd_key)
    return EtcdStore(zone, args.etcd_endpoint, args.etcd_prefix, args.etcd_host, args.ttl,
                     args.etcd_lease_ttl, tls).start()
