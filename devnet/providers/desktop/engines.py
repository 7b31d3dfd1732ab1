"""Which Docker engine answers here: Docker Desktop, Rancher Desktop, Podman machine, colima,
OrbStack, or a plain dockerd. Told from what the docker CLI prints: the current context's name
and endpoint (`docker context ls`, `docker context inspect`) and the server's platform line
(`docker version`: "Server: Docker Desktop 4.33.0 (160616)"). Pure parsers, fed real output in
tests/unit/test_desktop_engines.py, and one function that runs the commands."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Engines whose VM has no host-only network: devnet reaches them through its tunnel.
TUNNEL_KINDS = ("docker-desktop", "rancher-desktop", "podman-machine")
# OrbStack routes to containers and names them (*.orb.local) itself: provider orbstack adds
# only devnet's names (reach native).
SELF_ROUTING = ("orbstack",)

# (kind, what in the context name, description or endpoint says so), first match wins
SIGNS = (
    ("orbstack", re.compile(r"orbstack|\.orbstack/", re.I)),
    ("docker-desktop", re.compile(r"^desktop-(linux|windows)\b|\.docker/(desktop|run)/|"
                                  r"dockerDesktop|docker_engine_linux", re.I)),
    ("rancher-desktop", re.compile(r"rancher|\.rd/docker\.sock", re.I)),
    ("podman-machine", re.compile(r"podman", re.I)),
    ("colima", re.compile(r"colima", re.I)),
)


@dataclass(frozen=True)
class Context:
    name: str
    description: str
    endpoint: str


@dataclass(frozen=True)
class Engine:
    kind: str  # docker-desktop | rancher-desktop | podman-machine | colima | orbstack | dockerd
    why: str


def contexts(ls_text: str) -> list[tuple[Context, bool]]:
    """Each row of `docker context ls` (columns apart by 2+ spaces) and whether it is the
    current one (its name is marked ` *`)."""
    found = []
    for line in ls_text.splitlines():
        cols = re.split(r"\s{2,}", line.strip()) + ["", ""]
        if not cols[0] or cols[0] == "NAME":
            continue
        current = cols[0].endswith(" *")
        found.append((Context(cols[0].removesuffix(" *").strip(), cols[1], cols[2]), current))
    return found


def current_context(ls_text: str) -> Context | None:
    return next((ctx for ctx, current in contexts(ls_text) if current), None)


def inspected_context(inspect_json: str) -> Context | None:
    """The context `docker context inspect` prints (a one-element list)."""
    try:
        data = json.loads(inspect_json)
    except json.JSONDecodeError:
        return None
    ctx = data[0] if isinstance(data, list) and data else data
    if not isinstance(ctx, dict):
        return None
    host = ((ctx.get("Endpoints") or {}).get("docker") or {}).get("Host") or ""
    desc = (ctx.get("Metadata") or {}).get("Description") or ""
    return Context(str(ctx.get("Name") or ""), str(desc), str(host))


def server_platform(version_text: str) -> str:
    """`Server: Docker Desktop 4.33.0 (160616)` -> "Docker Desktop 4.33.0 (160616)"; a plain
    dockerd prints `Server:` alone (or `Server: Docker Engine - Community`)."""
    for line in version_text.splitlines():
        if line.startswith("Server:"):
            return line.partition(":")[2].strip()
    return ""


def classify(ctx: Context | None, platform: str = "") -> Engine:
    if platform.startswith("Docker Desktop"):
        return Engine("docker-desktop", f"`docker version` says the server is {platform}")
    if ctx is not None:
        said = f"docker context {ctx.name!r} ({ctx.description or 'no description'}) at " \
               f"{ctx.endpoint}"
        for kind, sign in SIGNS:
            for text in (ctx.name, ctx.description, ctx.endpoint):
                if text and sign.search(text):
                    return Engine(kind, said)
        return Engine("dockerd", f"a plain dockerd: {said}")
    return Engine("dockerd", "a plain dockerd (no docker context)")


def context_host(local) -> str | None:
    """The current docker context's endpoint (unix:///Users/me/.docker/run/docker.sock)."""
    out = local.run("docker context inspect", hide=True, warn=True)
    ctx = inspected_context(out.stdout) if out.ok else None
    return ctx.endpoint if ctx and ctx.endpoint else None


def detect(local) -> Engine | None:
    """Run `docker context inspect` and `docker version`; None when no Docker answers."""
    out = local.run("docker context inspect", hide=True, warn=True)
    ctx = inspected_context(out.stdout) if out.ok else None
    version = local.run("docker version", hide=True, warn=True)
    if version.failed:
        return None
    return classify(ctx, server_platform(version.stdout))
