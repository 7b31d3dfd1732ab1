"""devnet's Invoke namespace: composed here, implemented in devnet/."""

from invoke import Collection

from devnet import config
from devnet.tasks import dns, docker, net, sim, test, top, tunnel, vm, vpn

ns = Collection.from_module(top)
for sub in (vm.ns, net.ns, docker.ns, dns.ns, vpn.ns, sim.ns, test.ns, tunnel.ns):
    ns.add_collection(sub)
# The defaults, declared once (devnet/defaults.py + the provider registry); invoke.yaml,
# ~/.invoke.yaml and INVOKE_DEVNET_* override them, in Invoke's usual order.
ns.configure({"devnet": config.defaults()})
