#!/usr/bin/env python3
"""Hand-made IPv6 packets for the namespace tests' attacks.

raw6.py tcp SRC SPORT DST DPORT FLAGS SEQ ACK [--dev DEV --mac MAC]
    a bare TCP segment (FLAGS of S, A, R, F, P), sent by the kernel's
    routing, or as an Ethernet frame out of DEV to MAC (so that its source
    address need not be this host's)
raw6.py ptb SRC DST QSRC QSPORT QDST QDPORT MTU
    an ICMPv6 packet too big from SRC to DST quoting a TCP segment
    QSRC:QSPORT > QDST:QDPORT
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawtcp import csum  # noqa: E402

FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}


def ip6(src, dst, nh, payload, csum_at):
    """An IPv6 packet around payload, whose checksum (at csum_at) covers
    RFC 8200's pseudo-header."""
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    c = csum(s + d + struct.pack("!I3xB", len(payload), nh) + payload)
    payload = payload[:csum_at] + struct.pack("!H", c) + payload[csum_at + 2:]
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + s + d + payload


def tcp6(src, sport, dst, dport, flags, seq, ack):
    fl = sum(FLAGS[f] for f in flags)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, fl, 65535, 0, 0)
    return ip6(src, dst, 6, seg, 16)


def send(pkt, dev=None, mac=None):
    if dev is None:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(pkt, (socket.inet_ntop(socket.AF_INET6, pkt[24:40]), 0))
        return
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    with open("/sys/class/net/%s/address" % dev) as f:
        own = bytes.fromhex(f.read().strip().replace(":", ""))
    s.send(bytes.fromhex(mac.replace(":", "")) + own + b"\x86\xdd" + pkt)


def main(a):
    dev = mac = None
    if "--dev" in a:
        i = a.index("--dev")
        dev, mac = a[i + 1], a[i + 3]
        a = a[:i]
    if a[0] == "tcp":
        src, sport, dst, dport, flags, seq, ack = a[1:8]
        send(tcp6(src, int(sport), dst, int(dport), flags, int(seq), int(ack)), dev, mac)
    elif a[0] == "ptb":
        src, dst, qsrc, qsport, qdst, qdport, mtu = a[1:8]
        quote = tcp6(qsrc, int(qsport), qdst, int(qdport), "A", 12345, 1)
        msg = struct.pack("!BBHI", 2, 0, 0, int(mtu)) + quote
        send(ip6(src, dst, 58, msg, 2))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
