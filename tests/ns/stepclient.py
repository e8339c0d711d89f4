#!/usr/bin/env python3
"""A client whose steps a test drives through its standard input: a GET of
/ and its whole answer ("answered"); at the next line, its FIN, and the
server's answer read to the end ("closed"); at a line "again", the same GET
again from the same port ("answered again"); any other line ends it.

usage: stepclient.py VIP [SPORT]   (SPORT 0 or none: the kernel's choice)
"""
import socket, sys


def get(vip, sport):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    s.settimeout(30)
    s.connect((vip, 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
         if l.lower().startswith(b"content-length:")][0]
    while len(body) < n:
        body += s.recv(4096)
    return s


vip = sys.argv[1]
sport = int(sys.argv[2]) if len(sys.argv) > 2 else 0
s = get(vip, sport)
print("answered", flush=True)
if not sys.stdin.readline():
    sys.exit(0)
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
print("closed", flush=True)
if sys.stdin.readline().strip() != "again":
    sys.exit(0)
get(vip, sport).close()
print("answered again", flush=True)
