#!/usr/bin/python3
"""Sign a message with OpenDKIM's library, libopendkim, for Herald's dkim
interop tests. opendkim-testmsg, OpenDKIM's command-line signer, always
signs rsa-sha1 relaxed/simple; this calls the same library through ctypes
with the algorithm and canonicalization asked for.

    libopendkim_peer.py JOBS

JOBS is a JSON file of a list of {"in", "out", "selector", "domain", "key",
"alg", "canon"}: for each, the library signs the message in "in", and the
DKIM-Signature field (CRLF line endings) followed by the message is written
to "out". "key" is a file holding a PEM private key; "alg" is rsa-sha256 or
ed25519-sha256; "canon" is "relaxed/simple" and the like. A message the
library refuses to sign gets no "out" file and a line on stdout: "refused",
a tab, the "out" name, a tab, and the library's reason.
"""
import ctypes
import json
import sys

# dkim.h of OpenDKIM 2.11
DKIM_STAT_OK = 0
CANON = {"simple": 0, "relaxed": 1}
ALG = {"rsa-sha1": 0, "rsa-sha256": 1, "ed25519-sha256": 2}


def load():
    lib = ctypes.CDLL("libopendkim.so.11")
    lib.dkim_init.restype = ctypes.c_void_p
    lib.dkim_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.dkim_sign.restype = ctypes.c_void_p
    lib.dkim_sign.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p,
                              ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_int)]
    lib.dkim_chunk.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.dkim_eom.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.dkim_getsighdr_d.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
    lib.dkim_geterror.restype = ctypes.c_char_p
    lib.dkim_geterror.argtypes = [ctypes.c_void_p]
    lib.dkim_free.argtypes = [ctypes.c_void_p]
    lib.dkim_close.argtypes = [ctypes.c_void_p]

    return lib


def sign(lib, libh, j):
    h, b = j["canon"].split("/")
    with open(j["key"], "rb") as f:
        key = f.read()
    with open(j["in"], "rb") as f:
        msg = f.read()
    selector, domain, alg = j["selector"], j["domain"], j["alg"]
    st = ctypes.c_int(0)
    d = lib.dkim_sign(libh, b"herald-interop", None, key, selector.encode(), domain.encode(),
                      CANON[h], CANON[b], ALG[alg], -1, ctypes.byref(st))
    if not d or st.value != DKIM_STAT_OK:
        sys.exit("dkim_sign failed: status %d" % st.value)

    class Refused(Exception):
        pass

    def check(what, rc):
        if rc != DKIM_STAT_OK:
            err = lib.dkim_geterror(d)
            raise Refused("%s: status %d: %s" % (what, rc, err.decode() if err else ""))

    # The library wants CRLF line endings, as on the wire.
    wire = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    buf = ctypes.c_char_p()
    n = ctypes.c_size_t()
    try:
        check("dkim_chunk", lib.dkim_chunk(d, wire, len(wire)))
        check("dkim_chunk end", lib.dkim_chunk(d, None, 0))
        check("dkim_eom", lib.dkim_eom(d, None))
        check("dkim_getsighdr_d", lib.dkim_getsighdr_d(d, len("DKIM-Signature: "), ctypes.byref(buf), ctypes.byref(n)))
    except Refused as e:
        print("refused\t%s\t%s" % (j["out"], e))
        lib.dkim_free(d)
        return
    value = ctypes.string_at(buf, n.value)
    with open(j["out"], "wb") as f:
        f.write(b"DKIM-Signature: " + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n" + msg)
    lib.dkim_free(d)


def main():
    lib = load()
    libh = lib.dkim_init(None, None)
    if not libh:
        sys.exit("dkim_init failed")
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for j in jobs:
        sign(lib, libh, j)
    lib.dkim_close(libh)


main()
