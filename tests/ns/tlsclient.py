#!/usr/bin/env python3
"""A TLS client for t_tls_sni.sh that decides where its bytes go.

Python's ssl module makes the ClientHello into a memory buffer (no socket),
so the test can send it as it likes: one byte per segment, cut short, or
not at all.  Every wait is bounded (10 s, or 45 s for "wait").

  tlsclient.py get HOST PORT SNI CAFILE [STEP_MS]
      Connects, sends the ClientHello for SNI ("-": no server name) at
      once, or one byte per segment STEP_MS apart (TCP_NODELAY), finishes
      the handshake verifying the server against CAFILE, GETs / and prints
      the body.
  tlsclient.py hello SNI FILE [NALPN|ech]
      Writes the bytes of a ClientHello for SNI to FILE; with NALPN, it
      offers that many made-up ALPN protocols, to make it large; with
      "ech", it carries an encrypted_client_hello extension of random
      bytes, as a browser's GREASE of ECH does (RFC 9849 6.2).
  tlsclient.py raw HOST PORT FILE N fin|wait
      Sends the first N bytes of FILE, then ends its side (fin) or not
      (wait), and prints what comes back: reset, eof, data or timeout.
"""
import os
import socket
import ssl
import struct
import sys
import time


def tls_object(sni, cafile=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    if sni is None:
        ctx.check_hostname = False
        if not cafile:
            ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    return ctx.wrap_bio(inc, out, server_hostname=sni), inc, out


def client_hello(obj, out):
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def pump(sock, inc, out):
    """Sends what TLS wrote, reads what the server sent; False at EOF."""
    pending = out.read()
    if pending:
        sock.sendall(pending)
    data = sock.recv(65536)
    if not data:
        return False
    inc.write(data)
    return True


def get(host, port, sni, cafile, step_ms=None):
    obj, inc, out = tls_object(None if sni == "-" else sni, cafile)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hello = client_hello(obj, out)
    if step_ms is None:
        sock.sendall(hello)
    else:
        for b in hello:
            sock.sendall(bytes([b]))
            time.sleep(float(step_ms) / 1000)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            if not pump(sock, inc, out):
                sys.exit("connection closed during the handshake")
    obj.write(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
              (sni if sni != "-" else "x").encode())
    sock.sendall(out.read())
    resp = b""
    while True:
        try:
            chunk = obj.read(65536)
            if not chunk:
                break
            resp += chunk
        except ssl.SSLWantReadError:
            if not pump(sock, inc, out):
                break
        except ssl.SSLZeroReturnError:
            break
    head, _, body = resp.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        sys.exit("no 200: %r" % head[:80])
    sys.stdout.write(body.decode())


def grease_ech(rec):
    """rec, one record holding a ClientHello, with an outer ECH extension
    of random bytes last: HPKE suite, config id, a 32-byte enc, a payload."""
    body = os.urandom(1) + os.urandom(32 + 144)
    ext = (b"\x00" + b"\x00\x01\x00\x01" + body[:1] + b"\x00\x20" +
           body[1:33] + struct.pack("!H", 144) + body[33:])
    ext = struct.pack("!HH", 0xfe0d, len(ext)) + ext
    hs = rec[5:]
    p = 4 + 2 + 32
    p += 1 + hs[p]                                  # session id
    p += 2 + struct.unpack("!H", hs[p:p + 2])[0]    # cipher suites
    p += 1 + hs[p]                                  # compression methods
    extlen = struct.unpack("!H", hs[p:p + 2])[0]
    hs = (hs[:p] + struct.pack("!H", extlen + len(ext)) + hs[p + 2:] + ext)
    hs = hs[:1] + struct.pack("!I", len(hs) - 4)[1:] + hs[4:]
    return rec[:3] + struct.pack("!H", len(hs)) + hs


def hello(sni, path, opt=None):
    alpn = ["p%03d-%s" % (i, "x" * 12) for i in range(int(opt))] \
        if opt and opt != "ech" else None
    obj, _, out = tls_object(sni, alpn=alpn)
    rec = client_hello(obj, out)
    if opt == "ech":
        rec = grease_ech(rec)
    with open(path, "wb") as f:
        f.write(rec)


def raw(host, port, path, n, how):
    with open(path, "rb") as f:
        data = f.read()[:int(n)]
    sock = socket.create_connection((host, int(port)), timeout=10)
    if how == "wait":
        sock.settimeout(45)
    try:
        sock.sendall(data)
        if how == "fin":
            sock.shutdown(socket.SHUT_WR)
    except ConnectionResetError:
        print("reset")  # the error is reported once, here
        return
    except OSError:
        pass            # not connected any more: recv() says why
    try:
        print("data" if sock.recv(65536) else "eof")
    except ConnectionResetError:
        print("reset")
    except socket.timeout:
        print("timeout")


if __name__ == "__main__":
    {"get": get, "hello": hello, "raw": raw}[sys.argv[1]](*sys.argv[2:])
