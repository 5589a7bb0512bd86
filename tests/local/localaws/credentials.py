"""The credential store: access key id -> secret, session token, expiry.

Static keys have no token and no expiry.  Session credentials (added through
the admin API or issued by the ECS / IMDS stand-ins) need their token on every
request and stop working at ``expires_at`` (epoch seconds).  Lookups are a
plain dict read, safe without the lock.
"""

import threading

DEFAULT_ACCESS_KEY = 'AKIDEXAMPLE'
DEFAULT_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'

_MAX_ENTRIES = 20000


class Credential:
    __slots__ = ('akid', 'secret', 'token', 'expires_at', 'source')

    def __init__(self, akid, secret, token=None, expires_at=None,
                 source='admin'):
        self.akid = akid
        self.secret = secret
        self.token = token
        self.expires_at = expires_at
        self.source = source

    def public(self):
        """What the admin API shows: never the secret or the token."""
        return {'accessKeyId': self.akid, 'hasSessionToken': bool(self.token),
                'expiresAt': self.expires_at, 'source': self.source}


class CredentialStore:
    def __init__(self):
        self._lock = threading.Lock()
        self._creds = {}
        self.reset()

    def reset(self):
        with self._lock:
            self._creds = {DEFAULT_ACCESS_KEY: Credential(
                DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, source='default')}

    def add(self, akid, secret, token=None, expires_at=None, source='admin'):
        cred = Credential(akid, secret, token or None, expires_at, source)
        with self._lock:
            if len(self._creds) >= _MAX_ENTRIES:
                # Drop the oldest issued entries (dicts keep insertion order).
                for k in list(self._creds)[:_MAX_ENTRIES // 10]:
                    if self._creds[k].source != 'default':
                        del self._creds[k]
            self._creds[akid] = cred
        return cred

    def get(self, akid):
        return self._creds.get(akid)

    def list_public(self):
        with self._lock:
            return [c.public() for c in self._creds.values()]
