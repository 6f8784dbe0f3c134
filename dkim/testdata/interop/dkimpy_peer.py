#!/usr/bin/python3
"""Drive dkimpy for Herald's dkim interop tests.

    dkimpy_peer.py verify PORT FILE...
        verifies every DKIM-Signature of each message file, keys looked up
        over DNS at 127.0.0.1:PORT; prints one line per file: its name, a
        tab, and for each signature from the top "pass" or "fail",
        separated by spaces, or "error" when dkimpy cannot parse the
        message.
    dkimpy_peer.py sign JOBS
        JOBS is a JSON file of a list of {"in", "out", "selector", "domain",
        "key", "alg", "canon"}: dkimpy signs the message in "in" and writes
        its DKIM-Signature field (CRLF line endings) followed by the message
        to "out". "key" is a file holding a PEM RSA key for rsa-sha256, the
        base64 Ed25519 seed for ed25519-sha256; "canon" is "simple/relaxed"
        and the like. A message dkimpy refuses to sign gets no "out"
        file and a line on stdout: "refused", a tab, the "out" name, a
        tab, and dkimpy's reason.
"""
import json
import sys

import dkim
import dns.resolver


def dnsfunc_for(port):
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port
    res.timeout = res.lifetime = 5

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        try:
            ans = res.resolve(name, "TXT", raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None
        for rr in ans.response.answer:
            if rr.rdtype == dns.rdatatype.TXT:
                return b"".join(list(rr.items)[0].strings)
        return None

    return dnsfunc


def verify(port, files):
    dnsfunc = dnsfunc_for(port)
    for name in files:
        with open(name, "rb") as f:
            msg = f.read()
        try:
            d = dkim.DKIM(msg, minkey=1024)
        except dkim.MessageFormatError as e:
            print(name, e, file=sys.stderr)
            print(name + "\terror")
            continue
        n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
        results = []
        for i in range(n):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:
                print(name, "signature", i, e, file=sys.stderr)
                ok = False
            results.append("pass" if ok else "fail")
        print(name + "\t" + " ".join(results))


def sign(jobs):
    with open(jobs) as f:
        jobs = json.load(f)
    for j in jobs:
        with open(j["in"], "rb") as f:
            msg = f.read()
        with open(j["key"], "rb") as f:
            key = f.read().strip()
        h, b = j["canon"].split("/")
        try:
            sig = dkim.sign(msg, j["selector"].encode(), j["domain"].encode(), key,
                            canonicalize=(h.encode(), b.encode()),
                            signature_algorithm=j["alg"].encode(),
                            linesep=b"\r\n")
        except dkim.DKIMException as e:
            print("refused\t%s\t%s" % (j["out"], e))
            continue
        with open(j["out"], "wb") as f:
            f.write(sig + msg)


if sys.argv[1] == "verify":
    verify(int(sys.argv[2]), sys.argv[3:])
else:
    sign(sys.argv[2])
