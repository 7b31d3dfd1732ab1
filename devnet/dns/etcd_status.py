"""What `dns.status` and `doctor` say about the etcd store (from the service's status file)."""

from __future__ import annotations

DOCTOR_HOP = "etcd view current"
DOCTOR_FIX = "check devnet.dns.etcd.endpoints and the network to them; invoke dns.logs"


class ViewProblem(Exception):
    """What the doctor's etcd hop reports as its failure."""


def describe(store: dict | None) -> list[str]:
    if not store or store.get("kind") != "etcd":
        return ["store: memory (this VM's containers only)"]
    hosts = ", ".join(f"{h} {n}" for h, n in sorted(store.get("hosts", {}).items())) or "none"
    view = (f"watching {store['etcd_endpoint']}, revision {store['revision']}"
            if store.get("etcd_connected") else
            f"etcd UNREACHABLE for {store.get('etcd_for', 0):.0f}s "
            f"({store.get('etcd_error') or '?'}): answering from the last view")
    publish = (f"{store['published']} key(s) under lease {store['lease']} "
               f"(ttl {store['lease_ttl']}s)" if store.get("publishing") else
               f"NOT publishing ({store.get('publish_error') or '?'})")
    return [f"store: etcd {store['prefix']} as host {store['host']}; {view}",
            f"containers by host: {hosts}; {publish}"]


def doctor_check(status: dict | None) -> str:
    """The doctor's hop: passes while the view follows etcd; says what is kept when not."""
    store = (status or {}).get("store") or {}
    if not status:
        raise ViewProblem("the DNS service is not running")
    if store.get("kind") != "etcd":
        raise ViewProblem("devnet.dns.store is etcd but the service runs with "
                             f"{store.get('kind', 'memory')} (restart it: invoke dns.start)")
    if not store.get("etcd_connected"):
        hosts = sum(store.get("hosts", {}).values())
        raise ViewProblem(f"etcd unreachable for {store.get('etcd_for', 0):.0f}s "
                             f"({store.get('etcd_error') or '?'}); answering from the last "
                             f"view ({hosts} container(s))")
    if not store.get("publishing"):
        raise ViewProblem(f"this host's records are not in etcd: {store.get('publish_error')}")
    return (f"following {store['etcd_endpoint']} (revision {store['revision']}), "
            f"{len(store.get('hosts', {}))} host(s)")
