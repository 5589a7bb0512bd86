"""The engine end to end, as an operator sees it (issue 9).

Executions are started with StartExecution on the local endpoint
(tests/local/services/sfn_executions.py runs the REAL
statemachines/engine.asl.json), every Task state is served by a real
build/healer worker pool, DynamoDB is dynalite, Slack and Jira are the
endpoint's stand-ins. Judged by what the stand-ins recorded: SSM commands
sent, automations started, Slack messages, Jira issues, the audit and
breaker tables, and the executions' paths through the state machine.

  - blast radius: 25 concurrent disk events on 25 instances -> exactly 20
    remediated, the engine stopped, ONE Slack alert, `healer status` says
    so (exit 3), every later execution escalates, `healer enable` resumes;
  - the same event delivered twice -> one remediation (the second
    execution ends Duplicate); `healer replay` of one event twice -> the
    second is refused by Step Functions (exit 3);
  - verified outcomes: a security group with an all-traffic rule is
    escalated after the runbook, and the exact remaining rule reaches the
    ticket and the audit record; a disk that stays full is escalated with
    its largest directories;
  - recovery: the alarm back to OK (and Config COMPLIANT) closes the open
    ticket with a comment, and the recovery is in the audit trail;
  - a muted alarm is not remediated.
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
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import (HEALER_BIN, Worker, create_engine_tables,  # noqa: E402
                     fixture, wait_until)

ACCOUNT, REGION = '123456789012', 'us-east-1'
PREFIX = f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-'
MACHINE = f'arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:healer-engine'
ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert',
              'ticket', 'notify', 'audit', 'recover']
SLOTS = ('guard:8,diagnose:6,remediate-disk:8,remediate-sg:2,renew-cert:1,'
         'ticket:4,notify:4,audit:4,recover:2')
BREAKER, AUDIT = 'healer-breaker', 'healer-audit'
SLACK_TOKEN = 'xoxb-test-0000-healer-token'
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
ENDS = ('Remediated', 'Escalated', 'Duplicate', 'Recovered', 'EscalationFailed')


def instance(n):
    return 'i-%017x' % (0x5ca1ab1e0000 + n)


def disk_event(n, iid=None):
    """The disk alarm fixture as a new occurrence on instance(n)."""
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    ev['id'] = '5e1f8c2a-7d3b-4c6e-9f10-%012d' % n
    dims = ev['detail']['configuration']['metrics'][0]['metricStat']['metric']['dimensions']
    dims['InstanceId'] = iid or instance(n)
    return ev


@pytest.fixture(scope='module')
def stands():
    with LocalAWS(poll_timeout=2) as ep, Dynalite() as ddb:
        yield ep, ddb


class World:
    def __init__(self, ep, ddb, tmp):
        self.ep, self.ddb, self.tmp = ep, ddb, tmp
        self.workers = []
        ep.reset()
        self.sfn = ep.boto3_client('stepfunctions', max_attempts=1)
        for a in ACTIVITIES:
            self.sfn.create_activity(name='healer-' + a)
        ep.admin('POST', '/_admin/sfn/state-machines', {
            'name': 'healer-engine', 'template': 'statemachines/engine.asl.json',
            'arnPrefix': PREFIX, 'retryIntervalMs': 50, 'timeoutS': 240})
        for t in (BREAKER, AUDIT):
            try:
                ddb.delete_table(t)
            except Exception:  # noqa: BLE001 - absent on the first test
                pass
        create_engine_tables(ddb, BREAKER, AUDIT)
        self.set_switch('true')
        self._n = 0

    # -- the world -----------------------------------------------------------

    def env(self, **extra):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': self.tmp,
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '3',
             'HEALER_BREAKER_TABLE': BREAKER, 'HEALER_AUDIT_TABLE': AUDIT,
             'HEALER_KILL_SWITCH_CACHE_S': '0',
             'HEALER_SLACK_API_URL': self.ep.url + '/_slack/api',
             'HEALER_SLACK_TOKEN': SLACK_TOKEN, 'HEALER_SLACK_CHANNEL': 'C0HEALER01',
             'HEALER_JIRA_URL': self.ep.url + '/_jira',
             'HEALER_JIRA_EMAIL': 'healer-bot@example.com',
             'HEALER_JIRA_API_TOKEN': 'jira-test-token-0000', 'HEALER_JIRA_PROJECT': 'OPS',
             'HEALER_SSM_POLL_MS': '20', 'HEALER_AUTOMATION_POLL_MS': '20',
             'HEALER_ACM_POLL_MS': '20', 'HEALER_CONFIG_WAIT_S': '5',
             'HEALER_STATE_MACHINE_ARN': MACHINE, 'HEALER_OPERATOR': 'ops-test'}
        e.update(self.ep.env())
        e.update(self.ddb.env())
        e.update(extra)
        return e

    def start_worker(self, **extra):
        w = Worker(self.ep.url, SLOTS, extra_env=dict(
            self.env(**extra), HEALER_ACTIVITY_ARN_PREFIX=PREFIX))
        self.workers.append(w)
        return w

    def stop(self):
        for w in self.workers:
            w.stop()

    def set_switch(self, value):
        self.ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': value})

    def add_instance(self, iid, **cfg):
        cfg['instanceId'] = iid
        self.ep.admin('POST', '/_admin/ssm/instances', cfg)

    def cli(self, *args, **extra):
        p = subprocess.run([HEALER_BIN] + list(args), env=self.env(**extra),
                           capture_output=True, text=True, timeout=120)
        return p

    # -- executions ----------------------------------------------------------

    def start(self, event, name=None, dry_run=False):
        self._n += 1
        r = self.sfn.start_execution(
            stateMachineArn=MACHINE, name=name or f'eb-{self._n}-{os.getpid()}',
            input=json.dumps({'event': event, 'dryRun': dry_run}))
        return r['executionArn']

    def executions(self):
        return {e['executionArn']: e for e in
                self.ep.admin('GET', '/_admin/sfn/executions')['executions']}

    def wait(self, arns, timeout=180):
        def done():
            ex = self.executions()
            return all(ex[a]['status'] != 'RUNNING' for a in arns) and ex
        ex = wait_until(done, timeout, interval=0.2, what='the executions to end')
        return [ex[a] for a in arns]

    def run(self, event, timeout=120, **kw):
        return self.wait([self.start(event, **kw)], timeout)[0]

    # -- what the stand-ins saw ------------------------------------------------

    def commands(self):
        return self.ep.admin('GET', '/_admin/ssm/commands')['sent']

    def slack(self):
        return self.ep.admin('GET', '/_admin/slack')['messages']

    def issues(self):
        return self.ep.admin('GET', '/_admin/jira')['issues']

    def audit(self, execution):
        p = self.cli('audit', '--execution', execution, '--json')
        assert p.returncode in (0, 3), p.stderr       # 3: no record
        return [r for r in json.loads(p.stdout)['records'] if r.get('kind') != 'ticket']


def path(ex):
    """The top-level states an execution entered, in order."""
    return [h['state'] for h in ex['history']
            if h['type'] == 'StateEntered' and 'parent' not in h]


def end(ex):
    assert ex['status'] == 'SUCCEEDED', ex
    ends = [s for s in path(ex) if s in ENDS]
    assert len(ends) == 1, path(ex)
    return ends[0]


def output(ex):
    return json.loads(ex['output'])


def issue_text(issue):
    """Summary, description and comments of a Jira stand-in issue, as text."""
    def flat(doc):
        out = []
        for block in (doc or {}).get('content', []):
            out.append(''.join(n.get('text', '\n') for n in block.get('content', [])))
        return '\n'.join(out)
    return '\n'.join([issue['summary'], flat(issue['description'])] +
                     [flat(c['body']) for c in issue['comments']])


@pytest.fixture
def world(stands, tmp_path):
    w = World(stands[0], stands[1], str(tmp_path))
    yield w
    w.stop()


# ---- blast radius ----------------------------------------------------------------

def test_25_concurrent_disk_events_20_remediated_then_the_engine_stops(world):
    # The class limit out of the way: this is the hour limit (default 20).
    world.start_worker(HEALER_BLAST_MAX_PER_CLASS_10M='100')
    for n in range(26):
        world.add_instance(instance(n), usedPercent=91, freesPercent=30)
    arns = [world.start(disk_event(n)) for n in range(25)]
    exs = world.wait(arns, timeout=240)

    ends = [end(e) for e in exs]
    assert ends.count('Remediated') == 20, ends
    assert ends.count('Escalated') == 5, ends
    acted = sorted({i for c in world.commands() for i in c['InstanceIds']})
    assert len(world.commands()) == 20 and len(acted) == 20
    for e in exs:
        o = output(e)
        if end(e) == 'Escalated':
            assert o['guard']['proceed'] is False
            assert 'blast-radius limit' in o['guard']['reason'], o['guard']
            assert 'remediation' not in o
        else:
            assert o['remediation']['applied'] is True and o['remediation']['verified'] is True
    tripped = [e for e in exs if (output(e)['guard'].get('blast') or {}).get('tripped')]
    assert len(tripped) == 1
    # Exactly one Slack alert says why; the five escalations post their own.
    alerts = [m for m in world.slack() if m['text'].startswith(':octagonal_sign: *healer stopped itself')]
    assert len(alerts) == 1, [m['text'][:80] for m in world.slack()]
    assert 'more than 20 remediations across all resources within an hour' in alerts[0]['text']
    assert 'healer enable' in alerts[0]['text']
    state = world.ddb.get_item(BREAKER, {'pk': {'S': 'blast#state'}})
    assert state['stopped'] == {'BOOL': True}
    assert state['stoppedBy']['S'] == tripped[0]['executionArn']
    assert state['alertSent'] == {'BOOL': True}

    st = world.cli('status', '--json', '--limit', '50')
    assert st.returncode == 3, st.stderr
    s = json.loads(st.stdout)
    assert s['engine'] == {'acting': False, 'why': 'stopped by the blast-radius limit'}
    assert s['blastRadius']['stopped'] is True
    assert s['blastRadius']['windows']['hour']['count'] == 20
    assert {a['kind'] for a in s['recentActions']} >= {'action', 'blast'}

    # Stopped: the next event escalates without acting, and no second alert.
    later = world.run(disk_event(25))
    assert end(later) == 'Escalated'
    assert output(later)['guard']['reason'].startswith(
        'Manual Intervention Required: engine stopped by the blast-radius limit')
    assert len(world.commands()) == 20
    assert len([m for m in world.slack() if m['text'].startswith(':octagonal_sign: *healer stopped itself')]) == 1

    # A person resumes it; the counters start again.
    en = world.cli('enable', '--reason', 'INC-7: a bad AMI filled the disks; fixed', '--json')
    assert en.returncode == 0, en.stderr
    e = json.loads(en.stdout)
    assert e['blastRadius']['reset'] is True and e['blastRadius']['epoch'] == 1
    assert e['actor'] == 'ops-test'
    assert world.cli('status').returncode == 0
    again = world.run(disk_event(26, iid=instance(25)))
    assert end(again) == 'Remediated'
    assert output(again)['guard']['blast']['hour']['count'] == 1


def test_class_limit_stops_the_engine_under_concurrency_with_one_alert(world):
    world.start_worker(HEALER_BLAST_MAX_PER_CLASS_10M='2')
    for n in range(6):
        world.add_instance(instance(n))
    exs = world.wait([world.start(disk_event(n)) for n in range(6)])
    ends = [end(e) for e in exs]
    assert ends.count('Remediated') == 2 and ends.count('Escalated') == 4, ends
    assert len(world.commands()) == 2
    alerts = [m for m in world.slack() if m['text'].startswith(':octagonal_sign: *healer stopped itself')]
    assert len(alerts) == 1
    assert 'more than 2 disk_pressure remediations within 10 minutes' in alerts[0]['text']
    # The stop is in the audit trail, with why.
    p = world.cli('status', '--json', '--limit', '50')
    recs = json.loads(p.stdout)['recentActions']
    stop = [r for r in recs if r['kind'] == 'blast']
    assert len(stop) == 1 and 'disk_pressure' in stop[0]['reason']


# ---- duplicates ------------------------------------------------------------------

def test_the_same_event_delivered_twice_is_remediated_once(world):
    world.start_worker()
    world.add_instance(INSTANCE)
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    # EventBridge names executions itself: two deliveries, two executions.
    exs = world.wait([world.start(ev, name='eb-delivery-1'), world.start(ev, name='eb-delivery-2')])
    assert sorted(end(e) for e in exs) == ['Duplicate', 'Remediated']
    dup = [e for e in exs if end(e) == 'Duplicate'][0]
    first = [e for e in exs if end(e) == 'Remediated'][0]
    g = output(dup)['guard']
    assert g['duplicate'] is True and g['claim']['claimedBy'] == first['executionArn']
    assert path(dup) == ['Guard', 'GuardChoice', 'Duplicate']
    assert len(world.commands()) == 1
    assert len(world.issues()) == 1
    assert world.audit(dup['executionArn']) == []
    # A replay of the same event: a third execution, a duplicate too.
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(ev, f)
    try:
        r1 = world.cli('replay', f.name, '--wait', '--json')
        assert r1.returncode == 0, r1.stderr
        o1 = json.loads(r1.stdout)
        assert o1['name'] == 'evt-' + ev['id'] and o1['status'] == 'SUCCEEDED'
        assert o1['output']['guard']['duplicate'] is True
        # ... and a second replay is refused by Step Functions itself.
        r2 = world.cli('replay', f.name)
        assert r2.returncode == 3, (r2.stdout, r2.stderr)
        assert 'already started' in r2.stdout
    finally:
        os.unlink(f.name)
    assert len(world.commands()) == 1


def test_replay_dry_run_with_a_new_id(world):
    world.start_worker()
    world.add_instance(INSTANCE)
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump({'event': ev, 'dryRun': False}, f)
    try:
        r = world.cli('replay', f.name, '--dry-run', '--new-id', '--wait', '--json')
        assert r.returncode == 0, r.stderr
        o = json.loads(r.stdout)
        assert o['dryRun'] is True and o['eventId'] != ev['id']
        assert o['name'] == 'dry-evt-' + o['eventId']
        assert o['output']['remediation']['dryRun'] is True
        assert world.commands() == [], 'a dry run sends no command'
        d = world.sfn.describe_execution(executionArn=o['executionArn'])
        assert json.loads(d['input']) == {'event': dict(ev, id=o['eventId']), 'dryRun': True}
    finally:
        os.unlink(f.name)


# ---- verified outcomes and recovery -------------------------------------------------

def test_all_traffic_rule_escalates_after_the_runbook_then_compliant_closes(world):
    world.start_worker()
    world.ep.admin('POST', '/_admin/config/security-groups', {'groupId': GROUP, 'ipPermissions': [
        {'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22, 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]},
        {'ipProtocol': '-1', 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]}]})
    ex = world.run(fixture('config-restricted-ssh-noncompliant.json'))
    assert end(ex) == 'Escalated'
    assert path(ex)[:5] == ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'RemediateSg']
    rem = output(ex)['remediation']
    assert rem['applied'] is True and rem['verified'] is False and rem['escalate'] is True
    assert [r['rule'] for r in rem['details']['remaining']] == ['all traffic from 0.0.0.0/0']
    assert len(world.ep.admin('GET', '/_admin/ssm/automations')['automations']) == 1
    # The exact remaining rule reaches the ticket (left open) and the audit.
    (issue,) = world.issues()
    text = issue_text(issue)
    assert 'all traffic from 0.0.0.0/0' in text and 'verified: no' in text
    assert issue['status'] != 'Done'
    (rec,) = world.audit(ex['executionArn'])
    assert rec['result'] == 'escalated' and rec['verified'] is False and rec['applied'] is True
    assert [r['rule'] for r in rec['after']['worldOpenRules']] == ['all traffic from 0.0.0.0/0']
    assert 'all traffic from 0.0.0.0/0' in rec['reason']

    # A person removes the rule; Config finds the group COMPLIANT again.
    rec_ex = world.run(fixture('config-restricted-ssh-compliant.json'))
    assert end(rec_ex) == 'Recovered'
    assert path(rec_ex) == ['Guard', 'GuardChoice', 'Recover', 'Recovered']
    r = output(rec_ex)['recovery']
    assert r['closed'] == 1 and r['tickets'][0]['key'] == issue['key']
    (issue,) = world.issues()
    assert issue['status'] == 'Done'
    assert 'COMPLIANT again' in issue_text(issue)
    assert len(world.ep.admin('GET', '/_admin/ssm/automations')['automations']) == 1


def test_disk_that_stays_full_escalates_and_the_ok_alarm_closes_the_ticket(world):
    world.start_worker()
    world.add_instance(INSTANCE, usedPercent=97, freesPercent=4)
    ex = world.run(fixture('cloudwatch-alarm-disk-used-percent.json'))
    assert end(ex) == 'Escalated'
    rem = output(ex)['remediation']
    assert rem['verified'] is False and rem['after']['usedPercent'] == 93
    assert 'largest directories: /var/lib/docker' in rem['reason']
    (issue,) = world.issues()
    assert '/var/lib/docker' in issue_text(issue)
    (rec,) = world.audit(ex['executionArn'])
    assert rec['verified'] is False and rec['after'] == {'usedPercent': 93, 'path': '/'}

    ok = world.run(fixture('cloudwatch-alarm-disk-used-percent-ok.json'))
    assert end(ok) == 'Recovered'
    assert output(ok)['guard']['recovery'] is True
    (issue,) = world.issues()
    assert issue['status'] == 'Done'
    assert 'is back to OK' in issue_text(issue)
    assert len(world.commands()) == 1, 'a recovery acts on nothing'
    # The resource's history holds both: the escalation and the recovery.
    p = world.cli('audit', '--resource', INSTANCE, '--json')
    assert p.returncode == 0, p.stderr
    recs = json.loads(p.stdout)['records']
    assert [r['result'] for r in recs] == ['recovered', 'escalated']
    assert recs[0]['closedTickets'] == [issue['key']]
    # Delivered again: the ticket is closed already, nothing more happens.
    again = world.run(fixture('cloudwatch-alarm-disk-used-percent-ok.json'), name='eb-ok-again')
    assert output(again)['recovery']['tickets'][0]['result'] == 'already closed'
    (issue,) = world.issues()
    assert sum('is back to OK' in (c['body'] and json.dumps(c['body']))
               for c in issue['comments']) == 1


def test_a_muted_alarm_is_not_remediated(world):
    world.start_worker()
    world.add_instance(INSTANCE)
    ex = world.run(fixture('cloudwatch-alarm-disk-used-percent-muted.json'))
    assert end(ex) == 'Escalated'
    assert 'RemediateDisk' not in path(ex)
    assert output(ex)['diagnosis']['class'] == 'unknown'
    assert 'muteDetail' in output(ex)['diagnosis']['details']['why']
    assert world.commands() == []


def test_a_renewed_certificate_is_read_back_and_the_record_says_so(world):
    world.start_worker()
    ev = fixture('acm-certificate-approaching-expiration.json')
    arn = ev['resources'][0]
    world.ep.admin('POST', '/_admin/acm/certificates', {
        'CertificateArn': arn, 'Type': 'PRIVATE', 'NotAfter': time.time() + 31 * 86400,
        'CertificateAuthorityArn': 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/'
                                   '11111111-2222-3333-4444-555555555555',
        'sim': {'renewOutcome': 'success', 'renewDelayReads': 2}})
    ex = world.run(ev)
    assert end(ex) == 'Remediated'
    rem = output(ex)['remediation']
    assert rem['applied'] is True and rem['verified'] is True
    assert rem['after']['status'] == 'ISSUED' and rem['after']['daysToExpiry'] >= 395
    (rec,) = world.audit(ex['executionArn'])
    assert rec['verified'] is True and rec['result'] == 'remediated'
    assert rec['before']['notAfter'] < rec['after']['notAfter']
    assert rec['after']['status'] == 'ISSUED'
    (issue,) = world.issues()
    assert 'verified: yes' in issue_text(issue) and issue['status'] == 'Done'
