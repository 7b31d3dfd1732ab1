"""vpn.fix: repair what a VPN client broke (what devnet.vpn.fix finds), the least that works:
devnet's own firewall exceptions, routes and policy rules put back, the resolver first again;
every change journaled, so `vpn.restore` and `down` take back exactly it."""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.host.routes import describe
from devnet.steps.base import Step
from devnet.steps.resolver import DnsResolver
from devnet.steps.tunnel_link import wait_vm_end
from devnet.vpn.fix import firewall_problems, repairable, route_problems
from devnet.vpn.routes import Problem

_NOT_FIREWALL = ("route", "hostonly", "policy", "resolver")
# a journal entry of a devnet that still deleted rules: say what it was, change nothing
_OLDER = "an older devnet deleted the firewall rule {0} (not put back: re-add it by hand if wanted)"
FIREWALL_ROUNDS = 4  # each round, one exception per chain that dropped a probe


class VpnFix(Step):
    name = "vpn.fix"
    on_host = True
    summary = "find and repair what a VPN client broke: firewall rules, routes, resolver"

    def diagnose(self) -> list[Problem]:
        problems = route_problems(self.dn)
        if problems:  # probes follow the routes: the firewall is judged once they are right
            problems.append(Problem("deferred", "firewall: judged once the routes are right",
                                    {}))
        else:
            problems += firewall_problems(self.dn)
        resolver = DnsResolver(self.dn)
        if self.dn.journal.has_step(resolver.name) and resolver.check() is None:
            problems.append(Problem("resolver", "resolver: devnet's DNS is not asked first", {}))
        return problems

    _found: list[Problem] | None = None  # what check() saw, repaired by apply()

    def check(self):
        self._found = self.diagnose()
        if repairable(self._found):
            return None
        notes = "".join(f"; {p.text}" for p in self._found)
        return f"nothing blocks devnet (firewall, routes, resolver){notes}"

    def plan(self):
        return [p.text for p in (self._found if self._found is not None else self.diagnose())]

    def apply(self):
        said = []
        found, self._found = (self._found if self._found is not None else self.diagnose()), None
        for p in found:
            if p.kind in _NOT_FIREWALL:
                said.append(getattr(self, f"_fix_{p.kind}")(p))
        # the firewall judged again with the routes right: the probes take devnet's path now;
        # again after each exception: a reply can meet the next drop (an input chain, another
        # table on the same hook)
        for _ in range(FIREWALL_ROUNDS):
            found = firewall_problems(self.dn)
            said += [self._fix_firewall(p) for p in repairable(found)]
            if not repairable(found):
                said += [p.text for p in found]
                break
        return "; ".join(said) or "nothing left to repair"

    def _fix_firewall(self, p: Problem) -> str:
        def record(**args):
            self.dn.journal.record(self.name, kind=p.kind, **args)

        return self.dn.os.add_exception(self.dn.host, p.kind, p.data, record)

    def _fix_route(self, p: Problem) -> str:
        dst, via = p.data["dst"], self.dn.gateway
        if p.data["was"]:
            self.dn.journal.record(self.name, kind="route", dst=dst, was=p.data["was"])
        self.dn.os.replace_route(self.dn.host, dst, via=via)
        return f"route {dst} via {via} again"

    def _fix_hostonly(self, p: Problem) -> str:
        ho, link = self.dn.settings.hostonly, self.dn.provider.hostonly_link()
        if p.data["was"]:
            self.dn.journal.record(self.name, kind="hostonly", was=p.data["was"])
        self.dn.os.replace_route(self.dn.host, ho.network, dev=link, src=ho.host_ip)
        return f"route {ho.network} dev {link} again"

    def _fix_policy(self, p: Problem) -> str:
        dst, prio = p.data["dst"], p.data.get("priority")
        if not prio:
            raise DevnetError(p.text + "; changed nothing",
                              f"ip rule; ip route get {dst.split('/')[0]}   (and tell devnet's "
                              "maintainers what the VPN set up)")
        self.dn.journal.record(self.name, kind="policy", dst=dst, priority=prio)
        self.dn.os.add_policy_rule(self.dn.host, dst, prio)
        return f"rule {prio}: to {dst} lookup main (before the VPN's `{p.data['by']}`)"

    def _fix_resolver(self, p: Problem) -> str:
        return "resolver: " + DnsResolver(self.dn).apply()

    def verify(self):
        left = repairable(self.diagnose())
        if left:
            raise DevnetError("still broken after the repair: " + "; ".join(p.text for p in left),
                              "invoke vpn.fix --dry-run   (and see what changed it again)")
        if self.dn.provider.tunnels():
            self._tunnel_back()

    def _tunnel_back(self) -> None:
        """Through the tunnel the repair shows once WireGuard has a session again: the
        handshakes tried while the VPN held devnet's routes were lost, and the keeper redials
        as soon as the VM's end is silent. Wait for that here (a few seconds), rather than
        leave the user a reach that comes back by itself a little later."""
        wait_vm_end(self.dn, "after the repair", "invoke doctor   (which hop of the tunnel fails)")

    # undo: one handler pair per journaled kind, `_describe_<kind>` and `_undo_<kind>`, as
    # apply's `_fix_<kind>`; a kind with none is a chain the OS adapter named (iptables, nft,
    # ipfw, pf, ...): the firewall's
    def _undoer(self, verb: str, kind: str):
        return getattr(self, f"_{verb}_{kind}", None) or getattr(self, f"_{verb}_firewall")

    def describe_undo(self, args):
        return self._undoer("describe", args["kind"])(args)

    def undo(self, args):
        return self._undoer("undo", args["kind"])(args)

    def _describe_policy(self, args) -> str:
        return f"ip rule del priority {args['priority']} to {args['dst']} lookup main"

    def _undo_policy(self, args) -> str:
        gone = not self.dn.os.delete_policy_rule(self.dn.host, args["dst"], args["priority"])
        return f"rule {args['priority']}: to {args['dst']} lookup main " + (
            "was gone" if gone else "removed")

    def _describe_route(self, args) -> str:
        return f"put back the VPN's route {describe(args['was'])}"

    def _undo_route(self, args) -> str:
        was = args["was"]
        out = self.dn.os.replace_route(self.dn.host, was["dst"], via=was.get("gateway"),
                                       dev=was.get("dev"), warn=True)
        if out.failed:
            return f"route {was['dst']} could not be put back ({out.stderr.strip()})"
        return f"put back route {describe(was)}"

    # the host-only network's own route: the VPN's put back as any other route
    _describe_hostonly, _undo_hostonly = _describe_route, _undo_route

    def _describe_firewall(self, args) -> str:
        if "mark" not in args:
            return _OLDER.format(args)
        return self.dn.os.describe_exception(args["kind"], args)

    def _undo_firewall(self, args) -> str:
        if "mark" not in args:
            return _OLDER.format(args)  # never re-adds a deny: that would break devnet again
        return self.dn.os.remove_exception(self.dn.host, args["kind"], args)
