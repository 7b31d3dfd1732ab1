"""tunnel.*: the WireGuard tunnel's steps one by one (VMs without a host-only network): what
`invoke doctor` names as the fix for a broken tunnel hop."""

from __future__ import annotations

from invoke import Collection

from devnet.steps.tunnel_dns import TunnelDns
from devnet.steps.tunnel_helper import TunnelHelper
from devnet.steps.tunnel_link import TunnelLink
from devnet.tasks.common import step_task

ns = Collection("tunnel", step_task(TunnelHelper), step_task(TunnelLink), step_task(TunnelDns))
