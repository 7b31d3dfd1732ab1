"""Render README's up/down, providers, VPN and tunnel benchmark sections from their result
files (bench/results/up_down.json, providers.json, vpn.json, tunnel.json, tunnel_cost.json;
the tunnel's in render_tunnel.py): every figure between a section's
markers comes from its file. Run after the benchmark; --check fails if README is behind.

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


SECTIONS = {"up-down-bench": ("up_down.json", up_down),
            "providers-bench": ("providers.json", providers),
            "vpn-bench": ("vpn.json", vpn),
            "tunnel-bench": ("tunnel.json", tunnel),
            "tunnel-cost-bench": ("tunnel_cost.json", tunnel_cost)}


def sections() -> dict[str, str]:
    return {marker: render(json.loads((RESULTS / name).read_text()))
            for marker, (name, render) in SECTIONS.items()}


if __name__ == "__main__":
    sys.exit(render_readme(sections, "up/down, providers, VPN and tunnel sections rendered "
                                     "from bench/results/"))
