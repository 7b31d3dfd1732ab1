"""The developer's machine: one adapter module per OS, devnet.host.linux and
devnet.host.macos, with the same functions, so every host step plans, applies and verifies
the same way and only the commands differ:

  routes, route_to, add_route, delete_route, replace_route, route_get, monitor_argv
  resolver_method, resolvers, flush_dns
  firewall_problems, add_exception, remove_exception, describe_exception   (vpn.fix)
  conflicts, describe, destination   (OS-neutral, from devnet.host.routes)
  POLICY_ROUTING; on Linux: rules, all_routes, kernel_route, choose, same, describe_rule,
  free_priority_below, add_policy_rule, delete_policy_rule   (ip rule, devnet.host.linux_policy)

Only this package imports devnet.host.linux and devnet.host.macos; the rest asks `dn.os`.

Commands that change the machine (and firewall reads) go through sudo when the Context is
not root (devnet.host.sudo).
"""

from __future__ import annotations

import sys

from devnet.host import linux, macos


def os_adapter(c):
    """devnet.host.linux or devnet.host.macos, for the machine Context `c` runs on."""
    out = c.run("uname -s", hide=True, warn=True)
    return macos if out.ok and out.stdout.strip() == "Darwin" else linux


def this_machine():
    """The adapter for the machine this process runs on (a program devnet starts there, as
    the tunnel's keeper, has no Context to ask)."""
    return macos if sys.platform == "darwin" else linux
