"""provider=auto knows today's engines: real `docker context` and `docker version` output
(sources in tests/unit/fixtures/README.md) told apart."""

from pathlib import Path

from invoke import MockContext, Result

from devnet.providers.desktop import engines

FIX = Path(__file__).parent / "fixtures/engines"


def text(name: str) -> str:
    return (FIX / name).read_text()


def test_docker_desktop_from_its_server_line_on_macos_and_windows():
    assert engines.server_platform(text("docker-desktop-version.txt")) == \
        "Docker Desktop 4.33.0 (160616)"
    mac = engines.classify(None, engines.server_platform(text("docker-desktop-version.txt")))
    # Windows: the context is "default" (npipe), only the server line tells
    win = engines.classify(engines.Context("default", "", "npipe:////./pipe/docker_engine"),
                           engines.server_platform(text("docker-desktop-windows-version.txt")))
    assert mac.kind == win.kind == "docker-desktop"
    assert "Docker Desktop 4.25.2" in win.why
    assert mac.kind in engines.TUNNEL_KINDS


def test_a_plain_dockerd_prints_server_alone():
    assert engines.server_platform(text("linux-dockerd-version.txt")) == ""
    ctx = engines.current_context(text("linux-default-context-ls.txt"))
    assert ctx == engines.Context("default", "Current DOCKER_HOST based configuration",
                                  "unix:///var/run/docker.sock")
    found = engines.classify(ctx, "")
    assert found.kind == "dockerd" and "unix:///var/run/docker.sock" in found.why


def test_orbstack_from_its_context():
    ctx = engines.inspected_context(text("orbstack-context-inspect.json"))
    assert ctx.endpoint == "unix:///Users/.../.orbstack/run/docker.sock"
    assert engines.classify(ctx).kind == "orbstack"
    assert "orbstack" in engines.SELF_ROUTING


def test_colima_current_rancher_beside_it():
    rows = engines.contexts(text("colima-rancher-context-ls.txt"))
    assert [(c.name, cur) for c, cur in rows] == [("colima", True), ("default", False),
                                                  ("rancher", False)]
    assert engines.classify(engines.current_context(
        text("colima-rancher-context-ls.txt"))).kind == "colima"
    rancher = rows[2][0]
    assert rancher.endpoint == "unix:///Users/*****/.rd/docker.sock"
    assert engines.classify(rancher).kind == "rancher-desktop"


def test_podman_machine_context():
    (ctx, current), = engines.contexts(text("podman-context-ls.txt"))
    assert ctx.name == "podman" and not current
    assert ctx.endpoint.endswith("podman-machine-default-api.sock")
    assert engines.classify(ctx).kind == "podman-machine"


def test_linux_default_context_inspect_is_parsed():
    ctx = engines.inspected_context(text("linux-default-context-inspect.json"))
    assert ctx.name == "default" and ctx.endpoint == "unix:///var/run/docker.sock"
    assert engines.inspected_context("not json") is None


def test_detect_runs_the_two_commands():
    c = MockContext(run={
        "docker context inspect": Result(text("orbstack-context-inspect.json")),
        "docker version": Result(text("docker-desktop-version.txt")),
    })
    assert engines.detect(c).kind == "docker-desktop"  # the server line outranks the name
    down = MockContext(run={"docker context inspect": Result(""),
                            "docker version": Result("", exited=1)})
    assert engines.detect(down) is None
