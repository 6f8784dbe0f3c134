"""Drives Herald's IMAP server with COMPRESS=DEFLATE (RFC 4978) over a raw
socket, deflating and inflating with Python's zlib (raw deflate,
wbits=-15). Usage: compress_client.py PORT [tls]. Prints one line per
check; exits non-zero on the first failure."""
import socket
import ssl
import sys
import zlib

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=20)
if len(sys.argv) > 2 and sys.argv[2] == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(sock)


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


buf = b""


def plain_line():
    global buf
    while b"\r\n" not in buf:
        data = sock.recv(1)
        if not data:
            fail("connection closed")
        buf += data
    line, buf = buf.split(b"\r\n", 1)
    return line.decode()


print("greeting", plain_line()[:4])
sock.sendall(b"a LOGIN alice secret\r\n")
if not plain_line().startswith("a OK"):
    fail("login")
sock.sendall(b"b COMPRESS DEFLATE\r\n")
line = plain_line()
if not line.startswith("b OK"):
    fail("compress: " + line)
print("compress", line)

comp = zlib.compressobj(6, zlib.DEFLATED, -15)
decomp = zlib.decompressobj(-15)
text = b""
raw_chunks = []


def send(cmd, mode=zlib.Z_SYNC_FLUSH):
    sock.sendall(comp.compress(cmd) + comp.flush(mode))


def until(tag):
    """Reads until the tagged line; returns the lines and the raw bytes."""
    global text
    raw = b""
    while True:
        while b"\r\n" in text:
            line, text = text.split(b"\r\n", 1)
            lines.append(line)
            if line.startswith(tag + b" "):
                return raw
        data = sock.recv(65536)
        if not data:
            fail("connection closed during " + tag.decode())
        raw += data
        text += decomp.decompress(data)


lines = []
send(b"c SELECT INBOX\r\n")
raw = until(b"c")
if not lines[-1].startswith(b"c OK"):
    fail("select: %r" % lines)
# One burst, one sync flush at its end.
if not raw.endswith(b"\x00\x00\xff\xff") or raw.count(b"\x00\x00\xff\xff") != 1:
    fail("SELECT burst: %d sync flushes" % raw.count(b"\x00\x00\xff\xff"))
print("select", len(lines), "lines in one segment")

lines = []
send(b"d FETCH 1:* (UID FLAGS)\r\ne NOOP\r\n")
until(b"d")
until(b"e")
if sum(1 for l in lines if b" FETCH (" in l) < 3 or not lines[-1].startswith(b"e OK"):
    fail("fetch: %r" % lines)
print("fetch", sum(1 for l in lines if b" FETCH (" in l), "messages")

# Z_PARTIAL_FLUSH (an empty fixed block, not byte-aligned), as mbsync
# sends, and Z_FULL_FLUSH.
for mode, name in ((zlib.Z_PARTIAL_FLUSH, "partial"), (zlib.Z_FULL_FLUSH, "full")):
    lines = []
    send(b"p NOOP\r\n", mode)
    until(b"p")
    if not lines[-1].startswith(b"p OK"):
        fail("NOOP with %s flush: %r" % (name, lines))
    print("flush", name, "ok")

lines = []
send(b"f FETCH 4 BODY.PEEK[]\r\n")
until(b"f")
body = b"\r\n".join(lines)
if body.count(b"All work and no play") != 2000:
    fail("big body: %d lines" % body.count(b"All work and no play"))
print("body", len(body), "bytes inflated")

# A literal sent compressed.
msg = b"Subject: from zlib\r\n\r\nhello\r\n"
lines = []
send(b"g APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
until(b"g")
if not lines[-1].startswith(b"g OK [APPENDUID"):
    fail("append: %r" % lines)
print("append", lines[-1].decode().split("]")[0] + "]")

# Garbage instead of deflate data: the server must close the connection.
sock.sendall(b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\x07\x06")
try:
    while True:
        data = sock.recv(4096)
        if not data:
            break
except (ConnectionResetError, ssl.SSLError):
    pass
except socket.timeout:
    fail("connection kept after a corrupt stream")
print("corrupt stream closed")
print("DONE")
