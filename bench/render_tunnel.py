"""README's tunnel sections, from bench/results/tunnel.json (tunnel_bench.py) and
tunnel_cost.json (tunnel_cost.py); registered in render_results.py, which writes README."""

from __future__ import annotations

from bench.render_dns import spread


def about(r: dict) -> str:
    m = r["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, Python {m['python']}, "
            f"{m['wireguard_go']}")


def pct_of(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def tunnel(r: dict) -> str:
    route, tun = r["modes"]["route"], r["modes"]["tunnel"]
    pair = r["reference_wireguard_go_pair"]
    vs_route, vs_pair = r["tunnel_vs_route"], r["tunnel_vs_wireguard_go_pair"]
    pair_route = r["wireguard_go_pair_vs_route"]
    back = tun["restart_to_reach_s"]["median"]

    def rtt(f):
        a = f["rtt_ms"]["all_samples"]
        return f"{spread(f['rtt_ms'], '', 3)}; p99 {a['p99']:.3f}"

    def met(ok: bool) -> str:
        return "meets" if ok else "misses"

    return "\n".join([
        f"`sudo .venv/bin/python bench/tunnel_bench.py --runs {r['runs']} --mb "
        f"{r['bulk_mb_each_way']}` ({r['ended']}; {about(r)}), `bench/results/tunnel.json`: "
        "the sim's host-only route (provider `sim`), the tunnel (provider `sim-desktop`, "
        f"devnet.desktop.dial `{r.get('tunnel_dial', 'host')}`) and, "
        "as the ceiling of userspace WireGuard here, a bare wireguard-go pair over a veth of "
        f"its own (no Docker, no forwarder), measured in turn, {r['runs']} interleaved runs, "
        "median (min–max):",
        "",
        "| | route (host-only veth) | tunnel (wireguard-go both ends + the UDP forwarder) "
        "| bare wireguard-go pair |",
        "|---|---|---|---|",
        f"| bulk transfer and back, {r['bulk_mb_each_way']} MB each way, Mbit/s | "
        f"{spread(route['throughput_mbit'])} | {spread(tun['throughput_mbit'])} | "
        f"{spread(pair['throughput_mbit'])} |",
        "| IP fragments made or reassembled per transfer (host and VM namespaces) | "
        f"{route['ip_fragments_per_bulk']['median']:.0f} | "
        f"{tun['ip_fragments_per_bulk']['median']:.0f} | – |",
        f"| round-trip time, ms (`ping`, 200 × 10 ms; median per run, p99 of all) | {rtt(route)} "
        f"| {rtt(tun)} | {rtt(pair)} |",
        f"| `invoke up` from nothing | {route['up_s']:.1f} s | {tun['up_s']:.1f} s | – |",
        f"| `docker run` to the first TCP answer | {route['run_to_first_reach_s']:.2f} s | "
        f"{tun['run_to_first_reach_s']:.2f} s | – |",
        "| dockerd restarted: Docker answers -> container reached, s | "
        f"{spread(route['restart_to_reach_s'], '', 2)} | "
        f"{spread(tun['restart_to_reach_s'], '', 2)} | – |",
        "",
        f"Against the issue's targets: reach back {back:.2f} s after Docker answers "
        f"({met(back <= 5)} ≤ 5 s); throughput {pct_of(vs_route['throughput_ratio'])} of the "
        f"route's ({met(vs_route['throughput_ratio'] >= 0.5)} ≥ 50%); round trip "
        f"{vs_route['rtt_extra_ms']:+.3f} ms ({met(vs_route['rtt_extra_ms'] <= 0.5)} "
        "≤ +0.5 ms). The route is an in-kernel veth, which no Desktop VM offers; the bare "
        "wireguard-go pair, with no forwarder and no Docker, reaches "
        f"{pct_of(pair_route['throughput_ratio'])} of it and adds "
        f"{pair_route['rtt_extra_ms']:+.3f} ms itself: that is userspace WireGuard's ceiling "
        f"here. Against it, the tunnel carries {pct_of(vs_pair['throughput_ratio'])} of the "
        f"throughput, {vs_pair['rtt_extra_ms']:+.3f} ms round trip.",
    ])


def tunnel_cost(r: dict) -> str:
    p = r["paths"]
    names = {"veth": "veth", "wg": "wireguard-go pair over the veth",
             "wg+forward": "wireguard-go pair through udp_forward.py",
             "wg+reference-forward": f"the same through the {r['reference_forwarder']}"}

    def cpu(f):
        def short(n):  # "wireguard-go bwl-wg2" -> "wg-go L"; either forwarder -> "forwarder"
            if n.startswith("wireguard-go"):
                return "wg-go " + ("L" if "bwl" in n else "R")
            return "echo" if n == "echo" else "forwarder"
        return ", ".join(f"{short(n)} {v:.2f}" for n, v in f["cpu_cores_during_bulk"].items())

    def drops(f):
        return ", ".join(f"{k} {v:.0f}" for k, v in f["udp_buffer_drops_per_bulk"].items())

    ref = r["ratios"].get("wg+reference-forward_vs_wg")
    fwd_rtt = p["wg+forward"]["rtt_ms"]["median"] - p["wg"]["rtt_ms"]["median"]
    fwd_drops = p["wg+forward"]["udp_buffer_drops_per_bulk"]["forwarder"]
    old_drops = (p["wg+reference-forward"]["udp_buffer_drops_per_bulk"]["forwarder"]
                 if ref else None)
    return "\n".join([
        f"Where it goes: `sudo .venv/bin/python bench/tunnel_cost.py --runs {r['runs']} --mb "
        f"{r['bulk_mb_each_way']}` ({r['ended']}; {about(r)}), "
        "`bench/results/tunnel_cost.json`: two namespaces of the bench's own on a veth, an "
        "echo server in one; the veth alone, a wireguard-go pair over it, and a second pair "
        "whose UDP goes through sim-desktop's forwarder (loopback to loopback), interleaved, "
        "median (min–max); CPU as the share of one core each process used during the bulk "
        "transfer; drops: UDP datagrams the kernel dropped for a full socket buffer per bulk "
        "transfer (both namespaces):",
        "",
        "| path | bulk, Mbit/s | RTT median / p99 | CPU (cores) | drops |",
        "|---|---|---|---|---|",
        *[f"| {names[k]} | {spread(v['throughput_mbit'])} | {v['rtt_ms']['median']:.3f} / "
          f"{v['rtt_ms']['p99']:.3f} ms | {cpu(v)} | "
          f"{drops(v)} |" for k, v in p.items()],
        "",
        f"The forwarder keeps {pct_of(r['ratios']['wg+forward_vs_wg'])} of the bare pair's "
        "throughput" + (f" (the {r['reference_forwarder']}, in the same run: {pct_of(ref)})"
                        if ref else "")
        + f"; the pair itself reaches {pct_of(r['ratios']['wg_vs_veth'])} of the veth: "
        "both wireguard-go ends busy, one datagram and one TUN read or write per packet "
        "(this wireguard-go predates its GSO/GRO offloads); the drops left are in "
        f"wireguard-go's own sockets. The forwarder's sockets dropped {fwd_drops:.0f} "
        "datagrams per transfer" + (f" (the reference's: {old_drops:.0f}, its buffers the "
                                    "kernel's default)" if ref else "")
        + f"; it adds {fwd_rtt:+.3f} ms to the bare pair's round trip (median).",
    ])
