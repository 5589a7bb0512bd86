"""Tests of the local AWS endpoint (tests/local) with botocore/boto3 as the
reference client: SigV4 verification, model validation, Step Functions
activity semantics, faults, and the ECS / IMDS credential stand-ins.
"""

import datetime
import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'local'))

import botocore.auth  # noqa: E402
import botocore.session  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError, ConnectionClosedError  # noqa
from botocore.utils import (ContainerMetadataFetcher,  # noqa: E402
                            InstanceMetadataFetcher)

from harness import (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,  # noqa: E402
                     AdminError, LocalAWS)
from localaws import sigv4  # noqa: E402
from localaws.validator import ModelValidator  # noqa: E402

POLL_TIMEOUT = 1.0


@pytest.fixture(scope='module')
def aws():
    with LocalAWS(poll_timeout=POLL_TIMEOUT) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(aws):
    aws.reset()
    yield


@pytest.fixture
def sfn(aws):
    return aws.boto3_client('stepfunctions', max_attempts=1)


def code_of(exc_info):
    return exc_info.value.response['Error']['Code']


def message_of(exc_info):
    return exc_info.value.response['Error']['Message']


# ---- raw signed requests (botocore's signer, our own socket) -------------

class _FrozenDatetime(datetime.datetime):
    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen


def sign(aws, op, params=None, *, body=None, access_key=DEFAULT_ACCESS_KEY,
         secret_key=DEFAULT_SECRET_KEY, token=None, region=None,
         service='states', at=None, content_type='application/x-amz-json-1.0',
         target_prefix='AWSStepFunctions', extra_headers=None):
    """Return (headers, body) of a request signed by botocore's SigV4Auth;
    ``at`` (a datetime, UTC) fixes the signing time."""
    if body is None:
        body = json.dumps(params or {}).encode()
    headers = {'Content-Type': content_type,
               'X-Amz-Target': f'{target_prefix}.{op}'}
    headers.update(extra_headers or {})
    req = AWSRequest(method='POST', url=aws.url + '/', data=body,
                     headers=headers)
    auth = SigV4Auth(Credentials(access_key, secret_key, token), service,
                     region or aws.region)
    if at is None:
        auth.add_auth(req)
    else:
        _FrozenDatetime.frozen = at
        with mock.patch.object(botocore.auth, 'datetime',
                               types.SimpleNamespace(
                                   datetime=_FrozenDatetime)):
            auth.add_auth(req)
    return dict(req.headers.items()), body


def send(aws, headers, body):
    """POST / with exactly these headers; returns (status, headers, json)."""
    conn = http.client.HTTPConnection('127.0.0.1', aws.port, timeout=10)
    try:
        conn.request('POST', '/', body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            (json.loads(data) if data else {})
    finally:
        conn.close()


def call(aws, op, params=None, **kw):
    return send(aws, *sign(aws, op, params, **kw))


def raw_request_bytes(aws, op, params):
    headers, body = sign(aws, op, params)
    lines = ['POST / HTTP/1.1', f'Host: 127.0.0.1:{aws.port}',
             f'Content-Length: {len(body)}']
    lines += [f'{k}: {v}' for k, v in headers.items()]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def read_http_response(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed before headers')
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            length = int(v)
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1]), json.loads(rest[:length] or b'{}')


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


# ---- SigV4: our fast computation equals botocore's -----------------------

def test_fast_sigv4_matches_botocore_sigv4auth():
    cases = [
        dict(body=b'{"activityArn":"arn:aws:states:us-east-1:1:activity:a"}',
             headers={'Content-Type': 'application/x-amz-json-1.0',
                      'X-Amz-Target': 'AWSStepFunctions.GetActivityTask'},
             token=None, path='/', service='states'),
        dict(body=b'{}', headers={'Content-Type': 'application/x-amz-json-1.1',
                                  'X-Amz-Target': 'AmazonSSM.SendCommand',
                                  'X-Extra': '  a   b  c '},
             token='IQoJb3JpZ2luX2VjE' + 'x' * 900, path='/', service='ssm'),
        dict(body=b'', headers={'Content-Type': 'text/plain'}, token=None,
             path='/a b/../c/%7Euser/', query='b=2&a=1&a=0', service='ssm'),
        dict(body='{"output":"\u00e9\u4e2d"}'.encode(),
             headers={'Content-Type': 'application/x-amz-json-1.0'},
             token='tok', path='/', service='states'),
    ]
    for case in cases:
        url = 'http://127.0.0.1:4566' + case['path'] + (
            '?' + case['query'] if case.get('query') else '')
        req = AWSRequest(method='POST', url=url, data=case['body'],
                         headers=dict(case['headers']))
        req.headers['Host'] = '127.0.0.1:4566'
        SigV4Auth(Credentials('AKID', 'SECRET/KEY+x', case['token']),
                  case['service'], 'eu-west-1').add_auth(req)
        auth = sigv4.parse_authorization(req.headers['Authorization'], 400)
        amz_date = req.headers['X-Amz-Date']
        hdrs = {k.lower(): [v] for k, v in req.headers.items()}

        def get_all(name, hdrs=hdrs):
            return hdrs.get(name.lower())
        path = req.url.split('://', 1)[1].split('/', 1)[1]
        path, _, query = ('/' + path).partition('?')
        fast = sigv4.sign_fast('SECRET/KEY+x', 'POST', path, query, get_all,
                               auth.signed_headers, case['body'], amz_date,
                               'eu-west-1', case['service'])[0]
        ref = sigv4.sign_botocore('SECRET/KEY+x', 'POST', path, query,
                                  get_all, auth.signed_headers, case['body'],
                                  amz_date, 'eu-west-1', case['service'])[0]
        assert fast == auth.signature == ref


SUITE = os.path.join(os.path.dirname(ROOT), 'shared', 'testdata',
                     'aws-signing-test-suite', 'v4')


def _suite_cases():
    if not os.path.isdir(SUITE):
        return []
    out = []
    for case in sorted(os.listdir(SUITE)):
        with open(os.path.join(SUITE, case, 'context.json')) as f:
            ctx = json.load(f)
        # Unnormalized paths are S3's rules; a raw UTF-8 query cannot reach
        # a server unencoded.  Every other case applies to JSON services.
        if ctx.get('normalize') and case != 'get-vanilla-utf8-query':
            out.append(case)
    return out


@pytest.mark.parametrize('case', _suite_cases())
def test_fast_sigv4_matches_aws_signing_test_suite(case):
    d = os.path.join(SUITE, case)
    with open(os.path.join(d, 'context.json')) as f:
        ctx = json.load(f)
    with open(os.path.join(d, 'header-signed-request.txt'), 'rb') as f:
        head, _, body = f.read().decode('utf-8').partition('\n\n')
    lines = head.split('\n')
    method, rest = lines[0].split(' ', 1)
    target = rest.rsplit(' ', 1)[0]
    hdrs, last = {}, None
    for line in lines[1:]:
        if line[:1] in (' ', '\t'):          # a folded (multi-line) value
            hdrs[last][-1] += ' ' + line.strip()
            continue
        k, _, v = line.partition(':')
        last = k.lower()
        hdrs.setdefault(last, []).append(v)
    auth = sigv4.parse_authorization(hdrs['authorization'][0], 400)
    path, _, query = target.partition('?')
    sig, creq, sts = sigv4.sign_fast(
        ctx['credentials']['secret_access_key'], method, path, query,
        lambda n: hdrs.get(n.lower()), auth.signed_headers, body.encode(),
        hdrs['x-amz-date'][0], ctx['region'], ctx['service'])
    with open(os.path.join(d, 'header-canonical-request.txt')) as f:
        assert creq == f.read()
    with open(os.path.join(d, 'header-string-to-sign.txt')) as f:
        assert sts == f.read()
    with open(os.path.join(d, 'header-signature.txt')) as f:
        assert sig == f.read().strip() == auth.signature


def test_reference_signer_mode_end_to_end(aws, sfn):
    aws.settings(sigv4_reference=True)
    sfn.create_activity(name='ref')
    bad = aws.boto3_client('stepfunctions', secret_key='wrong',
                           max_attempts=1)
    with pytest.raises(ClientError) as e:
        bad.list_activities()
    assert code_of(e) == 'InvalidSignatureException'


# ---- activities ----------------------------------------------------------

def test_activity_crud(aws, sfn):
    a = sfn.create_activity(name='diagnose')
    arn = a['activityArn']
    assert arn == aws.activity_arn('diagnose')
    again = sfn.create_activity(name='diagnose')      # idempotent by name
    assert again['activityArn'] == arn
    assert again['creationDate'] == a['creationDate']
    d = sfn.describe_activity(activityArn=arn)
    assert d['name'] == 'diagnose' and d['activityArn'] == arn
    sfn.create_activity(name='guard')
    page = sfn.list_activities(maxResults=1)
    assert len(page['activities']) == 1 and page['nextToken']
    rest = sfn.list_activities(nextToken=page['nextToken'])
    names = {x['name'] for x in page['activities'] + rest['activities']}
    assert names == {'diagnose', 'guard'}
    sfn.delete_activity(activityArn=arn)
    sfn.delete_activity(activityArn=arn)               # no error, as AWS
    with pytest.raises(ClientError) as e:
        sfn.describe_activity(activityArn=arn)
    assert code_of(e) == 'ActivityDoesNotExist'
    with pytest.raises(ClientError) as e:
        sfn.describe_activity(activityArn='not-an-arn')
    assert code_of(e) == 'InvalidArn'
    with pytest.raises(ClientError) as e:
        sfn.get_activity_task(activityArn='arn:aws:states:us-east-1:'
                              '123456789012:stateMachine:x')
    assert code_of(e) == 'InvalidArn'
    with pytest.raises(ClientError) as e:
        sfn.create_activity(name='bad name')
    assert code_of(e) == 'InvalidName'
    with pytest.raises(ClientError) as e:
        sfn.get_activity_task(activityArn=aws.activity_arn('nope'))
    assert code_of(e) == 'ActivityDoesNotExist'


# ---- the task life cycle -------------------------------------------------

def test_task_success_then_duplicate_send(aws, sfn):
    arn = aws.activity_arn('echo')
    [token] = aws.enqueue(arn, [{'n': 1}])
    assert 600 <= len(token) <= 900
    t = sfn.get_activity_task(activityArn=arn, workerName='w-1')
    assert t['taskToken'] == token
    assert json.loads(t['input']) == {'n': 1}
    sfn.send_task_success(taskToken=token, output='{"ok": true}')
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=token, output='{"ok": true}')
    assert code_of(e) == 'TaskTimedOut'
    with pytest.raises(ClientError) as e:
        sfn.send_task_failure(taskToken=token, error='E', cause='c')
    assert code_of(e) == 'TaskTimedOut'
    with pytest.raises(ClientError) as e:
        sfn.send_task_heartbeat(taskToken=token)
    assert code_of(e) == 'TaskTimedOut'
    task = aws.task(token)
    assert task['state'] == 'succeeded'
    assert task['acceptedResults'] == 1 and task['rejectedSends'] == 2
    assert task['workerName'] == 'w-1' and task['assignCount'] == 1
    assert [s['accepted'] for s in task['sends']] == [True, False, False]
    assert task['sends'][0]['output'] == '{"ok": true}'
    s = aws.summary()
    assert s['succeeded'] == 1 and s['duplicate_results'] == 0
    assert s['rejected_sends'] == 2
    # Records hold a short hash of the token, never the token.
    recs = aws.requests()
    assert token not in json.dumps(recs)
    assert hashlib.sha256(token.encode()).hexdigest()[:12] in \
        {r.get('tokenHash') for r in recs}


def test_failure_invalid_output_and_tokens(aws, sfn):
    arn = aws.activity_arn('echo')
    tokens = aws.enqueue(arn, ['{"a":1}', {'b': 2}])
    t1 = sfn.get_activity_task(activityArn=arn)['taskToken']
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=t1, output='{not json')
    assert code_of(e) == 'InvalidOutput'
    sfn.send_task_failure(taskToken=t1, error='Healer.Boom', cause='x' * 100)
    assert aws.task(t1)['state'] == 'failed'
    with pytest.raises(ClientError) as e:
        sfn.send_task_heartbeat(taskToken='garbage-token')
    assert code_of(e) == 'InvalidToken'
    aws.reset()                      # tokens from before are now unknown
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=tokens[1], output='{}')
    assert code_of(e) == 'TaskDoesNotExist'


def test_heartbeat_and_state_timeouts(aws, sfn):
    arn = aws.activity_arn('slow')
    [hb_token] = aws.enqueue(arn, [{}], heartbeat_seconds=0.6)
    t = sfn.get_activity_task(activityArn=arn)
    assert t['taskToken'] == hb_token
    for _ in range(4):                        # heartbeats keep it alive
        time.sleep(0.3)
        sfn.send_task_heartbeat(taskToken=hb_token)
    assert aws.task(hb_token)['state'] == 'assigned'
    assert aws.task(hb_token)['heartbeats'] == 4
    time.sleep(0.9)
    task = aws.task(hb_token)
    assert task['state'] == 'timed_out'
    assert task['timeoutReason'] == 'States.HeartbeatTimeout'
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=hb_token, output='{}')
    assert code_of(e) == 'TaskTimedOut'
    # TimeoutSeconds counts from enqueue, even while queued.
    [q_token] = aws.enqueue(arn, [{}], timeout_seconds=0.3)
    time.sleep(0.5)
    assert aws.task(q_token)['timeoutReason'] == 'States.Timeout'
    t0 = time.monotonic()
    assert 'taskToken' not in sfn.get_activity_task(activityArn=arn)
    assert time.monotonic() - t0 >= POLL_TIMEOUT * 0.9


def test_long_poll_returns_empty_after_poll_timeout(aws, sfn):
    arn = sfn.create_activity(name='idle')['activityArn']
    t0 = time.monotonic()
    resp = sfn.get_activity_task(activityArn=arn)
    took = time.monotonic() - t0
    assert 'taskToken' not in resp
    assert POLL_TIMEOUT * 0.9 <= took < POLL_TIMEOUT + 1
    aws.settings(poll_timeout_s=0.2)
    t0 = time.monotonic()
    assert 'taskToken' not in sfn.get_activity_task(activityArn=arn)
    assert time.monotonic() - t0 < 0.6


def test_polls_are_served_fifo_and_each_token_once(aws):
    arn = aws.activity_arn('fifo')
    aws.enqueue(arn, [])                              # create the activity
    aws.settings(poll_timeout_s=5)
    results = {}

    def poll(name):
        c = aws.boto3_client('stepfunctions', max_attempts=1)
        results[name] = c.get_activity_task(activityArn=arn,
                                            workerName=name)
    threads = []
    for i in range(3):
        th = threading.Thread(target=poll, args=(f'w{i}',))
        th.start()
        threads.append(th)
        aws.wait_for(lambda s, n=i + 1: s['open_polls'] == n)
    for i in range(3):
        aws.enqueue(arn, [{'i': i}])
    for th in threads:
        th.join(10)
    assert [json.loads(results[f'w{i}']['input'])['i'] for i in range(3)] \
        == [0, 1, 2]
    # Many workers, many tasks: every token handed out exactly once.
    tokens = aws.enqueue(arn, [{'k': k} for k in range(60)])
    clients = [aws.boto3_client('stepfunctions', max_attempts=1)
               for _ in range(8)]
    got = []
    lock = threading.Lock()

    def drain(c):
        while True:
            r = c.get_activity_task(activityArn=arn)
            if 'taskToken' not in r:
                return
            with lock:
                got.append(r['taskToken'])
            c.send_task_success(taskToken=r['taskToken'], output='{}')
    aws.settings(poll_timeout_s=0.3)
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(drain, clients))
    assert sorted(got) == sorted(tokens)
    s = aws.summary()
    assert s['succeeded'] == 60 + 0 and s['duplicate_results'] == 0
    assert all(t['assignCount'] == 1 for t in aws.tasks())


def test_aborted_poll_loses_its_task(aws, sfn):
    arn = aws.activity_arn('lossy')
    aws.enqueue(arn, [])
    aws.settings(poll_timeout_s=5)
    sock = socket.create_connection(('127.0.0.1', aws.port))
    sock.sendall(raw_request_bytes(aws, 'GetActivityTask',
                                   {'activityArn': arn, 'workerName': 'gone'}))
    aws.wait_for(lambda s: s['open_polls'] == 1)
    sock.close()                                # the client gives up
    [token] = aws.enqueue(arn, [{'x': 1}], heartbeat_seconds=0.5)
    s = aws.wait_for(lambda s: s['lost'] == 1)
    assert s['open_polls'] == 0
    task = aws.task(token)
    assert task['state'] == 'assigned' and task['lost'] is True
    assert task['lostReason'] == 'client_disconnected'
    assert task['workerName'] == 'gone'
    aws.settings(poll_timeout_s=0.2)            # never handed out again
    assert 'taskToken' not in sfn.get_activity_task(activityArn=arn)
    time.sleep(0.6)
    task = aws.task(token)
    assert task['state'] == 'timed_out'
    assert task['timeoutReason'] == 'States.HeartbeatTimeout'


def test_hundreds_of_idle_polls_cost_nothing(aws):
    arn = aws.activity_arn('many')
    aws.enqueue(arn, [])
    aws.settings(poll_timeout_s=8)
    n = 200
    socks = []
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', aws.port))
        s.sendall(raw_request_bytes(aws, 'GetActivityTask',
                                    {'activityArn': arn}))
        socks.append(s)
    aws.wait_for(lambda s: s['open_polls'] == n, timeout=20)
    before = cpu_seconds(aws.pid)
    time.sleep(1.0)
    idle_cpu = cpu_seconds(aws.pid) - before
    assert idle_cpu < 0.1, f'{n} idle polls used {idle_cpu:.3f} s of CPU'
    tokens = aws.enqueue(arn, [{'i': i} for i in range(n)])
    got = set()
    for s in socks:
        s.settimeout(10)
        status, body = read_http_response(s)
        assert status == 200
        got.add(body['taskToken'])
        s.close()
    assert got == set(tokens)
    assert aws.summary()['open_polls'] == 0


# ---- authentication ------------------------------------------------------

def test_auth_errors_are_awss(aws):
    arn = aws.activity_arn('auth')
    aws.enqueue(arn, [])
    params = {'maxResults': 1}
    status, hdrs, body = call(aws, 'ListActivities', params)
    assert status == 200
    # Wrong secret.
    status, hdrs, body = call(aws, 'ListActivities', params,
                              secret_key='wrong')
    assert status == 400
    assert body['__type'] == \
        'com.amazon.coral.service#InvalidSignatureException'
    assert body['message'].startswith('The request signature we calculated '
                                      'does not match')
    assert hdrs['x-amzn-errortype'].startswith('InvalidSignatureException:')
    # Unknown access key.
    _, _, body = call(aws, 'ListActivities', params, access_key='AKIDNOPE')
    assert body['__type'].endswith('#UnrecognizedClientException')
    assert body['message'] == \
        'The security token included in the request is invalid.'
    # Missing Authorization.
    headers, raw = sign(aws, 'ListActivities', params)
    del headers['Authorization']
    _, _, body = send(aws, headers, raw)
    assert body['__type'].endswith('#MissingAuthenticationTokenException')
    # Stale and future dates (more than 5 minutes off).
    now = datetime.datetime.utcnow()
    _, _, body = call(aws, 'ListActivities', params,
                      at=now - datetime.timedelta(minutes=6))
    assert body['__type'].endswith('#InvalidSignatureException')
    assert body['message'].startswith('Signature expired: ')
    assert body['message'].endswith(' - 5 min.)')
    _, _, body = call(aws, 'ListActivities', params,
                      at=now + datetime.timedelta(minutes=6))
    assert body['message'].startswith('Signature not yet current: ')
    status, _, _ = call(aws, 'ListActivities', params,
                        at=now - datetime.timedelta(minutes=4))
    assert status == 200
    # Wrong region / service in the credential scope.
    _, _, body = call(aws, 'ListActivities', params, region='eu-west-1')
    assert body['__type'].endswith('#InvalidSignatureException')
    assert "'eu-west-1'" in body['message']
    _, _, body = call(aws, 'ListActivities', params, service='ssm')
    assert body['__type'].endswith('#InvalidSignatureException')
    assert "'states'" in body['message']
    # A tampered body no longer matches its signature.
    headers, raw = sign(aws, 'ListActivities', params)
    _, _, body = send(aws, headers, raw.replace(b'1', b'2'))
    assert body['__type'].endswith('#InvalidSignatureException')
    assert aws.summary()['auth_failures'] == 8
    # The status can be switched to API Gateway's 403 if needed.
    aws.settings(auth_error_status=403)
    status, _, body = call(aws, 'ListActivities', params, secret_key='x')
    assert status == 403
    assert body['__type'].endswith('#InvalidSignatureException')


def test_session_credentials(aws):
    aws.add_credentials('ASIATESTTESTTEST0001', 'sessionsecret',
                        session_token='the-token', expires_at=time.time() + 60)
    ok = aws.boto3_client('stepfunctions', access_key='ASIATESTTESTTEST0001',
                          secret_key='sessionsecret',
                          session_token='the-token', max_attempts=1)
    ok.list_activities()
    for token in (None, 'other-token'):
        c = aws.boto3_client('stepfunctions',
                             access_key='ASIATESTTESTTEST0001',
                             secret_key='sessionsecret', session_token=token,
                             max_attempts=1)
        with pytest.raises(ClientError) as e:
            c.list_activities()
        assert code_of(e) == 'UnrecognizedClientException'
    # Permanent keys sent with a token are refused too.
    c = aws.boto3_client('stepfunctions', session_token='spurious',
                         max_attempts=1)
    with pytest.raises(ClientError) as e:
        c.list_activities()
    assert code_of(e) == 'UnrecognizedClientException'
    aws.add_credentials('ASIATESTTESTTEST0002', 's2', session_token='t2',
                        expires_at=time.time() - 1)
    c = aws.boto3_client('stepfunctions', access_key='ASIATESTTESTTEST0002',
                         secret_key='s2', session_token='t2', max_attempts=1)
    with pytest.raises(ClientError) as e:
        c.list_activities()
    assert code_of(e) == 'ExpiredTokenException'
    assert message_of(e) == \
        'The security token included in the request is expired'
    # Verification can be turned off (for benchmarks of the endpoint only).
    aws.settings(verify_signatures=False)
    c = aws.boto3_client('stepfunctions', secret_key='wrong', max_attempts=1)
    c.list_activities()


# ---- validation ----------------------------------------------------------

def test_model_validation(aws, aws_unvalidated_client):
    c = aws_unvalidated_client
    arn = aws.activity_arn('v')
    aws.enqueue(arn, [])
    with pytest.raises(ClientError) as e:
        c.get_activity_task()
    assert code_of(e) == 'ValidationException'
    assert message_of(e) == (
        "1 validation error detected: Value null at 'activityArn' failed to "
        'satisfy constraint: Member must not be null')
    with pytest.raises(ClientError) as e:
        c.send_task_heartbeat(taskToken='x' * 2049)
    assert message_of(e) == (
        "1 validation error detected: Value at 'taskToken' failed to satisfy "
        'constraint: Member must have length less than or equal to 2048')
    with pytest.raises(ClientError) as e:
        c.list_activities(maxResults='ten')
    assert "'maxResults'" in message_of(e) and 'integer' in message_of(e)
    with pytest.raises(ClientError) as e:
        c.get_activity_task(activityArn=arn, workerName='w' * 81)
    assert 'workerName' in message_of(e)
    with pytest.raises(ClientError) as e:
        c.send_task_success(taskToken='t', output='x' * 262145)
    assert "'output'" in message_of(e) and '262144' in message_of(e)
    with pytest.raises(ClientError) as e:
        c.send_task_failure(taskToken='t', error='e' * 257, cause='c' * 32769)
    assert message_of(e).startswith('2 validation errors detected: ')
    assert e.value.response['Error']['Code'] == 'ValidationException'
    status, _, body = call(aws, 'GetActivityTask',
                           {'activityArn': arn, 'bogus': 1})
    assert status == 400
    assert body['__type'] == 'com.amazon.coral.validate#ValidationException'
    assert "'bogus'" in body['message']
    status, _, body = call(aws, 'GetActivityTask', body=b'{"activityArn": ')
    assert body['__type'].endswith('#SerializationException')
    status, _, body = call(aws, 'GetActivityTask', body=b'[1, 2]')
    assert body['__type'].endswith('#SerializationException')
    assert aws.summary()['validation_failures'] == 9


@pytest.fixture
def aws_unvalidated_client(aws):
    return aws.boto3_client('stepfunctions', max_attempts=1,
                            parameter_validation=False)


def test_validator_is_generic():
    ssm = botocore.session.get_session().get_service_model('ssm')
    v = ModelValidator(ssm)
    assert v.validate('SendCommand', {
        'DocumentName': 'healer-disk', 'InstanceIds': ['i-0abcd1234ef567890'],
        'Parameters': {'commands': ['df -P /']}, 'TimeoutSeconds': 60}) == []
    errs = v.validate('SendCommand', {
        'InstanceIds': ['i-1'] * 51, 'Parameters': {'commands': 'df'},
        'TimeoutSeconds': 5, 'CloudWatchOutputConfig': {
            'CloudWatchOutputEnabled': 'yes'}})
    text = '; '.join(errs)
    assert "Value null at 'DocumentName'" in text
    assert "'InstanceIds'" in text and 'less than or equal to 50' in text
    assert "'Parameters.commands'" in text
    assert "'TimeoutSeconds'" in text and 'greater than or equal to 30' in text
    assert "'CloudWatchOutputConfig.CloudWatchOutputEnabled'" in text
    acm = botocore.session.get_session().get_service_model('acm')
    errs = ModelValidator(acm).validate('ListCertificates', {
        'CertificateStatuses': ['ISSUED', 'NOPE']})
    assert errs and 'enum value set' in errs[0] and \
        "'CertificateStatuses.2.member'" in errs[0]


def test_routing_and_size_errors(aws):
    status, _, body = call(aws, 'ListActivities', {}, target_prefix='Nope')
    assert status == 400 and body['__type'].endswith(
        '#UnknownOperationException')
    status, _, body = call(aws, 'NoSuchOp', {})
    assert body['__type'].endswith('#UnknownOperationException')
    status, _, body = call(aws, 'ListActivities', {},
                           content_type='application/json')
    assert body['__type'].endswith('#UnknownOperationException')
    status, _, _ = call(aws, 'SendTaskSuccess',
                        body=b'{"output":"' + b'x' * (1 << 20) + b'"}')
    assert status == 413


# ---- faults --------------------------------------------------------------

def test_fault_rates(aws, sfn):
    aws.faults(rate_500=0.2, rate_503=0.15, rate_throttle=0.15, seed=7,
               operations=['ListActivities'])
    seen = {}
    n = 300
    for _ in range(n):
        try:
            sfn.list_activities()
            key = 'ok'
        except ClientError as e:
            key = (e.response['ResponseMetadata']['HTTPStatusCode'],
                   e.response['Error']['Code'])
        seen[key] = seen.get(key, 0) + 1
    injected = aws.fault_status()['injected']
    assert seen[(500, 'InternalFailure')] == injected['500']
    assert seen[(503, 'ServiceUnavailable')] == injected['503']
    assert seen[(400, 'ThrottlingException')] == injected['throttle']
    for kind, rate in (('500', 0.2), ('503', 0.15), ('throttle', 0.15)):
        assert abs(injected[kind] - rate * n) < 0.35 * rate * n, injected
    sfn.create_activity(name='unfaulted')           # not in `operations`
    assert aws.summary()['faults_injected'] == injected


def test_fault_reset_and_latency(aws, sfn):
    aws.faults(rate_reset=0.5, seed=3, operations=['ListActivities'])
    resets = 0
    for _ in range(40):
        try:
            sfn.list_activities()
        except ConnectionClosedError:
            resets += 1
    assert resets == aws.fault_status()['injected']['reset']
    assert 10 <= resets <= 30
    # The RST is real: a raw socket sees ECONNRESET, not an orderly EOF.
    aws.faults(rate_reset=1.0)
    sock = socket.create_connection(('127.0.0.1', aws.port))
    sock.sendall(raw_request_bytes(aws, 'ListActivities', {}))
    with pytest.raises(ConnectionResetError):
        sock.recv(100)
    sock.close()
    aws.faults(latency_ms=[150, 200])
    t0 = time.monotonic()
    sfn.list_activities()
    assert time.monotonic() - t0 >= 0.15
    assert aws.fault_status()['injected']['latency'] == 1


def test_after_effect_faults_apply_the_effect(aws, sfn):
    arn = aws.activity_arn('ae')
    [token] = aws.enqueue(arn, [{}])
    t = sfn.get_activity_task(activityArn=arn)
    aws.faults(rate_after_effect=1.0, operations=['SendTaskSuccess'])
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=t['taskToken'], output='{"a":1}')
    assert e.value.response['ResponseMetadata']['HTTPStatusCode'] == 500
    assert code_of(e) == 'InternalFailure'
    task = aws.task(token)
    assert task['state'] == 'succeeded' and task['acceptedResults'] == 1
    aws.clear_faults()
    with pytest.raises(ClientError) as e:         # the client's retry
        sfn.send_task_success(taskToken=t['taskToken'], output='{"a":1}')
    assert code_of(e) == 'TaskTimedOut'
    # An after-effect fault on GetActivityTask hands the task out and loses
    # it; a later poll does not see it again.
    [token2] = aws.enqueue(arn, [{}])
    aws.faults(rate_after_effect=1.0, operations=['GetActivityTask'])
    with pytest.raises(ClientError):
        sfn.get_activity_task(activityArn=arn)
    aws.clear_faults()
    task = aws.task(token2)
    assert task['state'] == 'assigned' and task['lost'] is True
    assert task['lostReason'] == 'fault_after_effect'
    assert 'taskToken' not in sfn.get_activity_task(activityArn=arn)
    assert aws.summary()['duplicate_results'] == 0


# ---- credential stand-ins ------------------------------------------------

def test_ecs_credentials_rotate_and_are_accepted(aws):
    url = aws.url + '/_ecs/credentials'
    aws.ecs(auth_token='secret-auth', rotate_every_s=3600, lifetime_s=900)
    fetcher = ContainerMetadataFetcher(sleep=lambda s: None)
    conn = http.client.HTTPConnection('127.0.0.1', aws.port, timeout=5)
    conn.request('GET', '/_ecs/credentials')
    assert conn.getresponse().status == 401
    conn.close()
    conn = http.client.HTTPConnection('127.0.0.1', aws.port, timeout=5)
    conn.request('GET', '/_ecs/credentials', headers={'Authorization': 'x'})
    assert conn.getresponse().status == 403
    conn.close()
    first = fetcher.retrieve_full_uri(url, {'Authorization': 'secret-auth'})
    assert first['AccessKeyId'].startswith('ASIA')
    assert len(first['AccessKeyId']) == 20
    assert first['RoleArn'].startswith('arn:aws:iam::123456789012:role/')
    assert first['Expiration'].endswith('Z')
    same = fetcher.retrieve_full_uri(url, {'Authorization': 'secret-auth'})
    assert same['AccessKeyId'] == first['AccessKeyId']
    aws.ecs(rotate=True)
    second = fetcher.retrieve_full_uri(url, {'Authorization': 'secret-auth'})
    assert second['AccessKeyId'] != first['AccessKeyId']
    for c in (first, second):               # old ones stay valid
        client = aws.boto3_client(
            'stepfunctions', access_key=c['AccessKeyId'],
            secret_key=c['SecretAccessKey'], session_token=c['Token'],
            max_attempts=1)
        client.list_activities()
    assert aws.summary()['ecs_fetches'] == 5
    # Short-lived credentials expire.
    aws.ecs(lifetime_s=1, rotate=True)
    short = fetcher.retrieve_full_uri(url, {'Authorization': 'secret-auth'})
    time.sleep(1.1)
    client = aws.boto3_client('stepfunctions',
                              access_key=short['AccessKeyId'],
                              secret_key=short['SecretAccessKey'],
                              session_token=short['Token'], max_attempts=1)
    with pytest.raises(ClientError) as e:
        client.list_activities()
    assert code_of(e) == 'ExpiredTokenException'
    aws.ecs(fail='500')
    with pytest.raises(Exception):
        fetcher.retrieve_full_uri(url, {'Authorization': 'secret-auth'})


def test_imds_v2_rotates_and_is_accepted(aws):
    fetcher = InstanceMetadataFetcher(base_url=aws.url + '/', timeout=2)
    creds = fetcher.retrieve_iam_role_credentials()
    assert creds['role_name'] == 'healer-worker'
    assert creds['access_key'].startswith('ASIA')
    aws.imds(rotate=True)
    creds2 = fetcher.retrieve_iam_role_credentials()
    assert creds2['access_key'] != creds['access_key']
    for c in (creds, creds2):
        aws.boto3_client('stepfunctions', access_key=c['access_key'],
                         secret_key=c['secret_key'], session_token=c['token'],
                         max_attempts=1).list_activities()
    assert aws.summary()['imds_fetches'] == 2

    def get(path, headers):
        conn = http.client.HTTPConnection('127.0.0.1', aws.port, timeout=5)
        try:
            conn.request('GET' if not path.endswith('token') else 'PUT',
                         path, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()
    assert get('/latest/api/token', {})[0] == 400
    assert get('/latest/api/token',
               {'X-aws-ec2-metadata-token-ttl-seconds': '21601'})[0] == 400
    status, token = get('/latest/api/token',
                        {'X-aws-ec2-metadata-token-ttl-seconds': '1'})
    assert status == 200 and token
    base = '/latest/meta-data/iam/security-credentials/'
    assert get(base, {})[0] == 401
    assert get(base, {'X-aws-ec2-metadata-token': 'bogus'})[0] == 401
    status, role = get(base, {'X-aws-ec2-metadata-token': token.decode()})
    assert status == 200 and role == b'healer-worker'
    time.sleep(1.05)
    assert get(base, {'X-aws-ec2-metadata-token': token.decode()})[0] == 401


# ---- admin and process behaviour ----------------------------------------

def test_admin_rejects_bad_input(aws):
    for path, body in (('/_admin/faults', {'rate_500': 2}),
                       ('/_admin/faults', {'rate_500': 0.6, 'rate_503': 0.6}),
                       ('/_admin/settings', {'nope': 1}),
                       ('/_admin/tasks', {'inputs': []}),
                       ('/_admin/credentials', {'accessKeyId': 'A'})):
        with pytest.raises(AdminError) as e:
            aws.admin('POST', path, body)
        assert e.value.status == 400


def test_sigterm_exits_promptly_with_open_polls():
    with LocalAWS(poll_timeout=30) as server:
        arn = server.activity_arn('x')
        server.enqueue(arn, [])
        socks = []
        for _ in range(5):
            s = socket.create_connection(('127.0.0.1', server.port))
            s.sendall(raw_request_bytes(server, 'GetActivityTask',
                                        {'activityArn': arn}))
            socks.append(s)
        server.wait_for(lambda s: s['open_polls'] == 5)
        t0 = time.monotonic()
        server.stop()
        assert time.monotonic() - t0 < 2
        assert server.proc.returncode == 0
        for s in socks:
            s.close()
