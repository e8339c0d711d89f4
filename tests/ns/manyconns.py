"""Holds many kept-alive HTTP connections and uses each again later.

usage: manyconns.py ADDR N FIRST_PATH SECOND_PATH SHA256 PAUSE

Opens N connections to ADDR:80 (at most 200 connecting at once), sends
GET FIRST_PATH on each and reads the whole answer, keeps them all open
and idle for PAUSE seconds, then sends GET SECOND_PATH on every one at
once and checks each answer's body against SHA256.  Closes them and
prints "first F second S bad B" (answers whole, answers whose body
matched, connections that failed); exits 0 only if all N did both.
"""
import hashlib
import selectors
import socket
import sys
import time

DEADLINE = 120


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.out = b""
        self.body = None    # the answer's body, once whole
        self.failed = False


def request(path):
    return ("GET %s HTTP/1.1\r\nHost: vip\r\n\r\n" % path).encode()


def parse(c):
    """The body of the answer in c.buf, once it is whole; None before."""
    head, sep, rest = c.buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    if not head.startswith(b"HTTP/1.1 200"):
        raise ValueError("answer: %r" % head[:40])
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        raise ValueError("no Content-Length")
    if len(rest) < length:
        return None
    if len(rest) > length:
        raise ValueError("bytes past the answer")
    return rest


def run_round(sel, conns, path, until):
    """Sends GET path on every live connection; returns when each has its
    whole answer or failed, or at until."""
    for c in conns:
        if not c.failed:
            c.buf, c.body, c.out = b"", None, request(path)
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = sum(1 for c in conns if not c.failed)
    while left > 0 and time.monotonic() < until:
        for key, ev in sel.select(timeout=1):
            c = key.data
            try:
                if ev & selectors.EVENT_WRITE and c.out:
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if ev & selectors.EVENT_READ:
                    data = c.sock.recv(65536)
                    if not data:
                        raise ConnectionError("closed")
                    c.buf += data
                    c.body = parse(c)
                    if c.body is not None:
                        left -= 1
                        sel.modify(c.sock, selectors.EVENT_READ, c)
            except (OSError, ValueError) as e:
                print("connection failed: %s" % e, file=sys.stderr)
                c.failed = True
                left -= 1
                sel.unregister(c.sock)
                c.sock.close()
        # an idle connection closed by the server shows as readable
    for c in conns:
        if not c.failed and c.body is None:
            c.failed = True
            sel.unregister(c.sock)
            c.sock.close()


def main():
    addr, n = sys.argv[1], int(sys.argv[2])
    first, second, want = sys.argv[3], sys.argv[4], sys.argv[5]
    pause = float(sys.argv[6])
    until = time.monotonic() + DEADLINE
    sel = selectors.DefaultSelector()
    conns = []
    while len(conns) < n and time.monotonic() < until:
        batch = []
        for _ in range(min(200, n - len(conns))):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((addr, 80))
            c = Conn(s)
            sel.register(s, selectors.EVENT_WRITE, c)
            batch.append(c)
        run_round(sel, batch, first, until)
        conns += batch
    nfirst = sum(1 for c in conns if not c.failed)
    time.sleep(pause)
    run_round(sel, conns, second, until)
    good = sum(1 for c in conns if not c.failed and
               hashlib.sha256(c.body).hexdigest() == want)
    bad = sum(1 for c in conns if c.failed)
    for c in conns:
        if not c.failed:
            c.sock.close()
    print("first %d second %d bad %d" % (nfirst, good, bad))
    return 0 if nfirst == n and good == n else 1


if __name__ == "__main__":
    sys.exit(main())
