"""The e2e harness: `invoke up` on the sim, exactly as a user runs it, then real clients.

Every fixture is overridable (pytest-docker style); cleanup runs in `finally`, and if `invoke
down` itself fails, the sim is destroyed directly so no namespace or daemon outlives the run.
"""

from __future__ import annotations

import os

import pytest
from pytest_docker.plugin import get_docker_services

from devnet import config, providers
from tests.e2e.machine import Cli, brought_up, snapshot

HERE = os.path.dirname(__file__)
# `invoke test.e2e --provider=qemu` runs these same files against a real VM.
PROVIDER = os.environ.get("DEVNET_E2E_PROVIDER", "sim")
# Providers reached through devnet's WireGuard tunnel: no host-only link, no SSH into the VM.
TUNNEL = ("sim-desktop",)


def pytest_collection_modifyitems(config, items):
    """On a provider other than the sim, deselect (never skip silently) the tests marked
    sim_only, and say which and why."""
    if PROVIDER == "sim":
        return
    keep, dropped = [], {}
    for item in items:
        mark = item.get_closest_marker("sim_only")
        if PROVIDER in TUNNEL and not mark:
            mark = item.get_closest_marker("route_only")
        if mark and "tests/e2e/" in str(item.fspath):
            dropped.setdefault(mark.args[0] if mark.args else "sim only", []).append(item.name)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        for why, names in dropped.items():
            line = f"provider {PROVIDER}: deselected {len(names)} test(s): {why}"
            if reporter:
                reporter.write_line(line)


@pytest.fixture(scope="session")
def instance() -> str:
    """A name of its own, so the tests never touch a devnet the user has up."""
    return f"t{os.getpid() % 10**6}"


@pytest.fixture(scope="session")
def settings(instance):
    return config.load({"instance": instance, "provider": PROVIDER})


@pytest.fixture(scope="session")
def cli(instance) -> Cli:
    # No net.watch in the shared session (it is on by default): these tests break routes,
    # rules and the firewall on purpose and look at the breakage, which a watcher would
    # repair behind their backs. The tests of net.watch start it themselves, and
    # test_52_vpn_routes proves that `up` starts it by default and `down` stops it first.
    return Cli(instance, {"INVOKE_DEVNET_PROVIDER": PROVIDER, "INVOKE_DEVNET_WATCH": "0"})


@pytest.fixture(scope="session")
def marks(settings) -> tuple[str, ...]:
    """Strings that only devnet's processes for this run have in their command line."""
    return (str(settings.state_dir), settings.instance, "dockerd", "containerd", "dnsmasq",
            "devnet.watch", "devnet.dns.", "devnet.providers.portforward")


@pytest.fixture(scope="session")
def before(marks):
    if os.geteuid() != 0:
        pytest.fail("e2e tests need root: they create namespaces and start dockerd; use sudo")
    return snapshot(marks)


@pytest.fixture(scope="session")
def devnet_up(before, cli, settings):
    """`invoke up` from nothing; always torn down, whatever the tests did."""
    with brought_up(cli, settings) as out:
        yield out


@pytest.fixture(scope="session")
def provider(settings, devnet_up):
    """The sim's or the qemu VM's provider: both have the simulated host namespace."""
    return providers.get(settings)


@pytest.fixture(scope="session")
def docker_client(provider):
    client = provider.docker_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(cli, devnet_up):
    return cli("test.image").stdout


# -- pytest-docker, pointed at the VM's daemon ------------------------------------------

@pytest.fixture(scope="session")
def docker_compose_command(provider, test_image) -> str:
    return f"DOCKER_HOST={provider.docker_url()} docker-compose"


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return os.path.join(HERE, "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return "devnete2e"


@pytest.fixture(scope="session")
def docker_setup():
    return ["up -d"]  # compose v1 (Debian's docker-compose) has no --wait


@pytest.fixture(scope="session")
def docker_cleanup():
    return ["down -v -t 1"]


@pytest.fixture(scope="module")
def docker_services(docker_compose_command, docker_compose_file, docker_compose_project_name,
                    docker_setup, docker_cleanup):
    """Module scope: the containers go before the last module tears the VM down."""
    with get_docker_services(docker_compose_command, docker_compose_file,
                             docker_compose_project_name, docker_setup, docker_cleanup) as s:
        yield s


@pytest.fixture(scope="module")
def echo_ips(docker_services, docker_client, docker_compose_project_name) -> dict[str, str]:
    """hostname -> IP of each compose container, once all run."""
    label = f"com.docker.compose.project={docker_compose_project_name}"

    def ips():
        found = {}
        for c in docker_client.containers.list(filters={"label": label}):
            nets = c.attrs["NetworkSettings"]["Networks"]
            found[c.attrs["Config"]["Hostname"]] = next(iter(nets.values()))["IPAddress"]
        return found if len(found) == 2 and all(found.values()) else None

    docker_services.wait_until_responsive(ips, timeout=30, pause=0.2)
    return ips()


