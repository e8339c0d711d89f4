#!/usr/bin/env python3
"""Two connections from one client port to two VIPs, the first held open:
a GET of / on the first, answered, then a GET of / on the second (its
request sent at once); the first closes (the client's FIN) HOLD seconds
later.  Prints the second's status code, or "none" if it got no answer
within 30 s, and the seconds from its request to its answer.  PAD: a
header of that many more bytes in the second request.

usage: sameport.py SPORT VIP_A VIP_B HOLD [PAD]
"""
import socket, sys, time


def connect(vip, sport):
    s = socket.socket()
    # Both bound to one port: allowed while neither listens.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    s.settimeout(30)
    s.connect((vip, 80))
    return s


def answer(s):
    """The status code of one answer, read whole (its Content-Length)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            return None
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
         if l.lower().startswith(b"content-length:")]
    while n and len(body) < n[0]:
        d = s.recv(4096)
        if not d:
            break
        body += d
    return head.split(b" ")[1].decode()


sport, vip_a, vip_b, hold = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                             float(sys.argv[4]))
pad = int(sys.argv[5]) if len(sys.argv) > 5 else 0
a = connect(vip_a, sport)
a.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
if answer(a) != "200":
    sys.exit("the first connection was not answered 200")
b = connect(vip_b, sport)
t0 = time.monotonic()
b.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
          (b"X-Pad: " + b"p" * pad + b"\r\n" if pad else b"") + b"\r\n")
b.settimeout(hold)
code = None
try:
    code = answer(b)
except socket.timeout:
    pass
a.shutdown(socket.SHUT_WR)
a.close()
if code is None:
    b.settimeout(30)
    try:
        code = answer(b)
    except (socket.timeout, ConnectionError):
        pass
print(code or "none", "%.3f" % (time.monotonic() - t0))
