#!/usr/bin/env python3
"""A scanner's uptime estimate from TCP timestamps: it opens COUNT
connections to VIP:80, one after another, fetches / on each, and reads
the TSval of every packet the VIP sends it (raw capture).  A stack whose
TSval is its clock tells anyone how long that clock has run (and the
clock here is the daemon's CLOCK_MONOTONIC, the host's uptime); one that
offsets each connection's clock by a secret (RFC 7323 5.4) tells nothing.

usage: tsprobe.py VIP COUNT
prints: one line per connection, "conn PORT off OFF isn I mono M span S
n N": OFF is the SYN/ACK's TSval less this host's CLOCK_MONOTONIC in ms
(signed, modulo 2^32), I the same less the SYN/ACK's ISN too (an offset
taken from the ISN's bits would show the clock there), M 1 if no later
TSval went backwards, S the last TSval less the SYN/ACK's, N how many
packets carried one
"""
import socket, struct, sys, time

from rawtcp import pending, tsval

vip, count = sys.argv[1], int(sys.argv[2])
V = socket.inet_aton(vip)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
rx.setblocking(False)


def signed(x):
    x &= 0xffffffff
    return x - (1 << 32) if x >= 1 << 31 else x


def capture(port):
    """(sequence number if a SYN/ACK, TSval) of each packet from VIP:80 to
    port so far."""
    seen = []
    for pkt in pending(rx):
        ihl = (pkt[0] & 15) * 4
        tcp = pkt[ihl:]
        if pkt[12:16] != V or len(tcp) < 20:
            continue
        sp, dp = struct.unpack("!HH", tcp[:4])
        if sp != 80 or dp != port:
            continue
        ts = tsval(tcp)
        if ts is not None:
            syn = (tcp[13] & 0x12) == 0x12
            seen.append((struct.unpack("!I", tcp[4:8])[0] if syn else None,
                         ts))
    return seen


for i in range(count):
    s = socket.socket()
    s.settimeout(5)
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    clock = int(time.monotonic() * 1000)
    s.connect((vip, 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    time.sleep(0.2)
    seen = capture(port)
    syn = [(isn, ts) for isn, ts in seen if isn is not None]
    if not syn:
        print("conn %d no SYN/ACK with a TSval" % port)
        continue
    isn, ts = syn[0]
    mono = all(signed(b - a) >= 0 for (_, a), (_, b) in zip(seen, seen[1:]))
    print("conn %d off %d isn %d mono %d span %d n %d" % (port,
          signed(ts - clock), signed(ts - isn - clock), int(mono),
          signed(seen[-1][1] - ts), len(seen)), flush=True)
