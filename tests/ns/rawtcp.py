"""What the namespace tests' raw-socket clients share."""
import struct


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def pending(sock):
    """The packets a non-blocking raw socket holds now, in order."""
    while True:
        try:
            yield sock.recv(65535)
        except BlockingIOError:
            return
