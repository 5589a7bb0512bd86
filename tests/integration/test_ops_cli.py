"""The operator commands (worker/cli_ops.c): healer status, audit, replay,
disable, enable. --help and exit codes, argument validation before any
call, JSON output, and the records they read and write, against the local
endpoint and dynalite. Their use on a running engine is in
test_engine_ops.py.
"""

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import (TEST_AKID, TEST_SECRET, create_engine_tables,  # noqa: E402
                     run_cli)

EXEC = 'arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-1'
MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:healer-engine'


@pytest.fixture(scope='module')
def stands():
    with LocalAWS() as ep, Dynalite() as ddb:
        create_engine_tables(ddb)
        yield ep, ddb


@pytest.fixture
def env(stands):
    ep, ddb = stands
    ep.reset()
    for t, key in (('healer-breaker', 'pk'), ('healer-audit', None)):
        for item in ddb.scan(t):
            k = {'pk': item['pk']} if key else {'execution': item['execution'], 'at': item['at']}
            ddb.client().delete_item(TableName=t, Key=k)
    ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'true'})
    e = {'AWS_REGION': 'us-east-1', 'AWS_ACCESS_KEY_ID': TEST_AKID,
         'AWS_SECRET_ACCESS_KEY': TEST_SECRET, 'AWS_EC2_METADATA_DISABLED': 'true',
         'HOME': '/nonexistent', 'HEALER_OPERATOR': 'alice'}
    e.update(ep.env())
    e.update(ddb.env())
    return e


def cli(args, env):
    r = run_cli(args, env=env)
    r.out, r.err = r.stdout.decode(), r.stderr.decode()
    return r


@pytest.mark.parametrize('cmd', ['status', 'audit', 'replay', 'disable', 'enable'])
def test_every_command_has_help_with_exit_codes(cmd):
    r = cli([cmd, '--help'], {})
    assert r.returncode == 0
    assert r.out.startswith('Usage: healer ')
    assert 'Exit status: 0' in r.out and '2 bad usage' in r.out
    assert '--json' in r.out


@pytest.mark.parametrize('args,fragment', [
    (['audit'], 'give exactly one of --resource ID or --execution ARN'),
    (['audit', '--resource', 'i-0abcd1234ef567890', '--execution', EXEC], 'exactly one'),
    (['audit', '--resource', 'i-123; rm -rf /'], '--resource must be an instance id'),
    (['audit', '--execution', 'evt-1'], '--execution must be a Step Functions execution ARN'),
    (['audit', '--resource', 'i-0abcd1234ef567890', '--limit', '0'], '--limit must be 1..1000'),
    (['status', '--limit', 'x'], '--limit must be 1..200'),
    (['status', '--bogus'], 'unknown argument'),
    (['replay'], 'give the event file'),
    (['replay', 'e.json', '--state-machine', 'arn:aws:states:us-east-1:123456789012:activity:x'],
     'must be a Step Functions state machine ARN'),
    (['replay', 'e.json'], 'no state machine'),
    (['disable'], 'needs --reason'),
    (['disable', '--reason', ''], 'needs --reason'),
])
def test_bad_usage_exits_2_before_any_call(env, stands, args, fragment):
    before = len(stands[0].requests())
    r = cli(args, env)
    assert r.returncode == 2, (r.out, r.err)
    assert fragment in r.err
    assert len(stands[0].requests()) == before


def test_disable_reason_with_control_characters_is_refused(env):
    r = cli(['disable', '--reason', 'x\x1b[2Jy'], env)
    assert r.returncode == 2 and 'control characters' in r.err


def test_status_of_a_fresh_deployment(env):
    r = cli(['status', '--json'], env)
    assert r.returncode == 0, r.err
    s = json.loads(r.out)
    assert s['engine'] == {'acting': True, 'why': None}
    assert s['killSwitch'] == {'parameter': '/healer/enabled', 'state': 'enabled', 'allows': True}
    assert s['blastRadius']['stopped'] is False and s['blastRadius']['epoch'] == 0
    assert s['blastRadius']['limits'] == {'perHour': 20, 'perClass10m': 5}
    assert s['blastRadius']['windows']['hour']['remaining'] == 20
    assert set(s['blastRadius']['windows']['classes']) == {'disk_pressure', 'public_ssh', 'cert_expiry'}
    assert s['breakers'] == [] and s['recentActions'] == []
    text = cli(['status'], env)
    assert text.returncode == 0 and text.out.startswith('engine:        acting on its own')


def test_disable_and_enable_record_who_and_why(env, stands):
    r = cli(['disable', '--reason', 'INC-42: storage outage', '--json'], env)
    assert r.returncode == 0, r.err
    o = json.loads(r.out)
    assert o['killSwitch'] == 'disabled' and o['actor'] == 'alice'
    st = cli(['status', '--json'], env)
    assert st.returncode == 3
    assert json.loads(st.out)['engine'] == {'acting': False, 'why': 'kill switch off'}
    r = cli(['enable', '--actor', 'bob', '--reason', 'storage is back'], env)
    assert r.returncode == 0, r.err
    assert r.out.strip() == 'engine enabled'
    recs = [i for i in stands[1].scan('healer-audit') if i['execution']['S'] == 'operator']
    got = sorted((i['action']['S'], i['actor']['S'], i['reason']['S']) for i in recs)
    assert got == [('disable', 'alice', 'INC-42: storage outage'), ('enable', 'bob', 'storage is back')]
    s = json.loads(cli(['status', '--json'], env).out)
    assert [(a['action'], a['actor']) for a in s['recentActions']] == [('enable', 'bob'), ('disable', 'alice')]


def test_enable_fails_clearly_when_the_blast_state_cannot_be_cleared(env):
    r = cli(['enable', '--reason', 'x'], dict(env, HEALER_BREAKER_TABLE='no-such-table'))
    assert r.returncode == 1
    assert 'the kill switch is on, but the blast-radius state could not be cleared' in r.err


def test_status_lists_this_hours_breakers(env, stands):
    import time
    hour = time.strftime('%Y-%m-%dT%H', time.gmtime())
    old = time.strftime('%Y-%m-%dT%H', time.gmtime(time.time() - 7200))
    ddb = stands[1]
    ddb.put_item('healer-breaker', {'pk': {'S': f'i-0abcd1234ef567890#{hour}'}, 'count': {'N': '3'}})
    ddb.put_item('healer-breaker', {'pk': {'S': f'sg-0abcd1234ef567890#{hour}'}, 'count': {'N': '1'}})
    ddb.put_item('healer-breaker', {'pk': {'S': f'i-0abcd1234ef567899#{old}'}, 'count': {'N': '3'}})
    s = json.loads(cli(['status', '--json'], env).out)
    assert sorted((b['resource'], b['count'], b['open']) for b in s['breakers']) == [
        ('i-0abcd1234ef567890', 3, True), ('sg-0abcd1234ef567890', 1, False)]
    text = cli(['status'], env).out
    assert 'i-0abcd1234ef567890' in text and 'OPEN' in text


def test_audit_by_resource_and_execution(env, stands):
    ddb = stands[1]
    before = json.dumps({'usedPercent': 91, 'path': '/'})
    ddb.put_item('healer-audit', {
        'execution': {'S': EXEC}, 'at': {'S': '2026-11-27T04:00:00.000Z#escalated'},
        'kind': {'S': 'action'}, 'mode': {'S': 'escalated'}, 'result': {'S': 'escalated'},
        'resource': {'S': 'i-0abcd1234ef567890'}, 'reason': {'S': 'usage still 93%\x1b[31m'},
        'before': {'S': before}, 'verified': {'BOOL': False}, 'recordedAt': {'S': '2026-11-27T04:00:01.000Z'}})
    r = cli(['audit', '--resource', 'i-0abcd1234ef567890', '--json'], env)
    assert r.returncode == 0, r.err
    (rec,) = json.loads(r.out)['records']
    assert rec['before'] == {'usedPercent': 91, 'path': '/'} and rec['verified'] is False
    r = cli(['audit', '--execution', EXEC], env)
    assert r.returncode == 0 and 'usage still 93%' in r.out
    assert '\x1b' not in r.out, 'terminal escapes from the table are not printed'
    r = cli(['audit', '--resource', 'sg-0abcd1234ef567890'], env)
    assert r.returncode == 3 and 'no audit record' in r.out


def test_replay_refuses_an_unusable_event_file(env, tmp_path):
    e = dict(env, HEALER_STATE_MACHINE_ARN=MACHINE)
    bad = tmp_path / 'bad.json'
    bad.write_text('[1, 2]')
    r = cli(['replay', str(bad)], e)
    assert r.returncode == 2 and 'does not hold a JSON object' in r.err
    noid = tmp_path / 'noid.json'
    noid.write_text(json.dumps({'source': 'aws.cloudwatch', 'detail-type': 'x', 'id': 'a b/../c'}))
    r = cli(['replay', str(noid)], e)
    assert r.returncode == 2 and 'must be 1..72 of [A-Za-z0-9_-]' in r.err
    r = cli(['replay', str(tmp_path / 'missing.json')], e)
    assert r.returncode == 2 and 'cannot open' in r.err


def test_replay_of_an_unknown_state_machine_fails(env, tmp_path):
    ev = tmp_path / 'ev.json'
    ev.write_text(json.dumps({'id': 'abc-1', 'source': 'aws.acm', 'detail-type': 'x'}))
    r = cli(['replay', str(ev), '--state-machine', MACHINE], env)
    assert r.returncode == 1 and 'StateMachineDoesNotExist' in r.err
