# Drives the Herald IMAP server with Python's imaplib, as a mail client
# would. Usage: imaplib_client.py PORT. Prints "DELIVER" when it waits in
# IDLE for the test to deliver a message, and "PASS" at the end; any
# failed check raises.
import imaplib
import socket
import ssl
import sys

port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def ok(resp, what):
    typ, data = resp
    if typ != "OK":
        raise SystemExit("%s: %s %r" % (what, typ, data))
    return data


# LOGIN is refused before TLS, then works over STARTTLS.
m = imaplib.IMAP4("127.0.0.1", port)
assert "LOGINDISABLED" in m.capabilities, m.capabilities
m.starttls(ssl_context=ctx)
assert "LOGINDISABLED" not in m.capabilities, m.capabilities
ok(m.login("alice", "secret"), "login")

# SELECT and FETCH of bodies, envelope and bodystructure.
data = ok(m.select("INBOX"), "select")
assert data == [b"3"], data
data = ok(m.fetch("1", "(BODY.PEEK[] ENVELOPE)"), "fetch body")
body = data[0][1]
assert body.startswith(b"From: Alice Example <alice@example.org>\r\n"), body
assert body.endswith(b"this is a plain message.\r\n"), body
assert b'ENVELOPE ("Thu, 14 Mar 2024 15:09:26 +0100" "Hello there"' in data[1], data
data = ok(m.fetch("2", "(BODYSTRUCTURE)"), "fetch bodystructure")
assert b'"ALTERNATIVE"' in data[0] and b'"MIXED"' in data[0], data
data = ok(m.fetch("2", "(BODY.PEEK[1.1] BODY.PEEK[2])"), "fetch parts")
assert data[0][1] == b"Gr=C3=BC=C3=9Fe aus K=C3=B6ln", data
assert data[1][1] == b"AAECAwQFBgc=", data

# UID SEARCH.
data = ok(m.uid("SEARCH", None, "FROM", "bob"), "uid search")
assert data == [b"3"], data
data = ok(m.uid("SEARCH", "CHARSET", "UTF-8", "UNSEEN"), "uid search unseen")
assert data == [b"2 3"], data

# STORE, COPY, MOVE, EXPUNGE.
data = ok(m.store("2", "+FLAGS", "(\\Flagged)"), "store")
assert b"\\Flagged" in data[0], data
typ, data = m.copy("1:2", "Archive")
assert typ == "OK", data
assert m.untagged_responses.get("COPYUID") or b"COPYUID" in data[0], data
data = ok(m.uid("MOVE", "3", "Trash"), "uid move")
assert m.response("EXPUNGE") == ("EXPUNGE", [b"3"])
data = ok(m.store("1", "+FLAGS", "(\\Deleted)"), "store deleted")
data = ok(m.expunge(), "expunge")
assert data == [b"1"], data
data = ok(m.search(None, "ALL"), "search after expunge")
assert data == [b"1"], data

# APPEND with a literal.
msg = b"From: py@example.org\r\nSubject: appended\r\n\r\nhello from imaplib\r\n"
typ, data = m.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(1700000000), msg)
assert typ == "OK" and b"APPENDUID" in data[0], (typ, data)
data = ok(m.fetch("2", "(BODY.PEEK[] FLAGS)"), "fetch appended")
assert data[0][1] == msg and b"\\Seen" in data[1], data

# Mailboxes with a non-ASCII name (modified UTF-7 on the wire).
ok(m.create('"Entw&APw-rfe"'), "create")
ok(m.rename('"Entw&APw-rfe"', '"Alt/Entw&APw-rfe"'), "rename")
data = ok(m.list('""', "*"), "list")
assert b'(\\HasNoChildren) "/" "Alt/Entw&APw-rfe"' in data, data
assert b'(\\Archive \\HasNoChildren) "/" "Archive"' in data, data
ok(m.delete('"Alt/Entw&APw-rfe"'), "delete")
data = ok(m.list('""', "Alt*"), "list after delete")
assert b"Entw" not in b"".join(d or b"" for d in data), data
m.logout()

# AUTHENTICATE PLAIN.
m = imaplib.IMAP4("127.0.0.1", port)
m.starttls(ssl_context=ctx)
ok(m.authenticate("PLAIN", lambda _: b"\0alice\0secret"), "authenticate")
ok(m.select("Trash"), "select trash")
m.logout()

# IDLE over a raw socket: the test delivers a message meanwhile.
raw = socket.create_connection(("127.0.0.1", port))
f = raw.makefile("rb")
f.readline()
raw.sendall(b"s STARTTLS\r\n")
assert f.readline().startswith(b"s OK"), "starttls"
raw = ctx.wrap_socket(raw)
f = raw.makefile("rb")
raw.sendall(b"l LOGIN alice secret\r\nx SELECT INBOX\r\n")
while not f.readline().startswith(b"x OK"):
    pass
raw.sendall(b"i IDLE\r\n")
line = f.readline()
assert line.startswith(b"+"), line
print("DELIVER", flush=True)
line = f.readline()
assert line == b"* 3 EXISTS\r\n", line
raw.sendall(b"DONE\r\n")
line = f.readline()
if line == b"* 1 RECENT\r\n":  # the delivery is recent for this session
    line = f.readline()
assert line.startswith(b"i OK"), line
raw.sendall(b"o LOGOUT\r\n")
raw.close()
print("PASS", flush=True)
