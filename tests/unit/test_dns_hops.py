"""bench/dns_hops.py's reading of a capture: each answer paired with its query by client
address and ID, a forwarded one with its upstream query by name and the upstream's answer by
ID, on tcpdump's real output for devnet (port 53) and dnsmasq (port 5353, printed as mDNS)."""

from pathlib import Path

import pytest

from bench import dns_hops

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name, port, want", [
    ("devnet", 53, {"zone": 119, "forwarded": 626, "first_hop": 332,
                    "upstream_round_trip": 167, "second_hop": 127}),
    ("dnsmasq", 5353, {"zone": 60, "forwarded": 421, "first_hop": 179,
                       "upstream_round_trip": 161, "second_hop": 81}),
])
def test_each_answer_is_timed_per_hop(name, port, want):
    text = (FIXTURES / f"tcpdump-dns-hops-{name}.txt").read_text()
    times = dns_hops.parse(text, f"172.17.42.1.{port}", "192.0.2.53.53")
    assert {k: [round(v) for v in times[k]] for k in dns_hops.KINDS} == \
        {k: [v] for k, v in want.items()}


def test_an_answer_whose_query_was_not_captured_is_left_out():
    text = (FIXTURES / "tcpdump-dns-hops-devnet.txt").read_text().splitlines()
    times = dns_hops.parse("\n".join(text[1:]), "172.17.42.1.53", "192.0.2.53.53")
    assert times["forwarded"] == [] and len(times["zone"]) == 1
    assert dns_hops.figures(times) == {"zone_p50_us": 119, "zone_p90_us": 119,
                                       "zone_p99_us": 119, "zone_answers": 1}
