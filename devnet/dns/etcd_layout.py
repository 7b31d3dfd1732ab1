"""devnet's records in the SkyDNS / CoreDNS etcd layout (pure: no I/O).

CoreDNS's etcd plugin (https://coredns.io/plugins/etcd/) reads SkyDNS messages: the name
`u1.ubuntu.dev.docker` lives under the path `/skydns/docker/dev/ubuntu/u1` (labels
reversed, under the configured path), its value is JSON `{"host": "172.17.0.8", "port": 80,
"ttl": 30}`, and a name is answered with every record found under its path ("x1", "x2"
below it for more than one). So `ubuntu.dev.docker` answers every container of that image,
as SkyDNS did.

devnet adds one level below the container: `<host>-<container id>` (and `-<n>` for each
further address), so the same container name on two hosts gives two records, not one that
the last writer wins. The first key of a container also carries devnet's whole record under
`"devnet"` (aliases, SRV ports, IPv6); CoreDNS ignores fields it does not know.
"""

from __future__ import annotations

import json
import re

from devnet.dns.names import Records

HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")


def name_path(prefix: str, name: str) -> str:
    """`/skydns`, `u1.ubuntu.dev.docker` -> `/skydns/docker/dev/ubuntu/u1`."""
    return prefix.rstrip("/") + "/" + "/".join(reversed(name.strip(".").split(".")))


def path_name(prefix: str, key: str) -> str:
    """The inverse of name_path for a record's key (its last, per-host level dropped)."""
    labels = key[len(prefix.rstrip("/")) + 1:].split("/")[:-1]
    return ".".join(reversed(labels))


def encode(prefix: str, host: str, rec: Records, ttl: int) -> dict[str, str]:
    """The keys and JSON values one container publishes."""
    base = f"{name_path(prefix, rec.primary)}/{host}-{rec.cid[:12]}"
    port = rec.srv[0][1] if rec.srv else 0
    out = {}
    for i, ip in enumerate(rec.ipv4 + rec.ipv6):
        value = {"host": ip, "ttl": ttl, **({"port": port} if port else {})}
        if i == 0:
            value["devnet"] = {"host": host, "cid": rec.cid, "primary": rec.primary,
                               "names": rec.names, "ipv4": rec.ipv4, "ipv6": rec.ipv6,
                               "srv": [list(s) for s in rec.srv]}
        else:
            value["devnet"] = {"host": host}  # whose it is, for the clean-up after a restart
        out[base if i == 0 else f"{base}-{i}"] = json.dumps(value, separators=(",", ":"))
    return out


def decode(value: str) -> tuple[str, Records] | None:
    """(host, record) from a container's first key; None for any other value."""
    try:
        data = json.loads(value).get("devnet")
    except (ValueError, AttributeError):
        return None
    if not isinstance(data, dict) or "names" not in data:
        return None
    rec = Records(cid=str(data["cid"]), primary=str(data["primary"]),
                  names=[str(n) for n in data["names"]], ipv4=list(data.get("ipv4", [])),
                  ipv6=list(data.get("ipv6", [])),
                  srv=[(str(o), int(p)) for o, p in data.get("srv", [])])
    return str(data["host"]), rec


def host_of(value: str) -> str | None:
    try:
        data = json.loads(value).get("devnet")
        return data.get("host") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        return None


def corefile(domain: str, prefix: str, endpoints, tls=None) -> str:
    """A Corefile server block that serves these records from the same etcd."""
    lines = [f"{domain}:53 {{", "    etcd {", f"        path {prefix.rstrip('/') or '/'}",
             f"        endpoint {' '.join(endpoints)}"]
    if tls and tls.cert:
        lines.append(f"        tls {tls.cert} {tls.key} {tls.ca}".rstrip())
    lines += ["    }", "    cache 5", "}"]
    return "\n".join(lines) + "\n"
