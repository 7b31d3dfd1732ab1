"""Provider benchmarks on the simulated topology, each beside its reference in the same run.

    sudo .venv/bin/python bench/providers_bench.py [--seconds 10] [--runs 5]

1. The DNS service as a container (devnet.dns.runtime container, boot2docker's and
   docker-machine's way) beside the supervised process (the reference): `dns.start` from
   stopped, queries per second and p50/p99 latency at 1,000 qps with dnsperf from the
   simulated host, each server pinned to core 1, dnsperf to core 0.
2. provider=auto's choice beside a named provider: `invoke status` wall time.
3. The real VM (provider qemu, TCG here) beside the sim (the reference): `vm.image` cached,
   `vm.init vm.up` (create and boot), the rest of `up`, and `down`, on instances of their own.
Results: bench/results/providers.json, and a summary on stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import INSTANCE, invoke, write_results  # noqa: E402
from bench.dns_bench import (  # noqa: E402
    dnsperf,
    names_setup,
    pin,
    throughput,
    wait_answers,
)
from devnet import config, procs, python_image  # noqa: E402
from devnet.dns import container  # noqa: E402
from devnet.providers.sim.provider import SimProvider  # noqa: E402

RUNTIMES = {"process": {}, "container": {"INVOKE_DEVNET_DNS_RUNTIME": "container",
                                         "INVOKE_DEVNET_DNS_IMAGE": python_image.TAG}}


def timed(*args: str, env: dict | None = None) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, check=True,
                   env={**os.environ, "INVOKE_DEVNET_INSTANCE": INSTANCE, **(env or {})},
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def lifecycle(provider: str) -> dict:
    """Create and boot, the rest of `up`, `down`: one run each (a TCG boot is a minute)."""
    env = {"INVOKE_DEVNET_PROVIDER": provider, "INVOKE_DEVNET_INSTANCE": f"bl{provider[0]}"}
    figures = {}
    try:
        figures["vm_init_up_s"] = round(timed("vm.init", "vm.up", env=env), 1)
        figures["rest_of_up_s"] = round(timed("up", env=env), 1)
    finally:
        figures["down_s"] = round(timed("down", env=env), 1)
    return figures


def server_pid(p: SimProvider, client, runtime: str) -> int:
    if runtime == "container":
        return client.containers.get(container.NAME).attrs["State"]["Pid"]
    return procs.read_pid(p.vm_run / "devnet-dns/supervisor.pid.child")


def runtime_figures(p, client, runtime: str, queries: Path, args) -> dict:
    env = RUNTIMES[runtime]
    starts = []
    for _ in range(args.runs):
        timed("dns.stop", env=env)
        starts.append(timed("dns.start", env=env))
    wait_answers(p, 53, "n49-19.docker")
    pin(server_pid(p, client, runtime))
    dnsperf(p, 53, queries, "-n", "2")  # warm up: each answer rendered once
    return {"dns_start_s_median": round(sorted(starts)[len(starts) // 2], 2),
            **throughput(p, 53, queries, args.seconds)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    p = SimProvider(config.load({"instance": INSTANCE}))
    results: dict = {"machine": f"{os.cpu_count()} cores"}
    invoke("up")
    invoke("test.image")
    client = p.docker_client()
    made = []
    try:
        print(python_image.ensure(client))
        with tempfile.TemporaryDirectory() as d:
            made = names_setup(client, Path(d))
            for runtime in ("container", "process"):  # the reference last: left running
                results[runtime] = runtime_figures(p, client, runtime, Path(d) / "queries",
                                                   args)
        results["qps_ratio_container_to_process"] = round(
            results["container"]["qps"] / results["process"]["qps"], 2)
        for name, env in (("status_named_sim_s", {}),
                          ("status_auto_s", {"INVOKE_DEVNET_PROVIDER": "auto"})):
            runs = sorted(timed("status", env=env) for _ in range(args.runs))
            results[name] = round(runs[len(runs) // 2], 2)
    finally:
        for c in made:
            c.remove(force=True)
        client.close()
        invoke("down")
    results["vm_image_cached_s"] = round(timed("vm.image"), 2)
    for provider in ("sim", "qemu"):
        results[f"lifecycle_{provider}"] = lifecycle(provider)
    write_results("providers", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
