#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_lwip (tests/fuzz/corpus/lwip/).

Each seed is a client as fuzz_lwip.c reads one: the SYN's options and the
connection's parameters, then operations.  The seeds start the fuzzer on
paths a random input reaches late: SACK blocks on the segment boundaries
of lwIP's queue, loss found by the scoreboard and by time, the tail loss
probe and the RTO, a zero window, a tiny MSS, a connection without SACK,
a reset and a new connection on the same 4-tuple.

usage: tests/fuzz/lwip_seeds.py [DIR]
"""
import os
import struct
import sys


def u8(v):
    return struct.pack(">B", v & 0xff)


def u16(v):
    return struct.pack(">H", v & 0xffff)


def u32(v):
    return struct.pack(">I", v & 0xffffffff)


# SYN options (fz_connect's "what"), the client's family (IPV6), and
# segments before the handshake's ACK (EARLY, with early()).
MSS, TINY, WS, SACK, TS, IPV6, EARLY = 1, 2, 4, 8, 0x10, 0x40, 0x80


def header(what, mss=1460, ws=7, win=0xffff, kb=256, chunk=16384,
           clock=1000000, c_isn=0x1000, isn=0x2000, tsval=100):
    """The input's clock and fz_connect's bytes; kb: the answer in KB."""
    return (u32(clock) + u8(what) + u16(mss) + u8(ws) + u32(c_isn) +
            u16(win) + u32(isn) + u8(kb // 2 - 1) + u16(chunk - 1) +
            u32(tsval))


def early(*segs):
    """Segments lwIP gets in SYN_RCVD: (flags, seq - client ISN, ack -
    (server ISN + 1), payload length) each."""
    out = u8(len(segs))
    for fl, ds, da, n in segs:
        out += u8(fl) + u16(ds) + u8(da) + u8(n)
    return out


# SACK edges (fz_edge).
def bnd(k):
    """The start of the k-th unacked segment (k < 64)."""
    return u8(k)


def near(off, nxt=False):
    return u8(0x80 | (1 if nxt else 0)) + u16(off)


# Acknowledgment modes (fz_ack): each with the bytes it reads.
def a_una():
    return (0, b"")


def a_nxt():
    return (1, b"")


def a_bnd(k):
    return (2, u8(k))


def a_beyond(d):
    return (6, u16(d))


def a_behind(d):
    return (5, u16(d))


def seg(ack=a_una(), seq=(0, b""), pay=(0, b""), ctl=0, variant=0,
        win=None, ts=True, sacks=(), raw=None):
    """A client segment (fz_segment); win: None keeps the window, 0 shuts
    it, else a new 16-bit window field."""
    kind = ack[0] | seq[0] << 3 | pay[0] << 5
    if win is None:
        wmode, wbytes = 0, b""
    elif win == 0:
        wmode, wbytes = 1, b""
    else:
        wmode, wbytes = 3, u16(win)
    fl = ctl | variant << 3 | wmode << 6
    if raw is not None:
        om = 5 << 1
        tail = u8(len(raw)) + raw
    else:
        om = (1 if ts else 0) | len(sacks) << 1
        tail = b""
        for left, right in sacks:
            tail += left + right
    return (u8(0) + u8(kind) + u8(fl) + u8(om) + ack[1] + seq[1] + pay[1] +
            wbytes + tail)


def tick(ms):
    return u8(9) + u8(ms)


def ticks(n, step5):
    """n steps of 5 * step5 ms each."""
    return u8(11) + u8(n - 1) + u8(step5 - 1)


def write(kb):
    return u8(12) + u8(kb - 1)


def hold():
    return u8(13)


def shut():
    return u8(15) + u8(0)


def close():
    return u8(15) + u8(1)


FIN, RST, SYN, NOACK = 4, 5, 6, 7


def seeds():
    s = {}
    # Holes reported by SACK blocks on segment boundaries: recovery,
    # retransmissions by the pipe, RACK by time, the recovery point acked.
    s["sack-recovery"] = (
        header(MSS | WS | SACK | TS) + tick(1) +
        seg(a_bnd(2), sacks=[(bnd(4), bnd(8))]) +
        seg(a_bnd(2), sacks=[(bnd(4), bnd(10)), (bnd(12), bnd(14))]) +
        seg(a_bnd(2), sacks=[(bnd(4), bnd(16))]) + tick(30) +
        seg(a_bnd(3), sacks=[(bnd(2), bnd(20))]) +
        ticks(10, 4) + seg(a_nxt()) + ticks(20, 20) +
        seg(a_bnd(1), sacks=[(bnd(3), near(0, True))]) + seg(a_nxt()))
    # Tail loss: nothing heard, a probe, then the RTO with a SACKed head
    # (reneging) and acks of the retransmissions.
    s["tlp-rto"] = (
        header(MSS | WS | SACK | TS, kb=64) + ticks(30, 10) +
        seg(a_una(), sacks=[(bnd(0), bnd(3))]) + ticks(32, 100) +
        seg(a_bnd(1), sacks=[(bnd(2), bnd(5)), (bnd(7), bnd(9))]) +
        ticks(32, 200) + seg(a_nxt()) + shut() + seg(a_nxt(), ctl=FIN) +
        ticks(4, 100))
    # A client whose SYN says MSS 8: lwIP raises it to 48 and cuts the
    # answer in many small segments.
    s["tiny-mss"] = (
        header(MSS | TINY | WS | SACK | TS, mss=7, kb=32, chunk=1000) +
        seg(a_bnd(5), sacks=[(bnd(7), bnd(9)), (bnd(11), bnd(13)),
                             (bnd(20), bnd(40))]) +
        tick(50) + seg(a_bnd(40)) + ticks(8, 60) + seg(a_nxt()))
    # No SACK: lwIP's Reno fast retransmit after three duplicate ACKs.
    s["reno"] = (
        header(MSS | WS, kb=128) + seg(a_bnd(1)) + seg(a_bnd(1)) +
        seg(a_bnd(1)) + seg(a_bnd(1)) + seg(a_bnd(5)) + ticks(10, 100) +
        seg(a_nxt()) + write(16) + seg(a_nxt()))
    # A window shut and opened again: persist probes, a window smaller
    # than a segment, the client's data held by the server.
    s["zero-window"] = (
        header(MSS | WS | SACK | TS, kb=32) + seg(a_bnd(2), win=0) +
        ticks(20, 100) + seg(a_bnd(2), win=1) + ticks(10, 100) +
        hold() + seg(a_bnd(3), pay=(6, u16(1000)), win=0x200) +
        seg(a_bnd(4), seq=(1, u16(3000)), pay=(6, u16(500))) +
        hold() + seg(a_nxt(), win=0xffff) + close() +
        seg(a_nxt(), ctl=FIN) + ticks(4, 100))
    # Acknowledgments a blind attacker might guess (RFC 5961): beyond
    # SND.NXT, far behind SND.UNA, data without ACK.
    s["blind"] = (
        header(MSS | WS | SACK | TS) +
        seg(a_beyond(1000), pay=(4, u8(9))) +
        seg(a_behind(40000), pay=(4, u8(9))) +
        seg(a_una(), ctl=NOACK, pay=(4, u8(3))) +
        seg(a_nxt(), sacks=[(near(0xff00), near(200, True))]))
    # Reset, and a new SYN on the same 4-tuple, its options raw.
    synopts = (u8(2) + u8(4) + u16(536) + u8(4) + u8(2) + u8(1) + u8(1) +
               u8(8) + u8(10) + u32(5) + u32(0))
    s["reconnect"] = (
        header(MSS | SACK | TS, kb=16) + seg(a_bnd(3)) +
        seg(a_nxt(), ctl=RST) + tick(10) +
        seg(a_una(), seq=(3, u32(0x7fff0000)), ctl=SYN, raw=synopts) +
        seg(a_nxt()) + seg(a_bnd(2), sacks=[(bnd(3), bnd(4))]) +
        ticks(10, 40))
    # The same over IPv6: recovery, and a reset and a new connection.
    s["ipv6-sack-recovery"] = (
        header(IPV6 | MSS | WS | SACK | TS) + tick(1) +
        seg(a_bnd(2), sacks=[(bnd(4), bnd(8))]) + tick(30) +
        seg(a_bnd(3), sacks=[(bnd(2), bnd(20))]) + ticks(10, 4) +
        seg(a_nxt()) + shut() + seg(a_nxt(), ctl=FIN) + ticks(4, 100))
    s["ipv6-reconnect"] = (
        header(IPV6 | MSS | SACK | TS, kb=16) + seg(a_bnd(3)) +
        seg(a_nxt(), ctl=RST) + tick(10) +
        seg(a_una(), seq=(3, u32(0x7fff0000)), ctl=SYN, raw=synopts) +
        seg(a_nxt()) + ticks(10, 40))
    # A SYN-ACK with the request, and one with a FIN too, in place of the
    # handshake's ACK: the SYN takes a sequence number of its own.
    s["synrcvd-syn-data"] = (
        header(EARLY | MSS | WS | SACK | TS) +
        early((0x12, 0, 0, 27), (0x13, 0, 0, 28), (0x12, 10, 0, 10)) +
        seg(a_nxt(), pay=(4, u8(9))) + seg(a_nxt()))
    # No SACK: a fast retransmit into a shut window, then the RTO, then a
    # window of 65536: the retransmission starts where the client is.
    s["rto-after-rexmit"] = (
        header(MSS | WS, kb=8) + seg(a_bnd(1), win=0) + seg(a_una()) +
        seg(a_una()) + seg(a_una()) + ticks(60, 20) +
        seg(a_una(), win=512) + ticks(20, 20) + seg(a_nxt()))
    return s


def main():
    top = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "corpus",
                                                             "lwip")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
