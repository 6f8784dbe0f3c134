# Drives Herald's IMAP server over Maildir (imapmaildir) with Python's
# imaplib, as a mail client would. Usage: imaplib_client.py PORT. Prints
# "PASS" at the end; any failed check raises. Written for Herald's tests.
import imaplib
import sys

port = int(sys.argv[1])


def ok(resp, what):
    typ, data = resp
    if typ != "OK":
        raise SystemExit("%s: %s %r" % (what, typ, data))
    return data


m = imaplib.IMAP4("127.0.0.1", port)
ok(m.login("alice", "secret"), "login")

# The special-use folders exist from the first login.
data = ok(m.list(), "list")
listing = b"\n".join(data)
for attr, name in ((b"\\Sent", b'"Sent"'), (b"\\Trash", b'"Trash"'), (b"\\Drafts", b'"Drafts"'), (b"\\Junk", b'"Junk"'), (b"\\Archive", b'"Archive"')):
    assert any(attr in l and l.endswith(name) for l in data), (attr, listing)

# APPEND with flags and a date: APPENDUID, INTERNALDATE.
msg = b"From: Bob <bob@example.org>\r\nSubject: from imaplib\r\n\r\nHello.\r\n"
typ, data = m.append("INBOX", "(\\Seen $Label1)", '"14-Mar-2024 15:09:26 +0000"', msg)
assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = m.append("INBOX", None, None, msg)
assert typ == "OK", data

data = ok(m.select("INBOX"), "select")
assert data == [b"3"], data
data = ok(m.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE)"), "fetch")
assert b"UID 1 " in data[0] and b"FLAGS (\\Recent)" in data[0], data  # recent: the first session to see it
assert b"\\Seen $Label1" in data[1] and b'INTERNALDATE "14-Mar-2024 15:09:26 +0000"' in data[1], data
assert b"RFC822.SIZE %d" % len(msg) in data[1], data
data = ok(m.fetch("2", "(BODY.PEEK[])"), "fetch body")
assert data[0][1] == msg, data

# STORE of flags and keywords, SEARCH on them.
ok(m.store("1", "+FLAGS", "(\\Flagged $Todo)"), "store")
data = ok(m.uid("SEARCH", None, "KEYWORD", "$Todo"), "search keyword")
assert data == [b"1"], data
data = ok(m.search(None, "UNSEEN"), "search unseen")
assert data == [b"1 3"], data

# A folder tree, COPY and MOVE with COPYUID.
ok(m.create("Projects/Herald"), "create")
typ, data = m.uid("COPY", "1:2", "Projects/Herald")
assert typ == "OK", data
typ, data = m.uid("MOVE", "3", "Archive")
assert typ == "OK", data
data = ok(m.status("Projects/Herald", "(MESSAGES UIDNEXT)"), "status")
assert b"MESSAGES 2 UIDNEXT 3" in data[0], data
ok(m.rename("Projects", "Work"), "rename")
data = ok(m.status("Work/Herald", "(MESSAGES)"), "status after rename")
assert b"MESSAGES 2" in data[0], data

# EXPUNGE.
ok(m.store("1", "+FLAGS", "(\\Deleted)"), "store deleted")
data = ok(m.expunge(), "expunge")
assert data[-1] == b"1", data  # imaplib also keeps the EXPUNGE of MOVE
data = ok(m.search(None, "ALL"), "search all")
assert data == [b"1"], data

# Over quota and too large come back as response codes.
typ, data = m.append("Trash", None, None, b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n")
assert typ == "NO" and b"TOOBIG" in data[0], (typ, data)

m.logout()
print("PASS")
