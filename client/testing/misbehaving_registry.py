#!/usr/bin/env python3
"""A small misbehaving registry for berth's client tests.

  misbehaving_registry.py PORTS_FILE BLOB_FILE

Listens on two ports of 127.0.0.1 (written as "A B" to PORTS_FILE once both listen):
  A  the "registry": bearer auth (token server at A/token, user u, password p), and routes
     under /v2/t/<case>/ that behave in one odd way each (see ROUTES below);
  B  "another host": serves /blob/<digest> and records what it was sent.
Routes /v2/t/<case>/...: data (serves BLOB, honours Range), redirect (302 to B), sameredirect
(307 to data), norange (ignores Range), wrong (one byte flipped), short (one byte missing),
ambiguous (a manifest with index fields), liar (wrong Docker-Content-Digest), badimage (an
image whose config is fine and whose layer is BLOB served corrupted); anything else is 404.
Every request to either port is recorded; GET /_log (on A) returns the records as JSON and
DELETE /_log clears them. The process exits when its stdin closes (the test's pipe) or on
SIGTERM.
"""
import base64
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS_FILE, BLOB_FILE = sys.argv[1], sys.argv[2]
with open(BLOB_FILE, "rb") as f:
    BLOB = f.read()
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
LOG = []
LOG_LOCK = threading.Lock()
PORTS = {}
GOOD_BASIC = "Basic " + base64.b64encode(b"u:p").decode()

MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": DIGEST, "size": len(BLOB)},
    "layers": [],
}).encode()
# An image whose only layer is BLOB (as an uncompressed tar layer) and is served corrupted.
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [DIGEST]}}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
BAD_IMAGE = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": CONFIG_DIGEST, "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": DIGEST, "size": len(BLOB)}],
}).encode()
AMBIGUOUS = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": DIGEST, "size": len(BLOB)},
    "layers": [],
    "manifests": [],
}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        with LOG_LOCK:
            LOG.append({"port": self.server.server_port, "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
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

    def challenge(self):
        realm = "http://127.0.0.1:%d/token" % PORTS["a"]
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}',
                  {"WWW-Authenticate": 'Bearer realm="%s",service="bad"' % realm})

    def token(self):
        if self.headers.get("Authorization", "") != GOOD_BASIC:
            return self.send(401, b"{}")
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        scopes = [p[6:] for p in query.split("&") if p.startswith("scope=")]
        body = json.dumps({"token": "tok", "scopes": scopes, "expires_in": 300}).encode()
        self.send(200, body, {"Content-Type": "application/json"})

    def do_GET(self):
        self.record()
        port = self.server.server_port
        if port == PORTS["b"]:
            return self.blob(BLOB) if self.path.startswith("/blob/") else self.send(404)
        if self.path == "/_log":
            with LOG_LOCK:
                return self.send(200, json.dumps(LOG).encode())
        if self.path.startswith("/token"):
            return self.token()
        if self.headers.get("Authorization", "") != "Bearer tok":
            return self.challenge()
        self.route()

    do_HEAD = do_GET

    def do_DELETE(self):
        with LOG_LOCK:
            LOG.clear()
        self.send(200)

    def route(self):
        parts = self.path.split("/")  # "", "v2", "t", case, kind, ref
        if len(parts) < 6 or parts[1] != "v2" or parts[2] != "t":
            return self.send(200, b"{}") if self.path == "/v2/" else self.send(404)
        case, kind = parts[3], parts[4]
        other = "http://127.0.0.1:%d/blob/%s" % (PORTS["b"], DIGEST)
        oci = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        if kind == "manifests":
            if case == "ambiguous":
                return self.send(200, AMBIGUOUS, oci)
            if case == "badimage":
                return self.send(200, BAD_IMAGE, oci)
            if case == "liar":
                lie = "sha256:" + "0" * 64
                return self.send(200, MANIFEST, dict(oci, **{"Docker-Content-Digest": lie}))
            return self.send(200, MANIFEST, oci)
        if case == "data":
            return self.blob(BLOB)
        if case == "redirect":
            return self.send(302, b"", {"Location": other})
        if case == "sameredirect":
            return self.send(307, b"", {"Location": "/v2/t/data/blobs/" + DIGEST})
        if case == "norange":
            return self.blob(BLOB, honour_range=False)
        if case == "badimage" and parts[5] == CONFIG_DIGEST:
            return self.send(200, CONFIG)
        if case in ("wrong", "badimage"):
            bad = bytearray(BLOB)
            bad[len(bad) // 2] ^= 0xFF
            return self.blob(bytes(bad))
        if case == "short":
            return self.send(200, BLOB[:-1])
        self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')


def main():
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    PORTS["a"], PORTS["b"] = (s.server_port for s in servers)
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = PORTS_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (PORTS["a"], PORTS["b"]))
    os.rename(tmp, PORTS_FILE)
    sys.stdin.read()  # until the test closes the pipe or dies


if __name__ == "__main__":
    main()
