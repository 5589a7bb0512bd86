"""Start and drive the local AWS endpoint from tests.

    import sys; sys.path.insert(0, 'tests/local')
    from harness import LocalAWS

    with LocalAWS(poll_timeout=2) as aws:
        sfn = aws.boto3_client('stepfunctions')
        arn = aws.activity_arn('diagnose')
        tokens = aws.enqueue(arn, [{'x': 1}], heartbeat_seconds=5)
        task = sfn.get_activity_task(activityArn=arn)
        ...
        assert aws.summary()['duplicate_results'] == 0

The server runs under the real interpreter (/usr/bin/python3, or
$HEALER_PYTHON), so ``aws.pid`` is the server's PID.  Its stderr goes to
``aws.log_path``; ``aws.log()`` returns it.
"""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

from service_process import ServiceProcess

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'server.py')
PYTHON = os.environ.get('HEALER_PYTHON', '/usr/bin/python3')

DEFAULT_ACCESS_KEY = 'AKIDEXAMPLE'
DEFAULT_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
DEFAULT_REGION = 'us-east-1'
DEFAULT_ACCOUNT = '123456789012'


class AdminError(Exception):
    def __init__(self, status, body):
        super().__init__(f'admin call failed: HTTP {status}: {body}')
        self.status = status
        self.body = body


def boto3_client(service, endpoint_url, region=DEFAULT_REGION,
                 access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                 session_token=None, max_attempts=None, read_timeout=70,
                 **config_kwargs):
    """A boto3 client for ``service`` pointed at endpoint_url.

    max_attempts: total attempts (1 = no retries); None keeps botocore's.
    """
    import boto3
    from botocore.config import Config
    cfg = {'read_timeout': read_timeout, 'connect_timeout': 5,
           'max_pool_connections': 64}
    if max_attempts is not None:
        cfg['retries'] = {'total_max_attempts': max_attempts,
                          'mode': 'standard'}
    cfg.update(config_kwargs)
    session = boto3.session.Session()
    return session.client(service, endpoint_url=endpoint_url,
                          region_name=region, aws_access_key_id=access_key,
                          aws_secret_access_key=secret_key,
                          aws_session_token=session_token,
                          config=Config(**cfg))


class LocalAWS(ServiceProcess):
    """The local AWS endpoint as a context manager."""

    name = 'local AWS endpoint'
    dir_prefix = 'localaws-'
    log_name = 'server.log'
    keep_env = 'LOCALAWS_KEEP'

    def __init__(self, poll_timeout=None, region=DEFAULT_REGION,
                 account=DEFAULT_ACCOUNT, verbose=False, start_timeout=15,
                 extra_args=()):
        self.region = region
        self.account = account
        self.poll_timeout = poll_timeout
        self.verbose = verbose
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args)
        self.access_key = DEFAULT_ACCESS_KEY
        self.secret_key = DEFAULT_SECRET_KEY
        super().__init__()

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        port_file = os.path.join(self._open_dir(), 'port')
        cmd = [PYTHON, SERVER, '--port', '0', '--port-file', port_file,
               '--region', self.region, '--account', self.account]
        if self.poll_timeout is not None:
            cmd += ['--poll-timeout', str(self.poll_timeout)]
        if self.verbose:
            cmd.append('--verbose')
        cmd += self.extra_args
        self._spawn(cmd, env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
        deadline = time.monotonic() + self.start_timeout
        while True:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    break
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('local AWS endpoint did not start:\n'
                                   + self.log())
            time.sleep(0.02)
        return self

    # -- clients -------------------------------------------------------------

    def boto3_client(self, service='stepfunctions', **kwargs):
        kwargs.setdefault('region', self.region)
        return boto3_client(service, self.url, **kwargs)

    def env(self, **extra):
        """Environment for a worker process using the default credentials."""
        e = {'AWS_ENDPOINT_URL': self.url, 'AWS_REGION': self.region,
             'AWS_DEFAULT_REGION': self.region,
             'AWS_ACCESS_KEY_ID': self.access_key,
             'AWS_SECRET_ACCESS_KEY': self.secret_key}
        e.update(extra)
        return e

    def activity_arn(self, name):
        return f'arn:aws:states:{self.region}:{self.account}:activity:{name}'

    # -- admin API -----------------------------------------------------------

    def admin(self, method, path, body=None, timeout=30):
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise AdminError(e.code, e.read().decode('utf-8', 'replace')) \
                from None
        return json.loads(raw) if raw else {}

    def reset(self):
        return self.admin('POST', '/_admin/reset', {})

    def settings(self, **changes):
        """poll_timeout_s, verify_signatures, max_skew_s,
        reject_unknown_members, sigv4_reference."""
        if not changes:
            return self.admin('GET', '/_admin/settings')
        return self.admin('POST', '/_admin/settings', changes)

    def add_credentials(self, access_key, secret_key, session_token=None,
                        expires_at=None):
        body = {'accessKeyId': access_key, 'secretAccessKey': secret_key}
        if session_token is not None:
            body['sessionToken'] = session_token
        if expires_at is not None:
            body['expiresAt'] = expires_at
        return self.admin('POST', '/_admin/credentials', body)

    def faults(self, **cfg):
        """rate_500, rate_503, rate_throttle, rate_reset, rate_after_effect,
        latency_ms=[lo, hi], seed, operations=[...]; no arguments clears."""
        return self.admin('POST', '/_admin/faults', cfg)

    def clear_faults(self):
        return self.admin('POST', '/_admin/faults', {})

    def fault_status(self):
        return self.admin('GET', '/_admin/faults')

    def enqueue(self, activity, inputs, heartbeat_seconds=None,
                timeout_seconds=None):
        """Enqueue tasks; activity is an ARN or a name.  Returns tokens."""
        body = {'activityArn': activity, 'inputs': list(inputs)}
        if heartbeat_seconds is not None:
            body['heartbeatSeconds'] = heartbeat_seconds
        if timeout_seconds is not None:
            body['timeoutSeconds'] = timeout_seconds
        return self.admin('POST', '/_admin/tasks', body)['tokens']

    def tasks(self, state=None, activity=None):
        q = []
        if state:
            q.append(f'state={state}')
        if activity:
            q.append('activityArn=' + urllib.request.quote(activity, safe=''))
        return self.admin('GET', '/_admin/tasks' +
                          ('?' + '&'.join(q) if q else ''))['tasks']

    def task(self, token):
        for t in self.tasks():
            if t['token'] == token:
                return t
        raise KeyError('no such task')

    def summary(self):
        return self.admin('GET', '/_admin/summary')

    def requests(self, limit=None):
        path = '/_admin/requests' + (f'?limit={limit}' if limit is not None
                                     else '')
        return self.admin('GET', path)['requests']

    def ecs(self, **cfg):
        """rotate_every_s, lifetime_s, auth_token, fail, rotate=True."""
        return self.admin('POST', '/_admin/ecs', cfg)

    def imds(self, **cfg):
        """rotate_every_s, lifetime_s, role_name, fail, token_status,
        rotate=True, forget_tokens=True."""
        return self.admin('POST', '/_admin/imds', cfg)

    def wait_for(self, predicate, timeout=10, interval=0.05):
        """Poll summary() until predicate(summary) is true; return it."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.summary()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise TimeoutError(f'condition not met; summary: {s}')
            time.sleep(interval)


if __name__ == '__main__':
    # Manual use: start a server and print its URL until interrupted.
    with LocalAWS(verbose=True) as aws:
        print(aws.url, 'pid', aws.pid, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    sys.exit(0)
