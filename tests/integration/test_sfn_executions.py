"""The local endpoint's Step Functions executions
(tests/local/services/sfn_executions.py + sfn_executions.js): StartExecution,
DescribeExecution and StopExecution with AWS's semantics for names and
inputs, Task states served through the activity API, and the errors AWS
answers. The engine itself runs on it in test_engine_ops.py.
"""

import json
import os
import sys
import time

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from harness import LocalAWS  # noqa: E402

ACT = 'arn:aws:states:us-east-1:123456789012:activity:exec-test'
DEF = {'StartAt': 'Work', 'States': {
    'Work': {'Type': 'Task', 'Resource': ACT, 'TimeoutSeconds': 30, 'HeartbeatSeconds': 20,
             'Retry': [{'ErrorEquals': ['Custom.Retry'], 'MaxAttempts': 1, 'IntervalSeconds': 1}],
             'Catch': [{'ErrorEquals': ['States.ALL'], 'ResultPath': '$.error', 'Next': 'Caught'}],
             'ResultPath': '$.work', 'End': True},
    'Caught': {'Type': 'Pass', 'End': True}}}


@pytest.fixture(scope='module')
def endpoint():
    with LocalAWS(poll_timeout=1) as ep:
        yield ep


@pytest.fixture
def ep(endpoint):
    endpoint.reset()
    r = endpoint.admin('POST', '/_admin/sfn/state-machines',
                       {'name': 'exec-test', 'definition': DEF, 'retryIntervalMs': 10})
    endpoint.machine = r['stateMachineArn']
    endpoint.sfn = endpoint.boto3_client('stepfunctions', max_attempts=1)
    endpoint.sfn.create_activity(name='exec-test')
    return endpoint


def take(ep, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = ep.sfn.get_activity_task(activityArn=ACT, workerName='t')
        if t.get('taskToken'):
            return t['taskToken'], json.loads(t['input'])
    raise AssertionError('no task')


def finished(ep, arn, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = ep.sfn.describe_execution(executionArn=arn)
        if d['status'] != 'RUNNING':
            return d
        time.sleep(0.05)
    raise AssertionError('still running')


def code(exc):
    return exc.value.response['Error']['Code']


def test_an_execution_runs_its_task_through_the_activity_api(ep):
    r = ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-1', input='{"n": 1}')
    assert r['executionArn'] == 'arn:aws:states:us-east-1:123456789012:execution:exec-test:evt-1'
    token, inp = take(ep)
    assert inp == {'n': 1}
    task = [t for t in ep.tasks() if t['token'] == token][0]
    assert (task['heartbeatSeconds'], task['timeoutSeconds']) == (20, 30)
    ep.sfn.send_task_success(taskToken=token, output='{"ok": true}')
    d = finished(ep, r['executionArn'])
    assert d['status'] == 'SUCCEEDED' and json.loads(d['output']) == {'n': 1, 'work': {'ok': True}}
    assert json.loads(d['input']) == {'n': 1} and d['name'] == 'evt-1'
    assert d['stateMachineArn'] == ep.machine and d['stopDate'] >= d['startDate']
    (ex,) = ep.admin('GET', '/_admin/sfn/executions')['executions']
    assert ex['tasks'] == [{'state': 'Work', 'activityArn': ACT, 'result': 'succeeded'}]
    assert ('StateEntered', 'Work') in [(h['type'], h.get('state')) for h in ex['history']]


def test_names_are_unique_per_state_machine(ep):
    a = ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-2', input='{"n": 2}')
    # Same name, same input, still running: the same execution (idempotent).
    b = ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-2', input='{"n": 2}')
    assert a['executionArn'] == b['executionArn'] and a['startDate'] == b['startDate']
    with pytest.raises(ClientError) as e:
        ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-2', input='{"n": 3}')
    assert code(e) == 'ExecutionAlreadyExists'
    token, _ = take(ep)
    ep.sfn.send_task_success(taskToken=token, output='{}')
    finished(ep, a['executionArn'])
    # Ended: any reuse of the name is refused.
    with pytest.raises(ClientError) as e:
        ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-2', input='{"n": 2}')
    assert code(e) == 'ExecutionAlreadyExists'
    assert len(ep.admin('GET', '/_admin/sfn/executions')['executions']) == 1


def test_failures_retries_and_catch_follow_the_definition(ep):
    r = ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-3')
    token, _ = take(ep)
    ep.sfn.send_task_failure(taskToken=token, error='Custom.Retry', cause='again')
    token, _ = take(ep)      # the Retry: a new task
    ep.sfn.send_task_failure(taskToken=token, error='Custom.Other', cause='broken')
    d = finished(ep, r['executionArn'])
    assert d['status'] == 'SUCCEEDED'
    assert json.loads(d['output'])['error'] == {'Error': 'Custom.Other', 'Cause': 'broken'}


def test_stop_execution_aborts(ep):
    r = ep.sfn.start_execution(stateMachineArn=ep.machine, name='evt-4')
    take(ep)
    ep.sfn.stop_execution(executionArn=r['executionArn'], error='Ops.Stop', cause='drill')
    d = ep.sfn.describe_execution(executionArn=r['executionArn'])
    assert d['status'] == 'ABORTED' and d['error'] == 'Ops.Stop'


@pytest.mark.parametrize('kwargs,error', [
    ({'name': 'has space'}, 'InvalidName'),
    ({'name': 'a/b'}, 'InvalidName'),
    ({'name': 'x' * 81}, 'ValidationException'),   # the model's max length
    ({'name': 'ok', 'input': 'not json'}, 'InvalidExecutionInput'),
    ({'name': 'ok', 'stateMachineArn': 'arn:aws:states:us-east-1:123456789012:stateMachine:nope'},
     'StateMachineDoesNotExist'),
    ({'name': 'ok', 'stateMachineArn': 'arn:aws:states:us-east-1:123456789012:activity:exec-test'},
     'InvalidArn'),
])
def test_start_errors(ep, kwargs, error):
    args = dict({'stateMachineArn': ep.machine}, **kwargs)
    with pytest.raises(ClientError) as e:
        ep.sfn.start_execution(**args)
    assert code(e) == error


def test_describe_errors_and_signatures(ep):
    with pytest.raises(ClientError) as e:
        ep.sfn.describe_execution(
            executionArn='arn:aws:states:us-east-1:123456789012:execution:exec-test:none')
    assert code(e) == 'ExecutionDoesNotExist'
    bad = ep.boto3_client('stepfunctions', max_attempts=1, secret_key='wrong' * 8)
    with pytest.raises(ClientError) as e:
        bad.start_execution(stateMachineArn=ep.machine, name='evt-5')
    assert code(e) == 'InvalidSignatureException'
    assert ep.admin('GET', '/_admin/sfn/executions')['executions'] == []
