"""tunnel.helper: the VM's end of the tunnel, a container devnet builds and starts through the
Docker API (the only way into a Docker Desktop VM): the VM's network, NET_ADMIN and the tun
device only, restarted by dockerd whenever the VM or dockerd comes back."""

from __future__ import annotations

import contextlib
import io
import tarfile

import docker

from devnet.errors import DevnetError
from devnet.steps.base import Step
from devnet.system import wait_until
from devnet.tunnel import image, keys


def docker_api(dn, timeout: int):
    """The VM's Docker API, closed after the `with`: the only way into a Desktop VM."""
    return contextlib.closing(dn.provider.docker_client(timeout=timeout))


def tunnel_of(dn) -> keys.Tunnel:
    return keys.Tunnel(dn.settings.instance, dn.settings.state_dir)


def _key_tar(text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("vm.key")
        data = (text + "\n").encode()
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class TunnelHelper(Step):
    name = "tunnel.helper"
    up_order = 22
    reach = "tunnel"
    summary = "start the tunnel's VM end: a helper container on the VM's network (wireguard-go)"

    def _container(self, client):
        try:
            return client.containers.get(tunnel_of(self.dn).container)
        except docker.errors.NotFound:
            return None

    def _env(self) -> dict[str, str]:
        t, ho = tunnel_of(self.dn), self.dn.settings.hostonly
        return {"IFACE": t.vm_iface, "VM_CIDR": ho.vm_cidr, "HOST_IP": str(ho.host_ip),
                "HOST_PUB": keys.public(t, "host"), **self.dn.provider.tunnel_dial().helper_env()}

    def check(self):
        if not self.dn.provider.tunnels():
            return f"reach is {self.dn.provider.reach()}: no tunnel"
        t = tunnel_of(self.dn)
        if not t.key("vm").exists() or not self.dn.provider.docker_answers():
            return None  # no keys, or no VM yet (a dry run plans vm.up before this)
        with docker_api(self.dn, 10) as client:
            c = self._container(client)
            if c is None or c.status != "running":
                return None
            env = dict(e.split("=", 1) for e in c.attrs["Config"]["Env"] or [] if "=" in e)
            wanted = self._env()
            if any(env.get(k) != v for k, v in wanted.items()):
                return None
            if (c.image.labels or {}).get(image.LABEL) != image.digest():
                return None  # an older helper image: imported and started anew
        return (f"helper {t.container} runs ({t.vm_iface} {wanted['VM_CIDR']}; "
                f"{self.dn.provider.tunnel_dial().describe()})")

    def plan(self):
        t = tunnel_of(self.dn)
        return [f"keys in {t.dir} (0600)", f"docker import {t.image}",
                f"docker run -d --name {t.container} --network host --cap-add NET_ADMIN "
                f"--device /dev/net/tun --restart always {t.image} "
                f"({self.dn.provider.tunnel_dial().describe()})"]

    def apply(self):
        t = tunnel_of(self.dn)
        made = keys.ensure_keys(t)
        self.dn.journal.record_first(self.name, container=t.container, image=t.image)
        with docker_api(self.dn, 60) as client:
            said = [image.ensure(client, t.image)]
            old = self._container(client)
            if old is not None:  # another config (a new key, address): replaced
                old.remove(force=True)
                said.append("replaced the old helper")
            c = client.containers.create(
                t.image, name=t.container, network_mode="host", cap_add=["NET_ADMIN"],
                devices=["/dev/net/tun:/dev/net/tun:rwm"], environment=self._env(),
                restart_policy={"Name": "always"}, tmpfs={"/run": ""},
                labels={"devnet.instance": self.dn.settings.instance}, init=False)
            c.put_archive("/etc/wireguard", _key_tar(keys.private(t, "vm")))
            c.start()
        keys_said = f"made {' and '.join(made)} keys; " if made else ""
        return f"{keys_said}{', '.join(said)}; started {t.container}"

    def verify(self):
        t = tunnel_of(self.dn)

        def up():
            with docker_api(self.dn, 10) as client:
                c = self._container(client)
                if c is None or c.status == "exited":
                    logs = c.logs(tail=10).decode(errors="replace") if c else "(gone)"
                    raise DevnetError(f"the tunnel helper {t.container} stopped:\n{logs}",
                                      f"docker logs {t.container}")
                return b"tunnel up" in c.logs(tail=5)

        wait_until(up, 15, f"the tunnel helper {t.container} to bring up {t.vm_iface}",
                   f"docker logs {t.container}")

    def describe_undo(self, args):
        return f"docker rm -f {args['container']}; docker rmi {args['image']} (VM)"

    def undo(self, args):
        said = []
        if not self.dn.provider.running():
            return "VM is not running: its helper container went with it"
        with docker_api(self.dn, 30) as client:
            try:
                c = client.containers.get(args["container"])
                c.stop(timeout=5)  # TERM: the entry takes its DOCKER-USER rule out
                c.remove(force=True)
                said.append(f"removed {args['container']}")
            except docker.errors.NotFound:
                pass
            try:
                client.images.remove(args["image"], force=True)
                said.append(f"image {args['image']}")
            except docker.errors.ImageNotFound:
                pass
        return ", ".join(said) or "helper and image were gone"
