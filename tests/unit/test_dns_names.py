"""Names from real `docker inspect` output (captured from the sim's dockerd)."""

import copy

import pytest

from devnet.dns.names import Naming, image_name, records, valid_name
from tests.unit.conftest import fixture_json

NAMING = Naming("docker", "dev")


@pytest.mark.parametrize("ref, image", [
    ("ubuntu", "ubuntu"),
    ("ubuntu:22.04", "ubuntu"),
    ("library/ubuntu", "ubuntu"),
    ("docker.io/library/redis:7", "redis"),
    ("registry:5000/team/api:1.2", "api"),
    ("registry.example.com:5000/team/worker@sha256:" + "a" * 64, "worker"),
    ("registry:5000/team/api:1.2@sha256:" + "b" * 64, "api"),
    ("localhost:5000/Team/Web", "web"),
])
def test_image_name_is_the_last_path_part_without_tag_or_digest(ref, image):
    assert image_name(ref) == image


def test_walkthrough_container():
    rec = records(fixture_json("inspect-u1.json")[0], NAMING)
    assert rec.primary == "u1.ubuntu.dev.docker"
    assert rec.names[:3] == ["u1.ubuntu.dev.docker", "ubuntu.dev.docker", "u1.docker"]
    assert rec.ipv4 == ["172.17.0.3"]


def test_compose_container_gets_service_project_aliases_and_label_names():
    rec = records(fixture_json("inspect-compose.json")[0], NAMING)
    assert rec.primary == "shop_web_1.api.dev.docker"
    for name in ("api.dev.docker", "shop_web_1.docker", "web.shop.docker", "web.docker",
                 "api.local-test.docker", "www.docker"):
        assert name in rec.names
    assert rec.ipv4 == ["172.18.0.2"]
    assert rec.srv == [("_7777._tcp.shop_web_1.api.dev.docker", 7777)]


def test_upper_case_dots_and_underscores_in_names():
    rec = records(fixture_json("inspect-upper.json")[0], NAMING)
    assert rec.primary == "my_app.v2-1.redis.dev.docker"
    assert "myhost.docker" in rec.names
    assert sorted(rec.srv) == [("_53._udp.my_app.v2-1.redis.dev.docker", 53),
                               ("_8080._tcp.my_app.v2-1.redis.dev.docker", 8080)]


def test_a_stopped_container_has_no_records():
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["State"]["Running"] = False
    assert records(inspect, NAMING) is None


def test_ipv6_gives_aaaa_addresses():
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["NetworkSettings"]["Networks"]["bridge"]["GlobalIPv6Address"] = "fd00:17::8"
    assert records(inspect, NAMING).ipv6 == ["fd00:17::8"]


def test_a_300_character_name_is_left_out_and_reported():
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["Name"] = "/" + "x" * 300
    rec = records(inspect, NAMING)
    assert all(len(label) <= 63 for n in rec.names for label in n.split("."))
    assert any("x" * 64 in s for s in rec.skipped)
    assert rec.primary in rec.names  # a valid name stands in for the PTR target


def test_label_aliases_inside_the_domain_are_kept_as_they_are():
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["Config"]["Labels"] = {"devnet.dns.aliases": " API.Docker , db.internal ,, "}
    rec = records(inspect, NAMING)
    assert "api.docker" in rec.names and "db.internal.docker" in rec.names


@pytest.mark.parametrize("name, ok", [
    ("u1.ubuntu.dev.docker", True), ("a_b.docker", True), ("-a.docker", False),
    ("a..docker", False), ("x" * 64 + ".docker", False), ("a;rm.docker", False),
    ("$(reboot).docker", False), ("with space.docker", False), ("", False),
])
def test_valid_name(name, ok):
    assert valid_name(name) is ok
