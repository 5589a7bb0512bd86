"""Starting build/healer workers against the local AWS endpoint, for tests.

A Worker runs the real binary with the endpoint's URL and test credentials,
captures its JSON log lines to a file (never a pipe that could fill up), and
offers the few things tests need: wait for a log event, send a signal,
wait for exit with a time limit.

Also what several test modules share: the event fixtures (fixture), the
engine's DynamoDB tables as terraform/ makes them (create_engine_tables),
and a one-shot `healer run-activity` result (ActivityResult, last_json).
"""

import json
import os
import signal
import subprocess
import tempfile
import time

HEALER_BIN = os.environ.get('HEALER_BIN', os.path.join(
    os.path.dirname(__file__), '..', '..', 'build', 'healer'))
REGION = 'us-east-1'
ACCOUNT = '123456789012'
ARN_PREFIX = 'arn:aws:states:%s:%s:activity:' % (REGION, ACCOUNT)
TEST_AKID = 'AKIDEXAMPLE'
TEST_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'


FIXTURES = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'events'))


def fixture(name):
    """An event fixture (tests/fixtures/events/NAME), parsed."""
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def create_audit_table(ddb, name='healer-audit'):
    """The audit table as terraform/ makes it: hash key execution, range key
    at, and the GSI resource-index (resource, at)."""
    ddb.create_table(name, 'execution', 'at', gsis=[
        {'name': 'resource-index', 'hash_key': 'resource', 'range_key': 'at'}])


def create_engine_tables(ddb, breaker='healer-breaker', audit='healer-audit'):
    """The breaker table (hash key pk) and the audit table."""
    ddb.create_table(breaker, 'pk')
    create_audit_table(ddb, audit)


def last_json(text):
    """The last JSON object in text (log lines come before a result)."""
    dec = json.JSONDecoder()
    i, last = 0, None
    while True:
        j = text.find('{', i)
        if j < 0:
            return last
        try:
            last, i = dec.raw_decode(text, j)
        except ValueError:
            i = j + 1


class ActivityResult:
    """A finished `healer run-activity` process: rc, stdout, stderr; the
    result (rc 0) or error (rc 1) object; the JSON log lines of stdout."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = last_json(proc.stdout) if self.rc == 0 else None
        self.error = last_json(proc.stderr) if self.rc == 1 else None

    @property
    def logs(self):
        return [json.loads(line) for line in self.stdout.splitlines()
                if line.startswith('{"ts"')]

    def __repr__(self):
        return f'<rc={self.rc} stdout={self.stdout[-2000:]!r} ' \
               f'stderr={self.stderr[-2000:]!r}>'


def activity_arn(name):
    return ARN_PREFIX + name


class Worker:
    def __init__(self, endpoint_url, activities, extra_env=None, args=(),
                 credentials='static'):
        self.dir = tempfile.mkdtemp(prefix='healer-worker-')
        self.log_path = os.path.join(self.dir, 'worker.log')
        self.health_path = os.path.join(self.dir, 'health.json')
        env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': self.dir,
            'AWS_REGION': REGION,
            'AWS_ENDPOINT_URL': endpoint_url,
            'AWS_EC2_METADATA_DISABLED': 'true',
            'HEALER_ACTIVITIES': activities,
            'HEALER_ACTIVITY_ARN_PREFIX': ARN_PREFIX,
            'HEALER_WORKER_NAME': 'test-worker',
            'HEALER_HEALTH_FILE': self.health_path,
            'HEALER_LOG_LEVEL': 'info',
            'HEALER_METRICS_INTERVAL_S': '1',
        }
        if credentials == 'static':
            env['AWS_ACCESS_KEY_ID'] = TEST_AKID
            env['AWS_SECRET_ACCESS_KEY'] = TEST_SECRET
        env.update(extra_env or {})
        self.env = env
        self.log = open(self.log_path, 'wb')
        self.started = time.monotonic()
        self.proc = subprocess.Popen([HEALER_BIN] + list(args), env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    @property
    def pid(self):
        return self.proc.pid

    def lines(self):
        with open(self.log_path, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
        out = []
        for line in data.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({'msg': '(not json)', 'raw': line})
        return out

    def text(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def events(self, msg):
        return [l for l in self.lines() if l.get('msg') == msg]

    def wait_for(self, msg, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(msg)
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError('worker never logged %r; log:\n%s' % (msg, self.text()[-4000:]))

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('worker did not exit within %ss; log tail:\n%s'
                                 % (timeout, self.text()[-4000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_cli(args, env=None, input_bytes=None, timeout=30):
    """Runs build/healer with args; returns CompletedProcess (text)."""
    full_env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    full_env.update(env or {})
    return subprocess.run([HEALER_BIN] + list(args), env=full_env,
                          input=input_bytes, capture_output=True,
                          timeout=timeout)


def wait_until(predicate, timeout, interval=0.05, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
