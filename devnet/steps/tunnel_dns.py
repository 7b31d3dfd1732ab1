"""tunnel.dns: devnet's DNS service where the VM is reached only through its Docker socket (no
SSH): the same service, as a container started through the Docker API, serving on the bridge
address, which the host reaches over the tunnel's route like any container."""

from __future__ import annotations

import json

import docker

from devnet import python_image
from devnet.dns import container
from devnet.dns.control import RUN_DIR, STATUS, service_args
from devnet.errors import DevnetError
from devnet.host import resolver_health
from devnet.steps.base import Step
from devnet.steps.tunnel_helper import docker_api
from devnet.steps.tunnel_link import TUNNEL_BACK
from devnet.system import cmd, wait_until


def base_image(dn) -> str:
    """dns.image; where the VM reaches no registry (sim-desktop) the offline Python image."""
    default = "python:3.11-slim"
    if dn.settings.dns.image == default and dn.provider.offline:
        return python_image.TAG
    return dn.settings.dns.image


class TunnelDns(Step):
    name = "tunnel.dns"
    up_order = 75
    reach = ("tunnel", "native")  # no SSH into the VM either way: the Docker API's container
    inside_vm = True
    summary = "run devnet's DNS service in the VM as a container (Docker API), on the bridge IP"

    def _get(self, client):
        try:
            return client.containers.get(container.NAME)
        except docker.errors.NotFound:
            return None

    def _status(self, c) -> dict | None:
        if c is None or c.status != "running":
            return None
        # python3, not cat: the offline Python image has nothing but the interpreter
        out = c.exec_run(["python3", "-c", f"print(open({STATUS!r}).read())"])
        try:
            st = json.loads(out.output) if out.exit_code == 0 else None
        except ValueError:
            return None
        return st if st and st.get("args") == service_args(self.dn.settings) else None

    def status(self) -> dict | None:
        with docker_api(self.dn, 10) as client:
            return self._status(self._get(client))

    def _bridge_ok(self, client) -> bool:
        cfg = client.networks.get("bridge").attrs["IPAM"]["Config"] or [{}]
        return any(c.get("Gateway") == self.dn.settings.dns_ip for c in cfg)

    def check(self):
        if self.dn.provider.reach() not in self.reaches():
            return f"reach is {self.dn.provider.reach()}: dns.start runs the DNS service"
        st = self.status() if self.dn.provider.docker_answers() else None
        return (f"DNS serving {st['domain']} on {st['listen']}, {st['containers']} container(s)"
                if st else None)

    def plan(self):
        s = self.dn.settings
        return [f"docker run -d --name {container.NAME} --network host --restart always "
                f"devnet/dns (.{s.dns.domain} on {s.dns_ip}:53, VM)"]

    def apply(self):
        dn = self.dn
        with docker_api(dn, 120) as client:
            if not self._bridge_ok(client):
                raise DevnetError(
                    f"the VM's bridge has not got devnet.docker.bip's address {dn.settings.dns_ip}",
                    "set devnet.docker.bip to the bridge's address (docker network inspect "
                    "bridge), or set \"bip\" in Docker Desktop's Settings -> Docker Engine")
            dn.journal.record_first(self.name, container=container.NAME)
            base = base_image(dn)
            if base == python_image.TAG:
                python_image.ensure(client)
            tag = container.ensure_image(client, base)
            old = self._get(client)
            if old is not None:
                old.remove(force=True)
            client.containers.run(
                tag, service_args(dn.settings), name=container.NAME, detach=True,
                network_mode="host", restart_policy={"Name": "always"},
                labels={"devnet": "dns"}, tmpfs={RUN_DIR: ""},
                volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock"},
                         "/etc/resolv.conf": {"bind": "/etc/resolv.conf", "mode": "ro"}})
        return f"DNS for .{dn.settings.dns.domain} on {dn.settings.dns_ip}:53 as {container.NAME}"

    def verify(self):
        ip, dn = self.dn.settings.dns_ip, self.dn
        wait_until(self.status, max(15, dn.settings.start_timeout), "the DNS service's status",
                   f"docker logs {container.NAME}")
        probe = cmd("dig", "+short", "+time=1", "+tries=1", f"@{ip}",
                    f"ns.{dn.settings.dns.domain}")
        said = ""

        def answers() -> bool:
            nonlocal said
            out = dn.host.run(probe, hide=True, warn=True)
            said = out.stdout.strip() or out.stderr.strip() or "nothing"
            return out.stdout.strip() == ip

        # right after the VM (or its dockerd) restarted, the tunnel re-handshakes (the keeper
        # sees it at once; reach is back within about 2 s): wait for it, not one dig
        try:
            wait_until(answers, TUNNEL_BACK, "an answer over the tunnel", "invoke status")
        except DevnetError as e:
            raise DevnetError(f"the host got no answer from {ip}:53 over the tunnel ({said})",
                              "invoke status") from e
        resolver_health.put_back(dn)

    def describe_undo(self, args):
        return f"docker rm -f {args['container']} (VM)"

    def undo(self, args):
        if not self.dn.provider.running():
            return "VM is not running: the DNS container went with it"
        with docker_api(self.dn, 30) as client:
            c = self._get(client)
            if c is None:
                return f"{args['container']} was gone"
            c.remove(force=True)
        return f"removed {args['container']}"
