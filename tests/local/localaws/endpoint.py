"""The Endpoint: settings, credential store, faults, stats, the services, the
AWS request pipeline and the core admin API.

AWS pipeline for ``POST /`` with ``X-Amz-Target: <Prefix>.<Op>``, in order:
  1. route the prefix to a service            (else UnknownOperationException)
  2. Content-Type must be the service's       (else UnknownOperationException)
  3. SigV4 verification, unless turned off    (auth errors, see sigv4.verify)
  4. the operation must exist                 (else UnknownOperationException)
  5. JSON body (empty = {}), must be an object (else SerializationException)
  6. validation against the botocore model    (else ValidationException)
  7. fault decision: latency, then 500/503/throttle/reset before the effect
  8. the operation's handler (the effect)
  9. after-effect fault: the effect stays, the answer becomes 500
Every AWS request is counted and recorded (stats.Stats).

The HTTP layer (httpd.py) owns sockets; this module never touches one.
"""

import importlib
import json
import pkgutil
import re
import sys
import time
import traceback
import urllib.parse
import uuid

import botocore.session

from . import errors, sigv4
from .credentials import CredentialStore
from .faults import Faults
from .service import (AwsRequest, HttpError, HttpRequest, Response,
                      json_response)
from .stats import Stats
from .validator import ModelValidator

DEFAULT_REGION = 'us-east-1'
DEFAULT_ACCOUNT = '123456789012'
DEFAULT_POLL_TIMEOUT_S = 60.0
MAX_BODY_BYTES = 1024 * 1024

_SETTING_TYPES = {
    'poll_timeout_s': (int, float),
    'verify_signatures': (bool,),
    'max_skew_s': (int,),
    'reject_unknown_members': (bool,),
    'sigv4_reference': (bool,),
    'auth_error_status': (int, type(None)),
}


class Outcome:
    """What the HTTP layer must do with an AWS request."""
    __slots__ = ('status', 'headers', 'body', 'reset', 'aws_request')

    def __init__(self, status=200, headers=None, body=b'', reset=False,
                 aws_request=None):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.reset = reset
        self.aws_request = aws_request


class Endpoint:
    def __init__(self, region=DEFAULT_REGION, account=DEFAULT_ACCOUNT,
                 poll_timeout_s=DEFAULT_POLL_TIMEOUT_S, verbose=False,
                 max_body_bytes=MAX_BODY_BYTES):
        self.region = region
        self.account = account
        self.verbose = verbose
        self.max_body_bytes = max_body_bytes
        self.defaults = {'poll_timeout_s': float(poll_timeout_s),
                         'verify_signatures': True, 'max_skew_s': 300,
                         'reject_unknown_members': True,
                         'sigv4_reference': False,
                         'auth_error_status': None}
        self.settings = dict(self.defaults)
        self.credentials = CredentialStore()
        self.faults = Faults()
        self.stats = Stats()
        self.started_at = time.time()
        self._botocore = botocore.session.get_session()
        self.services = []
        self.targets = {}
        self.routes = []
        self._add_core_routes()

    # -- services ------------------------------------------------------------

    def load_services(self, package='services'):
        """Import every module of the services package and add its SERVICES."""
        pkg = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__),
                           key=lambda i: i.name):
            if info.name.startswith('_'):
                continue
            mod = importlib.import_module(f'{package}.{info.name}')
            for cls in getattr(mod, 'SERVICES', ()):
                self.add_service(cls(self))
        for svc in self.services:
            svc.start()

    def add_service(self, svc):
        if svc.target_prefix:
            if svc.target_prefix in self.targets:
                raise ValueError(f'duplicate X-Amz-Target prefix '
                                 f'{svc.target_prefix}')
            model = self._botocore.get_service_model(svc.botocore_name)
            svc.model = model
            md = model.metadata
            svc.signing_name = svc.signing_name or md.get('signingName') \
                or md.get('endpointPrefix')
            svc.content_type = 'application/x-amz-json-' + \
                md.get('jsonVersion', '1.0')
            svc.validator = ModelValidator(
                model, svc.shape_overrides,
                reject_unknown=self.settings['reject_unknown_members'])
            for op in svc.operations:
                model.operation_model(op)   # fail early on a typo
            self.targets[svc.target_prefix] = svc
        for method, pattern, handler in svc.routes():
            self.routes.append((method, re.compile(pattern), handler))
        self.services.append(svc)

    # -- settings ------------------------------------------------------------

    def update_settings(self, changes):
        if not isinstance(changes, dict):
            raise HttpError(400, 'settings: body must be a JSON object')
        new = dict(self.settings)
        for k, v in changes.items():
            types = _SETTING_TYPES.get(k)
            if types is None:
                raise HttpError(400, f'settings: unknown key {k!r}; known: '
                                f'{sorted(_SETTING_TYPES)}')
            if not isinstance(v, types) or (bool not in types
                                             and isinstance(v, bool)):
                raise HttpError(400, f'settings: {k} has the wrong type')
            if k in ('poll_timeout_s', 'max_skew_s') and v < 0:
                raise HttpError(400, f'settings: {k} must be >= 0')
            if k == 'auth_error_status' and v not in (None, 400, 403):
                raise HttpError(400, 'settings: auth_error_status must be '
                                '400, 403 or null (the service default)')
            new[k] = float(v) if k == 'poll_timeout_s' else v
        self.settings = new
        for svc in self.services:
            if svc.validator is not None:
                svc.validator.reject_unknown = new['reject_unknown_members']
        return new

    def reset(self):
        self.settings = dict(self.defaults)
        self.credentials.reset()
        self.faults.clear(reset_counts=True)
        self.stats.reset()
        for svc in self.services:
            if svc.validator is not None:
                svc.validator.reject_unknown = \
                    self.settings['reject_unknown_members']
            svc.reset()

    def summary(self):
        out = {}
        for svc in self.services:
            out.update(svc.summary())
        snap = self.stats.snapshot()
        out.update(snap)
        out['faults_injected'] = self.faults.counts_snapshot()
        return out

    # -- the AWS pipeline ----------------------------------------------------

    def handle_aws(self, *, method, path, query, headers, body, client_gone):
        """Process one AWS request.  headers: httpd.Headers (get, get_all)."""
        t0 = time.monotonic()
        target = headers.get('X-Amz-Target', '')
        prefix, _, op = target.partition('.')
        svc = self.targets.get(prefix)
        ns = svc.error_namespace if svc else None
        akid = None
        fault = None
        token = None
        auth_failure = validation_failure = False
        result = None
        err = None
        aws_req = None
        try:
            if svc is None or not op:
                raise errors.unknown_operation()
            ctype = headers.get('Content-Type', '')
            if ctype.split(';', 1)[0].strip().lower() != svc.content_type:
                raise errors.unknown_operation()

            def get_all(name):
                return headers.get_all(name)
            if self.settings['verify_signatures']:
                try:
                    p = sigv4.verify(
                        method=method, path=path, query=query,
                        get_all=get_all, body=body, store=self.credentials,
                        region=self.region, service=svc.signing_name,
                        max_skew_s=self.settings['max_skew_s'],
                        reference=self.settings['sigv4_reference'],
                        status=self.settings['auth_error_status']
                        or svc.auth_error_status)
                    akid = p.akid
                except errors.AwsError:
                    auth_failure = True
                    raise
            else:
                akid = _akid_of(headers.get('Authorization', ''))
            handler = svc.operations.get(op)
            if handler is None:
                raise errors.unknown_operation()
            params = _parse_body(body)
            token = params.get('taskToken') if isinstance(
                params.get('taskToken'), str) else None
            problems = svc.validator.validate(op, params)
            if problems:
                validation_failure = True
                raise errors.validation(problems)

            decision = self.faults.draw(op, target)
            fault = decision.kind
            if decision.latency_s:
                time.sleep(decision.latency_s)
            if fault == 'reset':
                self._record(op, 0, None, fault, akid, token, t0)
                return Outcome(reset=True)
            if fault == '500':
                raise errors.internal_failure()
            if fault == '503':
                raise errors.service_unavailable()
            if fault == 'throttle':
                raise errors.throttling()

            aws_req = AwsRequest(svc, op, params, akid, headers, client_gone)
            try:
                result = handler(aws_req)
            except errors.AwsError:
                if fault != 'after_effect':
                    raise
                # The effect was attempted (and refused); still answer 500.
            except Exception:       # a bug in a handler: say so loudly
                traceback.print_exc(file=sys.stderr)
                raise errors.internal_failure() from None
            if fault == 'after_effect':
                aws_req.undelivered('fault_after_effect')
                aws_req = None
                raise errors.internal_failure()
        except errors.AwsError as e:
            err = e
        if err is not None:
            if err.code in ('ValidationException', 'SerializationException'):
                validation_failure = True
            self._record(op or target, err.status, err.code, fault, akid,
                         token, t0, auth_failure, validation_failure)
            body_bytes = json.dumps(err.body(ns),
                                    separators=(',', ':')).encode('utf-8')
            return Outcome(err.status, {
                'Content-Type': svc.content_type if svc
                else 'application/x-amz-json-1.0',
                'x-amzn-RequestId': str(uuid.uuid4()),
                'x-amzn-ErrorType': err.error_type_header(ns)}, body_bytes)
        self._record(op, 200, None, fault, akid, token, t0)
        return Outcome(200, {'Content-Type': svc.content_type,
                             'x-amzn-RequestId': str(uuid.uuid4())},
                       json.dumps(result if result is not None else {},
                                  separators=(',', ':')).encode('utf-8'),
                       aws_request=aws_req)

    def _record(self, op, status, code, fault, akid, token, t0,
                auth_failure=False, validation_failure=False):
        self.stats.record(op=op, status=status, error_code=code, fault=fault,
                          access_key_id=akid, token=token,
                          duration_ms=(time.monotonic() - t0) * 1000.0,
                          auth_failure=auth_failure,
                          validation_failure=validation_failure)

    # -- plain HTTP routes ---------------------------------------------------

    def handle_http(self, *, method, path, query, headers, body):
        """Route a non-AWS request; returns a Response."""
        qs = {k: v[-1] for k, v in urllib.parse.parse_qs(
            query, keep_blank_values=True).items()}
        path_found = False
        for m, rx, handler in self.routes:
            match = rx.fullmatch(path)
            if match is None:
                continue
            path_found = True
            if m != method:
                continue
            req = HttpRequest(method, path, qs, headers, body, match)
            try:
                out = handler(req)
            except HttpError as e:
                return json_response({'error': e.message}, e.status)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return json_response({'error': 'internal error'}, 500)
            if isinstance(out, Response):
                return out
            return json_response(out)
        if path_found:
            return json_response({'error': f'method {method} not allowed'},
                                 405)
        return json_response({'error': f'no route for {method} {path}'}, 404)

    # -- core admin API ------------------------------------------------------

    def _add_core_routes(self):
        r = self.routes.append
        r(('POST', re.compile(r'/_admin/reset'), self._admin_reset))
        r(('GET', re.compile(r'/_admin/settings'),
           lambda req: dict(self.settings)))
        r(('POST', re.compile(r'/_admin/settings'),
           lambda req: self.update_settings(req.json())))
        r(('GET', re.compile(r'/_admin/credentials'),
           lambda req: {'credentials': self.credentials.list_public()}))
        r(('POST', re.compile(r'/_admin/credentials'),
           self._admin_credentials))
        r(('GET', re.compile(r'/_admin/faults'), self._admin_faults_get))
        r(('POST', re.compile(r'/_admin/faults'), self._admin_faults))
        r(('GET', re.compile(r'/_admin/summary'),
           lambda req: self.summary()))
        r(('GET', re.compile(r'/_admin/requests'), self._admin_requests))
        r(('GET', re.compile(r'/_admin/health'), self._admin_health))

    def _admin_reset(self, req):
        self.reset()
        return {'ok': True}

    def _admin_credentials(self, req):
        b = req.json()
        akid, secret = b.get('accessKeyId'), b.get('secretAccessKey')
        if not isinstance(akid, str) or not akid or \
                not isinstance(secret, str) or not secret:
            raise HttpError(400, 'credentials: accessKeyId and '
                            'secretAccessKey are required strings')
        token = b.get('sessionToken')
        if token is not None and not isinstance(token, str):
            raise HttpError(400, 'credentials: sessionToken must be a string')
        exp = b.get('expiresAt')
        if exp is not None and (not isinstance(exp, (int, float))
                                or isinstance(exp, bool)):
            raise HttpError(400, 'credentials: expiresAt must be epoch '
                            'seconds')
        cred = self.credentials.add(akid, secret, token, exp, 'admin')
        return cred.public()

    def _admin_faults(self, req):
        try:
            self.faults.configure(req.json())
        except ValueError as e:
            raise HttpError(400, str(e)) from None
        return self._admin_faults_get(req)

    def _admin_faults_get(self, req):
        return {'config': self.faults.config(),
                'injected': self.faults.counts_snapshot()}

    def _admin_requests(self, req):
        limit = req.query.get('limit')
        try:
            limit = int(limit) if limit is not None else None
        except ValueError:
            raise HttpError(400, 'limit must be an integer') from None
        return {'requests': self.stats.recent(limit)}

    def _admin_health(self, req):
        return {'ok': True, 'region': self.region, 'account': self.account,
                'services': [s.name for s in self.services],
                'targets': sorted(self.targets), 'startedAt': self.started_at}


def _parse_body(body):
    if not body or not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise errors.serialization('Unable to parse the request body as '
                                   'JSON.') from None
    if not isinstance(params, dict):
        kind = {list: 'list', str: 'string', bool: 'boolean'}.get(
            type(params), 'number' if params is not None else 'null')
        raise errors.serialization(f'Start of {kind} found where a '
                                   'structure was expected.')
    return params


def _akid_of(auth):
    m = re.search(r'Credential=([^/,\s]+)/', auth)
    return m.group(1) if m else None
