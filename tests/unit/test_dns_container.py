"""dns.start in a VM without Python: devnet's DNS as a container built by the VM's dockerd."""

import io
import json
import tarfile
import time

import docker.errors
import pytest
from invoke import Result

from devnet.dns import container, control
from devnet.errors import DevnetError
from devnet.steps.dns import DnsStart
from tests.unit.conftest import SUPERVISOR_ALIVE, devnet_with_vm


def names_in(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def test_the_context_holds_devnet_and_its_pure_python_packages():
    data, tag = container.context("python:3.11-slim")
    names = names_in(data)
    assert "Dockerfile" in names and "devnet/dns/service.py" in names
    assert "dns/message.py" in names and "docker/client.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyc"))]  # runs on any CPU
    assert tag.startswith("devnet/dns:")


def test_the_tag_names_the_content():
    assert container.context("python:3.11-slim")[1] == container.context("python:3.11-slim")[1]
    assert container.context("python:3.12-slim")[1] != container.context("python:3.11-slim")[1]


class FakeImages:
    def __init__(self, have=(), fail=None):
        self.have, self.fail, self.built = set(have), fail, []

    def get(self, tag):
        if tag not in self.have:
            raise docker.errors.ImageNotFound(tag)

    def build(self, fileobj, custom_context, tag, rm):
        if self.fail:
            raise self.fail
        self.built.append((tag, names_in(fileobj.read())))
        self.have.add(tag)


class FakeClient:
    def __init__(self, images):
        self.images = images


def test_an_image_is_built_once_for_the_same_content():
    images = FakeImages()
    tag = container.ensure_image(FakeClient(images), "python:3.11-slim")
    assert container.ensure_image(FakeClient(images), "python:3.11-slim") == tag
    assert len(images.built) == 1 and "devnet/dns/server.py" in images.built[0][1]


def test_a_base_image_the_vm_cannot_pull_is_a_clear_error():
    images = FakeImages(fail=docker.errors.BuildError("pull access denied for python", []))
    with pytest.raises(DevnetError, match="could not build .* from python:3.11-slim") as err:
        container.ensure_image(FakeClient(images), "python:3.11-slim")
    assert "devnet.dns.image" in err.value.hint


@pytest.mark.parametrize("resolved", [False, True])
def test_dns_start_runs_the_container_with_the_vms_network(settings, monkeypatch, resolved):
    """Where the VM runs systemd-resolved (colima), its directory is mounted too: the
    container's /etc/resolv.conf is the 127.0.0.53 stub, the real servers are listed there."""
    tag = container.context("python:3.11-slim")[1]
    mount = ["-v /run/systemd/resolve:/run/systemd/resolve:ro"] if resolved else []
    run = " ".join(["docker run -d --name devnet-dns --restart always --network host",
                    "--label devnet=dns -v /var/run/docker.sock:/var/run/docker.sock",
                    "-v /etc/resolv.conf:/etc/resolv.conf:ro", *mount,
                    "-v /run/devnet-dns:/run/devnet-dns", tag,
                    *control.service_args(settings)])
    dn = devnet_with_vm(settings, patterns={SUPERVISOR_ALIVE: Result(exited=1)}, **{
        "cat /run/devnet-dns/status.json": Result("", exited=1),
        "docker inspect -f '{{.Id}}' devnet-dns": Result("", exited=1),
        "mkdir -p /run/devnet-dns": Result(""),
        "test -d /run/systemd/resolve": Result(exited=0 if resolved else 1),
        run: Result("f00d\n"),
    })
    monkeypatch.setattr(dn.provider, "default_dns_runtime", "container")
    monkeypatch.setattr(dn.provider, "docker_client", lambda: FakeClient(FakeImages([tag])))
    said = DnsStart(dn).apply()
    assert said.endswith(f"as container devnet-dns ({tag})")


def test_running_and_stop_ask_the_container(settings, monkeypatch):
    status = {"args": control.service_args(settings), "written": time.time()}
    dn = devnet_with_vm(settings, **{
        control.STATUS_AND_CLOCK: Result(f"{int(time.time())}\n{json.dumps(status)}"),
        "docker inspect -f '{{.State.Running}}' devnet-dns": Result("true\n"),
        "docker inspect -f '{{.Id}}' devnet-dns": Result("f00d\n"),
        "docker rm -f devnet-dns": Result(""),
        "rm -f /run/devnet-dns/status.json": Result(""),
    })
    monkeypatch.setattr(dn.provider, "dns_runtime", lambda: "container")
    assert control.running(dn) == status
    assert control.stop(dn) == "removed the devnet-dns container"
    assert control.logs_command(dn, 20) == "docker logs --tail 20 devnet-dns 2>&1"
