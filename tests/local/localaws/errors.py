"""AWS JSON-protocol errors.

An AwsError carries the short code (``TaskTimedOut``), the message, the HTTP
status and the coral namespace that prefixes ``__type`` on the wire
(``com.amazonaws.swf.service.v2.model#TaskTimedOut``).  Handlers raise it; the
HTTP layer renders it as AWS does: body ``{"__type": ..., "message": ...}`` and
header ``x-amzn-ErrorType: Code:http://internal.amazon.com/coral/<ns>/``.
"""

NS_SERVICE = 'com.amazon.coral.service'            # auth, serialization, routing
NS_AVAILABILITY = 'com.amazon.coral.availability'  # throttling, unavailability
NS_VALIDATE = 'com.amazon.coral.validate'          # ValidationException


class AwsError(Exception):
    """An error answered to an AWS request."""

    def __init__(self, code, message='', status=400, namespace=None,
                 extra=None):
        super().__init__(f'{code}: {message}')
        self.code = code
        self.message = message
        self.status = status
        self.namespace = namespace
        self.extra = extra or {}

    def type_string(self, default_namespace=None):
        ns = self.namespace or default_namespace
        return f'{ns}#{self.code}' if ns else self.code

    def body(self, default_namespace=None):
        body = {'__type': self.type_string(default_namespace),
                'message': self.message}
        body.update(self.extra)
        return body

    def error_type_header(self, default_namespace=None):
        ns = self.namespace or default_namespace
        if ns:
            return f'{self.code}:http://internal.amazon.com/coral/{ns}/'
        return self.code


# Authentication errors.  Coral-fronted awsJson services (Step Functions,
# DynamoDB, SSM, ...) answer these with HTTP 400 (observed: "Service:
# AWSStepFunctions; Status Code: 400; Error Code: UnrecognizedClientException");
# services behind API Gateway (Lambda, EKS) answer 403.  The status is chosen
# by the service (Service.auth_error_status).

def missing_auth(status):
    return AwsError('MissingAuthenticationTokenException',
                    'Request is missing Authentication Token', status, NS_SERVICE)


def incomplete_signature(message, status):
    return AwsError('IncompleteSignatureException', message, status, NS_SERVICE)


def unrecognized_client(status):
    return AwsError('UnrecognizedClientException',
                    'The security token included in the request is invalid.',
                    status, NS_SERVICE)


def expired_token(status):
    return AwsError('ExpiredTokenException',
                    'The security token included in the request is expired',
                    status, NS_SERVICE)


def invalid_signature(message, status):
    return AwsError('InvalidSignatureException', message, status, NS_SERVICE)


def serialization(message):
    return AwsError('SerializationException', message, 400, NS_SERVICE)


def unknown_operation(message=''):
    return AwsError('UnknownOperationException', message, 400, NS_SERVICE)


def validation(messages):
    n = len(messages)
    head = f'{n} validation error{"" if n == 1 else "s"} detected: '
    return AwsError('ValidationException', head + '; '.join(messages), 400,
                    NS_VALIDATE)


def internal_failure(message='An internal error occurred.'):
    return AwsError('InternalFailure', message, 500, NS_SERVICE)


def service_unavailable():
    return AwsError('ServiceUnavailable', 'Service is unavailable.', 503,
                    NS_AVAILABILITY)


def throttling():
    return AwsError('ThrottlingException', 'Rate exceeded', 400,
                    NS_AVAILABILITY)
