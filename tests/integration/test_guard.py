"""The guard activity against the local AWS endpoint and dynalite.

Each test runs the real binary (`healer run-activity guard --input FILE`, or
a worker pool) with AWS_ENDPOINT_URL at the local endpoint (SSM parameter
store, Tagging API) and AWS_ENDPOINT_URL_DYNAMODB at dynalite, and judges by
what the stand-ins recorded: the endpoint's request log and the breaker
item in dynalite.  Every test gets a fresh breaker table, so tests do not
share counts.
"""

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import HEALER_BIN, Worker, activity_arn, fixture  # noqa: E402

ACCOUNT = '123456789012'
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
INSTANCE_ARN = f'arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INSTANCE}'
GROUP_ARN = f'arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{GROUP}'
PARAM = '/healer/enabled'
MUTATING = {'PutParameter', 'SendCommand', 'StartAutomationExecution',
            'RenewCertificate', 'TagResources', 'UntagResources'}

_tables = itertools.count(1)


def execution(n):
    return f'arn:aws:states:us-east-1:{ACCOUNT}:execution:engine:evt-{n}'


def occurrence(ev, n):
    """Another occurrence of the event (its own id): one event id is
    remediated by one execution only (the guard's duplicate check)."""
    return dict(ev, id=f'{ev["id"][:-6]}{n:06d}')


def hour_bucket(t=None):
    return time.strftime('%Y-%m-%dT%H', time.gmtime(t or time.time()))


@pytest.fixture(scope='module')
def ddb():
    with Dynalite() as d:
        yield d


@pytest.fixture(scope='module')
def endpoint():
    with LocalAWS(poll_timeout=2) as ep:
        yield ep


class Env:
    """One test's world: a reset endpoint, a new breaker table."""

    def __init__(self, endpoint, ddb, tmp):
        self.ep, self.ddb, self.tmp = endpoint, ddb, tmp
        endpoint.reset()
        self.table = f'breaker-{os.getpid()}-{next(_tables)}'
        ddb.create_table(self.table, 'pk')
        self.env = dict(os.environ, **endpoint.env(), **ddb.env(),
                        AWS_EC2_METADATA_DISABLED='true',
                        HEALER_BREAKER_TABLE=self.table,
                        HEALER_LOG_LEVEL='info')
        for k in ('HEALER_PROTECTED_SGS', 'HEALER_BREAK_GLASS_ACCOUNTS',
                  'HEALER_DRY_RUN', 'HEALER_KILL_SWITCH_PARAM'):
            self.env.pop(k, None)
        self._n = itertools.count(1)

    def set_switch(self, value):
        self.ep.admin('POST', '/_admin/ssm/parameters',
                      {'name': PARAM, 'value': value})

    def tag(self, arn, tags):
        self.ep.admin('POST', '/_admin/tagging', {'arn': arn, 'tags': tags})

    def input_file(self, event, exec_arn, dry_run=False):
        path = os.path.join(self.tmp, f'in-{next(self._n)}.json')
        with open(path, 'w') as f:
            json.dump({'execution': exec_arn, 'dryRun': dry_run,
                       'event': event}, f)
        return path

    def start_guard(self, event, exec_arn, dry_run=False, **extra_env):
        env = dict(self.env, **extra_env)
        return subprocess.Popen(
            [HEALER_BIN, 'run-activity', 'guard', '--input',
             self.input_file(event, exec_arn, dry_run)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def guard(self, event, exec_arn, dry_run=False, **extra_env):
        return finish(self.start_guard(event, exec_arn, dry_run, **extra_env))

    def breaker_item(self, resource_id):
        return self.ddb.get_item(self.table, {
            'pk': {'S': f'{resource_id}#{hour_bucket()}'}})

    def ops(self):
        return [r['op'] for r in self.ep.requests()]


class Result:
    def __init__(self, rc, output, logs, stderr):
        self.rc, self.output, self.logs, self.stderr = rc, output, logs, stderr

    def error(self):
        return json.loads(self.stderr[self.stderr.index('{'):])


def finish(proc, timeout=30):
    out, err = proc.communicate(timeout=timeout)
    logs, body = [], []
    for line in out.splitlines():
        if not body and line.startswith('{"ts"'):
            logs.append(json.loads(line))
        else:
            body.append(line)
    output = json.loads('\n'.join(body)) if body else None
    return Result(proc.returncode, output, logs, err)


@pytest.fixture
def world(endpoint, ddb, tmp_path):
    w = Env(endpoint, ddb, str(tmp_path))
    w.set_switch('true')
    return w


# ---- kill switch --------------------------------------------------------------

def test_enabled_proceeds_and_counts(world):
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.rc == 0, r.stderr
    out = r.output
    assert out['proceed'] is True and out['reason'] == 'ok'
    assert out['killSwitch'] == 'enabled'
    assert out['optOut'] is False
    assert out['resource'] == {'type': 'instance', 'id': INSTANCE,
                               'arn': INSTANCE_ARN, 'account': ACCOUNT,
                               'region': 'us-east-1'}
    b = out['breaker']
    assert b['key'] == f'{INSTANCE}#{hour_bucket()}'
    assert (b['count'], b['max'], b['open'], b['counted']) == (1, 3, False,
                                                               True)
    item = world.breaker_item(INSTANCE)
    assert item['count'] == {'N': '1'}
    assert item['executions'] == {'SS': [execution(1)]}
    # TTL: end of the hour bucket + 1 h, as epoch seconds.
    now = int(time.time())
    assert int(item['expires_at']['N']) == now - now % 3600 + 7200
    assert [l for l in r.logs if l['msg'] == 'guard decision'][0][
        'proceed'] is True


def test_kill_switch_false_escalates(world):
    world.set_switch('FALSE')
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.rc == 0, r.stderr
    assert r.output['proceed'] is False
    assert r.output['reason'] == 'engine disabled'
    assert r.output['killSwitch'] == 'disabled'
    assert r.output['breaker'] is None
    assert world.breaker_item(INSTANCE) is None
    assert world.ops() == ['GetParameter'], 'nothing after the kill switch'


def test_kill_switch_unrecognised_value_fails_safe(world):
    world.set_switch('off')
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.output['proceed'] is False
    assert r.output['reason'] == 'engine disabled'
    assert r.output['killSwitch'] == 'unrecognised'
    assert any(l['msg'].startswith('kill switch has a value other than')
               for l in r.logs)


def test_kill_switch_missing_parameter_is_enabled_with_warning(world):
    world.ep.admin('POST', '/_admin/ssm/parameters/delete', {'name': PARAM})
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.rc == 0, r.stderr
    assert r.output['proceed'] is True
    assert r.output['killSwitch'] == 'not-found'
    warn = [l for l in r.logs if l['level'] == 'warn']
    assert warn and warn[0]['msg'] == ('kill switch parameter not found; '
                                       'treating the engine as enabled')
    assert warn[0]['parameter'] == PARAM


def test_kill_switch_custom_parameter_name(world):
    world.ep.admin('POST', '/_admin/ssm/parameters',
                   {'name': '/ops/healer/switch', 'value': 'false'})
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1), HEALER_KILL_SWITCH_PARAM='/ops/healer/switch')
    assert r.output['reason'] == 'engine disabled'


def test_kill_switch_flip_reaches_a_running_pool_within_the_cache_window(
        world):
    """A worker pool caches the switch (TTL 2 s here): after a flip, guards
    keep being served from the cache for at most the TTL, then escalate;
    and the cache means far fewer GetParameter calls than guards."""
    ttl = 2
    ev = fixture('ec2-instance-state-change-unclassifiable.json')
    arn = activity_arn('guard')
    env = dict(world.ddb.env(), HEALER_BREAKER_TABLE=world.table,
               HEALER_KILL_SWITCH_CACHE_S=str(ttl))
    with Worker(world.ep.url, 'guard:2', extra_env=env) as w:
        def run_one(n):
            token = world.ep.enqueue(arn, [{'execution': execution(n),
                                            'dryRun': False,
                                            'event': ev}])[0]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                t = world.ep.task(token)
                if t['state'] == 'succeeded':
                    sent = [s for s in t['sends'] if s['accepted']][0]
                    return json.loads(sent['output'])
                assert t['state'] in ('queued', 'assigned'), t
                time.sleep(0.02)
            raise AssertionError('guard task not answered:\n' + w.text())

        first = run_one(0)
        assert first['proceed'] is True and first['killSwitch'] == 'enabled'
        world.set_switch('false')
        flipped = time.monotonic()
        seen = []
        n = 1
        while True:
            out = run_one(n)
            seen.append((time.monotonic() - flipped, out['proceed']))
            n += 1
            if out['proceed'] is False:
                assert out['reason'] == 'engine disabled'
                break
            assert time.monotonic() - flipped < ttl + 1.5, \
                f'still proceeding {seen[-1][0]:.1f}s after the flip: {seen}'
            time.sleep(0.1)
        # Once disabled, it stays disabled.
        for _ in range(3):
            assert run_one(n)['proceed'] is False
            n += 1
        gets = world.ep.summary()['requests_by_op'].get('GetParameter', 0)
        assert gets < n, f'{gets} GetParameter calls for {n} guards'


# ---- static refusals and the opt-out tag ------------------------------------

def test_opt_out_tag(world):
    world.tag(INSTANCE_ARN, {'AutoRemediate': 'False', 'Owner': 'x'})
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.rc == 0, r.stderr
    assert r.output['proceed'] is False
    assert r.output['reason'] == 'opted out: AutoRemediate=false'
    assert r.output['optOut'] is True
    assert r.output['breaker'] is None
    assert world.breaker_item(INSTANCE) is None, 'not counted when refused'


def test_opt_out_tag_other_values_do_not_opt_out(world):
    world.tag(INSTANCE_ARN, {'AutoRemediate': 'true'})
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1))
    assert r.output['proceed'] is True
    assert r.output['optOut'] is False


def test_protected_security_group(world):
    r = world.guard(fixture('config-restricted-ssh-noncompliant.json'),
                    execution(1),
                    HEALER_PROTECTED_SGS=f'sg-12345678, {GROUP}')
    assert r.rc == 0, r.stderr
    assert r.output['proceed'] is False
    assert r.output['reason'] == 'protected security group'
    assert r.output['resource']['arn'] == GROUP_ARN
    assert world.breaker_item(GROUP) is None
    assert world.ops() == ['GetParameter'], 'no tag lookup, no breaker'


def test_break_glass_account(world):
    r = world.guard(fixture('acm-certificate-expired.json'), execution(1),
                    HEALER_BREAK_GLASS_ACCOUNTS=f'210987654321,{ACCOUNT}')
    assert r.output['proceed'] is False
    assert r.output['reason'] == 'break-glass account'


def test_event_without_resource_proceeds_without_breaker(world):
    r = world.guard(fixture('cloudwatch-alarm-composite.json'), execution(1))
    assert r.rc == 0, r.stderr
    assert r.output['proceed'] is True
    assert r.output['resource'] is None
    assert r.output['breaker'] is None
    assert world.ddb.scan(world.table) == []


def test_bad_settings_stop_before_any_call(world):
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1), HEALER_PROTECTED_SGS='sg-1; rm -rf /')
    assert r.rc == 2
    assert 'HEALER_PROTECTED_SGS: invalid item "sg-1; rm -rf /"' in r.stderr
    assert world.ops() == []


def test_invalid_execution_is_invalid_input(world):
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    'evt-1; reboot')
    assert r.rc == 1
    assert r.error() == {
        'error': 'Healer.InvalidInput',
        'cause': 'guard: "execution" must be a Step Functions execution ARN'}
    assert world.ops() == []


def test_missing_table_fails_the_activity(world):
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(1), HEALER_BREAKER_TABLE='no-such-table')
    assert r.rc == 1
    e = r.error()
    assert e['error'] == 'Healer.Guard.AwsError'
    assert e['cause'].startswith('UpdateItem: ')
    assert 'ResourceNotFoundException' in e['cause']


# ---- circuit breaker ----------------------------------------------------------

def test_breaker_ten_concurrent_executions_exactly_three_proceed(world):
    # Hold every run at the tag lookup so all ten reach DynamoDB together.
    world.ep.faults(latency_ms=[300, 300], operations=['GetResources'])
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    procs = [world.start_guard(occurrence(ev, n), execution(n))
             for n in range(10)]
    results = [finish(p) for p in procs]
    world.ep.clear_faults()
    assert all(r.rc == 0 for r in results), [r.stderr for r in results]
    proceeded = [r for r in results if r.output['proceed']]
    refused = [r for r in results if not r.output['proceed']]
    assert len(proceeded) == 3
    assert len(refused) == 7
    for r in refused:
        assert r.output['reason'] == (
            'Manual Intervention Required: circuit breaker open '
            f'(3 remediations of {INSTANCE} this hour)')
        assert r.output['breaker']['open'] is True
        assert r.output['breaker']['counted'] is False
    assert sorted(r.output['breaker']['count'] for r in proceeded) == [1, 2, 3]
    item = world.breaker_item(INSTANCE)
    assert item['count'] == {'N': '3'}
    winners = sorted(r.output['breaker']['key'] for r in proceeded)
    assert len(set(winners)) == 1
    assert len(item['executions']['SS']) == 3


def test_breaker_same_execution_retried_counts_once(world):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    first = world.guard(ev, execution(1))
    assert first.output['breaker']['count'] == 1
    for _ in range(2):
        again = world.guard(ev, execution(1))
        assert again.rc == 0, again.stderr
        assert again.output['proceed'] is True
        assert again.output['breaker']['count'] == 1
        assert again.output['breaker']['counted'] is True
    # Concurrent retries of one execution: still one count.
    procs = [world.start_guard(occurrence(ev, 2), execution(2))
             for _ in range(5)]
    results = [finish(p) for p in procs]
    assert all(r.output['proceed'] for r in results)
    item = world.breaker_item(INSTANCE)
    assert item['count'] == {'N': '2'}
    assert sorted(item['executions']['SS']) == [execution(1), execution(2)]


def test_breaker_full_then_retry_of_a_counted_execution_still_proceeds(
        world):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    for n in range(3):
        assert world.guard(occurrence(ev, n), execution(n)).output[
            'proceed'] is True
    refused = world.guard(occurrence(ev, 9), execution(9))
    assert refused.output['proceed'] is False
    assert refused.output['reason'].startswith('Manual Intervention Required')
    retry = world.guard(occurrence(ev, 1), execution(1))
    assert retry.output['proceed'] is True, 'a retry is not a new remediation'
    assert retry.output['breaker'] == {
        'key': f'{INSTANCE}#{hour_bucket()}', 'count': 3, 'max': 3,
        'open': False, 'counted': True, 'dryRun': False}
    assert world.breaker_item(INSTANCE)['count'] == {'N': '3'}


def test_breaker_max_setting(world):
    ev = fixture('config-restricted-ssh-noncompliant.json')
    assert world.guard(occurrence(ev, 1), execution(1),
                       HEALER_BREAKER_MAX='1').output['proceed'] is True
    r = world.guard(occurrence(ev, 2), execution(2), HEALER_BREAKER_MAX='1')
    assert r.output['reason'] == ('Manual Intervention Required: circuit '
                                  f'breaker open (1 remediations of {GROUP} '
                                  'this hour)')


# ---- dry-run -------------------------------------------------------------------

def test_dry_run_is_read_only(world):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    r = world.guard(ev, execution(1), dry_run=True)
    assert r.rc == 0, r.stderr
    assert r.output['dryRun'] is True
    assert r.output['proceed'] is True
    assert r.output['breaker'] == {
        'key': f'{INSTANCE}#{hour_bucket()}', 'count': 0, 'max': 3,
        'open': False, 'counted': False, 'dryRun': True}
    ops = world.ops()
    assert ops == ['GetParameter', 'GetResources']
    assert not MUTATING & set(ops)
    assert world.breaker_item(INSTANCE) is None, 'no item written'
    assert world.ddb.scan(world.table) == []


def test_dry_run_reports_an_open_breaker_without_writing(world):
    key = f'{INSTANCE}#{hour_bucket()}'
    world.ddb.put_item(world.table, {
        'pk': {'S': key}, 'count': {'N': '3'},
        'executions': {'SS': [execution(1), execution(2), execution(3)]},
        'expires_at': {'N': '1'}})
    r = world.guard(fixture('cloudwatch-alarm-disk-used-percent.json'),
                    execution(7), HEALER_DRY_RUN='true')
    assert r.output['dryRun'] is True
    assert r.output['proceed'] is False
    assert r.output['reason'].startswith('Manual Intervention Required')
    assert r.output['breaker']['count'] == 3
    assert world.breaker_item(INSTANCE)['count'] == {'N': '3'}
    assert 'executions' in world.breaker_item(INSTANCE)
    assert execution(7) not in world.breaker_item(INSTANCE)['executions']['SS']
