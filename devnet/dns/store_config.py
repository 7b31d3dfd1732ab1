"""devnet.dns.store and devnet.dns.etcd.*: where the DNS records live (validated, typed).

memory (the default): one VM's records, in its DNS service's memory.
etcd: every host's records in etcd (SkyDNS/CoreDNS layout), one view for all of them.
Nothing is written to etcd unless endpoints and a prefix are given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from devnet.defaults import DNS
from devnet.dns.etcd_layout import HOST_RE

STORES = ("memory", "etcd")
PREFIX_RE = re.compile(r"^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$")


ETCD = DNS["etcd"]


@dataclass(frozen=True)
class Etcd:
    endpoints: tuple[str, ...] = tuple(ETCD["endpoints"])
    prefix: str = ETCD["prefix"]  # one per team or environment
    host: str = ETCD["host"]  # this VM's name in the records ("": the instance)
    lease_ttl: int = ETCD["lease_ttl"]  # seconds a host's records outlive it
    ca: str = ETCD["ca"]
    cert: str = ETCD["cert"]
    key: str = ETCD["key"]


def parse(tree: dict, store, problems: list[str], instance: str = "") -> tuple[str, Etcd]:
    store = str(store or DNS["store"])
    if store not in STORES:
        problems.append(f"devnet.dns.store: {store!r} is not memory or etcd")
    given = dict(tree or {})
    known = sorted(Etcd.__dataclass_fields__)
    for key in sorted(given.keys() - set(known)):
        problems.append(f"devnet.dns.etcd.{key}: unknown setting (known: {', '.join(known)})")
    endpoints = given.get("endpoints") or []
    endpoints = [endpoints] if isinstance(endpoints, str) else [str(e) for e in endpoints]
    for e in endpoints:
        url = urlsplit(e)
        if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
            problems.append(f"devnet.dns.etcd.endpoints: {e!r} is not http(s)://host:port")
    prefix = str(given.get("prefix") or Etcd.prefix)
    if not PREFIX_RE.match(prefix) or "//" in prefix:
        problems.append(f"devnet.dns.etcd.prefix: {prefix!r} must be an absolute key path "
                        "like /skydns or /skydns-team1")
    host = str(given.get("host") or "").lower()  # "": the instance (service_args)
    if store == "etcd" and not HOST_RE.match(host or instance):
        problems.append(f"devnet.dns.etcd.host: {host or instance!r} must be one short DNS label "
                        "(letters, digits, '-'; it names this VM's records)")
    ttl = given.get("lease_ttl", Etcd.lease_ttl)
    if not isinstance(ttl, int) or not 2 <= ttl <= 3600:
        problems.append(f"devnet.dns.etcd.lease_ttl: {ttl!r} must be whole seconds, 2 to 3600")
        ttl = Etcd.lease_ttl
    tls = {k: str(given.get(k) or "") for k in ("ca", "cert", "key")}
    if bool(tls["cert"]) != bool(tls["key"]):
        problems.append("devnet.dns.etcd: cert and key go together (a client certificate)")
    if any(tls.values()) and not all(e.startswith("https://") for e in endpoints):
        problems.append("devnet.dns.etcd: TLS files are set but an endpoint is not https://")
    if store == "etcd" and not endpoints:
        problems.append("devnet.dns.store is etcd but devnet.dns.etcd.endpoints is empty "
                        "(nothing is written to etcd without them)")
    return store, Etcd(tuple(endpoints), prefix, host, ttl, **tls)


def service_args(store: str, etcd: Etcd, instance: str) -> list[str]:
    """The DNS service's command-line flags for this store (none for memory)."""
    if store != "etcd":
        return []
    args = ["--store", "etcd", "--etcd-prefix", etcd.prefix, "--etcd-host", etcd.host or instance,
            "--etcd-lease-ttl", str(etcd.lease_ttl)]
    for e in etcd.endpoints:
        args += ["--etcd-endpoint", e]
    for flag in ("ca", "cert", "key"):
        if getattr(etcd, flag):
            args += [f"--etcd-{flag}", getattr(etcd, flag)]
    return args
