"""What the third-party web API stand-ins (services/jira.py, slack.py)
share: a lock, settings replaced through their admin API, a queue of
injected failures and the record of every request.

A subclass defines ``defaults()`` (the settings after a reset),
``reset_state()`` (its own data, called under the lock) and
``failure_key`` (the member of a queued failure that names what it hits:
"route" for Jira, "method" for Slack; "*" hits anything).  Settings are
shown without the "token" member.
"""

import threading

from localaws.service import HttpError, Service


class WebApiFake(Service):
    failure_key = 'method'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.reset()

    def defaults(self):
        return {}

    def reset_state(self):
        pass

    def reset(self):
        with self.lock:
            self.config = self.defaults()
            self.failures = []
            self.requests = []
            self.reset_state()

    # -- admin helpers -------------------------------------------------------

    def set_config(self, body, check=None):
        """Replaces the settings named in body (a JSON object; every key a
        known setting, check(key, value) raising HttpError for a bad
        value)."""
        if not isinstance(body, dict):
            raise HttpError(400, 'body must be a JSON object')
        with self.lock:
            for k, v in body.items():
                if k not in self.config:
                    raise HttpError(400, f'unknown key {k!r}; known: '
                                    f'{sorted(self.config)}')
                if check is not None:
                    check(k, v)
                self.config[k] = v
        return {'ok': True}

    def queue_failure(self, f):
        """Queues a failure (count defaults to 1); returns the queue's
        length."""
        f.setdefault('count', 1)
        with self.lock:
            self.failures.append(dict(f))
            return len(self.failures)

    def public_config(self):
        return {k: v for k, v in self.config.items() if k != 'token'}

    # -- serving (under the lock) --------------------------------------------

    def take_failure(self, name):
        """The next queued failure for `name` (one of its count used up),
        or None."""
        for f in self.failures:
            if f[self.failure_key] in (name, '*') and f['count'] > 0:
                f['count'] -= 1
                if f['count'] == 0:
                    self.failures.remove(f)
                return f
        return None
