"""Credential-vending stand-ins: ECS container credentials and EC2 IMDSv2.

Both hand out rotating session credentials that the endpoint accepts: each
rotation makes a fresh access key id ("ASIA" + 16 characters), secret and
session token, registers them in the credential store with their expiry, and
keeps older ones valid until their own expiry.  Rotation is lazy: a fetch
rotates when the current credentials are older than ``rotate_every_s`` (or a
rotation was asked for with {"rotate": true}).

ECS   GET /_ecs/credentials (also /v2/credentials/<id>), for
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials or
      AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/_ecs/credentials.
      With an auth_token configured the Authorization header must equal it
      (missing: 401, wrong: 403).
IMDS  PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds 1..21600
      -> token; GET /latest/meta-data/iam/security-credentials/ -> role name;
      GET /latest/meta-data/iam/security-credentials/<role> -> credentials.
      GETs need X-aws-ec2-metadata-token (missing, unknown or expired: 401).
      With token_status set (403, 404 or 405) the token PUT answers that
      status instead, as an instance with IMDS turned off (or a network
      where something else at 169.254.169.254 refuses) does; the GETs still
      honour tokens issued before.

Admin: POST /_admin/ecs and POST /_admin/imds with any of
  {"rotate_every_s", "lifetime_s", "fail": "500"|"garbage"|null,
   "rotate": true, "auth_token" (ECS only), "role_name" (IMDS only),
   "token_status": 403|404|405|null and "forget_tokens": true (IMDS only:
   the tokens issued so far become unknown, so their next GET is 401)};
  GET of the same path shows the configuration and counters.
"""

import base64
import os
import secrets
import string
import threading
import time

from localaws.service import HttpError, Response, Service

_ALNUM = string.ascii_uppercase + string.digits


def _iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


class Vendor:
    """Rotating session credentials registered in the endpoint's store."""

    DEFAULTS = {'rotate_every_s': 30, 'lifetime_s': 900, 'fail': None}

    def __init__(self, endpoint, source, extra_defaults):
        self.endpoint = endpoint
        self.source = source
        self.lock = threading.Lock()
        self.defaults = dict(self.DEFAULTS, **extra_defaults)
        self.reset()

    def reset(self):
        with self.lock:
            self.config = dict(self.defaults)
            self.current = None
            self.force = False
            self.fetches = 0        # every request for credentials
            self.served = 0         # ... answered with credentials
            self.refused = 0        # ... refused (auth) or failed (fail=)
            self.rotations = 0

    def configure(self, body):
        if not isinstance(body, dict):
            raise HttpError(400, 'body must be a JSON object')
        with self.lock:
            new = dict(self.config)
            for k, v in body.items():
                if k == 'rotate':
                    continue
                if k not in self.defaults:
                    raise HttpError(400, f'unknown key {k!r}; known: '
                                    f'{sorted(self.defaults) + ["rotate"]}')
                if k in ('rotate_every_s', 'lifetime_s') and (
                        not isinstance(v, (int, float)) or
                        isinstance(v, bool) or v < 0):
                    raise HttpError(400, f'{k} must be a number >= 0')
                if k == 'fail' and v not in (None, '500', 'garbage'):
                    raise HttpError(400, 'fail must be "500", "garbage" or '
                                    'null')
                if k == 'token_status' and v not in (None, 403, 404, 405):
                    raise HttpError(400, 'token_status must be 403, 404, '
                                    '405 or null')
                new[k] = v
            self.config = new
            if body.get('rotate'):
                self.force = True
        return self.status()

    def status(self):
        with self.lock:
            cfg = dict(self.config)
            if cfg.get('auth_token'):
                cfg['auth_token'] = '(set)'
            cur = self.current
            return {'config': cfg, 'fetches': self.fetches,
                    'served': self.served, 'refused': self.refused,
                    'rotations': self.rotations,
                    'currentAccessKeyId': cur['AccessKeyId'] if cur else None,
                    'currentExpiration': cur['Expiration'] if cur else None}

    def count(self, what):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def fetch(self):
        """Return the current credentials (rotating if due)."""
        now = time.time()
        with self.lock:
            self.served += 1
            cur = self.current
            if cur is None or self.force or \
                    now - cur['_issued'] >= self.config['rotate_every_s']:
                akid = 'ASIA' + ''.join(secrets.choice(_ALNUM)
                                        for _ in range(16))
                secret = base64.b64encode(os.urandom(30)).decode()
                token = 'IQoJb3JpZ2luX2VjE' + base64.b64encode(
                    os.urandom(660)).decode()
                expires = now + self.config['lifetime_s']
                self.endpoint.credentials.add(akid, secret, token, expires,
                                              self.source)
                cur = {'AccessKeyId': akid, 'SecretAccessKey': secret,
                       'Token': token, 'Expiration': _iso(expires),
                       '_issued': now}
                self.current = cur
                self.force = False
                self.rotations += 1
            return dict(cur)


def _failure(mode):
    if mode == '500':
        return Response(500, {'code': 'InternalServerError',
                              'message': 'injected failure'})
    return Response(200, b'<html><body>502 Bad Gateway</body></html>\x00\xff',
                    'text/html')


class EcsCredentials(Service):
    name = 'ecs-credentials'
    ROLE_ARN_FMT = 'arn:aws:iam::{account}:role/healer-task'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.vendor = Vendor(endpoint, 'ecs', {'auth_token': None})

    def reset(self):
        self.vendor.reset()

    def routes(self):
        return [('GET', r'/_ecs/credentials', self._get),
                ('GET', r'/v2/credentials/[^/]+', self._get),
                ('POST', r'/_admin/ecs',
                 lambda req: self.vendor.configure(req.json())),
                ('GET', r'/_admin/ecs', lambda req: self.vendor.status())]

    def _get(self, req):
        self.vendor.count('fetches')
        want = self.vendor.config.get('auth_token')
        if want:
            got = req.headers.get('Authorization')
            if got is None:
                self.vendor.count('refused')
                return Response(401, {'message': 'Authorization header '
                                      'missing'})
            if not secrets.compare_digest(got.encode(), want.encode()):
                self.vendor.count('refused')
                return Response(403, {'message': 'Authorization token '
                                      'invalid'})
        fail = self.vendor.config.get('fail')
        if fail:
            self.vendor.count('refused')
            return _failure(fail)
        c = self.vendor.fetch()
        return {'RoleArn': self.ROLE_ARN_FMT.format(
                    account=self.endpoint.account),
                'AccessKeyId': c['AccessKeyId'],
                'SecretAccessKey': c['SecretAccessKey'],
                'Token': c['Token'], 'Expiration': c['Expiration']}

    def summary(self):
        return {'ecs_fetches': self.vendor.fetches}


class Imds(Service):
    name = 'imds'
    MAX_TTL = 21600

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.vendor = Vendor(endpoint, 'imds', {'role_name': 'healer-worker',
                                                'token_status': None})
        self.tokens = {}            # token -> expiry (monotonic)
        self.token_requests = 0     # every token PUT, refused ones too
        self.tokens_lock = threading.Lock()

    def reset(self):
        self.vendor.reset()
        with self.tokens_lock:
            self.tokens.clear()
            self.token_requests = 0

    def routes(self):
        base = r'/latest/meta-data/iam/security-credentials'
        return [('PUT', r'/latest/api/token', self._put_token),
                ('GET', base + r'/?', self._list_roles),
                ('GET', base + r'/([^/]+)', self._get_creds),
                ('POST', r'/_admin/imds', self._configure),
                ('GET', r'/_admin/imds', lambda req: self.vendor.status())]

    def _configure(self, req):
        body = req.json()
        if isinstance(body, dict) and body.get('forget_tokens'):
            body = {k: v for k, v in body.items() if k != 'forget_tokens'}
            with self.tokens_lock:
                self.tokens.clear()
        return self.vendor.configure(body)

    @staticmethod
    def _unauthorized():
        return Response(401, b'', 'text/plain')

    def _put_token(self, req):
        with self.tokens_lock:
            self.token_requests += 1
        if req.headers.get('X-Forwarded-For') is not None:
            return Response(403, b'', 'text/plain')
        refused = self.vendor.config.get('token_status')
        if refused:
            return Response(refused, b'', 'text/plain')
        ttl = req.headers.get('X-aws-ec2-metadata-token-ttl-seconds')
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            return Response(400, b'', 'text/plain')
        if not 1 <= ttl <= self.MAX_TTL:
            return Response(400, b'', 'text/plain')
        token = base64.b64encode(os.urandom(42)).decode()
        now = time.monotonic()
        with self.tokens_lock:
            if len(self.tokens) > 10000:
                self.tokens = {k: v for k, v in self.tokens.items()
                               if v > now}
            self.tokens[token] = now + ttl
        return Response(200, token, 'text/plain', {
            'X-aws-ec2-metadata-token-ttl-seconds': str(ttl)})

    def _authorized(self, req):
        token = req.headers.get('X-aws-ec2-metadata-token')
        if not token:
            return False
        exp = self.tokens.get(token)
        return exp is not None and exp > time.monotonic()

    def _list_roles(self, req):
        if not self._authorized(req):
            return self._unauthorized()
        return Response(200, self.vendor.config['role_name'], 'text/plain')

    def _get_creds(self, req):
        self.vendor.count('fetches')
        if not self._authorized(req):
            self.vendor.count('refused')
            return self._unauthorized()
        if req.match.group(1) != self.vendor.config['role_name']:
            self.vendor.count('refused')
            return Response(404, b'', 'text/plain')
        fail = self.vendor.config.get('fail')
        if fail:
            self.vendor.count('refused')
            return _failure(fail)
        c = self.vendor.fetch()
        body = {'Code': 'Success', 'LastUpdated': _iso(c['_issued']),
                'Type': 'AWS-HMAC', 'AccessKeyId': c['AccessKeyId'],
                'SecretAccessKey': c['SecretAccessKey'], 'Token': c['Token'],
                'Expiration': c['Expiration']}
        return Response(200, body, 'text/plain')

    def summary(self):
        with self.tokens_lock:
            token_requests = self.token_requests
        return {'imds_fetches': self.vendor.fetches,
                'imds_token_requests': token_requests}


SERVICES = [EcsCredentials, Imds]
