"""Answers rendered with dnspython (the slow path's): the flags a resolver sets, the OPT the
query asked for, and what does not fit: TC over UDP, SERVFAIL past 65,535 bytes."""

from __future__ import annotations

import struct

import dns.exception
import dns.flags
import dns.message
import dns.rcode
from devnet.dns.wire import EDNS_PAYLOAD


def finish(query, resp, recurse: bool, udp: bool, stats) -> bytes:
    """resp's bytes: RA when the client may recurse, CD copied (RFC 6840 5.9)."""
    if recurse:
        resp.flags |= dns.flags.RA
    resp.flags |= query.flags & dns.flags.CD
    return render(resp, query, udp, stats)


def render(resp, query, udp: bool, stats) -> bytes:
    if query.edns >= 0:  # OPT in the answer when the query had one; DO echoed (RFC 3225)
        resp.use_edns(0, query.ednsflags & dns.flags.DO, EDNS_PAYLOAD, pad=0)
    if not udp:
        try:
            return resp.to_wire(max_size=65535)
        except dns.exception.TooBig:  # not even TCP can carry it
            stats["too_big"] += 1
            return emptied(resp, dns.rcode.SERVFAIL).to_wire()
    limit = min(max(512, query.payload), EDNS_PAYLOAD) if query.edns >= 0 else 512
    try:
        return resp.to_wire(max_size=limit)
    except dns.exception.TooBig:
        stats["truncated"] += 1
        resp = emptied(resp, resp.rcode())
        resp.flags |= dns.flags.TC
        return resp.to_wire(max_size=limit)


def emptied(resp, rcode):
    resp.answer.clear()
    resp.authority.clear()
    resp.additional.clear()
    resp.set_rcode(rcode)
    return resp


def formerr(wire: bytes, stats) -> bytes:
    stats["formerr"] += 1
    flags = 0x8000 | (wire[2] & 0x79) << 8 | dns.rcode.FORMERR  # QR, opcode, RD kept
    return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)


def error(query, rcode) -> bytes:
    resp = dns.message.make_response(query, pad=0)
    resp.flags |= query.flags & dns.flags.CD
    if query.edns >= 0:  # OPT back, in the version we speak (BADVERS included)
        resp.use_edns(0, query.ednsflags & dns.flags.DO, EDNS_PAYLOAD, pad=0)
    resp.set_rcode(rcode)
    return resp.to_wire()
