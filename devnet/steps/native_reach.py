"""Reach the engine already gives (devnet.reach: native, OrbStack's own route to its
containers): net.route checks it with a probe and says whose it is. devnet never adds, owns or
removes that route, so `down` has nothing of it to undo."""

from __future__ import annotations

import ipaddress

from devnet.errors import DevnetError
from devnet.steps.tunnel_helper import docker_api
from devnet.system import cmd


def probe_target(dn, subnet) -> tuple[str, str] | None:
    """(address, what it is) to probe in `subnet`: a running container's, else the bridge's
    own (devnet.docker.bip) when it is in there; None when nothing in it can answer yet."""
    net = ipaddress.ip_network(str(subnet))
    with docker_api(dn, 10) as client:
        for c in client.containers.list():
            for attached in (c.attrs["NetworkSettings"]["Networks"] or {}).values():
                ip = attached.get("IPAddress")
                if ip and ipaddress.ip_address(ip) in net:
                    return ip, f"container {c.name}"
    if ipaddress.ip_address(dn.settings.dns_ip) in net:
        return dn.settings.dns_ip, "the bridge's address"
    return None


def check(dn) -> str:
    """Why net.route has nothing to do: each subnet's probe answered, and by which route; a
    DevnetError with the evidence when one does not (devnet adds no route over the engine's)."""
    said, owner = [], dn.provider.name
    for sub in dn.settings.docker_subnets:
        found = probe_target(dn, sub)
        if found is None:
            said.append(f"{sub}: nothing to probe yet")
            continue
        ip, what = found
        chosen = dn.os.route_get(dn.host, ip)
        way = f"dev {chosen.get('dev') or '?'}" + (
            f" via {chosen['gateway']}" if chosen.get("gateway") else "")
        if dn.host.run(cmd(*dn.os.ping_argv(ip)), hide=True, warn=True).failed:
            raise DevnetError(
                f"{owner} routes this machine to its containers, but {ip} ({what}, in {sub}) "
                f"does not answer ping; the host sends it {way}. devnet adds no route over "
                f"{owner}'s", f"is {owner} running? then invoke vpn.fix (a VPN may have taken "
                f"{sub}); `route -n get {ip}` shows whose route wins")
        said.append(f"{ip} ({what}) answers ping, {way}")
    return f"provided by {owner}: {'; '.join(said)}"
