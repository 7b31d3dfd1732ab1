"""devnet's Invoke namespace: composed here, implemented in devnet/."""

from invoke import Collection

from devnet.tasks import net, sim, test, top, vm

ns = Collection.from_module(top)
for sub in (vm.ns, net.ns, sim.ns, test.ns):
    ns.add_collection(sub)
