"""Request counters and the bounded ring of recent AWS requests.

A record never holds a secret: the access key id is public, and a task token
(or any other bearer value) is stored only as a 12-hex-digit SHA-256 prefix.
"""

import collections
import hashlib
import threading
import time

RING_SIZE = 10000


def short_hash(value):
    return hashlib.sha256(value.encode('utf-8')).hexdigest()[:12]


class Stats:
    def __init__(self, ring_size=RING_SIZE):
        self._lock = threading.Lock()
        self._ring_size = ring_size
        self.reset()

    def reset(self):
        with self._lock:
            self.requests_by_op = collections.Counter()
            self.errors_by_code = collections.Counter()
            self.auth_failures = 0
            self.validation_failures = 0
            self.ring = collections.deque(maxlen=self._ring_size)

    def record(self, *, op, status, error_code=None, fault=None,
               access_key_id=None, token=None, duration_ms=None,
               auth_failure=False, validation_failure=False):
        rec = {'op': op, 'status': status, 'errorCode': error_code,
               'fault': fault, 'accessKeyId': access_key_id,
               'at': time.time()}
        if token:
            rec['tokenHash'] = short_hash(token)
        if duration_ms is not None:
            rec['durationMs'] = round(duration_ms, 2)
        with self._lock:
            self.requests_by_op[op] += 1
            if error_code:
                self.errors_by_code[error_code] += 1
            if auth_failure:
                self.auth_failures += 1
            if validation_failure:
                self.validation_failures += 1
            self.ring.append(rec)

    def recent(self, limit=None):
        with self._lock:
            items = list(self.ring)
        if limit is not None and limit >= 0:
            items = items[-limit:] if limit else []
        return items

    def snapshot(self):
        with self._lock:
            return {'requests_by_op': dict(self.requests_by_op),
                    'errors_by_code': dict(self.errors_by_code),
                    'auth_failures': self.auth_failures,
                    'validation_failures': self.validation_failures}
