#!/usr/bin/env python3
"""A small misbehaving registry for berth's client tests.

  misbehaving_registry.py PORTS_FILE BLOB_FILE [TLS_CERT TLS_KEY]

Listens on three ports of 127.0.0.1 (written as "A B C" to PORTS_FILE once all listen; C is 0
without TLS files):
  A  the "registry": bearer auth (token server at A/token, user u, password p), and routes
     under /v2/t/<case>/ that behave in one odd way each (see route() below);
  B  "another host": serves /blob/<digest>, answers /deny/... with 401 and a bearer challenge
     of its own (realm B/token), serves /v2/t/<case>/blobs/<digest> anonymously (a mirror) and
     accepts PUT /upload/...;
  C  (with TLS files) the registry's routes again over https, with the same bearer auth.
Routes /v2/t/<case>/...: data (serves BLOB, honours Range), public (BLOB and MANIFEST under an
anonymous token: the token server grants "anon" without credentials for repository:t/public:pull
only, as Docker Hub does for public repositories), redirect (302 to B), redirect401
(302 to B, which answers 401 with its own bearer challenge), sameredirect (307 to data),
downgrade (on C: 302 to plain-http B), uploadaway (a push whose upload Location is on B),
norange (ignores Range), wrong (one byte flipped), short
(one byte missing), ambiguous (a manifest with index fields), liar (wrong
Docker-Content-Digest), mismatch (Content-Type says OCI, the document says Docker), badimage (an
image whose config is fine and whose layer is BLOB served corrupted), baddiff (a real gzip'd
layer whose config names another diffID), gated (two real layers; the second is held back until
POST /_release), slow (six real layers, each served after 0.4 s; the most blob downloads at once
is counted). Anything else is 404.
Every request to any port is recorded (but the test's /_ calls); GET /_log (on A) returns the records as JSON, DELETE
/_log clears them, GET /_stats returns {"max_inflight": n} (slow blobs in flight at once). The
process exits when its stdin closes (the test's pipe) or on SIGTERM.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import ssl
import sys
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS_FILE, BLOB_FILE = sys.argv[1], sys.argv[2]
TLS = sys.argv[3:5] if len(sys.argv) >= 5 else None
with open(BLOB_FILE, "rb") as f:
    BLOB = f.read()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


DIGEST = sha(BLOB)
LOG = []
LOCK = threading.Lock()
PORTS = {}
GOOD_BASIC = "Basic " + base64.b64encode(b"u:p").decode()
PUBLIC_SCOPE = "repository%3At%2Fpublic%3Apull"  # as it appears in the token query
RELEASE = threading.Event()
INFLIGHT = {"now": 0, "max": 0}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def descriptor(media_type, data):
    return {"mediaType": media_type, "digest": sha(data), "size": len(data)}


def manifest(config, layers, media_type=OCI_MANIFEST):
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": descriptor(OCI_CONFIG, config) if isinstance(config, bytes) else config,
           "layers": layers}
    return json.dumps(doc).encode()


def layer(name, content):
    """A gzip'd tar holding one file; returns (blob, diffID)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(content), 0o644, 946684800
        tar.addfile(info, io.BytesIO(content))
    diff = raw.getvalue()
    return gzip.compress(diff, mtime=0), sha(diff)


def image(layers, diff_ids=None):
    """{manifest, config, blobs by digest} of an image made of (blob, diffID) layers."""
    diff_ids = diff_ids or [d for _, d in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    blobs = {sha(b): b for b, _ in layers}
    blobs[sha(config)] = config
    return {"manifest": manifest(config, [descriptor(OCI_LAYER_GZIP, b) for b, _ in layers]),
            "blobs": blobs, "layers": [sha(b) for b, _ in layers]}


# The config names BLOB (any bytes) so manifests resolve; BAD_IMAGE's only layer is BLOB as an
# uncompressed tar layer, served corrupted.
MANIFEST = manifest(descriptor(OCI_CONFIG, BLOB), [])
BAD_CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [DIGEST]}}).encode()
BAD_IMAGE = manifest(BAD_CONFIG, [descriptor("application/vnd.oci.image.layer.v1.tar", BLOB)])
AMBIGUOUS = json.dumps(dict(json.loads(MANIFEST), manifests=[])).encode()
MISMATCH = json.dumps(dict(json.loads(MANIFEST),
                           mediaType="application/vnd.docker.distribution.manifest.v2+json"))
IMAGES = {
    "baddiff": image([layer("data/x.txt", b"x\n")], [sha(b"not the layer")]),
    "gated": image([layer("data/first.txt", b"first\n"), layer("data/second.txt", b"second\n")]),
    "slow": image([layer("data/%d.txt" % i, b"%d\n" % i) for i in range(6)]),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        if self.path.startswith("/_"):
            return  # the test's own calls
        with LOCK:
            LOG.append({"port": self.server.server_port, "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "accept": self.headers.get("Accept", ""),
                        "range": self.headers.get("Range", "")})

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def blob(self, data, honour_range=True):
        rng = self.headers.get("Range", "")
        if honour_range and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            self.send(206, data[start:], {
                "Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        else:
            self.send(200, data)

    def challenge(self, realm_port):
        scheme = "https" if realm_port == PORTS["c"] else "http"
        realm = "%s://127.0.0.1:%d/token" % (scheme, realm_port)
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}',
                  {"WWW-Authenticate": 'Bearer realm="%s",service="bad"' % realm})

    def token(self):
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        scopes = [p[6:] for p in query.split("&") if p.startswith("scope=")]
        authorization = self.headers.get("Authorization", "")
        if authorization == "" and scopes == [PUBLIC_SCOPE]:
            value = "anon"  # an anonymous pull of the public repository
        elif authorization == GOOD_BASIC:
            value = "tok"
        else:
            return self.send(401, b"{}")
        body = json.dumps({"token": value, "scopes": scopes, "expires_in": 300}).encode()
        self.send(200, body, {"Content-Type": "application/json"})

    def do_GET(self):
        self.record()
        port = self.server.server_port
        if port == PORTS["b"]:
            return self.other_host()
        if self.path == "/_log":
            with LOCK:
                return self.send(200, json.dumps(LOG).encode())
        if self.path == "/_stats":
            with LOCK:
                return self.send(200, json.dumps({"max_inflight": INFLIGHT["max"]}).encode())
        if self.path.startswith("/token"):
            return self.token()
        authorization = self.headers.get("Authorization", "")
        anonymous_ok = authorization == "Bearer anon" and self.path.startswith("/v2/t/public/")
        if authorization != "Bearer tok" and not anonymous_ok:
            return self.challenge(port)
        self.route()

    do_HEAD = do_GET

    def do_POST(self):
        if self.path == "/_release":
            RELEASE.set()
            return self.send(200)
        self.record()
        self.drain_body()
        if self.headers.get("Authorization", "") != "Bearer tok":
            return self.challenge(self.server.server_port)
        if self.path.startswith("/v2/t/uploadaway/blobs/uploads/"):
            # The upload continues on another host: it must not get the registry's token.
            location = "http://127.0.0.1:%d/upload/1" % PORTS["b"]
            return self.send(202, b"", {"Location": location})
        self.send(404)

    def do_PUT(self):
        self.record()
        self.drain_body()
        if self.server.server_port == PORTS["b"] and self.path.startswith("/upload/"):
            return self.send(201, b"", {"Location": "/v2/t/uploadaway/blobs/" + DIGEST})
        self.send(404)

    def drain_body(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length:
            self.rfile.read(length)

    def do_DELETE(self):
        with LOCK:
            LOG.clear()
            INFLIGHT["max"] = 0
        self.send(200)

    def other_host(self):
        if self.path.startswith("/blob/"):
            return self.blob(BLOB)
        if self.path.startswith("/deny/"):
            return self.challenge(PORTS["b"])
        if self.path.startswith("/v2/t/") and "/blobs/" + DIGEST in self.path:
            return self.blob(BLOB)  # a mirror that serves anonymously
        self.send(404)

    def manifests(self, case):
        oci = {"Content-Type": OCI_MANIFEST}
        if case in IMAGES:
            return self.send(200, IMAGES[case]["manifest"], oci)
        bodies = {"ambiguous": AMBIGUOUS, "badimage": BAD_IMAGE, "mismatch": MISMATCH.encode()}
        headers = dict(oci)
        if case == "liar":
            headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        self.send(200, bodies.get(case, MANIFEST), headers)

    def image_blob(self, case, digest):
        blobs = IMAGES[case]["blobs"]
        if digest not in blobs:
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}')
        if case == "gated" and digest == IMAGES[case]["layers"][-1]:
            RELEASE.wait(60)
        if case == "slow" and digest in IMAGES[case]["layers"]:
            with LOCK:
                INFLIGHT["now"] += 1
                INFLIGHT["max"] = max(INFLIGHT["max"], INFLIGHT["now"])
            time.sleep(0.4)
            with LOCK:
                INFLIGHT["now"] -= 1
        self.blob(blobs[digest])

    def route(self):
        parts = self.path.split("/")  # "", "v2", "t", case, kind, ref
        if len(parts) < 6 or parts[1] != "v2" or parts[2] != "t":
            return self.send(200, b"{}") if self.path == "/v2/" else self.send(404)
        case, kind, ref = parts[3], parts[4], parts[5]
        if kind == "manifests":
            return self.manifests(case)
        if case in IMAGES:
            return self.image_blob(case, ref)
        other = "http://127.0.0.1:%d" % PORTS["b"]
        redirects = {"redirect": (302, other + "/blob/" + DIGEST),
                     "redirect401": (302, other + "/deny/" + DIGEST),
                     "downgrade": (302, other + "/blob/" + DIGEST),
                     "sameredirect": (307, "/v2/t/data/blobs/" + DIGEST)}
        if case in redirects:
            status, location = redirects[case]
            return self.send(status, b"", {"Location": location})
        self.serve_blob_case(case, ref)

    def serve_blob_case(self, case, ref):
        if case in ("data", "public"):
            return self.blob(BLOB)
        if case == "norange":
            return self.blob(BLOB, honour_range=False)
        if case == "badimage" and ref == sha(BAD_CONFIG):
            return self.send(200, BAD_CONFIG)
        if case in ("wrong", "badimage"):
            bad = bytearray(BLOB)
            bad[len(bad) // 2] ^= 0xFF
            return self.blob(bytes(bad))
        if case == "short":
            return self.send(200, BLOB[:-1])
        self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')


def main():
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(3 if TLS else 2)]
    if TLS:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS[0], TLS[1])
        servers[2].socket = context.wrap_socket(servers[2].socket, server_side=True)
    PORTS["a"], PORTS["b"] = servers[0].server_port, servers[1].server_port
    PORTS["c"] = servers[2].server_port if TLS else 0
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = PORTS_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d %d\n" % (PORTS["a"], PORTS["b"], PORTS["c"]))
    os.rename(tmp, PORTS_FILE)
    sys.stdin.read()  # until the test closes the pipe or dies


if __name__ == "__main__":
    main()
