#!/usr/bin/env python3
"""revlist_latency: time the GetRevisionIdList calls a downstream makes against a running
wsusd (MS-WSUSSS over real HTTP): the full list of a first sync (no anchor, every product and
classification) and the delta list of a no-change sync (with the anchor the full list returned).
Prints one line: `full 0.412 s (101978 ids), anchored 0.010 s (0 ids)`, the best of ROUNDS
(default 3) calls each. Used by tests/bench/sync_bench.sh.

usage: revlist_latency.py URL      (http://127.0.0.1:PORT of the upstream)
"""

import os
import re
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsussoap as w  # noqa: E402

GUID = "5e1b0a7c-9d3e-4b7a-8f26-b3c1d0e4a9f1"


def main():
    url = urlparse(sys.argv[1])
    rounds = int(os.environ.get("ROUNDS", "3"))
    s = w.Server.__new__(w.Server)  # only its HTTP/SOAP helpers: no database of its own
    s.port = url.port
    ck = s.authenticate(name="bench.example.test", guid=GUID)

    def timed(anchor):
        best, ids, out = None, 0, None
        for _ in range(rounds):
            t0 = time.monotonic()
            st, data, _ = s.call("GetRevisionIdList", ck + w.filter_xml(anchor=anchor))
            t = time.monotonic() - t0
            if st != 200:
                raise SystemExit("GetRevisionIdList: HTTP %d %s" % (st, data[:300]))
            if best is None or t < best:
                best = t
            ids = len(re.findall(rb"<(?:\w+:)?UpdateIdentity[ >]", data))
            out = re.search(rb"<Anchor>([^<]*)</Anchor>", data)
        return best, ids, out.group(1).decode() if out else None

    full, nfull, anchor = timed(None)
    delta, ndelta, _ = timed(anchor)
    print("full %.3f s (%d ids), anchored %.3f s (%d ids)" % (full, nfull, delta, ndelta))


if __name__ == "__main__":
    main()
