"""The real engine state machine (statemachines/engine.asl.json) run by
tests/local/sfn_runner.js against the local AWS endpoint, with this test
playing the workers through the Step Functions activity API.

What is checked is the state machine's meaning as the activities see it:
each activity's input per docs/ACTIVITIES.md, Choice routing, Retry on the
four retried errors (and none on Healer.InvalidInput), heartbeat and task
timeouts enforced by the endpoint, Catch to Escalate with $.error, and the
Record/Escalate branches that survive each other's failures.
"""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from harness import LocalAWS  # noqa: E402

from workers import fixture  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RUNNER = os.path.join(REPO, 'tests', 'local', 'sfn_runner.js')
# HEALER_ENGINE_ASL: run these tests on another definition (e.g. a broken copy).
ENGINE = os.environ.get('HEALER_ENGINE_ASL') or os.path.join(REPO, 'statemachines', 'engine.asl.json')
NODE = 'node'
ACCOUNT, REGION = '123456789012', 'us-east-1'
PREFIX = f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-'
ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert',
              'ticket', 'notify', 'audit']


DISK_EVENT = fixture('cloudwatch-alarm-disk-used-percent.json')
EXEC_ARN = f'arn:aws:states:{REGION}:{ACCOUNT}:execution:healer-engine:evt-{DISK_EVENT["id"]}'


@pytest.fixture
def ep():
    with LocalAWS(poll_timeout=1) as endpoint:
        sfn = endpoint.boto3_client('stepfunctions', max_attempts=1)
        for a in ACTIVITIES:
            sfn.create_activity(name='healer-' + a)
        endpoint.sfn = sfn
        yield endpoint


class Run:
    """One execution of the engine in a runner subprocess."""

    def __init__(self, ep, event=DISK_EVENT, dry_run=True, **settings):
        cmd = [NODE, RUNNER, '--endpoint', ep.url, '--template', ENGINE,
               '--arn-prefix', PREFIX, '--input-json',
               json.dumps({'event': event, 'dryRun': dry_run}),
               '--retry-interval-ms', '50', '--poll-ms', '20', '--timeout-s', '60']
        for k, v in settings.items():
            cmd += ['--var', f'{k}={v}']
        self.ep = ep
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def result(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f'runner failed: {err}'
        return json.loads(out)

    def entered(self, res, top_level_only=True):
        return [h['state'] for h in res['history'] if h['type'] == 'StateEntered'
                and (not top_level_only or h['state'] in TOP_LEVEL)]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


TOP_LEVEL = {'Guard', 'GuardChoice', 'Diagnose', 'Route', 'RemediateDisk', 'RemediateSg',
             'RenewCert', 'RemediationChoice', 'Record', 'Remediated', 'Escalate', 'Escalated',
             'EscalationFailed'}


@pytest.fixture
def runs():
    started = []
    yield started
    for r in started:
        r.close()


def start(runs, ep, **kw):
    r = Run(ep, **kw)
    runs.append(r)
    return r


def take(ep, activity, timeout=20):
    """Poll like a worker until a task of `activity` arrives: (token, input)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = ep.sfn.get_activity_task(activityArn=PREFIX + activity, workerName='test-worker')
        if t.get('taskToken'):
            return t['taskToken'], json.loads(t['input'])
    raise AssertionError(f'no {activity} task within {timeout} s')


def ok(ep, token, output):
    ep.sfn.send_task_success(taskToken=token, output=json.dumps(output))


def fail(ep, token, error, cause):
    ep.sfn.send_task_failure(taskToken=token, error=error, cause=cause)


def tasks_of(ep, activity):
    return ep.tasks(activity=PREFIX + activity)


GUARD_OK = {'proceed': True, 'reason': 'ok', 'resource': {'type': 'instance', 'id': 'i-0abcd1234ef567890'},
            'killSwitch': 'enabled', 'optOut': False,
            'breaker': {'key': 'i-0abcd1234ef567890#2024-05-14T09', 'count': 1, 'max': 3, 'open': False}}
DISK = {'class': 'disk_pressure', 'confidence': 0.95, 'reason': 'disk_used_percent >= 85',
        'resource': GUARD_OK['resource'], 'owner': None, 'plan': ['vacuum journald'],
        'details': {'instanceId': 'i-0abcd1234ef567890', 'path': '/', 'threshold': 85, 'usedPercent': 91.3}}
CLEANED = {'action': 'disk_cleanup', 'dryRun': True, 'applied': False, 'verified': False,
           'escalate': False, 'reason': 'would vacuum journald', 'before': {}, 'after': {},
           'rollback': None, 'details': {}}


def answer_records(ep, mode, expect_fields, drop=(), fail_one=None):
    """Takes the three record tasks, checks their input, answers them."""
    got = {}
    for a in ('ticket', 'notify', 'audit'):
        token, inp = take(ep, a)
        assert inp['execution'] == EXEC_ARN
        assert inp['mode'] == mode
        assert inp['dryRun'] is True
        assert inp['event'] == DISK_EVENT
        for f in expect_fields:
            assert f in inp, f'{a} input lacks {f}: {sorted(inp)}'
        for f in drop:
            assert f not in inp, f'{a} input has {f}, which the execution never reached'
        got[a] = inp
        if a == fail_one:
            fail(ep, token, 'Healer.Notify.SlackError', 'channel_not_found')
        else:
            ok(ep, token, {'answered': a})
    return got


def test_disk_pressure_is_remediated_and_recorded(ep, runs):
    r = start(runs, ep)
    token, inp = take(ep, 'guard')
    assert inp == {'execution': EXEC_ARN, 'dryRun': True, 'event': DISK_EVENT}
    ok(ep, token, GUARD_OK)
    token, inp = take(ep, 'diagnose')
    assert inp == {'execution': EXEC_ARN, 'dryRun': True, 'event': DISK_EVENT}
    ok(ep, token, DISK)
    token, inp = take(ep, 'remediate-disk')
    assert inp == {'execution': EXEC_ARN, 'dryRun': True, 'diagnosis': DISK}
    ok(ep, token, CLEANED)
    recs = answer_records(ep, 'resolved', ('guard', 'diagnosis', 'remediation'), drop=('error',))
    assert recs['ticket']['remediation'] == CLEANED and recs['audit']['guard'] == GUARD_OK
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'RemediateDisk',
                              'RemediationChoice', 'Record', 'Remediated']
    assert res['output']['record'] == {'ticket': {'answered': 'ticket'}, 'notify': {'answered': 'notify'},
                                       'audit': {'answered': 'audit'}}
    assert res['output']['remediation'] == CLEANED
    s = ep.summary()
    assert s['tasks'] == 6 and s['succeeded'] == 6 and s['duplicate_results'] == 0


def test_invalid_input_is_not_retried_and_escalates_with_the_error(ep, runs):
    r = start(runs, ep)
    token, _ = take(ep, 'guard')
    ok(ep, token, GUARD_OK)
    token, _ = take(ep, 'diagnose')
    fail(ep, token, 'Healer.InvalidInput', 'event.detail: no InstanceId dimension')
    recs = answer_records(ep, 'escalated', ('guard', 'error'), drop=('diagnosis', 'remediation'))
    assert recs['ticket']['error'] == {'Error': 'Healer.InvalidInput',
                                       'Cause': 'event.detail: no InstanceId dimension'}
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Escalate', 'Escalated']
    assert len(tasks_of(ep, 'diagnose')) == 1, 'Healer.InvalidInput must not be retried'
    assert not any(h['type'] == 'StateRetried' for h in res['history'])


def test_worker_shutdown_is_retried_and_low_confidence_escalates(ep, runs):
    r = start(runs, ep)
    token, first = take(ep, 'guard')
    fail(ep, token, 'Healer.WorkerShutdown', 'worker draining')
    token2, again = take(ep, 'guard')
    assert token2 != token and again == first
    ok(ep, token2, GUARD_OK)
    token, _ = take(ep, 'diagnose')
    ok(ep, token, dict(DISK, confidence=0.5))
    answer_records(ep, 'escalated', ('guard', 'diagnosis'), drop=('remediation', 'error'))
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'Escalate', 'Escalated']
    assert [h['state'] for h in res['history'] if h['type'] == 'StateRetried'] == ['Guard']
    assert tasks_of(ep, 'remediate-disk') == []


def test_refusal_and_unknown_class_escalate(ep, runs):
    r = start(runs, ep)
    token, _ = take(ep, 'guard')
    ok(ep, token, dict(GUARD_OK, proceed=False, reason='engine disabled'))
    answer_records(ep, 'escalated', ('guard',), drop=('diagnosis', 'error'))
    res = r.result()
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Escalate', 'Escalated']
    assert res['output']['guard']['reason'] == 'engine disabled'

    r2 = start(runs, ep)
    token, _ = take(ep, 'guard')
    ok(ep, token, GUARD_OK)
    token, _ = take(ep, 'diagnose')
    ok(ep, token, {'class': 'unknown', 'confidence': 1.0, 'reason': 'not classifiable',
                   'resource': None, 'owner': None, 'plan': [], 'details': {}})
    answer_records(ep, 'escalated', ('guard', 'diagnosis'), drop=('remediation',))
    res = r2.result()
    assert r2.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'Escalate', 'Escalated']


def test_outputs_missing_choice_fields_escalate_instead_of_failing(ep, runs):
    # A guard output without "proceed", a diagnosis without "confidence":
    # each Choice must take its Default (Escalate), not fail the execution.
    r = start(runs, ep)
    token, _ = take(ep, 'guard')
    ok(ep, token, {'reason': 'no proceed field'})
    answer_records(ep, 'escalated', ('guard',))
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Escalate', 'Escalated']

    r2 = start(runs, ep)
    token, _ = take(ep, 'guard')
    ok(ep, token, GUARD_OK)
    token, _ = take(ep, 'diagnose')
    ok(ep, token, {'class': 'disk_pressure'})
    answer_records(ep, 'escalated', ('diagnosis',))
    res = r2.result()
    assert res['status'] == 'SUCCEEDED'
    assert r2.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'Escalate', 'Escalated']


def test_heartbeat_timeouts_are_retried_then_caught(ep, runs):
    # HeartbeatSeconds 1, one retry: two silent attempts, then Escalate.
    r = start(runs, ep, heartbeat_seconds=1, retry_max_attempts=1)
    t1, _ = take(ep, 'guard')
    t2, _ = take(ep, 'guard', timeout=10)
    assert t2 != t1
    recs = answer_records(ep, 'escalated', ('error',), drop=('guard',))
    assert recs['notify']['error']['Error'] == 'States.HeartbeatTimeout'
    res = r.result()
    assert r.entered(res) == ['Guard', 'Escalate', 'Escalated']
    guard = tasks_of(ep, 'guard')
    assert [t['timeoutReason'] for t in guard] == ['States.HeartbeatTimeout'] * 2
    # A late answer to a timed-out task is refused, as by Step Functions.
    with pytest.raises(ep.sfn.exceptions.TaskTimedOut):
        ok(ep, t1, GUARD_OK)


def test_task_timeout_is_enforced_despite_heartbeats(ep, runs):
    # Heartbeats every 0.2 s keep HeartbeatSeconds (2) from firing; the
    # 3 s TimeoutSeconds ends the task anyway.
    r = start(runs, ep, heartbeat_seconds=2, task_timeout_seconds=3)
    token, _ = take(ep, 'guard')
    deadline = time.monotonic() + 6
    timed_out = False
    while time.monotonic() < deadline:
        try:
            ep.sfn.send_task_heartbeat(taskToken=token)
        except ep.sfn.exceptions.TaskTimedOut:
            timed_out = True
            break
        time.sleep(0.2)
    assert timed_out, 'TimeoutSeconds did not end a task that kept heartbeating'
    token, _ = take(ep, 'guard')
    ok(ep, token, dict(GUARD_OK, proceed=False, reason='opted out: AutoRemediate=false'))
    answer_records(ep, 'escalated', ('guard',), drop=('error',))
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert [t['timeoutReason'] for t in tasks_of(ep, 'guard')] == ['States.Timeout', None]
    assert [h['state'] for h in res['history'] if h['type'] == 'StateRetried'] == ['Guard']


def test_a_failing_record_branch_does_not_stop_the_others(ep, runs):
    r = start(runs, ep)
    for a, out in (('guard', GUARD_OK), ('diagnose', DISK), ('remediate-disk', CLEANED)):
        token, _ = take(ep, a)
        ok(ep, token, out)
    answer_records(ep, 'resolved', ('remediation',), fail_one='notify')
    res = r.result()
    assert res['status'] == 'SUCCEEDED'
    assert r.entered(res)[-2:] == ['Record', 'Remediated']
    rec = res['output']['record']
    assert rec['ticket'] == {'answered': 'ticket'} and rec['audit'] == {'answered': 'audit'}
    assert rec['notify']['failed'] is True
    assert rec['notify']['error'] == {'Error': 'Healer.Notify.SlackError', 'Cause': 'channel_not_found'}


def test_remediation_that_asks_to_escalate_escalates(ep, runs):
    r = start(runs, ep)
    for a, out in (('guard', GUARD_OK), ('diagnose', DISK)):
        token, _ = take(ep, a)
        ok(ep, token, out)
    token, _ = take(ep, 'remediate-disk')
    ok(ep, token, dict(CLEANED, escalate=True, reason='usage 91% -> 88%, still above 85'))
    recs = answer_records(ep, 'escalated', ('guard', 'diagnosis', 'remediation'), drop=('error',))
    assert recs['ticket']['remediation']['escalate'] is True
    res = r.result()
    assert r.entered(res) == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'RemediateDisk',
                              'RemediationChoice', 'Escalate', 'Escalated']


def test_runner_rejects_a_non_local_endpoint():
    p = subprocess.run([NODE, RUNNER, '--endpoint', 'https://states.us-east-1.amazonaws.com',
                        '--template', ENGINE, '--input-json', '{}'],
                       cwd=REPO, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert '--endpoint must be the local endpoint' in p.stderr
