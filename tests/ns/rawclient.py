#!/usr/bin/env python3
"""A TCP client through raw sockets: it announces what it likes (a tiny
window, timestamps), sends one request and acknowledges what arrives,
keeping its window as announced.  The kernel's own resets for the port
must be dropped (nftables) by the caller.  With "half-fin", it also sends
a FIN half the sequence space (2^31) past its next byte: once before the
request and once when the first answer bytes arrive.  With "synack-req",
its first answer to the SYN/ACK is a SYN/ACK/FIN carrying another request
(for /synack-req, one byte early: the SYN's sequence number is its own),
then the handshake's ACK and REQUEST.  With "blind-ack", it takes the
second answer segment for lost and, in a forger's place, acknowledges it
from a sequence number 2^31 away (an acceptable acknowledgment, an
unacceptable sequence number).  With "big-syn", its SYN announces 65535
and only what follows WINDOW.  With "ooseq", REQUEST holds two requests,
each sent in two segments, in the order 2, 4, then 1 a fifth of a second
later (its timestamp that much newer, as a retransmission's), then 3 half
a second after that (as a lossy path delivers them).  With "sackless", its SYN offers SACK,
it never sends a SACK block (RFC 2018 allows it), and it takes the second
answer segment for lost.

usage: rawclient.py SRC DST PORT SPORT WINDOW REQUEST SECONDS
       [half-fin | synack-req | blind-ack | big-syn | ooseq | sackless]
prints: "bytes N fin F rst R" when SECONDS are up or the connection ended
"""
import os, select, socket, struct, sys, time

from rawtcp import csum, tsval as seg_tsval

src, dst, dport, sport, win = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
req = sys.argv[6].encode().decode("unicode_escape").encode()
secs = float(sys.argv[7])
half_fin = sys.argv[8:] == ["half-fin"]
synack_req = sys.argv[8:] == ["synack-req"]
blind_ack = sys.argv[8:] == ["blind-ack"]
big_syn = sys.argv[8:] == ["big-syn"]
ooseq = sys.argv[8:] == ["ooseq"]
sackless = sys.argv[8:] == ["sackless"]


S, D = socket.inet_aton(src), socket.inet_aton(dst)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
t0 = time.time()


def tsval():
    return int((time.time() - t0) * 1000) + 1000


def send(seq, ack, flags, data=b"", syn=False, tsecr=0):
    opts = b""
    if syn:
        opts += struct.pack("!BBH", 2, 4, 1460)
        if sackless:
            opts += struct.pack("!BBBB", 1, 1, 4, 2)
    opts += struct.pack("!BBBBII", 1, 1, 8, 10, tsval(), tsecr)
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                     (5 + len(opts) // 4) << 4, flags,
                     65535 if syn and big_syn else win, 0, 0) + opts
    ph = S + D + struct.pack("!BBH", 0, 6, len(th) + len(data))
    th = th[:16] + struct.pack("!H", csum(ph + th + data)) + th[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th) + len(data), 0, 0x4000, 64, 6, 0, S, D)
    tx.sendto(ip + th + data, (dst, 0))


def recv(timeout):
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0 or not select.select([rx], [], [], left)[0]:
            return None
        pkt = rx.recv(65535)
        ihl = (pkt[0] & 15) * 4
        if pkt[12:16] != D:
            continue
        sp, dp, seq, ack, off, flags, w = struct.unpack("!HHIIBBH", pkt[ihl:ihl + 16])
        if sp != dport or dp != sport:
            continue
        hl = (off >> 4) * 4
        return seq, ack, flags, pkt[ihl + hl:], seg_tsval(pkt[ihl:]) or 0


isn = 1000
send(isn, 0, 0x02, syn=True)
r = None
while True:
    r = recv(5)
    if r is None or r[2] & 0x12 == 0x12:
        break
if r is None:
    print("no SYN/ACK")
    sys.exit(1)
rnxt, tsr = r[0] + 1, r[4]
if synack_req:
    send(isn, rnxt, 0x13, b"GGET /synack-req HTTP/1.1\r\nHost: a\r\n\r\n", tsecr=tsr)
send(isn + 1, rnxt, 0x10, tsecr=tsr)
if half_fin:
    send(isn + 1 + 2**31, rnxt, 0x11, tsecr=tsr)
if ooseq:
    q = req.index(b"\r\n\r\n") + 4
    cuts = [0, q // 2, q, q + (len(req) - q) // 2, len(req)]
    seg = [(isn + 1 + cuts[i], req[cuts[i]:cuts[i + 1]]) for i in range(4)]
    for i in (1, 3):
        send(seg[i][0], rnxt, 0x18, seg[i][1], tsecr=tsr)
    time.sleep(0.2)
    send(seg[0][0], rnxt, 0x18, seg[0][1], tsecr=tsr)
    time.sleep(0.5)
    send(seg[2][0], rnxt, 0x18, seg[2][1], tsecr=tsr)
else:
    send(isn + 1, rnxt, 0x18, req, tsecr=tsr)
got, fin, rst, lost = 0, 0, 0, 0
end = time.time() + secs
while time.time() < end:
    r = recv(end - time.time())
    if r is None:
        break
    seq, ack, flags, data, tsv = r
    if flags & 0x04:
        rst = 1
        break
    if data and seq == rnxt and sackless and got > 0 and not lost:
        lost = 1
        data = b""
    if data and seq == rnxt and blind_ack and got > 0 and not lost:
        lost = 1
        send(isn + 1 + len(req) + 2**31, seq + len(data), 0x10, tsecr=tsr)
        data = b""
    if data and seq == rnxt:
        if half_fin and got == 0:
            send(isn + 1 + len(req) + 2**31, rnxt, 0x11, tsecr=tsr)
        rnxt += len(data)
        got += len(data)
    if flags & 0x01 and seq + len(data) == rnxt:
        rnxt += 1
        fin = 1
    if tsv:
        tsr = tsv
    send(isn + 1 + len(req), rnxt, 0x10, tsecr=tsr)
    if fin:
        send(isn + 1 + len(req), rnxt, 0x11, tsecr=tsr)
        break
print("bytes %d fin %d rst %d" % (got, fin, rst))
