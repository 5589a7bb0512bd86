"""The chaos soak, short variant (tests/soak/soak.py --preset short; `make
soak` runs the long one), plus the pieces it stands on: the runner's batch
mode and the judging code, each shown to report the failures it exists to
catch.

Short variant: 1,000 echo executions through tests/soak/echo.asl.json under
10 % 5xx, 5 % throttling, 2 % resets, 1 % errors after the effect (on every
operation, GetActivityTask included) and random latency, 3 SIGTERM restarts
and 1 SIGKILL, credentials rotating every 3 s; then 12 concurrent engine
executions (4 per instance) with a worker SIGKILLed and one SIGTERMed while
they hold remediations. It must pass (0 lost executions, 0 duplicate
results, no remediation applied twice, breaker never exceeded) and the
chaos must have happened (faults of every kind, the restarts, rotations,
executions recovered through the state machine's retries).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'soak'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))

import analysis  # noqa: E402
import engine  # noqa: E402
from harness import LocalAWS  # noqa: E402

SOAK = os.path.join(REPO, 'tests', 'soak', 'soak.py')
RUNNER = os.path.join(REPO, 'tests', 'local', 'sfn_runner.js')
ECHO_ASL = os.path.join(REPO, 'tests', 'soak', 'echo.asl.json')
PYTHON = os.environ.get('HEALER_PYTHON', '/usr/bin/python3')
ECHO_ARN = 'arn:aws:states:us-east-1:123456789012:activity:healer-echo'


# -- the short soak --------------------------------------------------------------

def test_short_soak_passes_and_the_chaos_happened(tmp_path):
    report_path = tmp_path / 'soak.json'
    out_path = tmp_path / 'soak.out'
    with open(out_path, 'wb') as out:
        p = subprocess.run([PYTHON, SOAK, '--preset', 'short', '--json',
                            str(report_path)], cwd=REPO, stdout=out,
                           stderr=subprocess.STDOUT, timeout=1200)
    text = out_path.read_text()
    assert p.returncode == 0, text[-6000:]
    r = json.loads(report_path.read_text())
    assert r['pass'] and r['problems'] == [], text[-6000:]

    echo = r['echo']
    e, t = echo['executions'], echo['tasks']
    assert e['executions'] == 1000
    assert e['reached_expected_end'] == 1000 and e['lost_executions'] == 0
    assert e['by_status'] == {'SUCCEEDED': 1000}
    assert t['duplicates'] == 0 and t['conflicting_sends'] == 0
    assert t['unexplained_timeouts'] == 0 and t['open'] == 0
    # The chaos was real.
    assert echo['fleet']['sigterm'] == 3 and echo['fleet']['sigkill'] == 1
    for kind in ('500', '503', 'throttle', 'reset', 'after_effect', 'latency'):
        assert echo['faults_injected'].get(kind, 0) > 0, echo['faults_injected']
    assert echo['credential_sets'] >= 5, echo['credential_sets']
    assert echo['auth_failures'] == 0
    assert e['recovered_by_retry'] >= 1
    assert t['timed_out'] >= 1 and t['answered_exactly_once'] >= 1000

    eng = r['engine']
    assert eng['executions'] == 12 and eng['by_status'] == {'SUCCEEDED': 12}
    assert eng['remediations_applied_twice'] == 0
    assert eng['commands_per_execution_max'] <= 1
    assert eng['remediations_per_resource_hour_max'] <= 3
    assert eng['breaker_count_max'] <= 3 and eng['cleanups_per_instance_max'] <= 3
    # 4 executions per instance, breaker 3: at most 9 remediate, and the
    # breaker refuses some (not always one per instance: a guard that fails
    # under the faults escalates before it is counted).
    assert eng['escalated_breaker_open'] >= 1, eng
    assert eng['remediated'] <= 9
    assert len(eng['disruptions']) == 2 and eng['remediate_disk_retried'] >= 1
    assert eng['tasks']['duplicates'] == 0


# -- the runner's batch mode -------------------------------------------------------

def _batch_file(tmp_path, items):
    path = tmp_path / 'batch.jsonl'
    path.write_text(''.join(json.dumps(i) + '\n' for i in items))
    return str(path)


def test_batch_mode_runs_executions_with_retries_and_failures(tmp_path):
    items = [{'name': f'b-{i}', 'input': {'seq': i, 'sleep_ms': 0}} for i in range(4)]
    with LocalAWS(poll_timeout=1) as aws:
        sfn = aws.boto3_client('stepfunctions', max_attempts=1)
        sfn.create_activity(name='healer-echo')
        proc = subprocess.Popen(
            ['node', RUNNER, '--endpoint', aws.url, '--definition', ECHO_ASL,
             '--batch', _batch_file(tmp_path, items), '--concurrency', '4',
             '--retry-interval-ms', '50', '--poll-ms', '20', '--settle-ms', '0',
             '--timeout-s', '60'],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            answered = {}
            shutdown_sent = False
            deadline = time.monotonic() + 60
            # Five tasks: b-1 is handed back once, then retried.
            while sum(map(len, answered.values())) < 5 and time.monotonic() < deadline:
                task = sfn.get_activity_task(activityArn=ECHO_ARN, workerName='t')
                if not task.get('taskToken'):
                    continue
                inp = json.loads(task['input'])
                seq, tok = inp['seq'], task['taskToken']
                if seq == 1 and not shutdown_sent:
                    shutdown_sent = True
                    sfn.send_task_failure(taskToken=tok, error='Healer.WorkerShutdown',
                                          cause='draining')
                elif seq == 2:
                    sfn.send_task_failure(taskToken=tok, error='Healer.Echo.Boom', cause='asked')
                else:
                    sfn.send_task_success(taskToken=tok, output=json.dumps({'echo': inp}))
                answered.setdefault(seq, []).append(tok)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[-1] == {'batch': {'executions': 4, 'byStatus': {'SUCCEEDED': 3, 'FAILED': 1}}}
    res = {r['name']: r for r in lines[:-1]}
    assert sorted(res) == ['b-0', 'b-1', 'b-2', 'b-3']
    for name in ('b-0', 'b-1', 'b-3'):
        r = res[name]
        assert r['status'] == 'SUCCEEDED'
        want = {'execution': r['executionArn'], 'seq': int(name[2:]), 'sleep_ms': 0}
        assert r['output']['result'] == {'echo': want}
        assert r['executionArn'].endswith(':' + name) and r['endedAt'] >= r['startedAt']
    assert [a['result'] for a in res['b-1']['tasks']] == ['failed', 'succeeded']
    assert res['b-1']['tasks'][0]['error'] == 'Healer.WorkerShutdown'
    assert any(h['type'] == 'StateRetried' for h in res['b-1']['history'])
    assert res['b-2']['status'] == 'FAILED' and res['b-2']['error'] == 'Healer.Echo.Boom'
    assert len(res['b-2']['tasks']) == 1, 'a non-retried error was retried'


def test_batch_mode_usage_errors(tmp_path):
    dup = _batch_file(tmp_path, [{'name': 'x', 'input': {}}, {'name': 'x', 'input': {}}])
    cases = [
        (['--batch', dup], 'name x repeated'),
        (['--batch', dup, '--input-json', '{}'], '--batch takes its inputs'),
        (['--input-json', '{}', '--concurrency', '3'], '--concurrency and --settle-ms need --batch'),
    ]
    for extra, message in cases:
        p = subprocess.run(['node', RUNNER, '--endpoint', 'http://127.0.0.1:9',
                            '--definition', ECHO_ASL] + extra,
                           cwd=REPO, capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and message in p.stderr, (extra, p.stderr)


# -- the judging code reports what it must --------------------------------------------

def _task(token, state='succeeded', worker='w-1', sends=None, lost=False, reason=None):
    if sends is None:
        sends = [{'op': 'SendTaskSuccess', 'accepted': True, 'output': '{}', 'at': 11.0}]
    return {'token': token, 'activityArn': ECHO_ARN, 'state': state, 'lost': lost,
            'lostReason': 'fault_after_effect' if lost else None, 'workerName': worker,
            'sends': sends, 'acceptedResults': sum(1 for s in sends if s['accepted']),
            'enqueuedAt': 9.0, 'assignedAt': 10.0 if worker else None,
            'timeoutReason': reason}


def test_analysis_counts_duplicates_conflicts_and_dropped_tasks():
    ok = {'op': 'SendTaskSuccess', 'accepted': True, 'output': '{}', 'at': 11.0}
    tasks = [
        _task('A' * 40),
        _task('B' * 40, sends=[ok, dict(ok, at=12.0)]),                       # two accepted
        _task('C' * 40, sends=[ok, dict(ok, accepted=False, rejectedWith='TaskTimedOut')]),
        _task('D' * 40, sends=[ok, {'op': 'SendTaskFailure', 'accepted': False,
                                     'error': 'Healer.WorkerShutdown', 'at': 12.0}]),
        _task('E' * 40, state='timed_out', sends=[], reason='States.HeartbeatTimeout'),
        _task('F' * 40, state='timed_out', sends=[], worker='w-killed',
              reason='States.HeartbeatTimeout'),
        _task('G' * 40, state='timed_out', sends=[], lost=True, reason='States.HeartbeatTimeout'),
        _task('H' * 40, state='assigned', sends=[]),
    ]
    f, problems = analysis.analyse_tasks(tasks, killed=['w-killed'])
    assert f['duplicates'] == 1
    assert f['conflicting_sends'] == 1                 # D: success then a failure
    assert f['refused_repeat_sends'] == 2              # C (same answer) and D
    assert f['unexplained_timeouts'] == 1              # E: live worker, not lost
    assert f['timeouts_explained'] == {'lost': 1, 'worker_sigkilled': 1}
    assert f['lost'] == 1 and f['open'] == 1
    assert f['answered_exactly_once'] == 3
    assert f['answer_s']['max'] == 1.0
    text = '\n'.join(problems)
    for needle in ('2 accepted results', 'different results sent', 'not SIGKILLed',
                   'still assigned'):
        assert needle in text, text


def test_analysis_explains_timeouts_from_the_worker_logs():
    def timed_out(token, worker='w-1', sends=()):
        return _task(token, state='timed_out', worker=worker, sends=list(sends),
                     reason='States.HeartbeatTimeout')
    late = {'op': 'SendTaskSuccess', 'accepted': False, 'rejectedWith': 'TaskTimedOut',
            'output': '{}', 'at': 30.0}
    tasks = [timed_out('A' * 40), timed_out('B' * 40), timed_out('C' * 40),
             timed_out('D' * 40, sends=[late]), timed_out('E' * 40),
             timed_out('F' * 40, worker='w-aborting'), timed_out('G' * 40),
             timed_out('H' * 40, worker='w-aborting')]
    h = analysis.token_hash
    events = {
        h('A' * 40): ['task received', 'heartbeat failed; will retry',
                      'task cancelled: Step Functions no longer accepts it; no result will be sent'],
        h('B' * 40): ['task received', 'task no longer accepts an answer (timed out or cancelled)'],
        h('C' * 40): ['task received', "could not deliver the task's answer; the state will "
                      'time out and retry'],
        h('D' * 40): ['task received', 'task answered'],
        h('E' * 40): ['task received'],                # received, then nothing: dropped
        h('H' * 40): ['task received'],                # received by a worker that also aborted polls
    }
    f, problems = analysis.analyse_tasks(tasks, events=events, aborting=['w-aborting'])
    assert f['timeouts_explained'] == {
        'heartbeat_found_it_timed_out': 1, 'answered_too_late': 2, 'answer_undeliverable': 1,
        'poll_aborted_at_drain_deadline': 1}
    # E (received, never answered), G (never received by a worker that aborted
    # nothing: the endpoint handed it out and nobody took it), H (received).
    assert f['unexplained_timeouts'] == 3
    assert len(problems) == 3 and all('never answered' in p for p in problems)


def test_analysis_counts_lost_and_recovered_executions():
    tasks = [_task('A' * 40), _task('B' * 40, state='timed_out', sends=[], lost=True,
                                    reason='States.HeartbeatTimeout'), _task('C' * 40)]
    h = analysis.token_hash
    execs = [
        {'name': 'ok', 'status': 'SUCCEEDED', 'output': {'v': 1},
         'tasks': [{'token': h('A' * 40), 'result': 'succeeded'}], 'startedAt': 0, 'endedAt': 500},
        {'name': 'retried', 'status': 'SUCCEEDED', 'output': {'v': 1},
         'history': [{'type': 'StateRetried', 'state': 'Echo'}],
         'tasks': [{'token': h('B' * 40), 'result': 'timed_out', 'error': 'States.HeartbeatTimeout'},
                   {'token': h('C' * 40), 'result': 'succeeded'}], 'startedAt': 0, 'endedAt': 9000},
        {'name': 'failed', 'status': 'FAILED', 'error': 'States.HeartbeatTimeout', 'tasks': []},
        {'name': 'wrong', 'status': 'SUCCEEDED', 'output': {'v': 2}, 'tasks': []},
    ]

    def expect(ex):
        if ex['status'] != 'SUCCEEDED':
            return ex['status']
        return None if ex['output'] == {'v': 1} else 'wrong output'
    f, problems = analysis.analyse_executions(execs, tasks, expect, expected_count=5)
    assert f['reached_expected_end'] == 2
    assert f['lost_executions'] == 3                   # failed, wrong, one never reported
    assert f['recovered_by_retry'] == 1
    assert f['attempt_errors'] == {'States.HeartbeatTimeout': 1}
    assert f['execution_s']['max'] == 9.0
    assert any('never reported an end' in p for p in problems)


def _cmd(arn, iid, at, cid):
    return {'CommandId': cid, 'InstanceIds': [iid], 'RequestedDateTime': at,
            'Comment': f'healer remediate-disk exec={engine.exec_hash(arn)}'}


def _remediated(name):
    arn = f'arn:aws:states:us-east-1:123456789012:execution:healer-engine:{name}'
    return {'name': name, 'executionArn': arn, 'status': 'SUCCEEDED',
            'output': {'record': {}}, 'tasks': [], 'history': []}


def test_engine_judge_reports_double_remediation_and_a_breaker_overrun():
    iid = 'i-0123456789abcdef0'
    runs = [_remediated(f'evt-{k}') for k in range(4)]
    at = 1795750000.0
    cmds = [_cmd(r['executionArn'], iid, at + k, f'c{k}') for k, r in enumerate(runs)]
    cmds.append(_cmd(runs[0]['executionArn'], iid, at + 9, 'c-again'))      # applied twice
    breaker = [{'pk': {'S': f'{iid}#2026-11-27T04'}, 'count': {'N': '4'},
                'executions': {'SS': [r['executionArn'] for r in runs[:3]]}}]
    f, problems = engine.judge(
        runs, 4, {r['name']: iid for r in runs}, [],
        {'commands': cmds, 'sent': cmds}, [{'instanceId': iid, 'cleanups': 5}],
        {'issues': []}, breaker, [], [])
    assert f['remediations_applied_twice'] == 1
    assert f['commands_per_execution_max'] == 2
    assert f['remediations_per_resource_hour_max'] == 4
    assert f['breaker_count_max'] == 4
    text = '\n'.join(problems)
    for needle in ('evt-0: 2 SSM commands', 'remediated by 4 executions', 'count 4 > 3',
                   'count 4 but 3 executions listed', 'evt-3: sent an SSM command but the '
                   'breaker never counted it', '5 cleanups ran'):
        assert needle in text, text
    checks = dict(engine.checks(dict(f, config={'resources': 1, 'per_resource': 4,
                                                'breaker_max': 3},
                                     tasks={'duplicates': 0})))
    assert checks['engine: no remediation applied twice for one execution'] is False
    assert checks['engine: breaker never exceeded (<= 3 per resource per hour)'] is False


def test_engine_judge_accepts_a_clean_run():
    iid = 'i-0123456789abcdef0'
    runs = [_remediated(f'evt-{k}') for k in range(3)]
    refused = dict(_remediated('evt-9'), output={
        'escalation': {}, 'guard': {'reason': 'Manual Intervention Required: circuit '
                                    'breaker open (3 remediations of x this hour)'}})
    at = 1795750000.0
    cmds = [_cmd(r['executionArn'], iid, at + k, f'c{k}') for k, r in enumerate(runs)]
    breaker = [{'pk': {'S': f'{iid}#2026-11-27T04'}, 'count': {'N': '3'},
                'executions': {'SS': [r['executionArn'] for r in runs]}}]
    f, problems = engine.judge(
        runs + [refused], 4, {r['name']: iid for r in runs + [refused]}, [],
        {'commands': cmds, 'sent': cmds}, [{'instanceId': iid, 'cleanups': 3}],
        {'issues': [{'fields': {'labels': ['healer-' + engine.exec_hash(
            r['executionArn'])]}} for r in runs]}, breaker, [], [])
    assert problems == []
    assert f['remediated'] == 3 and f['escalated_breaker_open'] == 1
    assert all(ok for _, ok in engine.checks(dict(
        f, config={'resources': 1, 'per_resource': 4, 'breaker_max': 3},
        tasks={'duplicates': 0})))


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
