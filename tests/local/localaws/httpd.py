"""HTTP layer: ThreadingHTTPServer, HTTP/1.1 keep-alive, one daemon thread per
connection (a waiting long poll is a thread blocked on a Condition: no CPU).

A request carrying ``X-Amz-Target`` goes through Endpoint.handle_aws; every
other request is routed to the admin API or a plain-HTTP stand-in.  Each
response is written with a single send.  Before writing an AWS response whose
loss matters (a task handed to a poll), the socket is checked: readable with
``recv(MSG_PEEK) == b''`` (or an error) means the client is gone, and the
response's undelivered callbacks run; a failed write counts the same.  A
``reset`` fault closes the socket with SO_LINGER 0, which sends a TCP RST.
"""

import email.utils
import json
import select
import socket
import struct
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache = [0, '']


def _http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
        _date_cache[0] = now
    return _date_cache[1]


_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


class Headers:
    """Request headers: case-insensitive, multi-valued, parsed in one pass
    (the stdlib's email-based parser costs more than the rest of a request).
    Offers what handlers use from email.message.Message: get, get_all,
    items, keys, __contains__, __getitem__."""

    __slots__ = ('_map', '_items')

    def __init__(self):
        self._map = {}
        self._items = []

    def add(self, name, value):
        self._items.append((name, value))
        self._map.setdefault(name.lower(), []).append(value)

    def get(self, name, default=None):
        v = self._map.get(name.lower())
        return v[0] if v else default

    def get_all(self, name, failobj=None):
        v = self._map.get(name.lower())
        return list(v) if v else failobj

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name.lower() in self._map

    def items(self):
        return list(self._items)

    def keys(self):
        return [k for k, _ in self._items]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, endpoint):
        self.endpoint = endpoint
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        # A client vanishing mid-request is normal here (resets, aborted
        # polls); anything else is printed.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    timeout = 900               # idle keep-alive connections are closed
    server_version = 'localaws'
    sys_version = ''

    def parse_request(self):
        """Request line and headers, as BaseHTTPRequestHandler does, with a
        one-pass header parser.  Sets command, path, request_version,
        headers and close_connection; answers errors itself."""
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        line = str(self.raw_requestline, 'iso-8859-1').rstrip('\r\n')
        self.requestline = line
        words = line.split()
        if len(words) != 3 or not words[2].startswith('HTTP/1.'):
            self.send_error(400, f'Bad request line {line!r}')
            return False
        self.command, self.path, self.request_version = words
        headers = Headers()
        count = 0
        while True:
            raw = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(raw) > _MAX_HEADER_LINE:
                self.send_error(431, 'Header line too long')
                return False
            if raw in (b'\r\n', b'\n', b''):
                break
            count += 1
            if count > _MAX_HEADERS:
                self.send_error(431, 'Too many headers')
                return False
            name, sep, value = raw.decode('iso-8859-1').partition(':')
            if not sep or not name or name != name.strip():
                self.send_error(400, 'Bad header line')
                return False
            headers.add(name, value.strip())
        self.headers = headers
        conn = (headers.get('Connection') or '').lower()
        self.close_connection = (conn == 'close' or
                                 (self.request_version == 'HTTP/1.0'
                                  and conn != 'keep-alive'))
        if (headers.get('Expect') or '').lower() == '100-continue' and \
                self.request_version == 'HTTP/1.1':
            if not self.handle_expect_100():
                return False
        return True

    def do_POST(self):
        self._dispatch()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, fmt, *args):
        if self.server.endpoint.verbose:
            sys.stderr.write('%s - %s\n' % (self.address_string(),
                                            fmt % args))

    # -- dispatch ------------------------------------------------------------

    def _dispatch(self):
        ep = self.server.endpoint
        t0 = time.monotonic()
        method = self.command
        path, _, query = self.path.partition('?')
        te = self.headers.get('Transfer-Encoding')
        if te and te.strip().lower() != 'identity':
            self.close_connection = True
            return self._send_json(411, {'message': 'Length Required'})
        cl = self.headers.get('Content-Length')
        try:
            n = int(cl) if cl else 0
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            return self._send_json(400, {'message': 'Bad Content-Length'})
        if n > ep.max_body_bytes:
            # Read (and drop) a moderately oversized body so the client,
            # still sending, gets the 413 rather than a broken pipe / RST.
            self.close_connection = True
            left = n if n <= 16 * ep.max_body_bytes else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    return
                left -= len(chunk)
            return self._send(413, {
                'Content-Type': 'application/json',
                'x-amzn-ErrorType': 'RequestEntityTooLargeException'},
                json.dumps({'message': 'Request Entity Too Large: the body '
                            f'exceeds {ep.max_body_bytes} bytes'}).encode())
        body = self.rfile.read(n) if n else b''
        if len(body) < n:
            self.close_connection = True
            return
        target = self.headers.get('X-Amz-Target')
        if target is not None and method == 'POST':
            label = target
            status = self._aws(ep, path, query, body)
        else:
            label = f'{method} {path}'
            resp = ep.handle_http(method=method, path=path, query=query,
                                  headers=self.headers, body=body)
            headers = {'Content-Type': resp.content_type}
            headers.update(resp.headers)
            self._send(resp.status, headers, resp.body)
            status = resp.status
        if ep.verbose:
            sys.stderr.write(f'{self.client_address[0]}:'
                             f'{self.client_address[1]} {label} {status} '
                             f'{(time.monotonic() - t0) * 1000:.1f}ms\n')

    def _aws(self, ep, path, query, body):
        out = ep.handle_aws(method=self.command, path=path, query=query,
                            headers=self.headers, body=body,
                            client_gone=self._client_gone)
        if out.reset:
            self._reset_connection()
            return 'RST'
        req = out.aws_request
        if req is not None and req.wants_delivery_check and \
                self._client_gone():
            req.undelivered('client_disconnected')
            self.close_connection = True
            return 'client-gone'
        try:
            self._send(out.status, out.headers, out.body)
        except OSError:
            if req is not None:
                req.undelivered('write_failed')
            self.close_connection = True
            return 'write-failed'
        return out.status

    # -- socket helpers ------------------------------------------------------

    def _client_gone(self):
        """True when the peer closed or reset the connection."""
        sock = self.connection
        try:
            p = select.poll()
            p.register(sock, select.POLLIN | select.POLLPRI)
            if not p.poll(0):
                return False
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b''
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    def _reset_connection(self):
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack('ii', 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()      # drop the makefile's reference first
        except OSError:
            pass
        sock.close()                # linger 0: the kernel sends RST

    def _send_json(self, status, obj):
        self._send(status, {'Content-Type': 'application/json'},
                   json.dumps(obj).encode())

    def _send(self, status, headers, body):
        lines = [f'HTTP/1.1 {status} {_REASONS.get(status, "Unknown")}',
                 f'Date: {_http_date()}', f'Content-Length: {len(body)}']
        for k, v in headers.items():
            lines.append(f'{k}: {v}')
        if self.close_connection:
            lines.append('Connection: close')
        self.wfile.write(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
                         + body)
