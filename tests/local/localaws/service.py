"""Base class for the services of the local endpoint.

A service module (tests/local/services/<name>.py) defines one or more
subclasses of Service and lists them in a module-level ``SERVICES``.  The
endpoint discovers every module in that package at start.

An AWS JSON service sets ``target_prefix`` (the X-Amz-Target prefix, e.g.
``AWSStepFunctions``) and ``botocore_name``; the endpoint then routes
``POST /`` with ``X-Amz-Target: <prefix>.<Op>`` to the method decorated with
``@operation('<Op>')`` after verifying SigV4 (scope service = signing name
from the model) and validating the body against the model.  A handler gets an
AwsRequest and returns a dict (the response body) or raises AwsError.

Any service may also serve plain HTTP routes (admin endpoints, credential
stand-ins, Slack/Jira fakes) by returning them from ``routes()``:
``[(method, regex, handler)]``; a handler gets an HttpRequest and returns a
Response (or a dict, sent as JSON 200).  Admin routes live under /_admin/.
"""

import json


def operation(name):
    """Mark a Service method as the handler of AWS operation ``name``."""
    def deco(fn):
        fn._aws_operation = name
        return fn
    return deco


class Response:
    __slots__ = ('status', 'body', 'content_type', 'headers')

    def __init__(self, status=200, body=b'', content_type='application/json',
                 headers=None):
        if isinstance(body, str):
            body = body.encode('utf-8')
        elif not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, separators=(',', ':')).encode('utf-8')
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def json_response(obj, status=200):
    return Response(status, json.dumps(obj, separators=(',', ':')))


class HttpError(Exception):
    """Raised by a route handler: answered as {"error": message}."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class HttpRequest:
    """A plain HTTP request as route handlers see it."""

    def __init__(self, method, path, query, headers, body, match=None):
        self.method = method
        self.path = path
        self.query = query          # {name: last value}
        self.headers = headers      # httpd.Headers: get, get_all (any case)
        self.body = body
        self.match = match

    def json(self, default=None):
        if not self.body.strip():
            return {} if default is None else default
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, f'body is not valid JSON: {exc}') from None


class AwsRequest:
    """An authenticated, validated AWS request as operation handlers see it."""

    __slots__ = ('service', 'op', 'params', 'access_key_id', 'headers',
                 '_undelivered', 'client_gone')

    def __init__(self, service, op, params, access_key_id, headers,
                 client_gone):
        self.service = service
        self.op = op
        self.params = params
        self.access_key_id = access_key_id
        self.headers = headers
        self._undelivered = []
        self.client_gone = client_gone     # callable -> bool

    def on_undelivered(self, callback):
        """callback(reason) runs if the response cannot reach the client:
        the client disconnected ('client_disconnected'), the write failed
        ('write_failed') or a fault replaced it ('fault_after_effect')."""
        self._undelivered.append(callback)

    def undelivered(self, reason):
        for cb in self._undelivered:
            cb(reason)

    @property
    def wants_delivery_check(self):
        return bool(self._undelivered)


class Service:
    name = None             # short name, e.g. 'stepfunctions'
    target_prefix = None    # X-Amz-Target prefix for AWS JSON services
    botocore_name = None    # botocore service model name
    signing_name = None     # SigV4 scope service (default: from the model)
    error_namespace = None  # coral namespace of the service's own errors
    auth_error_status = 400  # coral awsJson services answer auth errors 400
    shape_overrides = {}    # {shape: {min|max|...}} on top of the model

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.operations = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            op = getattr(fn, '_aws_operation', None)
            if op:
                self.operations[op] = getattr(self, attr)
        self.model = None
        self.validator = None
        self.content_type = None

    def start(self):
        """Called once the endpoint is built (start threads here)."""

    def reset(self):
        """POST /_admin/reset: back to the state right after start."""

    def summary(self):
        """Counters merged into GET /_admin/summary."""
        return {}

    def routes(self):
        """[(method, regex, handler)] for plain HTTP routes."""
        return []
