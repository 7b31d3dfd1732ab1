"""The DNS service process that runs in the VM: registrar + server, status in a JSON file.

    python -m devnet.dns.service --listen 172.17.42.1:53 --domain docker --env dev \
        --allow 172.16.0.0/16 --allow 172.17.0.0/16 --reverse 172.17.0.0/16 \
        --docker unix:///var/run/docker.sock --status /run/devnet-dns/status.json
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from devnet.defaults import DEVNET, DNS, VM_DOCKER_SOCKET
from devnet.dns import etcd_service
from devnet.dns.names import Naming
from devnet.dns.policy import RecursionPolicy
from devnet.dns.registrar import Registrar
from devnet.dns.server import Server
from devnet.dns.udp_loop import udp_socket
from devnet.dns.upstream import Upstream
from devnet.dns.vm_resolvers import discover
from devnet.dns.zone import Zone


def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="devnet.dns.service", description=__doc__.split("\n")[0])
    bridge_ip = ipaddress.ip_interface(DEVNET["docker"]["bip"]).ip
    p.add_argument("--listen", default=f"{bridge_ip}:53", help="address:port, UDP and TCP")
    p.add_argument("--domain", default=DNS["domain"])
    p.add_argument("--env", default=DNS["environment"], help="the <environment> label of names")
    p.add_argument("--ttl", type=int, default=DNS["ttl"])
    p.add_argument("--upstream", action="append", default=[],
                   help="ip[:port] to forward other names to (default: the VM's real resolvers)")
    p.add_argument("--allow", action="append", default=[],
                   help="networks whose clients may recurse (others: zone answers only)")
    p.add_argument("--reverse", action="append", default=[], help="subnets to answer PTR for")
    p.add_argument("--docker", default=VM_DOCKER_SOCKET)
    p.add_argument("--status", default="/run/devnet-dns/status.json")
    etcd_service.add_arguments(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    argv_given = list(argv if argv is not None else sys.argv[1:])
    args = parse(argv_given)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("devnet.dns")
    host, _, port = args.listen.rpartition(":")
    naming = Naming(args.domain.lower().strip("."), args.env.lower())
    # Given ones, else the VM's real resolvers (behind systemd-resolved's stub too).
    upstreams, source = (args.upstream, "--upstream") if args.upstream else discover(host)
    zone = Zone(naming, args.ttl, host, args.reverse)
    policy = RecursionPolicy(args.allow)  # + Docker's networks, from the registrar
    server = Server(zone, Upstream(upstreams), policy)
    store = etcd_service.from_args(args, zone)  # None: the memory store
    registrar = Registrar(store.sink if store else zone, naming, args.docker, policy)

    udp = udp_socket((host, int(port)))
    tcp = server.tcp_server((host, int(port)))
    threading.Thread(target=registrar.run, name="registrar", daemon=True).start()
    threading.Thread(target=tcp.serve_forever, name="tcp", daemon=True).start()
    started = time.time()

    def status_now() -> dict:
        return {
            "pid": os.getpid(), "listen": args.listen, "domain": naming.domain,
            "args": argv_given, "written": time.time(),
            "started": started, "uptime": round(time.time() - started, 1),
            "containers": len(zone.container_ids()), "records": zone.records,
            "upstream": upstreams, "upstream_source": source,
            "upstream_error": server.upstream.last_error,
            "docker_connected": registrar.connected, "resyncs": registrar.resyncs,
            "last_event": registrar.last_event, "queries": server.counters(),
            "recursion": policy.networks,
            "store": store.status() if store else {"kind": "memory"},
        }

    def write_status():
        status = Path(args.status)
        status.parent.mkdir(parents=True, exist_ok=True)
        tmp = status.with_suffix(".tmp")
        while True:
            try:
                tmp.write_text(json.dumps(status_now()))
                os.replace(tmp, status)
            except Exception:  # noqa: BLE001
                # this thread must outlive any one failure: a status no longer written looks
                # stale, and dns.start would restart a service that works
                log.exception("cannot write %s", status)
            time.sleep(1)

    threading.Thread(target=write_status, name="status", daemon=True).start()

    def stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        Path(args.status).unlink(missing_ok=True)
        os._exit(0)  # the UDP loop blocks in recvfrom; daemon threads need no goodbye

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving %s on %s (udp+tcp), upstream %s from %s, recursion for %s",
             naming.domain, args.listen, upstreams or "none", source,
             args.allow or "loopback only")
    server.serve_udp(udp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
