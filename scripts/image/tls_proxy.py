#!/usr/bin/python3
"""tls_proxy.py - a TLS front for the local AWS endpoint, for image-check.

Listens on 127.0.0.1 with a certificate from a test CA, completes the TLS
handshake, and pipes the decrypted bytes to an upstream TCP port on
127.0.0.1 (the plain-HTTP local endpoint), so a worker configured with
https://127.0.0.1:PORT signs and sends exactly what it would send to AWS.
Standard library only.

    tls_proxy.py --cert CRT --key KEY --upstream PORT --port-file PATH [--stats PATH]

The bound port is written to --port-file (via a rename) once listening.
--stats is rewritten (via a rename) after every connection with
{"handshakes_ok": n, "handshakes_failed": n, "last_error": "..."}: a
client that does not trust the CA fails its handshake, and the failure
shows up here. SIGTERM / SIGINT: exits 0.
"""

import argparse
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading

LOCK = threading.Lock()
STATS = {'handshakes_ok': 0, 'handshakes_failed': 0, 'last_error': None}


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def record(stats_path, ok, error=None):
    with LOCK:
        STATS['handshakes_ok' if ok else 'handshakes_failed'] += 1
        if error:
            STATS['last_error'] = error[:300]
        if stats_path:
            write_atomic(stats_path, json.dumps(STATS))


def pipe(a, b):
    """Copy both ways until either side closes."""
    socks = [a, b]
    try:
        while True:
            readable, _, _ = select.select(socks, [], [], 120)
            if not readable:
                return
            for s in readable:
                other = b if s is a else a
                data = s.recv(65536)
                if not data:
                    return
                other.sendall(data)
                # TLS may hold more decrypted bytes than select() sees.
                while isinstance(s, ssl.SSLSocket) and s.pending():
                    other.sendall(s.recv(s.pending()))
    except OSError:
        return


def serve(conn, ctx, upstream, stats_path):
    conn.settimeout(15)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as e:
        record(stats_path, False, str(e))
        conn.close()
        return
    record(stats_path, True)
    tls.settimeout(None)
    try:
        up = socket.create_connection(('127.0.0.1', upstream), timeout=15)
        up.settimeout(None)
    except OSError:
        tls.close()
        return
    try:
        pipe(tls, up)
    finally:
        for s in (tls, up):
            try:
                s.close()
            except OSError:
                pass


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--upstream', type=int, required=True)
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--stats')
    a = ap.parse_args(argv)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    if a.stats:
        write_atomic(a.stats, json.dumps(STATS))
    write_atomic(a.port_file, str(lsock.getsockname()[1]))
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn, ctx, a.upstream, a.stats),
                         daemon=True).start()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
