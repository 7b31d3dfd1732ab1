"""`invoke dns.export`, run in the VM with the DNS service's own flags: the records in the
SkyDNS/CoreDNS etcd layout, as `etcdctl put` commands, and a Corefile block serving them.

With devnet.dns.store = etcd it prints what etcd holds under the prefix (every host's
records); with the memory store, this VM's running containers, laid out as they would be.
"""

from __future__ import annotations

import shlex
import sys

import docker

from devnet.dns import etcd_layout as layout
from devnet.dns.etcd_client import EtcdClient, Tls
from devnet.dns.names import Naming, records
from devnet.dns.service import parse


def memory_keys(args) -> dict[str, str]:
    naming = Naming(args.domain.lower().strip("."), args.env.lower())
    client = docker.DockerClient(base_url=args.docker, timeout=10)
    keys: dict[str, str] = {}
    for c in client.containers.list():
        rec = records(client.api.inspect_container(c.id), naming)
        if rec is not None and rec.names:
            keys.update(layout.encode(args.etcd_prefix, args.etcd_host or "vm", rec, args.ttl))
    return keys


def main(argv=None) -> int:
    args = parse(argv if argv is not None else sys.argv[1:])
    tls = Tls(args.etcd_ca, args.etcd_cert, args.etcd_key)
    if args.store == "etcd":
        kvs, revision = EtcdClient(args.etcd_endpoint, tls).range(args.etcd_prefix.rstrip("/")
                                                                  + "/")
        keys, source = dict(kvs), f"etcd {', '.join(args.etcd_endpoint)} at revision {revision}"
    else:
        keys, source = memory_keys(args), "this VM's running containers (memory store)"
    print(f"# {len(keys)} record(s) from {source}, in the SkyDNS/CoreDNS etcd layout")
    for key, value in sorted(keys.items()):
        print(f"etcdctl put {shlex.quote(key)} {shlex.quote(value)}")
    endpoints = args.etcd_endpoint or ["http://127.0.0.1:2379"]
    print("\n# Corefile: serve these names from etcd with CoreDNS's etcd plugin")
    print(layout.corefile(args.domain, args.etcd_prefix, endpoints, tls), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
