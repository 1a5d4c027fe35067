"""DNS wire format for the authoritative server (dnslib): parse a query, build its answer.

Pure functions of (query, zone, decision): no sockets, no time. The server caches what they return.

Answers: NOERROR+AA with one A record per address (TTL = zone ttl); NXDOMAIN and NODATA carry the
SOA in authority (RFC 2308 §3); the apex answers SOA and NS; names outside the zone get REFUSED; a
packet whose header parses but body does not gets FORMERR. A UDP answer larger than 512 bytes
(RFC 1035 §4.2.1) or than the client's EDNS0 payload size (RFC 6891 §6.2.5) is sent with TC=1 and
no records (RFC 2181 §9): the client retries over TCP.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dnslib import EDNS0, NS, RR, SOA, A, DNSHeader, DNSRecord

from harness.world.dns.zone import Decision, Zone, normalize

UDP_LIMIT = 512
MAX_EDNS_PAYLOAD = 4096
OUR_EDNS_PAYLOAD = 1232  # DNS Flag Day 2020 recommendation
T_A, T_NS, T_SOA, T_OPT, T_ANY = 1, 2, 6, 41, 255
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPE_LABELS = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
}


@dataclass(frozen=True, slots=True)
class Question:
    """A well-formed query: its parsed form and what the server needs to answer it."""

    request: DNSRecord
    name: str  # normalized
    qtype: int
    qtype_label: str
    edns_payload: int | None  # the client's EDNS0 UDP payload size; None without EDNS0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A query answered without looking at the zone (or not at all: wire None)."""

    wire: bytes | None
    qtype_label: str
    rcode: str | None  # None: not a query at all (a response), not counted


def parse_query(data: bytes, *, udp: bool) -> Question | Rejection:
    try:
        request = DNSRecord.parse(data)
    except Exception:  # malformed input from the network must never escape
        return Rejection(_formerr(data), "other", "FORMERR")
    header = request.header
    if header.qr:
        return Rejection(None, "other", None)  # a response: never answer (no reflection loops)
    if header.opcode != 0 or len(request.questions) != 1:
        rcode = NOTIMP if header.opcode != 0 else FORMERR
        return Rejection(pack(request, _reply(request, rcode), udp), "other", RCODE_NAMES[rcode])
    opt = next((rr for rr in request.ar if rr.rtype == T_OPT), None)
    qtype = request.q.qtype
    return Question(
        request=request,
        name=normalize(str(request.q.qname)),
        qtype=qtype,
        qtype_label=QTYPE_LABELS.get(qtype, "other"),
        edns_payload=None if opt is None else int(opt.rclass),
    )


def refuse(question: Question, *, udp: bool) -> bytes:
    return pack(question.request, _reply(question.request, REFUSED), udp, question.edns_payload)


def answer(zone: Zone, question: Question, decision: Decision, *, udp: bool) -> tuple[bytes, str]:
    """The wire answer per the zone and the override decision, and its rcode name."""
    reply = build(zone, question, decision)
    rcode = RCODE_NAMES.get(reply.header.rcode, "other")
    return pack(question.request, reply, udp, question.edns_payload), rcode


def build(zone: Zone, question: Question, decision: Decision) -> DNSRecord:
    request = question.request
    verdict = decision.verdict
    if verdict == "servfail":
        return _reply(request, SERVFAIL)
    if verdict == "nxdomain":
        return _negative(zone, request, NXDOMAIN)
    if verdict == "nodata":
        return _negative(zone, request, NOERROR)
    name, qtype = question.name, question.qtype
    addresses = decision.addresses if verdict == "addresses" else zone.lookup(name)
    if addresses is None:
        return _negative(zone, request, NXDOMAIN)
    reply = _reply(request, NOERROR, aa=True)
    qname = request.q.qname
    if qtype in (T_A, T_ANY):
        for address in addresses:
            reply.add_answer(RR(qname, T_A, rdata=A(address), ttl=zone.ttl))
    if name == zone.origin and qtype in (T_SOA, T_ANY):
        reply.add_answer(soa_record(zone))
    if name == zone.origin and qtype in (T_NS, T_ANY):
        reply.add_answer(RR(qname, T_NS, rdata=NS(zone.ns + "."), ttl=zone.ttl))
    if not reply.rr:
        reply.add_auth(soa_record(zone))  # NODATA
    return reply


def soa_record(zone: Zone) -> RR:
    soa = zone.soa()
    times = (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum)
    rdata = SOA(soa.mname + ".", soa.rname + ".", times)
    return RR(zone.origin + ".", T_SOA, rdata=rdata, ttl=soa.ttl)


def pack(request: DNSRecord, reply: DNSRecord, udp: bool, edns_payload: int | None = None) -> bytes:
    """Wire form of `reply`; over UDP, a TC=1 stub if it does not fit the client's limit."""
    if edns_payload is not None:
        reply.add_ar(EDNS0(udp_len=OUR_EDNS_PAYLOAD))
    wire: bytes = reply.pack()
    if not udp:
        return wire
    limit = UDP_LIMIT
    if edns_payload is not None:
        limit = max(UDP_LIMIT, min(edns_payload, MAX_EDNS_PAYLOAD))
    if len(wire) <= limit:
        return wire
    truncated = _reply(request, reply.header.rcode, aa=bool(reply.header.aa))
    truncated.header.tc = 1
    if edns_payload is not None:
        truncated.add_ar(EDNS0(udp_len=OUR_EDNS_PAYLOAD))
    packed: bytes = truncated.pack()
    return packed


def _negative(zone: Zone, request: DNSRecord, rcode: int) -> DNSRecord:
    reply = _reply(request, rcode, aa=True)
    reply.add_auth(soa_record(zone))
    return reply


def _reply(request: DNSRecord, rcode: int, *, aa: bool = False) -> DNSRecord:
    header = DNSHeader(
        id=request.header.id, qr=1, aa=int(aa), rd=request.header.rd, ra=0, rcode=rcode
    )
    return DNSRecord(header, questions=list(request.questions))


def _formerr(data: bytes) -> bytes | None:
    """FORMERR echoing the ID, if the 12-byte header is there and is not itself a response."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    ident, flags = struct.unpack_from("!HH", data)
    flags = 0x8000 | (flags & 0x7900) | FORMERR  # QR; keep opcode and RD
    return struct.pack("!HHHHHH", ident, flags, 0, 0, 0, 0)
