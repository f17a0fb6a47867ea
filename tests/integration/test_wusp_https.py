"""Windows clients over HTTPS (issue 12): with no public_url set, the file URLs a client gets
from GetFileLocations and GetExtendedUpdateInfo use the scheme and Host it came in with, so a
client on the HTTPS listener downloads over HTTPS (and one on HTTP over HTTP); the emulator
downloads a file through such a URL in ranges, checking the certificate (a test CA made here
with the openssl CLI) and the file's hashes.
"""

import base64
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import wsustest as wt
from wsusnet import make_ca, make_cert

sys.path.insert(0, os.path.join(wt.SRC, "tests", "tools"))
import wuclient  # noqa: E402

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_wusp_https"


def psql(query):
    return wt.sql(DB, query)


def run(tmp, servers, dbs):
    wt.create_db(DB)
    dbs.append(DB)
    ca = make_ca(tmp, "ca", "wsusd test CA")
    cert = make_cert(tmp, "srv", "localhost", "IP:127.0.0.1,DNS:localhost", ca)
    https_port = wt.free_port()
    conf = wt.write_config(tmp, DB, server_extra=(
        "threads = 4\nhttps_listen = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s\n"
        % (https_port, cert[0], cert[1])))
    content = os.path.join(tmp, "gen-content")
    pkg = os.path.join(tmp, "gen.cab")
    subprocess.run([sys.executable, GEN, "--seed", "7", "--updates", "2", "--file-size",
                    "1200K-1500K", "--out", pkg, "--content-dir", content], check=True,
                   capture_output=True)
    r = wt.wsusctl(conf, "import", pkg, "--content", content)
    wt.check(r.returncode == 0, "import of a generated package with content", r)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    bundle = psql("SELECT update_id FROM revision WHERE update_type = 'Software' AND"
                  " explicitly_deployable ORDER BY 1 LIMIT 1")[0][0]
    r = wt.wsusctl(conf, "approve", bundle)
    wt.check(r.returncode == 0, "approve a bundle for All Computers", r)
    # a file of one of its bundled updates, and that update's revision
    rev, sha1, size, sha256 = psql(
        "SELECT rf.revision_id, encode(f.sha1, 'base64'), f.size,"
        " coalesce(encode(f.sha256, 'base64'), '') FROM revision_bundle b"
        " JOIN revision m ON m.update_id = b.member_update_id"
        " JOIN revision_file rf ON rf.revision_id = m.id JOIN file f ON f.sha1 = rf.sha1"
        " WHERE b.revision_id = (SELECT id FROM revision WHERE update_id = '%s' ORDER BY"
        " revision_number DESC LIMIT 1) ORDER BY 1 LIMIT 1" % bundle)[0]
    for scheme, port in (("https", https_port), ("http", srv.listen_port())):
        base = "%s://localhost:%d" % (scheme, port)
        c = wuclient.WuClient(base, wuclient.Machine(
            client_id="0c0c0c0c-0000-4000-8000-%012d" % port,
            computer_name="%s.test" % scheme), ca_file=ca[0] if scheme == "https" else None)
        c.get_config()
        c.authorize()
        c.register_computer()
        c.get_file_locations([sha1])
        url = c.file_urls.get(sha1, "")
        hexd = base64.b64decode(sha1).hex()
        wt.check(url.startswith("%s/Content/%s/%s" % (base, hexd[-2:].upper(),
                                                      hexd.upper())),
                 "GetFileLocations over %s: a %s:// URL of the Host it came to"
                 % (scheme.upper(), scheme), url)
        got = c.fetch(url, int(size), sha1, sha256 or None)
        wt.check(got["verified"] and got["ranges"] == 2,
                 "the file downloaded over %s in 1 MiB ranges, hashes checked"
                 % scheme.upper(), got)
        resp = c.post("client", "GetExtendedUpdateInfo", c.cookie_xml() +
                      wuclient.ints("revisionIDs", [int(rev)]) +
                      wuclient.el("infoTypes", wuclient.el("XmlUpdateFragmentType",
                                                           "Extended")))
        urls = [u.text for u in resp.iter("{%s}Url" % wuclient.NS_CLIENT)]
        wt.check(urls and all(u.startswith(base + "/Content/") for u in urls),
                 "GetExtendedUpdateInfo over %s: FileLocations on %s://" %
                 (scheme.upper(), scheme), (urls, ET.tostring(resp)[:400]))
        if scheme == "https":
            # a hostile Host: only host-name characters reach the URL, the scheme is the
            # listener's
            body = wuclient.envelope(wuclient.NS_CLIENT, "GetFileLocations", c.cookie_xml() +
                                     wuclient.el("fileDigests", wuclient.el("base64Binary",
                                                                            sha1))).encode()
            st, _, data = c.http("POST", wuclient.SERVICES["client"][0], {
                "Host": 'evil"><x:1', "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": '"%sGetFileLocations"' % wuclient.SERVICES["client"][2]}, body)
            wt.check(st == 200 and b"<Url>https://evil___x:1/Content/" in data,
                     "a hostile Host header: host-name characters only, https kept",
                     data[-400:])
        c.close()
    wt.check(srv.stop() == 0, "wsusd exits cleanly", None)


if __name__ == "__main__":
    wt.run_servers(run)
