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


def tsval(tcp):
    """The TSval of a TCP segment's options (tcp from its header on), or
    None."""
    end = min((tcp[12] >> 4) * 4, len(tcp))
    i = 20
    while i < end:
        kind = tcp[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or tcp[i + 1] < 2:
            break
        if kind == 8 and tcp[i + 1] == 10 and i + 10 <= end:
            return struct.unpack("!I", tcp[i + 2:i + 6])[0]
        i += tcp[i + 1]
    return None
