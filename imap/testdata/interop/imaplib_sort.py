"""Runs SORT, UID SORT, THREAD (both algorithms), GETQUOTAROOT and ID with
Python's imaplib against Herald's server on 127.0.0.1:PORT (no TLS).
Prints each result; exits non-zero on the first unexpected one."""
import imaplib
import sys

m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice", "secret")
m.select("INBOX")


def check(what, got, want):
    print(what, got)
    if got != want:
        print("FAIL", what, "want", want)
        sys.exit(1)


typ, data = m.sort("(REVERSE DATE)", "UTF-8", "ALL")
check("sort reverse date", (typ, data), ("OK", [b"3 2 1"]))
typ, data = m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
check("uid sort subject", (typ, data), ("OK", [b"2 1 3"]))
typ, data = m.sort("(DISPLAYFROM)", "US-ASCII", "NOT", "FROM", "bob")
check("sort displayfrom", (typ, data), ("OK", [b"1 2"]))
typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
check("thread references", (typ, data), ("OK", [b"(1 (2)(3))"]))
typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
check("thread orderedsubject", (typ, data), ("OK", [b"(1 3)(2)"]))
typ, data = m.sort("(DATE)", "KOI8-R", "ALL")
check("sort koi8-r", (typ, b"[BADCHARSET" in data[0]), ("NO", True))
typ, data = m.getquotaroot("INBOX")
check("getquotaroot", (typ, data), ("OK", [[b'"INBOX"'], [None]]))
m.logout()
print("DONE")
