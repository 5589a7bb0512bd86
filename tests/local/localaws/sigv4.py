"""SigV4 verification by recomputing the signature.

Two implementations of the same computation:

* ``sign_fast``: canonical request, string to sign and signature built with
  hashlib/hmac directly, with the signing key cached per
  (secret, date, region, service).  This is what the server uses.
* ``sign_botocore``: the reference.  It rebuilds a botocore ``AWSRequest`` with
  exactly the signed headers, the method, path and body, and runs the pieces of
  ``botocore.auth.SigV4Auth`` with its timestamp fixed to the request's
  X-Amz-Date.  The tests check that both give the same signature for the same
  request; the server can be switched to it (setting ``sigv4_reference``).

``verify`` applies AWS's checks in order (header shape, access key, session
token, expiry, credential scope, signature, clock skew) and raises the AwsError
AWS would answer.  The payload hash is always computed from the body received.
"""

import calendar
import hashlib
import hmac
import time
from urllib.parse import quote

from botocore.utils import remove_dot_segments

from . import errors

ALGORITHM = 'AWS4-HMAC-SHA256'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()


class ParsedAuth:
    __slots__ = ('akid', 'date', 'region', 'service', 'terminator',
                 'signed_headers', 'signature', 'raw_credential')


def parse_authorization(value, status):
    """Parse an ``Authorization: AWS4-HMAC-SHA256 ...`` header value."""
    algo, _, rest = value.strip().partition(' ')
    if algo != ALGORITHM:
        raise errors.incomplete_signature(
            f"Unsupported AWS 'algorithm': '{algo}'. Authorization={value}",
            status)
    params = {}
    for part in rest.split(','):
        k, sep, v = part.strip().partition('=')
        if sep:
            params[k.strip()] = v.strip()
    missing = [f"Authorization header requires '{k}' parameter."
               for k in ('Credential', 'Signature', 'SignedHeaders')
               if not params.get(k)]
    if missing:
        raise errors.incomplete_signature(
            ' '.join(missing) + f' Authorization={value}', status)
    cred = params['Credential']
    parts = cred.split('/')
    if len(parts) != 5:
        raise errors.incomplete_signature(
            'Credential must have exactly 5 slash-delimited elements, e.g. '
            f"keyid/date/region/service/term, got '{cred}'", status)
    p = ParsedAuth()
    p.akid, p.date, p.region, p.service, p.terminator = parts
    p.raw_credential = cred
    p.signed_headers = params['SignedHeaders'].split(';')
    p.signature = params['Signature']
    return p


# ---- the fast path --------------------------------------------------------

_key_cache = {}
_KEY_CACHE_MAX = 4096


def signing_key(secret, date, region, service):
    ck = (secret, date, region, service)
    key = _key_cache.get(ck)
    if key is None:
        def h(k, msg):
            return hmac.new(k, msg.encode('utf-8'), hashlib.sha256).digest()
        key = h(h(h(h(('AWS4' + secret).encode('utf-8'), date), region),
                  service), 'aws4_request')
        if len(_key_cache) >= _KEY_CACHE_MAX:
            _key_cache.clear()
        _key_cache[ck] = key
    return key


def canonical_uri(path):
    # As botocore does for every service but S3: normalise, then URI-encode
    # the (already encoded) path once more.
    if path == '/' or not path:
        return '/'
    return quote(remove_dot_segments(path), safe='/~')


def canonical_query(query):
    if not query:
        return ''
    pairs = []
    for pair in query.split('&'):
        k, _, v = pair.partition('=')
        pairs.append((k, v))
    return '&'.join(f'{k}={v}' for k, v in sorted(pairs))


def canonical_request(method, path, query, get_all, signed_headers,
                      payload_hash):
    """get_all(name) -> list of the header's values (case-insensitive)."""
    names = sorted(set(h.lower() for h in signed_headers))
    lines = []
    for name in names:
        values = get_all(name) or []
        lines.append(name + ':' + ','.join(' '.join(v.split())
                                           for v in values))
    return '\n'.join((method.upper(), canonical_uri(path),
                      canonical_query(query), '\n'.join(lines) + '\n',
                      ';'.join(names), payload_hash))


def string_to_sign(amz_date, scope, canonical):
    return '\n'.join((ALGORITHM, amz_date, scope,
                      hashlib.sha256(canonical.encode('utf-8')).hexdigest()))


def sign_fast(secret, method, path, query, get_all, signed_headers, body,
              amz_date, region, service):
    """Return (signature, canonical_request, string_to_sign)."""
    payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    canonical = canonical_request(method, path, query, get_all,
                                  signed_headers, payload_hash)
    scope = f'{amz_date[:8]}/{region}/{service}/aws4_request'
    sts = string_to_sign(amz_date, scope, canonical)
    key = signing_key(secret, amz_date[:8], region, service)
    return (hmac.new(key, sts.encode('utf-8'), hashlib.sha256).hexdigest(),
            canonical, sts)


# ---- the reference path ---------------------------------------------------

def sign_botocore(secret, method, path, query, get_all, signed_headers, body,
                  amz_date, region, service, access_key='AKID', token=None):
    """Same computation through botocore.auth.SigV4Auth."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = (get_all('host') or ['localhost'])[0]
    url = f'http://{host}{path}' + (f'?{query}' if query else '')
    req = AWSRequest(method=method, url=url, data=body)
    for name in sorted(set(h.lower() for h in signed_headers)):
        for v in get_all(name) or []:
            req.headers[name] = v       # HTTPHeaders appends duplicates
    req.context['timestamp'] = amz_date
    auth = SigV4Auth(Credentials(access_key, secret, token), service, region)
    canonical = auth.canonical_request(req)
    sts = auth.string_to_sign(req, canonical)
    return auth.signature(sts, req), canonical, sts


# ---- verification ---------------------------------------------------------

def _amz_to_epoch(amz_date):
    """'20261127T045017Z' -> epoch seconds (ValueError when malformed)."""
    if len(amz_date) != 16 or amz_date[8] != 'T' or amz_date[15] != 'Z' \
            or not (amz_date[:8] + amz_date[9:15]).isdigit():
        raise ValueError(amz_date)
    y, mo, d = int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8])
    h, mi, s = int(amz_date[9:11]), int(amz_date[11:13]), int(amz_date[13:15])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        raise ValueError(amz_date)
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def _epoch_to_amz(t):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(t))


def _skew_text(max_skew_s):
    if max_skew_s % 60 == 0:
        return f'{max_skew_s // 60} min.'
    return f'{max_skew_s} sec.'


def verify(*, method, path, query, get_all, body, store, region, service,
           max_skew_s=300, reference=False, status=400, now=None):
    """Verify a request's SigV4 header signature.

    Returns the ParsedAuth (with .akid) on success; raises AwsError as AWS
    would.  get_all(name) returns the values of a request header.
    """
    auth_values = get_all('authorization')
    if not auth_values:
        raise errors.missing_auth(status)
    p = parse_authorization(auth_values[0], status)
    amz_dates = get_all('x-amz-date')
    if not amz_dates:
        raise errors.incomplete_signature(
            "Authorization header requires existence of either a 'X-Amz-Date'"
            " or a 'Date' header. Authorization=" + auth_values[0], status)
    amz_date = amz_dates[0].strip()
    try:
        req_t = _amz_to_epoch(amz_date)
    except ValueError:
        raise errors.incomplete_signature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
            'http://en.wikipedia.org/wiki/ISO_8601', status) from None

    cred = store.get(p.akid)
    if cred is None:
        raise errors.unrecognized_client(status)
    tokens = get_all('x-amz-security-token')
    sent_token = tokens[0] if tokens else None
    if cred.token is None:
        if sent_token is not None:
            raise errors.unrecognized_client(status)
    elif sent_token is None or not hmac.compare_digest(
            sent_token.encode('utf-8'), cred.token.encode('utf-8')):
        raise errors.unrecognized_client(status)
    if now is None:
        now = time.time()
    if cred.expires_at is not None and now >= cred.expires_at:
        raise errors.expired_token(status)

    if p.date != amz_date[:8]:
        raise errors.invalid_signature(
            'Date in Credential scope does not match YYYYMMDD from ISO-8601 '
            f"version of date from HTTP: '{p.date}' != '{amz_date[:8]}', "
            f"from '{amz_date}'.", status)
    if p.region != region:
        raise errors.invalid_signature(
            f"Credential should be scoped to a valid region, not '{p.region}'. ",
            status)
    if p.service != service:
        raise errors.invalid_signature(
            f"Credential should be scoped to correct service: '{service}'. ",
            status)
    if p.terminator != 'aws4_request':
        raise errors.invalid_signature(
            'Credential should be scoped with a valid terminator: '
            f"'aws4_request', not '{p.terminator}'. ", status)
    if 'host' not in (h.lower() for h in p.signed_headers):
        raise errors.invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
            'Authorization.', status)

    signer = sign_botocore if reference else sign_fast
    expected, canonical, sts = signer(cred.secret, method, path, query,
                                      get_all, p.signed_headers, body,
                                      amz_date, region, service)
    if not hmac.compare_digest(expected, p.signature):
        raise errors.invalid_signature(
            'The request signature we calculated does not match the signature '
            'you provided. Check your AWS Secret Access Key and signing method. '
            'Consult the service documentation for details.\n\n'
            'The Canonical String for this request should have been\n'
            f"'{canonical}'\n\nThe String-to-Sign should have been\n'{sts}'\n",
            status)

    if req_t < now - max_skew_s:
        raise errors.invalid_signature(
            f'Signature expired: {amz_date} is now earlier than '
            f'{_epoch_to_amz(now - max_skew_s)} ({_epoch_to_amz(now)} - '
            f'{_skew_text(max_skew_s)})', status)
    if req_t > now + max_skew_s:
        raise errors.invalid_signature(
            f'Signature not yet current: {amz_date} is still later than '
            f'{_epoch_to_amz(now + max_skew_s)} ({_epoch_to_amz(now)} + '
            f'{_skew_text(max_skew_s)})', status)
    return p
