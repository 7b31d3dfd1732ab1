"""Provider benchmarks on the simulated topology, each beside its reference in the same run.

    sudo flock /tmp/devnet-e2e.lock .venv/bin/python bench/providers_bench.py [--runs 3]

1. The DNS service as a container (devnet.dns.runtime container, boot2docker's and
   docker-machine's way) beside the supervised process (the reference), interleaved round by
   round: `dns.start` from stopped, queries per second flat out and p50/p99 at 1,000 qps with
   dnsperf from the simulated host (dns_bench's zone, its mix without forwarded names), the
   server pinned to core 1, dnsperf to core 0.
2. provider=auto's choice beside a named provider: `invoke status` wall time, interleaved.
3. The real VM (provider qemu, TCG here) beside the sim (the reference): `vm.image` cached,
   `vm.init vm.up` (create and boot), the rest of `up`, and `down`, on instances of their
   own: one run each (a TCG boot is a minute; the JSON says so).
Results: bench/results/providers.json (median, min–max), rendered into README by
bench/render_results.py.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dns_load as load  # noqa: E402
from bench.common import INSTANCE, invoke, write_results  # noqa: E402
from bench.dns_bench import DNS, names_setup, wait_answers  # noqa: E402
from devnet import config, procs, python_image  # noqa: E402
from devnet.dns import container  # noqa: E402
from devnet.providers.sim.provider import SimProvider  # noqa: E402

RUNTIMES = {"container": {"INVOKE_DEVNET_DNS_RUNTIME": "container",
                          "INVOKE_DEVNET_DNS_IMAGE": python_image.TAG},
            "process": {}}  # the reference last in each round: left running for `status`


def timed(*args: str, env: dict | None = None) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, check=True,
                   env={**os.environ, "INVOKE_DEVNET_INSTANCE": INSTANCE, **(env or {})},
                   stdout=subprocess.DEVNULL)
    return round(time.monotonic() - start, 2)


def lifecycle(provider: str) -> dict:
    """Create and boot, the rest of `up`, `down`, on an instance of the provider's own."""
    env = {"INVOKE_DEVNET_PROVIDER": provider, "INVOKE_DEVNET_INSTANCE": f"bl{provider[0]}"}
    figures = {}
    try:
        figures["vm_init_up_s"] = timed("vm.init", "vm.up", env=env)
        figures["rest_of_up_s"] = timed("up", env=env)
    finally:
        figures["down_s"] = timed("down", env=env)
    return figures


def server_pid(p: SimProvider, client, runtime: str) -> int:
    if runtime == "container":
        return client.containers.get(container.NAME).attrs["State"]["Pid"]
    return procs.read_pid(p.vm_run / "devnet-dns/supervisor.pid.child")


def one_round(p, client, runtime: str, queries: Path, seconds: int) -> dict:
    """`dns.start` from stopped in this runtime, then its answers measured."""
    env = RUNTIMES[runtime]
    timed("dns.stop", env=env)
    start_s = timed("dns.start", env=env)
    wait_answers(p, 53, "n49-19.docker")
    subprocess.run(["taskset", "-a", "-cp", "1", str(server_pid(p, client, runtime))],
                   check=True, stdout=subprocess.DEVNULL)
    load.dnsperf(p, DNS, 53, queries, "-n", "1")  # warm up: each answer rendered once
    flat = load.dnsperf(p, DNS, 53, queries, "-l", str(seconds), "-c", "4", "-q", "200")
    paced = load.dnsperf(p, DNS, 53, queries, "-l", "4", "-Q", "1000", "-v")
    return {"dns_start_s": start_s, "qps": flat["qps"], "p50_ms": paced["p50_ms"],
            "p99_ms": paced["p99_ms"]}


def dns_runtimes(p, client, args) -> dict:
    runs: dict = {runtime: [] for runtime in RUNTIMES}
    with tempfile.TemporaryDirectory() as d:
        made = names_setup(client, Path(d), random.Random(20261201))
        try:
            for _ in range(args.runs):
                for runtime in RUNTIMES:
                    runs[runtime].append(one_round(p, client, runtime, Path(d) / "mix-zone",
                                                   args.seconds))
        finally:
            for c in made:
                c.remove(force=True)
    out = {runtime: load.summary(r) for runtime, r in runs.items()}
    out["qps_ratio_container_to_process"] = round(
        out["container"]["qps"]["median"] / out["process"]["qps"]["median"], 2)
    return out


def status_times(runs: int) -> dict:
    arms = {"named_sim": {}, "auto": {"INVOKE_DEVNET_PROVIDER": "auto"}}
    times: dict = {arm: [] for arm in arms}
    for _ in range(runs):
        for arm, env in arms.items():
            times[arm].append({"status_s": timed("status", env=env)})
    return {arm: load.summary(t)["status_s"] for arm, t in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6, help="each flat-out dnsperf run")
    ap.add_argument("--runs", type=int, default=3, help="interleaved rounds")
    args = ap.parse_args()
    p = SimProvider(config.load({"instance": INSTANCE}))
    results: dict = {"machine": load.machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                     "settings": vars(args)}
    invoke("up")
    invoke("test.image")
    client = p.docker_client()
    try:
        print(python_image.ensure(client))
        results["dns_runtime"] = dns_runtimes(p, client, args)
        results["status"] = status_times(args.runs)
    finally:
        client.close()
        invoke("down")
    results["vm_image_cached_s"] = timed("vm.image")
    results["lifecycle_runs"] = "1 each: a TCG boot takes about a minute"
    for provider in ("sim", "qemu"):
        results[f"lifecycle_{provider}"] = lifecycle(provider)
    write_results("providers", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
