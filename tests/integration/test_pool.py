"""The worker pool against the local AWS endpoint: every task answered
exactly once, under faults, drains, heartbeat timeouts and credential
rotation. The endpoint's per-token record is the judge."""

import json
import os
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from harness import LocalAWS  # noqa: E402

from workers import Worker, activity_arn, wait_until  # noqa: E402

# Short long-polls keep drains fast; the worker's own read timeout stays 70 s.
POLL_TIMEOUT_S = 3


@pytest.fixture
def ep():
    with LocalAWS(poll_timeout=POLL_TIMEOUT_S) as endpoint:
        yield endpoint


def enqueue(ep, activity, inputs, heartbeat=None, timeout=None):
    body = {'activityArn': activity_arn(activity), 'inputs': inputs}
    if heartbeat is not None:
        body['heartbeatSeconds'] = heartbeat
    if timeout is not None:
        body['timeoutSeconds'] = timeout
    return ep.admin('POST', '/_admin/tasks', body)['tokens']


def tasks(ep):
    return ep.admin('GET', '/_admin/tasks')['tasks']


def summary(ep):
    return ep.admin('GET', '/_admin/summary')


def settled(ep, n):
    s = summary(ep)
    return s['succeeded'] + s['failed'] + s['timed_out'] >= n


def assert_exactly_once(records):
    problems = []
    for t in records:
        if t['acceptedResults'] != 1:
            problems.append((t['token'][:12], t['state'], t['acceptedResults'], t['lost']))
        elif t['lost']:
            problems.append((t['token'][:12], 'lost'))
    assert not problems, 'tasks not answered exactly once: %r' % problems[:20]


def test_thousand_tasks_three_activities(ep):
    per = {'echo': 334, 'echo-b': 333, 'echo-c': 333}
    for name, n in per.items():
        enqueue(ep, name, [{'n': i, 'activity': name} for i in range(n)])
    with Worker(ep.url, 'echo:6,echo-b=echo:5,echo-c=echo:5') as w:
        wait_until(lambda: settled(ep, 1000), 120, what='1,000 tasks settled')
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0
    records = tasks(ep)
    assert len(records) == 1000
    assert_exactly_once(records)
    assert all(t['state'] == 'succeeded' for t in records)
    for t in records[:50]:
        out = json.loads([s for s in t['sends'] if s['accepted']][0]['output'])
        assert out['worker'] == 'test-worker'
        assert out['echo'] == json.loads(t['input'])
    assert summary(ep)['lost'] == 0


def test_faults_every_task_answered_once(ep):
    ep.admin('POST', '/_admin/faults', {
        'rate_503': 0.10, 'rate_throttle': 0.05, 'rate_reset': 0.02,
        'rate_after_effect': 0.01, 'seed': 7,
        # An error after GetActivityTask took effect loses the task inside
        # Step Functions (the worker never sees its token); that case is
        # the state machine's to recover and is tested in the chaos soak.
        'after_effect_operations': ['SendTaskSuccess', 'SendTaskFailure',
                                    'SendTaskHeartbeat'],
    })
    enqueue(ep, 'echo', [{'n': i} for i in range(300)])
    with Worker(ep.url, 'echo:16') as w:
        wait_until(lambda: settled(ep, 300), 180, what='300 tasks settled under faults')
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0
    records = tasks(ep)
    assert_exactly_once(records)
    s = summary(ep)
    assert s['lost'] == 0
    injected = s['faults_injected']
    assert sum(injected.values()) > 20, injected
    # After-effect faults on answers force a re-send that Step Functions
    # refuses (TaskTimedOut): the worker must treat it as settled.
    if injected.get('after_effect', 0):
        assert any('already settled' in l.get('msg', '') for l in w.lines())


def test_sigterm_mid_run_answers_everything(ep):
    enqueue(ep, 'echo', [{'n': i, 'sleep_ms': 40} for i in range(500)])
    with Worker(ep.url, 'echo:16', extra_env={'HEALER_DRAIN_DEADLINE_S': '20'}) as w:
        wait_until(lambda: summary(ep)['succeeded'] >= 100, 60, what='100 tasks done')
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        assert w.wait(25) == 0
        elapsed = time.monotonic() - t0
    assert elapsed < 20 + 3
    records = tasks(ep)
    received = [t for t in records if t['assignCount'] > 0]
    assert received, 'the worker received nothing'
    assert_exactly_once(received)
    # Nothing stays queued because of the worker, and no poll was aborted.
    assert summary(ep)['lost'] == 0
    w_lines = w.lines()
    assert not [l for l in w_lines if l.get('msg') == 'open polls aborted at the drain deadline']
    assert any(l.get('msg') == 'worker stopped' for l in w_lines)


def test_drain_deadline_answers_worker_shutdown(ep):
    enqueue(ep, 'echo', [{'n': i, 'sleep_ms': 30000} for i in range(4)])
    with Worker(ep.url, 'echo:4', extra_env={'HEALER_DRAIN_DEADLINE_S': '2'}) as w:
        wait_until(lambda: summary(ep)['assigned'] >= 4, 20, what='4 tasks running')
        w.signal(signal.SIGTERM)
        assert w.wait(15) == 0
    records = tasks(ep)
    assert_exactly_once(records)
    for t in records:
        accepted = [s for s in t['sends'] if s['accepted'] and s['op'] == 'SendTaskFailure']
        assert accepted and accepted[0]['error'] == 'Healer.WorkerShutdown'


def test_second_sigterm_stops_fast(ep):
    enqueue(ep, 'echo', [{'n': i, 'sleep_ms': 30000} for i in range(2)])
    with Worker(ep.url, 'echo:2', extra_env={'HEALER_DRAIN_DEADLINE_S': '100'}) as w:
        wait_until(lambda: summary(ep)['assigned'] >= 2, 20, what='2 tasks running')
        w.signal(signal.SIGTERM)
        time.sleep(0.5)
        w.signal(signal.SIGTERM)
        assert w.wait(10) == 0
    assert_exactly_once(tasks(ep))


def test_heartbeat_timeout_cancels_and_sends_nothing(ep):
    enqueue(ep, 'echo', [{'sleep_ms': 8000}], heartbeat=2)
    with Worker(ep.url, 'echo:1', extra_env={'HEALER_HEARTBEAT_S': '4'}) as w:
        wait_until(lambda: w.events('task cancelled: Step Functions no longer accepts it; no result will be sent'),
                   15, what='cancellation')
        wait_until(lambda: w.events('task result discarded: cancelled'), 10,
                   what='the activity to stop')
    (t,) = tasks(ep)
    assert t['state'] == 'timed_out'
    assert t['timeoutReason'] == 'States.HeartbeatTimeout'
    assert not [s for s in t['sends'] if s['op'] in ('SendTaskSuccess', 'SendTaskFailure')]


def test_slow_task_with_heartbeats_outlives_heartbeat_seconds(ep):
    enqueue(ep, 'echo', [{'sleep_ms': 5000}], heartbeat=2)
    with Worker(ep.url, 'echo:1', extra_env={'HEALER_HEARTBEAT_S': '1'}):
        wait_until(lambda: settled(ep, 1), 20, what='slow task settled')
    (t,) = tasks(ep)
    assert t['state'] == 'succeeded'
    assert t['heartbeats'] >= 3


def test_invalid_input_and_oversized_output(ep):
    # Step Functions only ever sends JSON; rawInputs lets a test send what
    # a broken proxy or a future bug might.
    ep.admin('POST', '/_admin/tasks', {'activityArn': activity_arn('echo'),
                                       'rawInputs': ['{"broken": ']})
    enqueue(ep, 'echo', [{'output_bytes': 300000}, {'fail': 'Disk'},
                         {'sleep_ms': 'soon'}])
    with Worker(ep.url, 'echo:2'):
        wait_until(lambda: settled(ep, 4), 20, what='4 tasks settled')
    errors = {}
    for t in tasks(ep):
        (answer,) = [s for s in t['sends'] if s['accepted']]
        errors.setdefault(answer.get('error'), []).append(answer.get('cause', ''))
    causes = ' | '.join(errors.get('Healer.InvalidInput', []))
    assert 'not valid JSON' in causes and '"sleep_ms" must be an integer' in causes, errors
    errors = {k: v[0] for k, v in errors.items()}
    assert 'Healer.OutputTooLarge' in errors and '262144' in errors['Healer.OutputTooLarge']
    assert 'Healer.Echo.Disk' in errors


def test_missing_activity_backs_off_without_spinning(ep):
    def polls():
        return summary(ep)['requests_by_op'].get('GetActivityTask', 0)
    with Worker(ep.url, 'echo:8', extra_env={
            'HEALER_ACTIVITY_ARN_PREFIX': activity_arn('does-not-exist-')}) as w:
        refused = w.wait_for('GetActivityTask refused; check the activity ARN and the task role')
        time.sleep(0.5)
        first = polls()
        time.sleep(3)
        later = polls()
    assert refused[0]['error'] == 'ActivityDoesNotExist'
    # The first turn opens one poll per slot; after the refusal the
    # activity waits (60 s here) instead of polling again.
    assert first <= 8, first
    assert later == first, 'a missing activity was polled again (%d -> %d)' % (first, later)


def test_credentials_rotating_through_ecs(ep):
    ep.admin('POST', '/_admin/ecs', {'rotate_every_s': 2, 'lifetime_s': 6,
                                      'auth_token': 'test-ecs-token'})
    enqueue(ep, 'echo', [{'n': i, 'sleep_ms': 20} for i in range(400)])
    env = {'AWS_CONTAINER_CREDENTIALS_FULL_URI': ep.url + '/_ecs/credentials',
           'AWS_CONTAINER_AUTHORIZATION_TOKEN': 'test-ecs-token'}
    with Worker(ep.url, 'echo:4', extra_env=env, credentials='none') as w:
        wait_until(lambda: settled(ep, 400), 120, what='400 tasks with rotating credentials')
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0
    assert_exactly_once(tasks(ep))
    s = summary(ep)
    assert s['auth_failures'] == 0, s
    assert 'test-ecs-token' not in w.text()
