"""The recover activity (activities/recovery.c) on its own: `healer
run-activity recover` against the Jira stand-in and dynalite, with the
escalations it closes made by the real ticket and audit activities.
The whole path (Guard -> Recover in the state machine) is in
test_engine_ops.py.
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import HEALER_BIN, create_audit_table, fixture  # noqa: E402

INSTANCE = 'i-0abcd1234ef567890'
RES = {'type': 'instance', 'id': INSTANCE,
       'arn': f'arn:aws:ec2:us-east-1:123456789012:instance/{INSTANCE}',
       'account': '123456789012', 'region': 'us-east-1'}


def exe(n):
    return f'arn:aws:states:us-east-1:123456789012:execution:healer-engine:run-{n}'


@pytest.fixture(scope='module')
def stands():
    with LocalAWS() as ep, Dynalite() as ddb:
        yield ep, ddb


_n = [0]


@pytest.fixture
def w(stands, tmp_path):
    ep, ddb = stands
    ep.reset()
    _n[0] += 1
    table = f'rec-audit-{os.getpid()}-{_n[0]}'
    create_audit_table(ddb, table)
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': str(tmp_path),
           'AWS_EC2_METADATA_DISABLED': 'true', 'HEALER_AUDIT_TABLE': table,
           'HEALER_JIRA_URL': ep.url + '/_jira', 'HEALER_JIRA_EMAIL': 'healer-bot@example.com',
           'HEALER_JIRA_API_TOKEN': 'jira-test-token-0000', 'HEALER_JIRA_PROJECT': 'OPS'}
    env.update(ep.env())
    env.update(ddb.env())

    class W:
        pass
    o = W()
    o.ep, o.ddb, o.table, o.env = ep, ddb, table, env
    return o


def run(w, activity, payload, **extra):
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(payload, f)
    try:
        env = dict(w.env, **extra)
        for k in [k for k, v in extra.items() if v is None]:
            env.pop(k)
        p = subprocess.run([HEALER_BIN, 'run-activity', activity, '--input', f.name], env=env,
                           capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)
    body = '\n'.join(line for line in p.stdout.splitlines() if not line.startswith('{"ts"'))
    return p.returncode, (json.loads(body) if p.returncode == 0 else json.loads(p.stderr))


def escalate(w, n, klass='disk_pressure'):
    """An escalation of INSTANCE as the engine records it: ticket + audit."""
    inp = {'execution': exe(n), 'dryRun': False, 'mode': 'escalated',
           'event': fixture('cloudwatch-alarm-disk-used-percent.json'),
           'guard': {'proceed': True, 'reason': 'ok', 'resource': RES},
           'diagnosis': {'class': klass, 'confidence': 0.95, 'reason': 'disk', 'resource': RES,
                         'owner': None, 'plan': [], 'details': {}},
           'remediation': {'action': 'disk_cleanup', 'dryRun': False, 'applied': True,
                           'verified': False, 'escalate': True, 'reason': 'usage still 93%',
                           'before': {'usedPercent': 97}, 'after': {'usedPercent': 93},
                           'rollback': None, 'details': {}}}
    rc, t = run(w, 'ticket', inp)
    assert rc == 0, t
    rc, a = run(w, 'audit', inp)
    assert rc == 0, a
    return t['key']


def ok_input(n=100):
    return {'execution': exe(n), 'dryRun': False,
            'event': fixture('cloudwatch-alarm-disk-used-percent-ok.json')}


def issues(w):
    return {i['key']: i for i in w.ep.admin('GET', '/_admin/jira')['issues']}


def test_closes_every_open_ticket_of_the_resource_once(w):
    k1, k2 = escalate(w, 1), escalate(w, 2)
    rc, out = run(w, 'recover', ok_input())
    assert rc == 0, out
    assert out['recovered'] is True and out['class'] == 'disk_pressure'
    assert out['resource']['id'] == INSTANCE
    assert sorted(t['key'] for t in out['tickets']) == sorted([k1, k2])
    assert {t['result'] for t in out['tickets']} == {'closed'} and out['closed'] == 2
    assert out['reason'].startswith('alarm DiskUsedPercentHigh-i-0abcd1234ef567890-root on '
                                    f'{INSTANCE} (path /) is back to OK')
    for k in (k1, k2):
        i = issues(w)[k]
        assert i['status'] == 'Done'
        assert sum('/recovered]' in json.dumps(c['body']) for c in i['comments']) == 1
    # The audit item: kind recovery, the closed tickets, on the resource's GSI.
    items = [i for i in w.ddb.scan(w.table) if i.get('kind', {}).get('S') == 'recovery']
    assert len(items) == 1
    assert sorted(items[0]['closedTickets']['SS']) == sorted([k1, k2])
    assert items[0]['resource'] == {'S': INSTANCE} and items[0]['at']['S'].endswith('#recovered')
    # A retry of the same recovery changes nothing and writes nothing new.
    rc, again = run(w, 'recover', ok_input())
    assert rc == 0 and {t['result'] for t in again['tickets']} == {'already closed'}
    assert again['audit']['duplicate'] is True
    assert all(sum('/recovered]' in json.dumps(c['body']) for c in i['comments']) == 1
               for i in issues(w).values())


def test_other_classes_and_resolved_executions_are_left_alone(w):
    k = escalate(w, 1, klass='public_ssh')
    rc, out = run(w, 'recover', ok_input())
    assert rc == 0 and out['tickets'] == [] and out['closed'] == 0
    assert issues(w)[k]['status'] != 'Done'


def test_without_jira_the_audit_is_still_written(w):
    escalate(w, 1)
    rc, out = run(w, 'recover', ok_input(), HEALER_JIRA_URL=None)
    assert rc == 0, out
    assert out['skipped'] == 'not configured' and out['tickets'] == []
    assert out['audit']['written'] is True


def test_a_jira_failure_fails_the_task_after_the_audit_record(w):
    escalate(w, 1)
    w.ep.admin('POST', '/_admin/jira/fail', {'route': 'transition', 'count': 10, 'status': 503})
    rc, err = run(w, 'recover', ok_input())
    assert rc == 1
    assert err['error'] == 'Healer.Recover.Unavailable', err
    assert 'the audit record is written' in err['cause']
    assert [i for i in w.ddb.scan(w.table) if i.get('kind', {}).get('S') == 'recovery']


def test_a_problem_event_is_not_a_recovery(w):
    rc, err = run(w, 'recover', {'execution': exe(1), 'dryRun': False,
                                 'event': fixture('cloudwatch-alarm-disk-used-percent.json')})
    assert rc == 1 and err['error'] == 'Healer.InvalidInput'
    assert 'not a recovery event' in err['cause']
