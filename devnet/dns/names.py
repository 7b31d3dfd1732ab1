"""DNS names for a container, from its `docker inspect` data (pure: no I/O).

The skydock contract, `<container>.<image>.<env>.<domain>` and `<image>.<env>.<domain>`, and
beyond it `<container>.<domain>`, compose's `<service>.<project>.<domain>`, the hostname,
network aliases and the `devnet.dns.aliases` label. Everything is lower case; a name that
cannot be a DNS name (a label over 63 bytes, a name over 253) is left out and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from devnet.defaults import DNS

ALIAS_LABEL = "devnet.dns.aliases"
LABEL_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass(frozen=True)
class Naming:
    domain: str = DNS["domain"]
    environment: str = DNS["environment"]


@dataclass
class Records:
    """What one running container contributes to the zone."""

    cid: str
    primary: str  # <container>.<image>.<env>.<domain>, the PTR target
    names: list[str] = field(default_factory=list)  # every name with its A/AAAA
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    srv: list[tuple[str, int]] = field(default_factory=list)  # (owner name, port)
    skipped: list[str] = field(default_factory=list)  # names that are not valid DNS


def image_name(ref: str) -> str:
    """`registry:5000/team/api:1.2@sha256:…` -> `api`: last path part, no tag or digest."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def valid_name(name: str) -> bool:
    if not name or len(name) > 253:
        return False
    return all(LABEL_RE.match(label) for label in name.split("."))


def _join(*parts: str) -> str:
    return ".".join(p.strip(".").lower() for p in parts if p and p.strip("."))


def records(inspect: dict, naming: Naming) -> Records | None:
    """The records of a running container, or None when it is not running."""
    state = inspect.get("State") or {}
    if not state.get("Running"):
        return None
    cfg = inspect.get("Config") or {}
    labels = cfg.get("Labels") or {}
    name = inspect.get("Name", "").lstrip("/").lower()
    image = image_name(cfg.get("Image") or inspect.get("Image", ""))
    domain, env = naming.domain, naming.environment
    primary = _join(name, image, env, domain)
    wanted = [primary, _join(image, env, domain), _join(name, domain)]
    service = labels.get("com.docker.compose.service")
    project = labels.get("com.docker.compose.project")
    if service and project:
        wanted.append(_join(service, project, domain))
    if cfg.get("Hostname"):
        wanted.append(_join(cfg["Hostname"], domain))
    rec = Records(cid=inspect.get("Id", ""), primary=primary)
    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    for net in networks.values():
        if net.get("IPAddress"):
            rec.ipv4.append(net["IPAddress"])
        if net.get("GlobalIPv6Address"):
            rec.ipv6.append(net["GlobalIPv6Address"])
        wanted += [_join(alias, domain) for alias in net.get("Aliases") or []]
    for alias in (labels.get(ALIAS_LABEL) or "").split(","):
        alias = alias.strip().lower().rstrip(".")
        if alias:
            in_domain = alias == domain or alias.endswith("." + domain)
            wanted.append(alias if in_domain else _join(alias, domain))
    for n in dict.fromkeys(wanted):  # de-duplicated, in order
        (rec.names if valid_name(n) else rec.skipped).append(n)
    if not rec.names:
        return rec  # nothing valid: the zone ignores it, the service logs `skipped`
    if primary not in rec.names:
        rec.primary = rec.names[0]  # a PTR target must be a valid name
    for spec in cfg.get("ExposedPorts") or {}:
        port, _, proto = spec.partition("/")
        if port.isdigit() and proto in ("tcp", "udp"):
            rec.srv.append((f"_{port}._{proto}.{rec.primary}", int(port)))
    return rec
