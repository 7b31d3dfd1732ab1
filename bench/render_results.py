"""Render README's up/down, providers, VPN, tunnel, etcd, firewall and host-DNS benchmark
sections from their result files (bench/results/up_down.json, providers.json, vpn.json,
tunnel.json, tunnel_cost.json, etcd.json, fw.json, host_dns.json; the tunnel's in
render_tunnel.py, etcd's in render_etcd.py): every figure between a section's markers comes
from its file. Run after the benchmark; --check fails if README is behind.

    .venv/bin/python bench/render_results.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results"
sys.path.insert(0, str(ROOT))

from bench.common import render_readme  # noqa: E402
from bench.render_dns import spread  # noqa: E402
from bench.render_etcd import render as etcd  # noqa: E402
from bench.render_tunnel import tunnel, tunnel_cost  # noqa: E402


def about(r: dict) -> str:
    m = r["machine"]
    return f"{m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, Python {m['python']}"


def up_down(r: dict) -> str:
    rows = {x["command"]: x for x in r["results"]}
    labels = [("devnet: up from nothing", "devnet: `invoke up` from nothing"),
              ("reference: up from nothing", "reference: bare commands up"),
              ("devnet: no-op up", "devnet: second, no-op `invoke up`"),
              ("devnet: down", "devnet: `invoke down`"),
              ("reference: down", "reference: bare commands down")]
    return "\n".join([
        f"`bench/up_down.sh` ({r['ended']}; {about(r)}): devnet beside `bench/reference.sh`, "
        "which builds the same topology with bare commands (dockerd started with `--bip/--dns`"
        " at once, dnsmasq on the bridge, resolv.conf rewritten): no checks, no journal, no "
        f"SSH, no container-aware DNS. {r['rounds']} rounds, each running every command once "
        "(hyperfine):",
        "",
        "| | median | min | max |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {rows[k]['median']:.2f} s | {rows[k]['min']:.2f} s | "
          f"{rows[k]['max']:.2f} s |" for k, label in labels],
    ])


def providers(r: dict) -> str:
    c, p = r["dns_runtime"]["container"], r["dns_runtime"]["process"]
    st, q, s = r["status"], r["lifecycle_qemu"], r["lifecycle_sim"]
    extra_start = c["dns_start_s"]["median"] - p["dns_start_s"]["median"]
    extra_auto = st["auto"]["median"] - st["named_sim"]["median"]
    return "\n".join([
        f"`bench/providers_bench.py` ({r['started']}; {about(r)}), each beside its reference "
        f"in the same run; the DNS runtimes and `status` interleaved, {c['runs']} rounds, "
        "median (min–max); the VMs' lifecycle one run each (a TCG boot takes a minute):",
        "",
        "| | measured | reference |",
        "|---|---:|---:|",
        "| DNS service as a container (`dns.runtime container`): `dns.start` from stopped | "
        f"{spread(c['dns_start_s'], ' s', 2)} | process: {spread(p['dns_start_s'], ' s', 2)} |",
        "| … queries per second (dnsperf flat out, server pinned to core 1) | "
        f"{spread(c['qps'])} | process: {spread(p['qps'])} "
        f"({r['dns_runtime']['qps_ratio_container_to_process']}×) |",
        f"| … p50 at 1,000 qps | {spread(c['p50_ms'], ' ms', 3)} | process: "
        f"{spread(p['p50_ms'], ' ms', 3)} |",
        f"| … p99 at 1,000 qps | {spread(c['p99_ms'], ' ms', 3)} | process: "
        f"{spread(p['p99_ms'], ' ms', 3)} |",
        "| `invoke status` with `provider=auto` (asks colima, docker-machine, boot2docker, "
        f"vagrant, local) | {spread(st['auto'], ' s', 2)} | named provider: "
        f"{spread(st['named_sim'], ' s', 2)} |",
        f"| `vm.image`, cached | {r['vm_image_cached_s']:.2f} s | (a cold build: not timed "
        "here) |",
        "| qemu VM (TCG): `vm.init vm.up` (create, boot, SSH and Docker answer) | "
        f"{q['vm_init_up_s']:.1f} s | sim: {s['vm_init_up_s']:.1f} s |",
        "| qemu VM: the rest of `up` (host-only, forward, route, daemon.json + dockerd "
        f"restart, DNS, resolver) | {q['rest_of_up_s']:.1f} s | sim: {s['rest_of_up_s']:.1f} s |",
        f"| qemu VM: `down` (ACPI power-off, then remove) | {q['down_s']:.1f} s | sim: "
        f"{s['down_s']:.1f} s |",
        "",
        f"A container adds {extra_start:.2f} s (median) to `dns.start` (`docker run` plus the "
        "image check) and answers from the same server code, in the VM's network namespace. "
        f"`auto` adds {extra_auto:.2f} s (median) per command: it asks each VM tool in turn "
        "which machine is running.",
    ])


def vpn(r: dict) -> str:
    ref, dev = r["reference: vpn.fix by hand"], r["devnet: net.watch"]
    s = r["settings"]

    def row(label, f):
        return (f"| {label} | {f['median_ms'] / 1000:.2f} s | {f['min_ms'] / 1000:.2f}–"
                f"{f['max_ms'] / 1000:.2f} s | {f['p99_ms'] / 1000:.2f} s |")

    return "\n".join([
        f"`bench/vpn_bench.py` ({r['ended']}; {about(r)}): `vpn.sim.connect` → first "
        "successful TCP connection *and* DNS answer from the host, beside the reference of "
        "running `invoke vpn.fix` by hand right after each connect; "
        f"{s['rounds']} rounds, each {s['reconnects']} connects per arm "
        f"({dev['from_connect_start']['count']} each in all):",
        "",
        "| | median | min–max | p99 |",
        "|---|---:|---:|---:|",
        row("devnet: `net.watch`, from the connect command's start", dev["from_connect_start"]),
        row("devnet: `net.watch`, from the connect command's end", dev["from_connect_end"]),
        row("reference: `vpn.fix` by hand, from the connect's start",
            ref["from_connect_start"]),
        row("reference: `vpn.fix` by hand, from the connect's end", ref["from_connect_end"]),
    ])


def firewall(r: dict) -> str:
    """vpn.fix's firewall diagnosis on a large ruleset, beside iptables-save alone."""
    def row(label, key):
        f = r[key]
        return f"| {label} | {f['p50_ms']} ms | {f['p99_ms']} ms | {f['max_ms']} ms |"

    runs = r["devnet: diagnosis, nothing dropped"]["runs"]
    return "\n".join([
        f"`bench/fw_bench.py`: vpn.fix's firewall diagnosis on the simulated host with ufw's "
        f"real ruleset and filler rules ({r['rules']:,} rules in all), {runs} rounds, "
        "interleaved with the reference, `iptables-save` alone (the least any diagnosis that "
        "reads the firewall costs):",
        "",
        "| | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        row("reference: `iptables-save`", "reference: iptables-save"),
        row("devnet: a healthy round (nothing drops devnet's traffic)",
            "devnet: diagnosis, nothing dropped"),
        row("devnet: a deny-all in front, blamed by its counters (the probes' 0.3 s wait "
            "included)", "devnet: diagnosis, deny-all blamed by counters"),
    ])


def host_dns(r: dict) -> str:
    """The host's own lookups of an outside name with and without devnet."""
    up, halted = r["vm up"], r["vm halted"]
    left = halted["entry left in (before)"]
    silent = r["service silent (SIGSTOP), net.watch"]

    def cell(f):  # as the file has them (0.1 ms)
        return f"{f['median_ms']:,} ms ({f['min_ms']:,}–{f['max_ms']:,})"

    def diff(v):
        return f"+{v} ms" if v >= 0 else f"−{-v} ms"

    def seconds(values):
        return ", ".join(f"{v:.2f}" for v in values[:-1]) + f" and {values[-1]:.2f} s"

    return "\n".join([
        "`bench/host_dns_bench.py`: the host's own DNS with and without devnet, `getent hosts "
        f"{r['name']}` (an outside name) on the simulated host, "
        f"{up['devnet']['lookups']} lookups per arm, the arms interleaved lookup by lookup "
        f"({r['machine']}):",
        "",
        "| | without devnet | devnet | difference |",
        "|---|---:|---:|---:|",
        f"| VM up (devnet's DNS first, forwarding), median (min–max) | "
        f"{cell(up['without devnet'])} | {cell(up['devnet'])} | "
        f"{diff(up['devnet_minus_without_ms'])} |",
        f"| VM halted (`vm.halt` took devnet's entry out) | {cell(halted['without devnet'])} | "
        f"{cell(halted['devnet'])} | {diff(halted['devnet_minus_without_ms'])} |",
        f"| VM halted, entry left in (before this change), {left['lookups']} lookups | | "
        f"{cell(left)} | |",
        "",
        "Every lookup includes starting `ip netns exec … getent` (~3 ms, the same in each arm). "
        "With the DNS service silenced behind devnet's back (SIGSTOP), `net.watch` took the "
        f"entry out after {seconds(silent['entry_out_after_s'])} (the first includes its own "
        f"start) and put it back after {seconds(silent['entry_back_after_s'])} once the service "
        "answered again. Target: devnet adds ≤ 50 ms, VM up and VM halted.",
    ])


SECTIONS = {"up-down-bench": ("up_down.json", up_down),
            "providers-bench": ("providers.json", providers),
            "vpn-bench": ("vpn.json", vpn),
            "tunnel-bench": ("tunnel.json", tunnel),
            "tunnel-cost-bench": ("tunnel_cost.json", tunnel_cost),
            "etcd-bench": ("etcd.json", lambda r: etcd(r).rstrip("\n")),
            "fw-bench": ("fw.json", firewall),
            "host-dns-bench": ("host_dns.json", host_dns)}


def sections() -> dict[str, str]:
    return {marker: render(json.loads((RESULTS / name).read_text()))
            for marker, (name, render) in SECTIONS.items()}


if __name__ == "__main__":
    sys.exit(render_readme(sections, "the other benchmark sections rendered "
                                     "from bench/results/"))
