"""The guard's engine-wide checks, one guard run (`healer run-activity
guard`) at a time or many at once, against the local endpoint (SSM
parameter, Tagging, the Slack stand-in) and dynalite: the blast-radius
limit (include/healer/blast.h), the duplicate-event claim
(include/healer/claim.h) and the recognition of recovery events
(include/healer/recovery.h). Judged by the tables and the Slack
stand-in's record. The whole engine's view of the same is in
test_engine_ops.py.
"""

import itertools
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import HEALER_BIN, create_engine_tables, fixture  # noqa: E402

ACCOUNT = '123456789012'
_tables = itertools.count(1)


def execution(n):
    return f'arn:aws:states:us-east-1:{ACCOUNT}:execution:healer-engine:run-{n}'


def instance(n):
    return 'i-%017x' % (0xb1a57000 + n)


def disk_event(n):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    ev['id'] = 'b1a57000-0000-4000-8000-%012d' % n
    ev['detail']['configuration']['metrics'][0]['metricStat']['metric']['dimensions'][
        'InstanceId'] = instance(n)
    return ev


def ssh_event(n):
    ev = fixture('config-restricted-ssh-noncompliant.json')
    ev['id'] = 'c0bb891c-0000-4000-8000-%012d' % n
    return ev


@pytest.fixture(scope='module')
def stands():
    with LocalAWS(poll_timeout=2) as ep, Dynalite() as ddb:
        yield ep, ddb


class G:
    def __init__(self, ep, ddb, tmp):
        self.ep, self.ddb, self.tmp = ep, ddb, tmp
        ep.reset()
        n = next(_tables)
        self.breaker, self.audit = f'blast-b-{os.getpid()}-{n}', f'blast-a-{os.getpid()}-{n}'
        create_engine_tables(ddb, self.breaker, self.audit)
        ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'true'})
        self._n = itertools.count(1)

    def env(self, **extra):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': self.tmp,
             'AWS_EC2_METADATA_DISABLED': 'true',
             'HEALER_BREAKER_TABLE': self.breaker, 'HEALER_AUDIT_TABLE': self.audit,
             'HEALER_SLACK_API_URL': self.ep.url + '/_slack/api',
             'HEALER_SLACK_TOKEN': 'xoxb-test-0000-healer-token',
             'HEALER_SLACK_CHANNEL': 'C0HEALER01', 'HEALER_OPERATOR': 'blast-test'}
        e.update(self.ep.env())
        e.update(self.ddb.env())
        e.update(extra)
        return e

    def start(self, event, exe, dry_run=False, **extra):
        path = os.path.join(self.tmp, f'in-{next(self._n)}.json')
        with open(path, 'w') as f:
            json.dump({'execution': exe, 'dryRun': dry_run, 'event': event}, f)
        return subprocess.Popen([HEALER_BIN, 'run-activity', 'guard', '--input', path],
                                env=self.env(**extra), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def guard(self, event, exe, dry_run=False, **extra):
        return finish(self.start(event, exe, dry_run, **extra))

    def many(self, pairs, **extra):
        procs = [self.start(ev, exe, **extra) for ev, exe in pairs]
        return [finish(p) for p in procs]

    def cli(self, *args, **extra):
        return subprocess.run([HEALER_BIN] + list(args), env=self.env(**extra),
                              capture_output=True, text=True, timeout=60)

    def state(self):
        return self.ddb.get_item(self.breaker, {'pk': {'S': 'blast#state'}})

    def alerts(self):
        return [m for m in self.ep.admin('GET', '/_admin/slack')['messages']
                if m['text'].startswith(':octagonal_sign:')]

    def items(self, table=None):
        return self.ddb.scan(table or self.breaker)


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    body = '\n'.join(line for line in out.splitlines() if not line.startswith('{"ts"'))
    return json.loads(body)


@pytest.fixture
def g(stands, tmp_path):
    return G(stands[0], stands[1], str(tmp_path))


# ---- the blast-radius limit ---------------------------------------------------------

def test_class_window_lets_exactly_max_through_and_one_guard_stops_the_engine(g):
    # Slow the tag lookup so the eight guards reach DynamoDB together.
    g.ep.faults(latency_ms=[200, 200], operations=['GetResources'])
    outs = g.many([(disk_event(n), execution(n)) for n in range(8)],
                  HEALER_BLAST_MAX_PER_CLASS_10M='3')
    g.ep.clear_faults()
    went = [o for o in outs if o['proceed']]
    refused = [o for o in outs if not o['proceed']]
    assert len(went) == 3 and len(refused) == 5
    assert sorted(o['blast']['class']['count'] for o in went) == [1, 2, 3]
    assert all(o['blast']['counted'] and o['blast']['hour']['counted'] for o in went)
    for o in refused:
        assert o['reason'].startswith('Manual Intervention Required'), o['reason']
        assert 'blast-radius limit' in o['reason']
    tripped = [o for o in refused if (o['blast'] or {}).get('tripped')]
    assert len(tripped) == 1, [o['blast'] for o in refused]
    assert 'healer stopped itself' in tripped[0]['reason']
    assert tripped[0]['blast']['alert']['posted'] is True
    # Exactly one alert, with the why and the way back.
    (alert,) = g.alerts()
    assert 'more than 3 disk_pressure remediations within 10 minutes' in alert['text']
    assert '`healer enable --reason' in alert['text']
    st = g.state()
    assert st['stopped'] == {'BOOL': True} and st['alertSent'] == {'BOOL': True}
    assert st['epoch'] == {'N': '0'}
    # Three counted executions in the bucket, no more.
    cls = [i for i in g.items() if i['pk']['S'].startswith('blast#e0#disk_pressure#')]
    assert len(cls) == 1 and cls[0]['count'] == {'N': '3'} and len(cls[0]['executions']['SS']) == 3
    # The stop is in the audit table (kind blast), with why.
    stops = [i for i in g.items(g.audit) if i['kind']['S'] == 'blast']
    assert len(stops) == 1 and stops[0]['execution']['S'] in {execution(n) for n in range(8)}


def test_once_stopped_every_guard_refuses_until_healer_enable(g):
    env = {'HEALER_BLAST_MAX_PER_CLASS_10M': '1'}
    assert g.guard(disk_event(1), execution(1), **env)['proceed'] is True
    trip = g.guard(disk_event(2), execution(2), **env)
    assert trip['blast']['tripped'] is True
    # Another class, another resource: refused too; no second alert.
    other = g.guard(ssh_event(3), execution(3), **env)
    assert other['proceed'] is False and other['blast']['stopped'] is True
    assert other['reason'].startswith('Manual Intervention Required: engine stopped by the '
                                      'blast-radius limit (blast-radius limit: more than 1 '
                                      'disk_pressure remediations within 10 minutes')
    assert other['breaker'] is None, 'refused before the breaker counts'
    # A retry of the stopping execution finds its alert posted: none again.
    again = g.guard(disk_event(2), execution(2), **env)
    assert again['proceed'] is False and again['blast']['alert'] is None
    assert len(g.alerts()) == 1
    # status says so; enable clears it and restarts the counters.
    st = g.cli('status', '--json')
    assert st.returncode == 3
    s = json.loads(st.stdout)
    assert s['engine']['acting'] is False and s['blastRadius']['stoppedBy'] == execution(2)
    en = g.cli('enable', '--reason', 'load test finished', '--json')
    assert en.returncode == 0, en.stderr
    assert json.loads(en.stdout)['blastRadius']['reset'] is True
    assert g.state()['stopped'] == {'BOOL': False} and g.state()['epoch'] == {'N': '1'}
    assert g.state()['enabledBy'] == {'S': 'blast-test'}
    after = g.guard(disk_event(4), execution(4), **env)
    assert after['proceed'] is True
    assert after['blast']['class']['key'].startswith('blast#e1#disk_pressure#')
    assert after['blast']['class']['count'] == 1
    # A second enable has nothing to clear.
    en2 = g.cli('enable', '--json')
    assert en2.returncode == 0 and json.loads(en2.stdout)['blastRadius']['reset'] is False
    assert g.state()['epoch'] == {'N': '1'}


def test_hour_window_across_classes(g):
    env = {'HEALER_BLAST_MAX_PER_HOUR': '2'}
    assert g.guard(disk_event(1), execution(1), **env)['proceed'] is True
    assert g.guard(ssh_event(2), execution(2), **env)['proceed'] is True
    o = g.guard(disk_event(3), execution(3), **env)
    assert o['proceed'] is False and o['blast']['tripped'] is True
    assert o['blast']['hour']['full'] is True and o['blast']['class']['counted'] is True
    assert 'more than 2 remediations across all resources within an hour' in o['reason']


def test_previous_bucket_counts_toward_the_rolling_window(g):
    # The hour before was very busy: its weighted share alone fills this
    # hour's window (any time within the hour but its last 0.1 s). Written
    # for this hour too, so the test holds if the hour turns meanwhile.
    for t in (time.time() - 3600, time.time()):
        hour = time.strftime('%Y-%m-%dT%H', time.gmtime(t))
        g.ddb.put_item(g.breaker, {'pk': {'S': f'blast#e0#all#{hour}'},
                                   'count': {'N': '1000000'}, 'expires_at': {'N': '1'}})
    o = g.guard(disk_event(1), execution(1))
    assert o['proceed'] is False and o['blast']['tripped'] is True
    assert o['blast']['hour']['previous'] == 1000000
    assert o['blast']['hour']['limit'] <= 0


def test_retry_of_a_counted_execution_is_not_counted_twice(g):
    env = {'HEALER_BLAST_MAX_PER_CLASS_10M': '2'}
    first = g.guard(disk_event(1), execution(1), **env)
    for _ in range(3):
        again = g.guard(disk_event(1), execution(1), **env)
        assert again['proceed'] is True
        assert again['blast']['class']['count'] == 1 and again['blast']['counted'] is True
    assert first['blast']['class']['key'] == again['blast']['class']['key']
    assert g.guard(disk_event(2), execution(2), **env)['proceed'] is True
    assert g.state() is None, 'not stopped: two of two'


def test_dry_run_reads_only_and_says_what_a_real_run_would_do(g):
    env = {'HEALER_BLAST_MAX_PER_CLASS_10M': '1'}
    assert g.guard(disk_event(1), execution(1), **env)['proceed'] is True
    before = g.items()
    o = g.guard(disk_event(2), execution(2), dry_run=True, **env)
    assert o['proceed'] is False and o['dryRun'] is True
    assert o['reason'].endswith('; a real run would stop the engine')
    assert o['blast']['tripped'] is False and o['blast']['class']['full'] is True
    assert g.items() == before, 'a dry run writes nothing'
    assert g.alerts() == []


def test_an_alert_that_failed_is_posted_by_the_retry(g):
    env = {'HEALER_BLAST_MAX_PER_CLASS_10M': '1'}
    g.guard(disk_event(1), execution(1), **env)
    g.ep.admin('POST', '/_admin/slack/fail', {'method': 'chat.postMessage', 'count': 1,
                                              'error': 'channel_not_found'})
    o = g.guard(disk_event(2), execution(2), **env)
    assert o['proceed'] is False and o['blast']['tripped'] is True
    assert o['blast']['alert'] == {'posted': False, 'error': 'channel_not_found'}
    assert g.state()['alertSent'] == {'BOOL': False}
    # Another execution owes nothing; the stopping one's retry posts it.
    assert g.guard(disk_event(3), execution(3), **env)['blast']['alert'] is None
    retry = g.guard(disk_event(2), execution(2), **env)
    assert retry['blast']['alert']['posted'] is True
    assert len(g.alerts()) == 1 and g.state()['alertSent'] == {'BOOL': True}


def test_bad_blast_settings_stop_the_worker_at_start(g):
    p = subprocess.run([HEALER_BIN, 'run-activity', 'guard', '--input', '/dev/null'],
                       env=g.env(HEALER_BLAST_MAX_PER_HOUR='0'), capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and 'HEALER_BLAST_MAX_PER_HOUR' in p.stderr


# ---- one remediation per event -------------------------------------------------------

def test_a_second_execution_of_one_event_is_a_duplicate(g):
    ev = disk_event(1)
    first = g.guard(ev, execution(1))
    assert first['proceed'] is True and first['claim']['claimed'] is True
    dup = g.guard(ev, execution(2))
    assert dup['proceed'] is False and dup['duplicate'] is True
    assert dup['claim']['claimedBy'] == execution(1)
    assert dup['reason'] == (f'duplicate event: event {ev["id"]} is already handled by '
                             f'execution {execution(1)}')
    assert dup['breaker'] is None and dup['blast'] is None, 'nothing counted for a duplicate'
    # A retry of the first is not a duplicate.
    assert g.guard(ev, execution(1))['proceed'] is True
    breaker = [i for i in g.items() if i['pk']['S'].startswith(instance(1))]
    assert breaker[0]['count'] == {'N': '1'}
    # The claim item: the claimant and a TTL two days out.
    (claim,) = [i for i in g.items() if i['pk']['S'].startswith('event#')]
    assert claim['execution'] == {'S': execution(1)} and claim['eventId'] == {'S': ev['id']}
    assert abs(int(claim['expires_at']['N']) - (time.time() + 2 * 86400)) < 120


def test_concurrent_deliveries_one_proceeds(g):
    ev = disk_event(7)
    outs = g.many([(ev, execution(n)) for n in range(5)])
    assert sum(o['proceed'] for o in outs) == 1
    assert sum(o['duplicate'] for o in outs) == 4


def test_dry_run_reports_a_duplicate_without_claiming(g):
    ev = disk_event(1)
    assert g.guard(ev, execution(1), dry_run=True)['claim']['claimed'] is False
    assert [i for i in g.items() if i['pk']['S'].startswith('event#')] == []
    g.guard(ev, execution(1))
    dup = g.guard(ev, execution(2), dry_run=True)
    assert dup['duplicate'] is True and dup['proceed'] is False


def test_an_event_without_id_is_not_claimed(g):
    ev = disk_event(1)
    del ev['id']
    assert g.guard(ev, execution(1))['claim'] is None
    assert g.guard(ev, execution(2))['proceed'] is True


# ---- recovery events -------------------------------------------------------------------

@pytest.mark.parametrize('name,klass,rid', [
    ('cloudwatch-alarm-disk-used-percent-ok.json', 'instance', 'i-0abcd1234ef567890'),
    ('config-restricted-ssh-compliant.json', 'security-group', 'sg-0abcd1234ef567890'),
])
def test_recovery_events_are_recognised_and_nothing_is_counted(g, name, klass, rid):
    g.ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'false'})
    o = g.guard(fixture(name), execution(1))
    assert o['recovery'] is True and o['proceed'] is False
    assert o['resource']['type'] == klass and o['resource']['id'] == rid
    assert o['reason'].startswith('recovery: ')
    assert o['killSwitch'] is None, 'a recovery changes nothing: no switch applies'
    assert g.items() == []


def test_a_muted_ok_alarm_is_a_recovery_too_and_alarm_is_not(g):
    ev = fixture('cloudwatch-alarm-disk-used-percent-ok.json')
    ev['detail']['muteDetail'] = {'mutedByArn': f'arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm-mute-rule:patching'}
    assert g.guard(ev, execution(1))['recovery'] is True
    alarm = g.guard(fixture('cloudwatch-alarm-disk-used-percent.json'), execution(2))
    assert alarm['recovery'] is False and alarm['proceed'] is True
    # An OK event of an alarm healer does not handle is not a recovery.
    odd = fixture('cloudwatch-alarm-disk-used-percent-ok.json')
    odd['detail']['configuration']['metrics'][0]['metricStat']['metric']['name'] = 'mem_used_percent'
    o = g.guard(odd, execution(3))
    assert o['recovery'] is False and o['resource'] is None
