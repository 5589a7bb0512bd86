"""Security checks against the real binary and the local stand-ins.

Four concerns (issue 7; docs/SECURITY.md says what each one guarantees):

- injection: identifiers, tags, names and owners carrying shell
  metacharacters, newlines, JSON and format-string tricks and over-long
  values are refused with Healer.InvalidInput (remediations, before any AWS
  call), classified `unknown` (events: escalated to a person), or passed on
  as inert, escaped, bounded text (records). The stand-ins' own records are
  the judges: every SendCommand request in full, every AWS request, the
  Slack messages and Jira issues as received. A canary file that any shell
  interpreting the values would create must never appear.
- secrets: a full engine run (the real state machine through
  tests/local/sfn_runner.js, a real worker serving every activity) with a
  session token, Slack and Jira tokens set; afterwards no log line,
  ticket, Slack message, audit or breaker item, task result or execution
  output holds the secret key, the session token, the bearer/basic tokens
  or any task token.
- TLS: peer and host verification are on: a self-signed HTTPS endpoint is
  refused unless AWS_CA_BUNDLE names its CA (for the AWS client and for the
  poller, two separate curl set-ups), a certificate for another host is
  refused even then, Slack/Jira over self-signed TLS are refused (and
  trusted with HEALER_CA_BUNDLE naming the CA, not with AWS_CA_BUNDLE; a
  bad HEALER_CA_BUNDLE stops the worker with exit 2), the
  default AWS endpoint is https (seen through a recording proxy), plain
  http is refused for anything but an explicit loopback address.
- resource limits: responses are bounded (a 64 MiB GetActivityTask or
  Slack answer is cut off, the worker's memory does not follow), and a
  burst of 1,000 tasks is absorbed by the slots (never more held than
  slots) without memory growth; the peak RSS is printed.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))
sys.path.insert(0, HERE)
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402
from workers import ActivityResult as Result  # noqa: E402
from workers import (Worker, create_engine_tables, fixture,  # noqa: E402
                     run_cli, wait_until)

HEALER_BIN = os.environ.get('HEALER_BIN', os.path.join(REPO, 'build', 'healer'))
RUNNER = os.path.join(REPO, 'tests', 'local', 'sfn_runner.js')
ENGINE = os.path.join(REPO, 'statemachines', 'engine.asl.json')

ACCOUNT, REGION = '123456789012', 'us-east-1'
EXEC_PREFIX = f'arn:aws:states:{REGION}:{ACCOUNT}:execution:healer-engine:'
ENGINE_PREFIX = f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-'
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
INSTANCE_ARN = f'arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}'
GROUP_ARN = f'arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP}'
CERT = (f'arn:aws:acm:{REGION}:{ACCOUNT}:certificate/'
        '3f0c6a0e-8b1d-4a52-9d7e-2b1f0c9e7a11')
SLACK_TOKEN = 'xoxb-test-0000-healer-token'      # the stand-ins' defaults
JIRA_EMAIL = 'healer-bot@example.com'
JIRA_TOKEN = 'jira-test-token-0000'
CHANNEL = 'C0HEALER01'
AUDIT_TABLE = 'healer-audit'
BREAKER_TABLE = 'healer-breaker'
MIB = 1024 * 1024


def execution():
    return EXEC_PREFIX + 'evt-' + uuid.uuid4().hex[:24]


_SANITIZED = None


def is_sanitized():
    """An ASan build (make test-sanitize): its allocator keeps freed memory
    in quarantine and pads every block, so memory bounds get more room."""
    global _SANITIZED
    if _SANITIZED is None:
        with open(HEALER_BIN, 'rb') as f:
            _SANITIZED = b'__asan_init' in f.read()
    return _SANITIZED


# ---- running activities --------------------------------------------------------

def run_activity(env, activity, payload, dry_run=False, timeout=90):
    tmp = tempfile.mkdtemp(prefix='healer-sec-')
    try:
        path = os.path.join(tmp, 'input.json')
        with open(path, 'w') as f:
            f.write(payload if isinstance(payload, str) else json.dumps(payload))
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': tmp,
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '2'}
        e.update(env)
        args = [HEALER_BIN, 'run-activity', activity, '--input', path]
        if dry_run:
            args.append('--dry-run')
        return Result(subprocess.run(args, env=e, capture_output=True, text=True,
                                     timeout=timeout, stdin=subprocess.DEVNULL))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the stand-ins (one endpoint and one dynalite for the module) ------------

@pytest.fixture(scope='module')
def stands():
    with LocalAWS(poll_timeout=2) as ep, Dynalite() as ddb:
        create_engine_tables(ddb, BREAKER_TABLE, AUDIT_TABLE)
        yield ep, ddb


@pytest.fixture
def aws(stands):
    ep, _ = stands
    ep.reset()
    return ep


@pytest.fixture
def ddb(stands):
    return stands[1]


def base_env(ep, ddb, **extra):
    env = {'HEALER_JIRA_URL': ep.url + '/_jira', 'HEALER_JIRA_EMAIL': JIRA_EMAIL,
           'HEALER_JIRA_API_TOKEN': JIRA_TOKEN, 'HEALER_JIRA_PROJECT': 'OPS',
           'HEALER_SLACK_API_URL': ep.url + '/_slack/api',
           'HEALER_SLACK_TOKEN': SLACK_TOKEN, 'HEALER_SLACK_CHANNEL': CHANNEL,
           'HEALER_AUDIT_TABLE': AUDIT_TABLE, 'HEALER_BREAKER_TABLE': BREAKER_TABLE,
           'HEALER_SSM_POLL_MS': '10', 'HEALER_AUTOMATION_POLL_MS': '10',
           'HEALER_ACM_POLL_MS': '10', 'HEALER_CONFIG_WAIT_S': '2'}
    env.update(ep.env())
    env.update(ddb.env())
    env.update(extra)
    return env


# ---- injection -------------------------------------------------------------------

@pytest.fixture
def canary():
    """A file that a shell interpreting any hostile value would create."""
    d = tempfile.mkdtemp(prefix='healer-canary-')
    path = os.path.join(d, 'pwned')
    yield path
    assert not os.path.exists(path), 'a hostile value reached a shell'
    shutil.rmtree(d, ignore_errors=True)


def hostile_values(canary):
    """Values an attacker controlling an event, a tag or a name might use."""
    return [
        f'; touch {canary}', f'$(touch {canary})', f'`touch {canary}`',
        f'| touch {canary}', f"' && touch {canary} #", f'" ; touch {canary} "',
        'line1\nline2', '\r\nX-Injected: 1', '%n%s%s%s%x%p', '%99999999d',
        '{"$ne": null}', '"},"commands":["reboot"],"x":{"', '../../../etc/shadow',
        '\u202eevil', '\u0000after-nul', 'A' * 70000,
    ]


def expect_invalid(res, field=None):
    assert res.rc == 1, res
    assert res.error and res.error['error'] == 'Healer.InvalidInput', res
    if field:   # the field named, or the whole input refused for its size
        assert field in res.error['cause'] or 'larger than' in res.error['cause'], res


def disk_input(instance=INSTANCE, path='/', **details):
    d = {'instanceId': instance, 'path': path, 'usedPercent': 91}
    d.update(details)
    return {'execution': execution(), 'dryRun': False, 'diagnosis': {
        'class': 'disk_pressure', 'confidence': 0.95, 'reason': 'disk',
        'resource': {'type': 'instance', 'id': INSTANCE, 'account': ACCOUNT,
                     'region': REGION},
        'owner': None, 'plan': [], 'details': d}}


def test_remediate_disk_refuses_hostile_ids_and_paths_before_any_call(aws, ddb, canary):
    env = base_env(aws, ddb)
    aws.admin('POST', '/_admin/ssm/instances', {'instanceId': INSTANCE})
    for v in hostile_values(canary):
        for inp, field in ((disk_input(instance=INSTANCE + v), 'instanceId'),
                           (disk_input(instance=v), 'instanceId'),
                           (disk_input(path='/var/log' + v), 'path'),
                           (disk_input(path=v), 'path')):
            expect_invalid(run_activity(env, 'remediate-disk', inp), field)
    for bad in ('/var/../etc', '/var/log/..', 'var/log', '/' + 'a' * 300,
                '/var log', '/var/$HOME', '/var/*'):
        expect_invalid(run_activity(env, 'remediate-disk', disk_input(path=bad)), 'path')
    expect_invalid(run_activity(env, 'remediate-disk', disk_input(usedPercent='91; reboot')),
                   'usedPercent')
    assert aws.requests() == [], 'a refused input made an AWS call'
    assert aws.admin('GET', '/_admin/ssm/commands')['sent'] == []


def test_remediate_disk_sends_only_the_validated_id_and_path(aws, ddb, canary):
    """Extra and hostile fields elsewhere in the diagnosis never reach the
    command: its one parameter is the validated path."""
    env = base_env(aws, ddb)
    aws.admin('POST', '/_admin/ssm/instances', {'instanceId': INSTANCE})
    inp = disk_input(path='/var/log', device=f'$(touch {canary})',
                     fstype='xfs; reboot', commands=[f'touch {canary}'],
                     parameters={'commands': ['reboot']}, documentName='AWS-RunShellScript')
    inp['diagnosis']['reason'] = f'`touch {canary}`'
    res = run_activity(env, 'remediate-disk', inp)
    assert res.rc == 0, res
    sent = aws.admin('GET', '/_admin/ssm/commands')['sent']
    assert len(sent) == 1
    cmd = sent[0]
    assert cmd['DocumentName'] == 'healer-disk-cleanup'
    assert cmd['InstanceIds'] == [INSTANCE]
    assert cmd['Parameters'] == {'mountPath': ['/var/log']}
    assert set(cmd) <= {'DocumentName', 'InstanceIds', 'Parameters', 'TimeoutSeconds',
                        'Comment', 'CommandId'}, cmd
    assert canary not in json.dumps(cmd)
    label = hashlib.sha256(inp['execution'].encode()).hexdigest()[:16]
    assert cmd['Comment'] == f'healer remediate-disk exec={label}'


def sg_input(group=GROUP, region=REGION):
    return {'execution': execution(), 'dryRun': False, 'diagnosis': {
        'class': 'public_ssh', 'confidence': 0.95, 'reason': 'ssh',
        'resource': {'type': 'security-group', 'id': GROUP, 'account': ACCOUNT,
                     'region': region},
        'owner': None, 'plan': [],
        'details': {'groupId': group, 'configRuleName': 'restricted-ssh',
                    'complianceType': 'NON_COMPLIANT'}}}


def cert_input(arn=CERT):
    return {'execution': execution(), 'dryRun': False, 'diagnosis': {
        'class': 'cert_expiry', 'confidence': 0.95, 'reason': 'cert',
        'resource': None, 'owner': None, 'plan': [],
        'details': {'certificateArn': arn, 'commonName': 'www.example.com',
                    'daysToExpiry': 20, 'eventType': 'approaching-expiration'}}}


def test_remediate_sg_and_renew_cert_refuse_hostile_values_before_any_call(aws, ddb, canary):
    env = base_env(aws, ddb)
    for v in hostile_values(canary):
        expect_invalid(run_activity(env, 'remediate-sg', sg_input(group=GROUP + v)), 'groupId')
        expect_invalid(run_activity(env, 'remediate-sg', sg_input(group=v)), 'groupId')
        expect_invalid(run_activity(env, 'remediate-sg', sg_input(region='us-east-1' + v)), 'region')
        expect_invalid(run_activity(env, 'renew-cert', cert_input(arn=CERT + v)), 'certificateArn')
    # The execution ARN is an idempotency key: validated the same way.
    inp = sg_input()
    inp['execution'] = EXEC_PREFIX + 'evt-1; reboot'
    expect_invalid(run_activity(env, 'remediate-sg', inp))
    assert aws.requests() == [], 'a refused input made an AWS call'


def test_rollback_command_holds_only_validated_values(aws, ddb, canary):
    """The rollback a person may paste into a shell is built from the group
    id, protocols, integer ports and constant CIDRs only."""
    env = base_env(aws, ddb)
    aws.admin('POST', '/_admin/config/security-groups', {
        'groupId': GROUP, 'groupName': f'$(touch {canary})',
        'description': f"'; touch {canary}; '",
        'ipPermissions': [{'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22,
                           'ipv4Ranges': [{'cidrIp': '0.0.0.0/0',
                                           'description': f'`touch {canary}`'}]}]})
    res = run_activity(env, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    rollback = res.output['rollback']
    assert rollback.startswith('aws ec2 authorize-security-group-ingress --region us-east-1 '
                               f'--group-id {GROUP} --ip-permissions \'[')
    assert rollback.count("'") == 2 and rollback.endswith("]'"), rollback
    assert not set(rollback) & set('$`;|&\\\n\r'), rollback
    assert canary not in json.dumps(res.output)


def hostile_disk_event(where, value):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    dims = ev['detail']['configuration']['metrics'][0]['metricStat']['metric']['dimensions']
    if where == 'instance':
        dims['InstanceId'] = INSTANCE + value
    elif where == 'path':
        dims['path'] = '/' + value
    elif where == 'account':
        ev['account'] = ACCOUNT + value
    elif where == 'region':
        ev['region'] = REGION + value
    return ev


def hostile_sg_event(value):
    ev = fixture('config-restricted-ssh-noncompliant.json')
    ev['detail']['resourceId'] = GROUP + value
    q = ev['detail']['newEvaluationResult']['evaluationResultIdentifier']['evaluationResultQualifier']
    q['resourceId'] = GROUP + value
    return ev


def hostile_cert_event(value):
    ev = fixture('acm-certificate-approaching-expiration.json')
    ev['resources'] = [ev['resources'][0] + value]
    return ev


def test_hostile_events_are_never_guessed_at(aws, ddb, canary):
    """Diagnose classifies an event whose identifiers do not validate as
    `unknown` (confidence 0: the state machine escalates it); guard finds no
    resource in it, so it counts nothing and looks up no tag with it."""
    env = base_env(aws, ddb)
    aws.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'true'})
    values = [v for v in hostile_values(canary) if len(v) < 1000] + ['x' * 5000]
    events = []
    for v in values:
        events += [hostile_disk_event('instance', v), hostile_disk_event('account', v),
                   hostile_disk_event('region', v), hostile_sg_event(v), hostile_cert_event(v)]
    for ev in events:
        exe = execution()
        res = run_activity(env, 'diagnose', {'execution': exe, 'dryRun': False, 'event': ev})
        assert res.rc == 0, res
        out = res.output
        assert out['class'] == 'unknown' and out['confidence'] == 0, out
        assert out['resource'] is None and out['owner'] is None, out
        assert len(json.dumps(out)) < 20000, 'an over-long value was copied into the diagnosis'
    # One guard run per kind: no resource -> proceeds, nothing counted.
    for ev in events[:5]:
        res = run_activity(env, 'guard', {'execution': execution(), 'dryRun': False, 'event': ev})
        assert res.rc == 0, res
        assert res.output['resource'] is None and res.output['breaker'] is None, res.output
    # Nothing counted or claimed (remediate-sg's rollback plans from other
    # tests of this module share the table).
    assert [i for i in ddb.scan(BREAKER_TABLE)
            if not i['pk']['S'].startswith('sgplan#')] == []
    tag_lookups = [r for r in aws.requests() if r['op'] == 'GetResources']
    assert tag_lookups == [], 'a tag lookup was made for an invalid resource'


def test_hostile_path_dimension_does_not_reach_the_command(aws, ddb, canary):
    """A disk alarm whose path dimension is hostile is either refused by
    diagnose or, if it classified, refused by remediate-disk: never sent."""
    env = base_env(aws, ddb)
    aws.admin('POST', '/_admin/ssm/instances', {'instanceId': INSTANCE})
    for v in hostile_values(canary):
        ev = hostile_disk_event('path', v)
        res = run_activity(env, 'diagnose', {'execution': execution(), 'event': ev})
        assert res.rc == 0, res
        diag = res.output
        if diag['class'] == 'disk_pressure':
            rem = run_activity(env, 'remediate-disk',
                               {'execution': execution(), 'dryRun': False, 'diagnosis': diag})
            expect_invalid(rem, 'path')
    assert aws.admin('GET', '/_admin/ssm/commands')['sent'] == []


def record_input(exe, mode='escalated', **over):
    inp = {
        'execution': exe, 'dryRun': False, 'mode': mode,
        'event': fixture('ec2-instance-state-change-unclassifiable.json'),
        'guard': {'proceed': True, 'reason': 'ok', 'resource': None},
        'diagnosis': {'class': 'unknown', 'confidence': 0.0, 'reason': 'unknown',
                      'resource': None, 'owner': None, 'plan': [],
                      'details': {'why': 'not handled', 'source': 'aws.ec2',
                                  'detailType': 'EC2 Instance State-change Notification'}},
        'error': {'Error': 'Healer.Diagnose.Unknown', 'Cause': 'no rule matches'},
    }
    inp.update(over)
    return inp


def test_records_carry_hostile_text_inertly(aws, ddb, canary):
    """ticket, notify and audit write what happened even when every free
    text field is hostile: the text arrives escaped, cleaned and bounded
    (no Slack mention or link, no line breaks in one-line fields, format
    strings verbatim), and the Jira search only ever uses the derived
    label."""
    env = base_env(aws, ddb)
    exe = execution()
    hostile = f'<!channel> <@U0OWNER001> <https://evil.example|click> %n%s%x `touch {canary}`'
    ev = fixture('ec2-instance-state-change-unclassifiable.json')
    ev['id'] = hostile + '\n' + 'I' * 100000
    ev['detail-type'] = hostile + '\r\nBcc: x'
    ev['source'] = hostile
    inp = record_input(exe, event=ev, error={'Error': hostile + '\n' + 'E' * 5000,
                                             'Cause': ('%n%s%s%n' * 3000) + hostile})
    inp['diagnosis']['owner'] = hostile
    inp['diagnosis']['details']['why'] = hostile + '\u202e' * 10
    for activity in ('ticket', 'notify', 'audit'):
        res = run_activity(env, activity, inp)
        assert res.rc == 0, (activity, res)

    slack = aws.admin('GET', '/_admin/slack')
    assert slack['messages'], 'no Slack message was posted'
    for m in slack['messages']:
        text = m['text']
        assert '<!channel>' not in text and '<@U0OWNER001>' not in text, text
        assert '<https://evil' not in text and '&lt;!channel&gt;' in text, text
        assert '\u202e' not in text
    jira = aws.admin('GET', '/_admin/jira')
    label = 'healer-' + hashlib.sha256(exe.encode()).hexdigest()[:16]
    for r in jira['requests']:
        if r.get('route') == 'search':
            assert r['body']['jql'] == f'project = "OPS" AND labels = "{label}" ORDER BY created ASC', r
    (issue,) = jira['issues']
    assert '\n' not in issue['summary'] and '\r' not in issue['summary']
    assert len(issue['summary']) <= 255
    assert label in issue['labels']
    assert all(lab.isprintable() and ' ' not in lab for lab in issue['labels'])
    desc = json.dumps(issue['description'])
    assert '%n%s' in desc, 'format strings must arrive verbatim (as data)'
    assert len(desc) < 400000
    items = [i for i in ddb.scan(AUDIT_TABLE) if i['execution']['S'] == exe and
             i.get('kind', {}).get('S') == 'action']
    assert len(items) == 1
    item = items[0]
    assert len(item['eventId']['S']) <= 128 + 20 and '\n' not in item['eventId']['S']
    assert '\n' not in item['reason']['S'] and len(item['reason']['S']) <= 1000


# ---- secrets ---------------------------------------------------------------------

SEC_AKID = 'ASIASECURITYTEST0001'
SEC_SECRET = 'kR3+securityTestSecretKey/0123456789abcdef'
SEC_TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////' + base64.b64encode(os.urandom(600)).decode()


def seed_world(ep):
    ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'true'})
    ep.admin('POST', '/_admin/ssm/instances', {'instanceId': INSTANCE, 'usedPercent': 91,
                                               'freesPercent': 30})
    ep.admin('POST', '/_admin/config/security-groups', {
        'groupId': GROUP, 'groupName': 'web-admin',
        'ipPermissions': [{'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22,
                           'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]}]})
    ep.admin('POST', '/_admin/ssm/automation', {'pendingPolls': 1})
    ep.admin('POST', '/_admin/tagging', {'arn': INSTANCE_ARN,
                                         'tags': {'Owner': 'team-storage@example.com'}})
    ep.admin('POST', '/_admin/tagging', {'arn': GROUP_ARN, 'tags': {'Owner': 'owner@example.com'}})


def run_engine(ep, event, timeout_s=120):
    cmd = ['node', RUNNER, '--endpoint', ep.url, '--template', ENGINE,
           '--arn-prefix', ENGINE_PREFIX,
           '--input-json', json.dumps({'event': event, 'dryRun': False}),
           '--retry-interval-ms', '200', '--poll-ms', '50', '--timeout-s', str(timeout_s)]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout_s + 60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_no_secret_or_task_token_in_anything_recorded(stands):
    """A full engine run with every secret set; then grep everything the
    run left behind."""
    ep, ddb = stands
    ep.reset()
    ep.add_credentials(SEC_AKID, SEC_SECRET, session_token=SEC_TOKEN)
    sfn = ep.boto3_client('stepfunctions', max_attempts=3)
    for a in ('guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert',
              'ticket', 'notify', 'audit'):
        sfn.create_activity(name='healer-' + a)
    seed_world(ep)
    env = base_env(ep, ddb, AWS_ACCESS_KEY_ID=SEC_AKID, AWS_SECRET_ACCESS_KEY=SEC_SECRET,
                   AWS_SESSION_TOKEN=SEC_TOKEN, HEALER_ACTIVITY_ARN_PREFIX=ENGINE_PREFIX,
                   HEALER_LOG_LEVEL='debug', HEALER_SSM_POLL_MS='100',
                   HEALER_AUTOMATION_POLL_MS='100', HEALER_ACM_POLL_MS='100',
                   HEALER_DRY_RUN='false')
    acts = ','.join(f'{a}:2' for a in ('guard', 'diagnose', 'remediate-disk', 'remediate-sg',
                                      'renew-cert', 'ticket', 'notify', 'audit'))
    with Worker(ep.url, acts, extra_env=env) as w:
        results = []
        for name in ('cloudwatch-alarm-disk-used-percent.json',
                     'config-restricted-ssh-noncompliant.json',
                     'ec2-instance-state-change-unclassifiable.json'):
            ev = fixture(name)
            ev['id'] = str(uuid.uuid4())   # a fresh execution each run
            results.append(run_engine(ep, ev))
        w.signal(signal.SIGTERM)
        assert w.wait(60) == 0
        log = w.text()

    assert [r['status'] for r in results] == ['SUCCEEDED'] * 3, \
        [(r['status'], r.get('error'), r.get('cause')) for r in results]
    ends = [[h['state'] for h in r['history'] if h['type'] == 'StateEntered'][-1]
            for r in results]
    assert ends == ['Remediated', 'Remediated', 'Escalated'], ends

    # The run really used every secret.
    reqs = [r for r in ep.requests() if r['op'] != 'CreateActivity']   # (this test's own)
    assert len(reqs) > 20 and all(r['accessKeyId'] == SEC_AKID for r in reqs), \
        'the worker did not sign with the test key and session token'
    assert ep.summary()['auth_failures'] == 0
    jira = ep.admin('GET', '/_admin/jira')
    slack = ep.admin('GET', '/_admin/slack')
    assert jira['issues'] and all(r['auth'] == 'valid' for r in jira['requests'])
    assert slack['messages'] and any(m['channel'].startswith('D') for m in slack['messages']), \
        'the owner DM was not sent'
    tasks = ep.tasks()
    task_tokens = [t['token'] for t in tasks]
    assert len(task_tokens) >= 12

    captured = {
        'worker log': log,
        'jira': json.dumps(jira),
        'slack': json.dumps(slack),
        'audit table': json.dumps(ddb.scan(AUDIT_TABLE)),
        'breaker table': json.dumps(ddb.scan(BREAKER_TABLE)),
        'task results': json.dumps([t['sends'] for t in tasks]),
        'execution outputs': json.dumps([(r.get('output'), r.get('error'), r.get('cause'))
                                         for r in results]),
        'ssm commands': json.dumps(ep.admin('GET', '/_admin/ssm/commands')),
        'automations': json.dumps(ep.admin('GET', '/_admin/ssm/automations')),
    }
    basic = base64.b64encode(f'{JIRA_EMAIL}:{JIRA_TOKEN}'.encode()).decode()
    secrets = {'secret key': SEC_SECRET, 'session token': SEC_TOKEN,
               'session token (start)': SEC_TOKEN[:40], 'session token (end)': SEC_TOKEN[-40:],
               'Slack token': SLACK_TOKEN, 'Jira token': JIRA_TOKEN, 'Jira basic auth': basic}
    for i, tok in enumerate(task_tokens):
        secrets[f'task token {i}'] = tok
        secrets[f'task token {i} (tail)'] = tok[-32:]
    leaks = [(what, where) for where, text in captured.items()
             for what, s in secrets.items() if s in text]
    assert leaks == [], f'secrets found: {leaks}'
    # Task tokens appear in logs only as their 12-hex-digit hash.
    hashes = {hashlib.sha256(t.encode()).hexdigest()[:12] for t in task_tokens}
    logged = {line.get('token') for line in w.lines() if line.get('token')}
    assert logged and logged <= hashes, logged - hashes


# ---- TLS ---------------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope='module')
def pki():
    """A test CA, a server certificate for 127.0.0.1/localhost signed by it,
    and one for another host name (same CA)."""
    d = tempfile.mkdtemp(prefix='healer-pki-')
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    openssl('req', '-x509', *ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
            '-subj', '/CN=healer test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
            '-addext', 'keyUsage=critical,keyCertSign,cRLSign', cwd=d)
    for name, san in (('server', 'IP:127.0.0.1,DNS:localhost'),
                      ('other', 'DNS:other.example.com')):
        with open(os.path.join(d, name + '.ext'), 'w') as f:
            f.write(f'subjectAltName={san}\nextendedKeyUsage=serverAuth\n'
                    'basicConstraints=CA:FALSE\n')
        openssl('req', *ec, '-keyout', name + '.key', '-out', name + '.csr',
                '-subj', '/CN=' + name, cwd=d)
        openssl('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
                '-CAcreateserial', '-out', name + '.pem', '-days', '2',
                '-extfile', name + '.ext', cwd=d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 200 {} and records it (method, path, target)."""
    protocol_version = 'HTTP/1.1'

    def _answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        self.server.seen.append({'method': self.command, 'path': self.path,
                                 'target': self.headers.get('X-Amz-Target'),
                                 'body': body.decode('utf-8', 'replace')})
        out = b'{"Version": 1, "Tier": "Standard", "ok": true}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/x-amz-json-1.1')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = do_GET = _answer

    def log_message(self, *args):
        pass


class Forwarder(Recorder):
    """Records each request as Recorder does, then passes it on to the
    plain-http stand-in at server.upstream and answers what it answers:
    the Jira and Slack stand-ins behind TLS."""

    HOP = {'host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'}

    def _answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        self.server.seen.append({'method': self.command, 'path': self.path,
                                 'target': None, 'body': body.decode('utf-8', 'replace')})
        up = urllib.parse.urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body or None,
                         headers={k: v for k, v in self.headers.items()
                                  if k.lower() not in self.HOP})
            resp = conn.getresponse()
            out = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in self.HOP:
                    self.send_header(k, v)
        finally:
            conn.close()
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = do_GET = do_PUT = _answer


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, certfile, keyfile, upstream=None):
        super().__init__(('127.0.0.1', 0), Forwarder if upstream else Recorder)
        self.upstream = upstream
        self.seen = []
        self.handshake_errors = 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)

    def get_request(self):
        sock, addr = super().get_request()
        sock.settimeout(10)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            self.handshake_errors += 1
            sock.close()
            raise

    def handle_error(self, request, client_address):
        pass

    @property
    def url(self):
        return f'https://127.0.0.1:{self.server_address[1]}'


@pytest.fixture
def tls_server(pki):
    servers = []

    def start(name='server', upstream=None):
        """A TLS server with the certificate `name`; with an upstream URL
        it forwards every request there (Forwarder), else answers 200."""
        s = TLSServer(os.path.join(pki, name + '.pem'), os.path.join(pki, name + '.key'),
                      upstream)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def cli_env(**extra):
    env = {'HOME': tempfile.gettempdir(), 'AWS_REGION': REGION,
           'AWS_ACCESS_KEY_ID': 'AKIDEXAMPLE',
           'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
           'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '1'}
    env.update(extra)
    return env


def test_self_signed_aws_endpoint_refused_unless_ca_bundle(tls_server, pki):
    srv = tls_server()
    r = run_cli(['disable', '--reason', 'tls test'], env=cli_env(AWS_ENDPOINT_URL=srv.url))
    assert r.returncode != 0, r
    assert b'certificate' in r.stderr.lower() or b'ssl' in r.stderr.lower(), r.stderr
    assert srv.seen == [], 'a request went over an unverified connection'
    # The server's thread counts the refused handshake after the client has
    # given up, so the count can trail the CLI's exit by a moment.
    wait_until(lambda: srv.handshake_errors >= 1, 10, what='a refused TLS handshake')

    r = run_cli(['disable', '--reason', 'tls test'],
                env=cli_env(AWS_ENDPOINT_URL=srv.url,
                            AWS_CA_BUNDLE=os.path.join(pki, 'ca.pem')))
    assert r.returncode == 0, r.stderr
    assert srv.seen and srv.seen[0]['target'] == 'AmazonSSM.PutParameter', srv.seen


def test_certificate_for_another_host_refused_even_with_the_ca(tls_server, pki):
    srv = tls_server('other')
    r = run_cli(['disable', '--reason', 'tls test'],
                env=cli_env(AWS_ENDPOINT_URL=srv.url,
                            AWS_CA_BUNDLE=os.path.join(pki, 'ca.pem')))
    assert r.returncode != 0, r
    assert srv.seen == []


def test_poller_verifies_tls_too(tls_server, pki):
    """The poller drives its own curl handles (curl multi): same rules."""
    srv = tls_server()
    with Worker(srv.url, 'echo:2', extra_env={'AWS_MAX_ATTEMPTS': '1'}) as w:
        wait_until(lambda: srv.handshake_errors >= 2, 20, what='refused TLS handshakes')
        assert srv.seen == [], 'the poller sent a request over an unverified connection'
        assert w.proc.poll() is None
        # A refused certificate fails every poll alike: the whole activity
        # backs off (one probe at a time), not each slot on its own.
        wait_until(lambda: w.events('GetActivityTask failed; backing off'), 10,
                   what='a backoff line')
        lines = w.events('GetActivityTask failed; backing off')
        assert all(l.get('scope') == 'activity' for l in lines), lines
    with Worker(srv.url, 'echo:2',
                extra_env={'AWS_CA_BUNDLE': os.path.join(pki, 'ca.pem')}) as w:
        wait_until(lambda: any(s['target'] == 'AWSStepFunctions.GetActivityTask'
                               for s in srv.seen), 20, what='a verified poll')


def test_slack_and_jira_over_self_signed_tls_refused(aws, ddb, tls_server):
    srv = tls_server()
    env = base_env(aws, ddb, HEALER_SLACK_API_URL=srv.url + '/api',
                   HEALER_JIRA_URL=srv.url + '/jira')
    inp = record_input(execution())
    res = run_activity(env, 'notify', inp)
    assert res.rc == 1 and res.error['error'] == 'Healer.Notify.Unreachable', res
    res = run_activity(env, 'ticket', inp)
    assert res.rc == 1 and res.error['error'] == 'Healer.Ticket.Unreachable', res
    assert srv.seen == []


# -- HEALER_CA_BUNDLE: Jira (Server / Data Center) and Slack behind a private CA --
# The stand-ins sit behind a TLS server with the test CA's certificate
# (Forwarder). Jira and Slack share one client set-up (hl_webapi_init_opts
# in activities/record.c), so one activity of each shows both.

def test_jira_behind_a_private_ca_needs_healer_ca_bundle(aws, ddb, tls_server, pki):
    srv = tls_server(upstream=aws.url)
    ca = os.path.join(pki, 'ca.pem')
    # AWS_CA_BUNDLE is for AWS endpoints: it does not make Jira trusted.
    env = base_env(aws, ddb, HEALER_JIRA_URL=srv.url + '/_jira', AWS_CA_BUNDLE=ca)
    inp = record_input(execution())
    res = run_activity(env, 'ticket', inp)
    assert res.rc == 1 and res.error['error'] == 'Healer.Ticket.Unreachable', res
    assert 'TLS failure' in res.error['cause'] and 'certificate' in res.error['cause'], res.error
    assert srv.seen == [], 'a request went over an unverified connection'
    assert aws.admin('GET', '/_admin/jira')['issues'] == []

    res = run_activity(dict(env, HEALER_CA_BUNDLE=ca), 'ticket', inp)
    assert res.rc == 0 and res.output['created'] is True, res
    assert [i['key'] for i in aws.admin('GET', '/_admin/jira')['issues']] == [res.output['key']]
    assert ('POST', '/_jira/rest/api/3/issue') in {(r['method'], r['path']) for r in srv.seen}


def test_jira_certificate_for_another_host_refused_even_with_healer_ca_bundle(aws, ddb, tls_server,
                                                                           pki):
    srv = tls_server('other', upstream=aws.url)
    env = base_env(aws, ddb, HEALER_JIRA_URL=srv.url + '/_jira',
                   HEALER_CA_BUNDLE=os.path.join(pki, 'ca.pem'))
    res = run_activity(env, 'ticket', record_input(execution()))
    assert res.rc == 1 and res.error['error'] == 'Healer.Ticket.Unreachable', res
    assert '127.0.0.1' in res.error['cause'] and 'match' in res.error['cause'], res.error
    assert srv.seen == []
    assert aws.admin('GET', '/_admin/jira')['issues'] == []


def test_slack_trusts_the_same_bundle_and_a_concatenated_one_works(aws, ddb, tls_server, pki,
                                                                   tmp_path):
    """The docs' recipe for a private Jira CA beside public Slack: the
    system bundle followed by the private CA, in one file."""
    srv = tls_server(upstream=aws.url)
    env = base_env(aws, ddb, HEALER_SLACK_API_URL=srv.url + '/_slack/api')
    inp = record_input(execution())
    res = run_activity(env, 'notify', inp)
    assert res.rc == 1 and res.error['error'] == 'Healer.Notify.Unreachable', res
    assert 'certificate' in res.error['cause'], res.error
    assert srv.seen == []

    system = '/etc/ssl/certs/ca-certificates.crt'   # Debian's; absent elsewhere
    bundle = tmp_path / 'bundle.pem'
    with open(bundle, 'w') as out:
        if os.path.exists(system):
            with open(system) as f:
                out.write(f.read())
        with open(os.path.join(pki, 'ca.pem')) as f:
            out.write(f.read())
    res = run_activity(dict(env, HEALER_CA_BUNDLE=str(bundle)), 'notify', inp)
    assert res.rc == 0, res
    assert len(aws.admin('GET', '/_admin/slack')['messages']) == 1
    assert any(r['path'] == '/_slack/api/chat.postMessage' for r in srv.seen), srv.seen


def bad_bundles(d, pki):
    """{name: (path, the reason the message gives)} of unusable bundles."""
    with open(os.path.join(pki, 'ca.pem')) as f:
        pem = f.read()
    lines = pem.splitlines()
    broken = '\n'.join(lines[:2] + ['!!not base64!!'] + lines[2:]) + '\n'
    files = {'text': ('notes.txt', 'just some text\n', 'holds no PEM certificate'),
             'empty': ('empty.pem', '', 'holds no PEM certificate'),
             'broken': ('broken.pem', broken, 'is not a PEM file of certificates')}
    out = {'missing': (os.path.join(d, 'nope.pem'), 'cannot read %s: No such file or directory'
                       % os.path.join(d, 'nope.pem')),
           'directory': (d, 'is not a regular file')}
    for name, (fname, text, why) in files.items():
        path = os.path.join(d, fname)
        with open(path, 'w') as f:
            f.write(text)
        out[name] = (path, why)
    der = os.path.join(d, 'ca.der')
    openssl('x509', '-in', os.path.join(pki, 'ca.pem'), '-outform', 'DER', '-out', der, cwd=d)
    out['der'] = (der, 'holds no PEM certificate')
    return out


def test_bad_healer_ca_bundle_stops_the_worker_with_exit_2(pki, tmp_path):
    env = cli_env(HEALER_ACTIVITY_ARN_PREFIX=ENGINE_PREFIX, AWS_ENDPOINT_URL='http://127.0.0.1:9')
    for name, (path, why) in bad_bundles(str(tmp_path), pki).items():
        r = run_cli([], env=dict(env, HEALER_ACTIVITIES='ticket:1', HEALER_CA_BUNDLE=path))
        err = r.stderr.decode()
        assert r.returncode == 2, (name, r)
        assert err.startswith('healer: configuration error: ticket: HEALER_CA_BUNDLE: '), (name, err)
        assert path in err and why in err, (name, err)
    # Every activity that calls Jira or Slack checks it; run-activity too.
    missing = str(tmp_path / 'nope.pem')
    for activity in ('notify', 'recover', 'guard'):
        r = run_cli([], env=dict(env, HEALER_ACTIVITIES=activity + ':1', HEALER_CA_BUNDLE=missing))
        assert r.returncode == 2, (activity, r)
        assert ('configuration error: %s: HEALER_CA_BUNDLE: cannot read' % activity
                in r.stderr.decode()), r.stderr
    r = run_cli(['run-activity', 'ticket', '--input', '/dev/null'],
                env=dict(env, HEALER_CA_BUNDLE=missing))
    assert r.returncode == 2 and b'HEALER_CA_BUNDLE: cannot read' in r.stderr, r


class ProxyRecorder(socketserver.StreamRequestHandler):
    """An HTTP proxy that records each request line and refuses it."""

    def handle(self):
        line = self.rfile.readline(8192).decode('latin-1').strip()
        if line:
            self.server.lines.append(line)
        self.wfile.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')


@pytest.fixture
def proxy():
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), ProxyRecorder)
    srv.daemon_threads = True
    srv.lines = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = f'http://127.0.0.1:{srv.server_address[1]}'
    yield srv
    srv.shutdown()
    srv.server_close()


def test_default_aws_endpoint_is_https(proxy):
    """Without an endpoint setting the client goes to
    https://ssm.<region>.amazonaws.com: through a proxy that shows as a
    CONNECT to port 443, never a plain-http request."""
    r = run_cli(['disable', '--reason', 'default endpoint'],
                env=cli_env(https_proxy=proxy.url, http_proxy=proxy.url,
                            HTTPS_PROXY=proxy.url))
    assert r.returncode != 0
    assert proxy.lines, 'no request reached the proxy'
    assert 'CONNECT ssm.us-east-1.amazonaws.com:443 HTTP/1.1' in proxy.lines, proxy.lines
    assert all(re.fullmatch(r'CONNECT [a-z0-9.-]+\.us-east-1\.amazonaws\.com:443 HTTP/1\.1', line)
               for line in proxy.lines), proxy.lines


def test_plain_http_only_for_explicit_loopback(aws, ddb, proxy):
    """http:// is accepted only for an explicitly configured loopback
    address: Jira/Slack URLs are refused at start, the ECS credentials URI is
    refused before any request (the proxy sees none)."""
    for var, url in (('HEALER_JIRA_URL', 'http://jira.example.com'),
                     ('HEALER_SLACK_API_URL', 'http://slack.example.com/api')):
        r = run_cli(['--activities', 'ticket:1,notify:1', '--activity-arn-prefix',
                     ENGINE_PREFIX], env=cli_env(**{var: url}))
        assert r.returncode == 2 and var.encode() in r.stderr, r
    for uri in ('http://169.254.169.254.evil.example/creds', 'http://10.0.0.5/creds',
                'http://example.com/creds'):
        env = cli_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=uri, http_proxy=proxy.url,
                      https_proxy=proxy.url, AWS_ENDPOINT_URL=aws.url)
        for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'):
            env.pop(k)
        r = run_cli(['disable', '--reason', 'x'], env=env)
        assert r.returncode != 0 and b'not allowed over http' in r.stderr, r
    assert proxy.lines == []


def test_tls_verification_is_never_switched_off_in_the_code():
    """No curl handle in the code turns verification off."""
    bad = []
    for d in ('worker', 'activities'):
        for name in os.listdir(os.path.join(REPO, d)):
            if not name.endswith('.c'):
                continue
            with open(os.path.join(REPO, d, name)) as f:
                for n, line in enumerate(f, 1):
                    s = line.replace(' ', '')
                    if ('SSL_VERIFYPEER,0' in s or 'SSL_VERIFYHOST,0' in s or
                            'PROXY_SSL_VERIFY' in s and ',0' in s or 'CURLSSLOPT_NO_REVOKE' in s
                            or 'CURLOPT_SSL_VERIFYSTATUS,0' in s):
                        bad.append(f'{d}/{name}:{n}: {line.strip()}')
    assert bad == []


# ---- resource limits ----------------------------------------------------------------

def proc_status(pid):
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmHWM', 'VmRSS', 'RssAnon'):
                out[k] = int(v.split()[0]) * 1024
    return out


class HugeAnswers(http.server.BaseHTTPRequestHandler):
    """A fake AWS endpoint: while server.huge is set, answers every request
    with a 200 that claims (and streams) 64 MiB of JSON; else {}."""
    protocol_version = 'HTTP/1.1'
    SIZE = 64 * MIB

    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(n)
        if not self.server.huge:
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'{}')
            return
        self.server.huge_answers += 1
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(self.SIZE))
        self.end_headers()
        chunk = b'{"ok": true, "taskToken": "' + b'A' * (MIB - 30)
        sent = 0
        try:
            while sent < self.SIZE:
                part = chunk[:min(len(chunk), self.SIZE - sent)]
                self.wfile.write(part)
                sent += len(part)
        except OSError:
            pass
        finally:
            self.server.bytes_sent.append(sent)
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def huge_server():
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), HugeAnswers)
    srv.daemon_threads = True
    srv.huge = False
    srv.huge_answers = 0
    srv.bytes_sent = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = f'http://127.0.0.1:{srv.server_address[1]}'
    yield srv
    srv.shutdown()
    srv.server_close()


def test_oversized_poll_answers_are_cut_off(huge_server):
    srv = huge_server
    with Worker(srv.url, 'echo:1') as w:
        w.wait_for('worker started', timeout=20)
        time.sleep(1.0)
        before = proc_status(w.pid)
        srv.huge = True
        wait_until(lambda: len(srv.bytes_sent) >= 3, 60, what='three oversized answers')
        after = proc_status(w.pid)
        assert w.proc.poll() is None, 'the worker died'
        text = w.text()
        assert 'exceeds' in text, text[-3000:]
        srv.huge = False
    growth = after['VmHWM'] - before['VmHWM']
    print(f'\noversized polls: VmHWM {before["VmHWM"] / MIB:.1f} -> {after["VmHWM"] / MIB:.1f} MiB; '
          f'bytes the server got out per answer: {[b // 1024 for b in srv.bytes_sent[:3]]} KiB')
    assert all(b < HugeAnswers.SIZE for b in srv.bytes_sent), 'the worker read a whole 64 MiB answer'
    assert growth < (48 if is_sanitized() else 16) * MIB, f'peak RSS grew by {growth / MIB:.1f} MiB'


def test_oversized_slack_answer_is_cut_off(aws, ddb, huge_server):
    srv = huge_server
    srv.huge = True
    env = base_env(aws, ddb, HEALER_SLACK_API_URL=srv.url + '/api')
    res = run_activity(env, 'notify', record_input(execution()))
    assert res.rc == 1 and res.error['error'].startswith('Healer.Notify.'), res
    assert 'exceeds' in res.error['cause'], res
    assert srv.bytes_sent and all(b < HugeAnswers.SIZE for b in srv.bytes_sent)


def test_burst_of_1000_tasks_is_absorbed_by_the_slots(aws):
    slots = 16
    arn = 'arn:aws:states:us-east-1:123456789012:activity:echo'
    aws.admin('POST', '/_admin/tasks', {'activityArn': arn, 'inputs': []})   # creates it
    extra = {'ASAN_OPTIONS': 'quarantine_size_mb=4'}
    with Worker(aws.url, f'echo:{slots}', extra_env=extra) as w:
        w.wait_for('worker started', timeout=20)
        wait_until(lambda: aws.summary()['open_polls'] >= slots, 30, what='all polls open')
        base = proc_status(w.pid)
        # Warm-up, so allocator pools exist before the measured burst.
        aws.admin('POST', '/_admin/tasks', {'activityArn': arn, 'count': 100,
                                            'input': {'warm': 'x' * 200}})
        wait_until(lambda: aws.summary()['succeeded'] >= 100, 120, what='warm-up')
        warm = proc_status(w.pid)
        aws.admin('POST', '/_admin/tasks', {'activityArn': arn, 'count': 1000,
                                            'input': {'burst': 'x' * 200}})
        peak_assigned, peak_polls = 0, 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            s = aws.summary()
            peak_assigned = max(peak_assigned, s['assigned'])
            peak_polls = max(peak_polls, s['open_polls'])
            if s['succeeded'] >= 1100:
                break
            time.sleep(0.05)
        end = proc_status(w.pid)
        s = aws.summary()
    print(f'\n1,000-task burst on {slots} slots: VmHWM {end["VmHWM"] / MIB:.1f} MiB '
          f'(at start {base["VmHWM"] / MIB:.1f}, after warm-up {warm["VmHWM"] / MIB:.1f}); '
          f'RssAnon {warm["RssAnon"] / MIB:.1f} -> {end["RssAnon"] / MIB:.1f} MiB; '
          f'peak tasks held {peak_assigned}, peak open polls {peak_polls}')
    assert s['succeeded'] == 1100 and s['failed'] == 0, s
    assert s['duplicate_results'] == 0 and s['lost'] == 0, s
    assert peak_assigned <= slots, f'{peak_assigned} tasks held with {slots} slots'
    assert peak_polls <= slots
    limit = (48 if is_sanitized() else 4) * MIB
    assert end['VmHWM'] - warm['VmHWM'] < limit, \
        f'peak RSS grew by {(end["VmHWM"] - warm["VmHWM"]) / MIB:.1f} MiB during the burst'


# ---- the health file (found by fuzz_health) -----------------------------------------

def test_health_file_values_are_not_trusted(tmp_path):
    """`healer health` reads a file; hostile content must not crash it or
    make a dead worker look alive."""
    path = tmp_path / 'health.json'
    now = int(time.time() * 1000)
    cases = [
        ({'pid': os.getpid(), 'updated_ms': now, 'status': None}, 0),      # crashed before
        ({'pid': 2 ** 32 + os.getpid(), 'updated_ms': now, 'status': 'ok'}, 1),  # wrapped pid
        ({'pid': -1, 'updated_ms': now, 'status': 'ok'}, 1),
        ({'pid': os.getpid(), 'updated_ms': -2 ** 63, 'status': 'ok'}, 1),  # overflowed the age
        ({'pid': os.getpid(), 'updated_ms': 2 ** 63 - 1, 'status': 'ok'}, 0),
        ({'pid': os.getpid(), 'updated_ms': now, 'status': 'stuck'}, 1),
    ]
    for doc, want in cases:
        path.write_text(json.dumps(doc))
        r = run_cli(['health', '--health-file', str(path)])
        assert r.returncode == want, (doc, r)
