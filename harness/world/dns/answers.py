"""DNS wire format for the authoritative server (dnslib): parse a query, build its answer.

Pure functions of (query, zone, decision): no sockets, no time. The server caches what they return.

Answers: NOERROR+AA with one A record per address (TTL = zone ttl); NXDOMAIN and NODATA carry the
SOA in authority (RFC 2308 §3); the apex answers SOA and NS (with the NS target's address as
glue); names outside the zone, classes other than IN/ANY and zone transfers get REFUSED; other
opcodes NOTIMP; EDNS versions above 0 BADVERS. What a query cannot contain (answer or authority
records, several additional records, compression in its question, names over 255 octets, labels
over 63) is refused with FORMERR from the header counts and a bounded walk, before dnslib parses
anything: no packet costs more than a short question's parse (docs/hardening.md).
A UDP answer larger than 512 bytes (RFC 1035 §4.2.1) or than the client's EDNS0 payload size
(RFC 6891 §6.2.5) is sent with TC=1 and no records (RFC 2181 §9): the client retries over TCP.
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
T_IXFR, T_AXFR = 251, 252
C_IN, C_ANY = 1, 255
OPCODE_QUERY = 0
EDNS_VERSION = 0  # the highest EDNS version this server implements (RFC 6891 §6.1.3)
MAX_NAME = 255  # octets of a domain name on the wire (RFC 1035 §2.3.4)
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
BADVERS = 16  # an extended rcode: 0 in the header, 1 in the OPT record's upper eight bits
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
    251: "IXFR",
    252: "AXFR",
    255: "ANY",
}


@dataclass(frozen=True, slots=True)
class Question:
    """A well-formed query: its parsed form and what the server needs to answer it."""

    request: DNSRecord
    name: str  # normalized
    qtype: int
    qclass: int
    qtype_label: str
    edns_payload: int | None  # the client's EDNS0 UDP payload size; None without EDNS0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A query answered without looking at the zone (or not at all: wire None)."""

    wire: bytes | None
    qtype_label: str
    rcode: str | None  # None: not a query at all (a response), not counted


def parse_query(data: bytes, *, udp: bool) -> Question | Rejection:
    """Check the header and sections with struct first, refusing what a query cannot contain,
    so that dnslib only ever parses one short uncompressed question and at most one additional
    record: the work per packet is bounded whatever arrives (no pointer chains to follow)."""
    if len(data) < 12:
        return Rejection(None, "other", "FORMERR")  # not even a header to answer
    _, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
    if flags & 0x8000:
        return Rejection(None, "other", None)  # a response: never answer (no reflection loops)
    if (flags >> 11) & 0xF != OPCODE_QUERY:
        # Sections of other opcodes (NOTIFY, UPDATE, ...) mean other things: header only.
        return Rejection(_header_reply(data, NOTIMP), "other", "NOTIMP")
    if qdcount != 1 or ancount or nscount or arcount > 1:
        return Rejection(_header_reply(data, FORMERR), "other", "FORMERR")
    end = _question_end(data)
    if end is None:
        return Rejection(_header_reply(data, FORMERR), "other", "FORMERR")
    edns: tuple[int, int] | None = None
    if arcount:
        extra = _additional(data, end)
        if extra is None:
            return Rejection(_header_reply(data, FORMERR), "other", "FORMERR")
        edns = extra if extra != _NOT_OPT else None
    elif end != len(data):
        return Rejection(_header_reply(data, FORMERR), "other", "FORMERR")  # trailing bytes
    try:
        request = DNSRecord.parse(data)
    except Exception:  # malformed input from the network must never escape
        return Rejection(_header_reply(data, FORMERR), "other", "FORMERR")
    qtype = request.q.qtype
    label = QTYPE_LABELS.get(qtype, "other")
    if edns is not None and edns[1] > EDNS_VERSION:
        return Rejection(_badvers(request, udp), label, "BADVERS")
    return Question(
        request=request,
        name=normalize(str(request.q.qname)),
        qtype=qtype,
        qclass=request.q.qclass,
        qtype_label=label,
        edns_payload=None if edns is None else edns[0],
    )


def _question_end(data: bytes) -> int | None:
    """Offset just past the question, or None if it is not a well-formed uncompressed name
    (RFC 1035 §4.1.4: a query's question is its first name, so there is nothing earlier to
    point at) of labels ≤ 63 octets and ≤ 255 octets in all (RFC 1035 §2.3.4). At most 128
    steps, since every label takes at least two octets of the 255."""
    offset = 12
    total = 0
    while True:
        if offset >= len(data):
            return None
        length = data[offset]
        if length & 0xC0:
            return None  # a pointer (11), or an extended label type (01, 10: RFC 6891 §5)
        total += length + 1
        if total > MAX_NAME:
            return None
        offset += length + 1
        if length == 0:
            break
    offset += 4  # QTYPE, QCLASS
    return offset if offset <= len(data) else None


_NOT_OPT = (-1, -1)


def _additional(data: bytes, offset: int) -> tuple[int, int] | None:
    """The one additional record, which must end the packet: (payload, version) for an OPT
    record (RFC 6891 §6.1.2, its owner is the root), `_NOT_OPT` for another type (TSIG, ...,
    which this server ignores), None if malformed. Another type's owner may be compressed:
    one pointer, backwards into the question, is all it may take."""
    if offset >= len(data):
        return None
    first = data[offset]
    if first == 0:
        offset += 1
    elif first & 0xC0 == 0xC0 and offset + 2 <= len(data):
        if (int.from_bytes(data[offset : offset + 2], "big") & 0x3FFF) >= offset:
            return None
        offset += 2
    else:
        return None
    if offset + 10 > len(data):
        return None
    rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
    if offset + 10 + rdlength != len(data):
        return None
    if rtype != T_OPT:
        return _NOT_OPT
    if first != 0:
        return None
    return rclass, (ttl >> 16) & 0xFF


def refused(zone: Zone, question: Question) -> bool:
    """Queries this server will not answer from the zone: names outside it; classes other
    than IN (and ANY, which matches IN) — it holds no zone of class CH, HS, ..., and BIND, NSD
    and Knot likewise answer REFUSED for a zone they are not authoritative for; and zone
    transfers (AXFR, IXFR), which it does not offer to anyone."""
    return (
        not zone.contains(question.name)
        or question.qclass not in (C_IN, C_ANY)
        or question.qtype in (T_AXFR, T_IXFR)
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
        for address in zone.lookup(zone.ns) or ():  # glue: the NS target's address
            reply.add_ar(RR(zone.ns + ".", T_A, rdata=A(address), ttl=zone.ttl))
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


def servfail(data: bytes) -> bytes | None:
    """A header-only SERVFAIL for a query that could not be answered (None: no header)."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    return _header_reply(data, SERVFAIL)


def _header_reply(data: bytes, rcode: int) -> bytes:
    """A header-only reply echoing the query's ID, opcode and RD (the query has a header)."""
    ident, flags = struct.unpack_from("!HH", data)
    flags = 0x8000 | (flags & 0x7900) | rcode  # QR; keep opcode and RD
    return struct.pack("!HHHHHH", ident, flags, 0, 0, 0, 0)


def _badvers(request: DNSRecord, udp: bool) -> bytes:
    """BADVERS (RFC 6891 §6.1.3): header rcode 0, extended rcode 1, our version (0) in the OPT."""
    reply = _reply(request, NOERROR)
    reply.add_ar(EDNS0(ext_rcode=BADVERS >> 4, version=EDNS_VERSION, udp_len=OUR_EDNS_PAYLOAD))
    return pack(request, reply, udp)
