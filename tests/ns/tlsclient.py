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
  tlsclient.py hello SNI FILE [NALPN]
      Writes the bytes of a ClientHello for SNI to FILE; with NALPN, it
      offers that many made-up ALPN protocols, to make it large.
  tlsclient.py raw HOST PORT FILE N fin|wait
      Sends the first N bytes of FILE, then ends its side (fin) or not
      (wait), and prints what comes back: reset, eof, data or timeout.
"""
import socket
import ssl
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


def hello(sni, path, nalpn=None):
    alpn = ["p%03d-%s" % (i, "x" * 12) for i in range(int(nalpn))] \
        if nalpn else None
    obj, _, out = tls_object(sni, alpn=alpn)
    with open(path, "wb") as f:
        f.write(client_hello(obj, out))


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
