"""vpn.fix's firewall diagnosis on a 2,000-rule ruleset: how long devnet's probe-based
judgement takes, beside `iptables-save` alone (the reference: the least any diagnosis that
reads the firewall costs), interleaved in the same run.

    sudo .venv/bin/python bench/fw_bench.py [--rounds 40]

The simulated host gets ufw's real ruleset (tests/unit/fixtures/real-world) plus 2,000
filler rules that do not concern devnet. Measured, round after round:
- reference: `iptables-save` in the host namespace;
- healthy: the diagnosis when nothing drops devnet's traffic (every net.watch round);
- blocked: with a deny-all chain in front (the sim VPN's `ciscovpn`), the diagnosis that
  finds the dropping rule from the counters (probes time out, counters read twice).
Results: bench/results/fw.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import INSTANCE, invoke, pct, write_results  # noqa: E402
from devnet import config  # noqa: E402
from devnet.core import Devnet  # noqa: E402
from devnet.host import linux_firewall  # noqa: E402
from devnet.host.probe import devnet_probes  # noqa: E402
from devnet.vpn import fix  # noqa: E402

UFW = ROOT / "tests/unit/fixtures/real-world/ufw-default-deny-limit.rules"
FILLER = 2000
DENY_ALL = [["-N", "ciscovpn"], ["-A", "ciscovpn", "-o", "lo", "-j", "ACCEPT"],
            ["-A", "ciscovpn", "-i", "lo", "-j", "ACCEPT"], ["-A", "ciscovpn", "-j", "DROP"],
            ["-I", "OUTPUT", "1", "-j", "ciscovpn"], ["-I", "INPUT", "1", "-j", "ciscovpn"]]


def ruleset_with_filler() -> str:
    lines = UFW.read_text().splitlines()
    filler = [f"-A ufw-user-input -s 10.{i // 250}.{i % 250}.1/32 -p tcp -m tcp --dport "
              f"{1024 + i} -j DROP" for i in range(FILLER)]
    end = lines.index("COMMIT")
    return "\n".join(lines[:end] + filler + lines[end:]) + "\n"


def ns(p, *argv, **kw):
    return subprocess.run(["ip", "netns", "exec", p.host_ns, *argv], check=True,
                          capture_output=True, text=True, **kw)


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def summary(ms: list[float]) -> dict:
    return {"p50_ms": round(pct(ms, 50), 1), "p99_ms": round(pct(ms, 99), 1),
            "max_ms": round(max(ms), 1), "runs": len(ms)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    invoke("up")
    dn = Devnet(config.load({"instance": INSTANCE}), echo=lambda _: None)
    p = dn.provider
    results = {}
    try:
        ns(p, "iptables-restore", input=ruleset_with_filler())
        rules = len([x for x in ns(p, "iptables-save").stdout.splitlines()
                     if x.startswith("-A ")])
        scope = fix.scope(dn)
        probes = devnet_probes(dn.settings, scope.networks)
        host = dn.host

        def diagnose():
            return linux_firewall.firewall_problems(host, scope, probes)

        ref, healthy, blocked = [], [], []
        for _ in range(args.rounds):  # interleaved: the same load for each
            ref.append(timed(lambda: ns(p, "iptables-save")))
            healthy.append(timed(lambda: assert_found(diagnose(), [])))
            for argv in DENY_ALL:
                ns(p, "iptables", "-w", *argv)
            blocked.append(timed(lambda: assert_found(diagnose(), ["iptables"])))
            for argv in (["-D", "OUTPUT", "-j", "ciscovpn"], ["-D", "INPUT", "-j", "ciscovpn"],
                         ["-F", "ciscovpn"], ["-X", "ciscovpn"]):
                ns(p, "iptables", "-w", *argv)
        results = {"rules": rules, "reference: iptables-save": summary(ref),
                   "devnet: diagnosis, nothing dropped": summary(healthy),
                   "devnet: diagnosis, deny-all blamed by counters": summary(blocked)}
    finally:
        subprocess.run(["ip", "netns", "exec", p.host_ns, "nft", "flush", "ruleset"])
        dn.close()
        invoke("down")
    write_results("fw", results)
    return 0


def assert_found(found, kinds):
    assert [k for k, _, _ in found] == kinds, found


if __name__ == "__main__":
    sys.exit(main())
