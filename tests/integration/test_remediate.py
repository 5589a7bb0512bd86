"""The remediation activities (remediate-disk, remediate-sg, renew-cert) run
through `healer run-activity` against the local AWS endpoint and its SSM,
AWS Config and ACM stand-ins.

The stand-ins' own records are the judges: every SendCommand request in
full, every automation started, every RenewCertificate, the Config group's
rules, and the endpoint's per-request record (to prove that a dry run or a
refused input made no call, or no mutating one).
"""

import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
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

from workers import ActivityResult as Result  # noqa: E402

HEALER_BIN = os.environ.get('HEALER_BIN', os.path.join(REPO, 'build', 'healer'))
DOCUMENT_FILE = os.path.join(REPO, 'activities', 'disk-cleanup-document.json')
EXECUTION = ('arn:aws:states:us-east-1:123456789012:execution:'
             'healer-engine:evt-6a1f0c3e-8b1d-4a52-9d7e-2b1f0c9e7a11')
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
CERT = ('arn:aws:acm:us-east-1:123456789012:certificate/'
        '3f0c6a0e-8b1d-4a52-9d7e-2b1f0c9e7a11')
ALB = ('arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/'
       'app/web/50dc6c495c0c9188')
DAY = 86400
MUTATING = {'SendCommand', 'StartAutomationExecution', 'RenewCertificate'}

# Small polls keep the suite fast; production defaults are seconds.
FAST = {'HEALER_SSM_POLL_MS': '10', 'HEALER_AUTOMATION_POLL_MS': '10',
        'HEALER_ACM_POLL_MS': '10', 'HEALER_CONFIG_WAIT_S': '2'}


BREAKER_TABLE = 'healer-breaker'     # remediate-sg keeps its plan there


@pytest.fixture(scope='module')
def endpoint():
    with LocalAWS() as aws, Dynalite() as ddb:
        ddb.create_table(BREAKER_TABLE, 'pk')
        aws.ddb = ddb
        yield aws


@pytest.fixture
def aws(endpoint):
    endpoint.reset()
    ddb = endpoint.ddb
    for item in ddb.scan(BREAKER_TABLE):
        ddb.client().delete_item(TableName=BREAKER_TABLE,
                                 Key={'pk': item['pk']})
    yield endpoint


def run(aws, activity, payload, dry_run=False, env=None, raw=None):
    tmp = tempfile.mkdtemp(prefix='healer-remediate-')
    try:
        path = os.path.join(tmp, 'input.json')
        with open(path, 'w') as f:
            f.write(raw if raw is not None else json.dumps(payload))
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': tmp,
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '2'}
        e.update(aws.env())
        e.update(aws.ddb.env(HEALER_BREAKER_TABLE=BREAKER_TABLE))
        e.update(FAST)
        e.update(env or {})
        args = [HEALER_BIN, 'run-activity', activity, '--input', path]
        if dry_run:
            args.append('--dry-run')
        proc = subprocess.run(args, env=e, capture_output=True, text=True,
                              timeout=120)
        return Result(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ops(aws):
    return [r['op'] for r in aws.requests()]


def exec_uuid(execution, purpose):
    """What activities/diagnosis_input.c derives (RFC 9562 v8 layout)."""
    h = list(hashlib.sha256(f'{purpose}\n{execution}'.encode()).hexdigest()[:32])
    h[12] = '8'
    h[16] = '89ab'[int(h[16], 16) & 3]
    s = ''.join(h)
    return f'{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}'


def expect_error(res, name, *fragments):
    assert res.rc == 1, res
    assert res.error is not None, res
    assert res.error['error'] == name, res
    for frag in fragments:
        assert frag in res.error['cause'], res


# ---- inputs ------------------------------------------------------------------

def disk_input(instance=INSTANCE, path='/', dry=False, **extra):
    details = {'instanceId': instance, 'path': path, 'device': 'nvme0n1p1',
               'fstype': 'xfs', 'threshold': 85, 'usedPercent': 91}
    details.update(extra)
    return {'execution': EXECUTION, 'dryRun': dry, 'diagnosis': {
        'class': 'disk_pressure', 'confidence': 0.95,
        'reason': 'CloudWatch alarm disk_used_percent >= 85',
        'resource': {'type': 'instance', 'id': instance,
                     'account': '123456789012', 'region': 'us-east-1'},
        'owner': 'team-storage@example.com', 'plan': [],
        'details': details}}


def sg_input(group=GROUP, dry=False):
    return {'execution': EXECUTION, 'dryRun': dry, 'diagnosis': {
        'class': 'public_ssh', 'confidence': 0.99, 'reason': 'restricted-ssh',
        'resource': {'type': 'security-group', 'id': group,
                     'account': '123456789012', 'region': 'us-east-1'},
        'owner': None, 'plan': [],
        'details': {'groupId': group, 'configRuleName': 'restricted-ssh',
                    'complianceType': 'NON_COMPLIANT'}}}


def cert_input(arn=CERT, dry=False):
    return {'execution': EXECUTION, 'dryRun': dry, 'diagnosis': {
        'class': 'cert_expiry', 'confidence': 0.9, 'reason': 'ACM expiry',
        'resource': {'type': 'certificate', 'id': arn,
                     'account': '123456789012', 'region': 'us-east-1'},
        'owner': None, 'plan': [],
        'details': {'certificateArn': arn, 'commonName': 'www.example.com',
                    'daysToExpiry': 20,
                    'eventType': 'ACM Certificate Approaching Expiration'}}}


def add_instance(aws, **cfg):
    cfg.setdefault('instanceId', INSTANCE)
    return aws.admin('POST', '/_admin/ssm/instances', cfg)


def instance_state(aws, iid=INSTANCE):
    for i in aws.admin('GET', '/_admin/ssm/instances')['instances']:
        if i['instanceId'] == iid:
            return i
    raise KeyError(iid)


def sent_commands(aws):
    return aws.admin('GET', '/_admin/ssm/commands')['sent']


def tcp(port_from, port_to=None, v4=True, v6=False):
    p = {'ipProtocol': 'tcp', 'fromPort': port_from,
         'toPort': port_from if port_to is None else port_to,
         'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}] if v4 else [],
         'ipv6Ranges': [{'cidrIpv6': '::/0'}] if v6 else []}
    return p


def add_group(aws, perms, **kw):
    body = {'groupId': GROUP, 'ipPermissions': perms}
    body.update(kw)
    return aws.admin('POST', '/_admin/config/security-groups', body)


def group_state(aws, gid=GROUP):
    return aws.admin('GET', f'/_admin/config/security-groups/{gid}')


def automations(aws):
    return aws.admin('GET', '/_admin/ssm/automations')['automations']


def add_cert(aws, **detail):
    detail.setdefault('CertificateArn', CERT)
    return aws.admin('POST', '/_admin/acm/certificates', detail)


def renewals(aws):
    return aws.admin('GET', '/_admin/acm/renewals')['renewals']


# ============================================================================
# remediate-disk
# ============================================================================

def test_disk_cleanup_success(aws):
    add_instance(aws, usedPercent=91, freesPercent=30)
    res = run(aws, 'remediate-disk', disk_input())
    assert res.rc == 0, res
    out = res.output
    assert out['action'] == 'disk_cleanup'
    assert out['dryRun'] is False
    assert out['applied'] is True and out['verified'] is True
    assert out['escalate'] is False
    assert out['before'] == {'usedPercent': 91, 'path': '/'}
    assert out['after'] == {'usedPercent': 61, 'path': '/'}
    assert out['rollback'] is None
    assert out['reason'] == (f'usage 91% -> 61% on / of {INSTANCE}, '
                             'freed 30.0 GiB')
    d = out['details']
    assert d['freedBytes'] == 30 * 1024 ** 3
    assert d['filesRemoved'] == 42
    assert d['reusedCommand'] is False
    # Exactly one command, of the project's document, with the one
    # parameter, and a comment derived from the execution.
    sent = sent_commands(aws)
    short = hashlib.sha256(EXECUTION.encode()).hexdigest()[:16]
    assert sent == [{'DocumentName': 'healer-disk-cleanup',
                     'InstanceIds': [INSTANCE],
                     'Parameters': {'mountPath': ['/']},
                     'TimeoutSeconds': 120,
                     'Comment': f'healer remediate-disk exec={short}'}]
    assert d['commandId'] and d['comment'] == sent[0]['Comment']
    assert instance_state(aws)['usedPercentNow'] == 61


def test_disk_mount_path_is_passed(aws):
    add_instance(aws, usedPercent=90, freesPercent=20)
    res = run(aws, 'remediate-disk', disk_input(path='/data/vol-1'))
    assert res.rc == 0, res
    assert sent_commands(aws)[0]['Parameters'] == {'mountPath': ['/data/vol-1']}
    assert res.output['after'] == {'usedPercent': 70, 'path': '/data/vol-1'}


def test_disk_invocation_does_not_exist_is_retried(aws):
    add_instance(aws, missingPolls=3, pendingPolls=3)
    res = run(aws, 'remediate-disk', disk_input())
    assert res.rc == 0, res
    assert res.output['applied'] is True
    recs = [r for r in aws.requests() if r['op'] == 'GetCommandInvocation']
    assert [r['errorCode'] for r in recs[:3]] == ['InvocationDoesNotExist'] * 3
    assert all(r['status'] == 200 for r in recs[3:])
    assert len(recs) == 3 + 3 + 1     # missing, pending, done


def test_disk_invocation_never_appears(aws):
    add_instance(aws, missingPolls=1000)
    res = run(aws, 'remediate-disk', disk_input())
    expect_error(res, 'Healer.RemediateDisk.InvocationNotFound',
                 'no invocation of command', INSTANCE)


def test_disk_escalates_when_usage_stays_high(aws):
    add_instance(aws, usedPercent=97, freesPercent=5)
    res = run(aws, 'remediate-disk', disk_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is True
    assert out['escalate'] is True and out['verified'] is False
    assert out['after']['usedPercent'] == 92
    assert out['reason'].startswith(
        f'usage still 92% on / of {INSTANCE} after cleanup (threshold 85%, '
        'was 97%, freed ')
    assert '; largest directories: /var/lib/docker (40.0 GiB), ' \
           '/home (12.0 GiB), /var/log (3.0 GiB)' in out['reason']
    top = out['details']['topDirectories']
    assert top[0] == {'bytes': 40 * 1024 ** 3, 'path': '/var/lib/docker'}
    assert [t['path'] for t in top] == ['/var/lib/docker', '/home', '/var/log']


def test_disk_threshold_setting(aws):
    add_instance(aws, usedPercent=91, freesPercent=30)
    res = run(aws, 'remediate-disk', disk_input(),
              env={'HEALER_DISK_THRESHOLD': '60'})
    assert res.rc == 0, res
    assert res.output['escalate'] is True
    assert 'threshold 60%' in res.output['reason']


@pytest.mark.parametrize('outcome,error,fragment', [
    ('Failed', 'Healer.RemediateDisk.CommandFailed', 'ended Failed'),
    ('TimedOut', 'Healer.RemediateDisk.CommandTimedOut', 'ended TimedOut'),
    ('Cancelled', 'Healer.RemediateDisk.CommandCancelled', 'ended Cancelled'),
    ('BadOutput', 'Healer.RemediateDisk.BadOutput',
     'without HEALER_USAGE_BEFORE'),
])
def test_disk_command_failures(aws, outcome, error, fragment):
    add_instance(aws, outcome=outcome, pendingPolls=2,
                 stderr='rm: cannot remove /var/log/x.gz: Read-only file system')
    res = run(aws, 'remediate-disk', disk_input())
    expect_error(res, error, fragment)
    if outcome == 'Failed':
        assert 'stderr: rm: cannot remove /var/log/x.gz: Read-only file ' \
               'system' in res.error['cause']
        assert 'ResponseCode 1' in res.error['cause']


def test_disk_agent_not_registered(aws):
    add_instance(aws, registered=False)
    res = run(aws, 'remediate-disk', disk_input())
    expect_error(res, 'Healer.RemediateDisk.InstanceNotManaged', INSTANCE)
    assert aws.summary()['errors_by_code'] == {'InvalidInstanceId': 1}


def test_disk_unknown_instance_dry_run(aws):
    res = run(aws, 'remediate-disk', disk_input(), dry_run=True)
    expect_error(res, 'Healer.RemediateDisk.InstanceNotManaged',
                 'is not registered with SSM')
    assert ops(aws) == ['DescribeInstanceInformation']


def test_disk_document_missing(aws):
    add_instance(aws)
    res = run(aws, 'remediate-disk', disk_input(),
              env={'HEALER_DISK_DOCUMENT': 'team-disk-cleanup'})
    expect_error(res, 'Healer.RemediateDisk.DocumentNotFound',
                 'team-disk-cleanup')
    assert sent_commands(aws)[0]['DocumentName'] == 'team-disk-cleanup'


def test_disk_dry_run_sends_nothing(aws):
    add_instance(aws, usedPercent=91)
    res = run(aws, 'remediate-disk', disk_input(), dry_run=True)
    assert res.rc == 0, res
    out = res.output
    assert out['dryRun'] is True and out['applied'] is False
    assert out['escalate'] is False
    assert out['reason'] == (
        'dry run: would send SSM command document healer-disk-cleanup to '
        f'{INSTANCE} (SSM agent Online) with mountPath=/: vacuum journald to '
        '200M, delete rotated logs (*.gz, *.[0-9], *.old) under /var/log, '
        'then report usage of / before and after and the bytes freed; would '
        'escalate if usage stays at or above 85%')
    assert out['before'] == {'usedPercent': 91, 'path': '/'}
    assert out['details']['wouldSend']['Parameters'] == {'mountPath': ['/']}
    assert sent_commands(aws) == []
    assert not MUTATING & set(ops(aws))
    assert ops(aws) == ['DescribeInstanceInformation']
    assert instance_state(aws)['cleanups'] == 0


def test_disk_dry_run_from_input_flag(aws):
    add_instance(aws)
    res = run(aws, 'remediate-disk', disk_input(dry=True))
    assert res.rc == 0, res
    assert res.output['dryRun'] is True
    assert sent_commands(aws) == []


def test_disk_retry_follows_the_first_command(aws):
    add_instance(aws, usedPercent=91, freesPercent=30)
    first = run(aws, 'remediate-disk', disk_input())
    second = run(aws, 'remediate-disk', disk_input())
    assert first.rc == 0 and second.rc == 0, (first, second)
    assert len(sent_commands(aws)) == 1
    assert second.output['details']['reusedCommand'] is True
    assert second.output['details']['commandId'] == \
        first.output['details']['commandId']
    assert instance_state(aws)['cleanups'] == 1
    # Another execution is another command.
    other = disk_input()
    other['execution'] = EXECUTION.replace('evt-6a1f', 'evt-7b2f')
    assert run(aws, 'remediate-disk', other).rc == 0
    assert len(sent_commands(aws)) == 2


def test_disk_retry_after_a_failed_command_sends_again(aws):
    add_instance(aws, outcome='Failed')
    expect_error(run(aws, 'remediate-disk', disk_input()),
                 'Healer.RemediateDisk.CommandFailed')
    add_instance(aws, outcome='Success')
    res = run(aws, 'remediate-disk', disk_input())
    assert res.rc == 0, res
    assert res.output['details']['reusedCommand'] is False
    assert len(sent_commands(aws)) == 2


def test_disk_send_failing_after_effect_is_not_sent_twice(aws):
    add_instance(aws)
    aws.faults(rate_after_effect=1.0, operations=['SendCommand'])
    try:
        res = run(aws, 'remediate-disk', disk_input())
    finally:
        aws.clear_faults()
    assert res.rc == 0, res
    assert len(sent_commands(aws)) == 1
    assert res.output['details']['reusedCommand'] is True
    assert instance_state(aws)['cleanups'] == 1


def test_disk_throttled(aws):
    add_instance(aws)
    aws.faults(rate_throttle=1.0, operations=['ListCommands'])
    try:
        res = run(aws, 'remediate-disk', disk_input(),
                  env={'AWS_MAX_ATTEMPTS': '1'})
    finally:
        aws.clear_faults()
    expect_error(res, 'Healer.Throttled', 'ListCommands: ThrottlingException')
    assert sent_commands(aws) == []


@pytest.mark.parametrize('name,value', [
    ('HEALER_DISK_THRESHOLD', 'abc'),
    ('HEALER_DISK_THRESHOLD', '101'),
    ('HEALER_SSM_POLL_MS', '5'),
    ('HEALER_DISK_DOCUMENT', 'doc;rm -rf /'),
])
def test_disk_bad_settings_stop_at_init(aws, name, value):
    res = run(aws, 'remediate-disk', disk_input(), env={name: value})
    assert res.rc == 2, res
    assert f'configuration error: remediate-disk: {name}' in res.stderr
    assert ops(aws) == []


# ---- hostile and malformed inputs (all activities) ---------------------------

def _with(payload, path, value):
    p = json.loads(json.dumps(payload))
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return p


MB = 1000 * 1000   # "1 MB"; run-activity reads at most 1 MiB
HOSTILE = [
    # remediate-disk
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     'i-0abcd1234ef567890; rm -rf /', 'diagnosis.details.instanceId'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     '$(reboot)', 'diagnosis.details.instanceId'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     'i-0ABCD1234EF567890', 'diagnosis.details.instanceId'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     12345678, 'diagnosis.details.instanceId must be a string'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     KeyError, 'diagnosis.details.instanceId is required'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     'i-' + 'a' * MB, 'input is larger than 262144 bytes'),
    ('remediate-disk', ('diagnosis', 'details', 'instanceId'),
     'i-' + 'a' * 5000, 'diagnosis.details.instanceId must be at most 19 '
     'bytes'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/; rm -rf /', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     "/var/log' && reboot '", 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/tmp/`id`', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/$(id)', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/var/../etc', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/var\n/log', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     'var/log', 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/' + 'a' * 201, 'diagnosis.details.path'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     '/' + 'a' * MB, 'input is larger than 262144 bytes'),
    ('remediate-disk', ('diagnosis', 'details', 'path'),
     ['/'], 'diagnosis.details.path must be a string'),
    ('remediate-disk', ('diagnosis', 'details', 'usedPercent'),
     '91', 'diagnosis.details.usedPercent must be a number'),
    ('remediate-disk', ('diagnosis', 'details', 'padding'),
     'x' * 100000, 'diagnosis is larger than 65536 bytes'),
    ('remediate-disk', ('diagnosis', 'details', 'padding'),
     'x' * MB, 'input is larger than 262144 bytes'),
    ('remediate-disk', ('diagnosis', 'class'),
     'public_ssh', 'diagnosis.class must be "disk_pressure"'),
    ('remediate-disk', ('diagnosis', 'details'),
     KeyError, 'diagnosis.details is required'),
    ('remediate-disk', ('diagnosis', 'details'),
     'i-0abcd1234ef567890', 'diagnosis.details must be an object'),
    ('remediate-disk', ('diagnosis',), KeyError, 'diagnosis is required'),
    ('remediate-disk', ('dryRun',), 'false', 'dryRun must be a boolean'),
    ('remediate-disk', ('dryRun',), KeyError, 'dryRun is required'),
    ('remediate-disk', ('execution',), KeyError, 'execution is required'),
    ('remediate-disk', ('execution',),
     'arn:aws:states:us-east-1:123456789012:execution:m:$(id)',
     'execution is not a valid value'),
    ('remediate-disk', ('execution',),
     'arn:aws:states:us-east-1:123456789012:stateMachine:m', 'execution'),
    # remediate-sg
    ('remediate-sg', ('diagnosis', 'details', 'groupId'),
     'sg-0abcd1234ef567890 --dry-run', 'diagnosis.details.groupId'),
    ('remediate-sg', ('diagnosis', 'details', 'groupId'),
     "sg-0abcd123'; id; '", 'diagnosis.details.groupId'),
    ('remediate-sg', ('diagnosis', 'details', 'groupId'),
     'sg-' + 'a' * MB, 'input is larger than 262144 bytes'),
    ('remediate-sg', ('diagnosis', 'details', 'groupId'),
     'sg-' + 'a' * 300, 'diagnosis.details.groupId must be at most 20 '
     'bytes'),
    ('remediate-sg', ('diagnosis', 'details', 'groupId'),
     None, 'diagnosis.details.groupId is required'),
    ('remediate-sg', ('diagnosis', 'resource', 'region'),
     'us-east-1; id', 'diagnosis.resource.region'),
    ('remediate-sg', ('diagnosis', 'class'),
     'cert_expiry', 'diagnosis.class must be "public_ssh"'),
    # renew-cert
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     'arn:aws:acm:us-east-1:123456789012:certificate/$(id)',
     'diagnosis.details.certificateArn'),
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     CERT + ' && reboot', 'diagnosis.details.certificateArn'),
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     'arn:aws:iam::123456789012:role/x', 'diagnosis.details.certificateArn'),
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     {'arn': CERT}, 'diagnosis.details.certificateArn must be a string'),
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     CERT + 'a' * MB, 'input is larger than 262144 bytes'),
    ('renew-cert', ('diagnosis', 'details', 'certificateArn'),
     CERT + 'a' * 3000, 'diagnosis.details.certificateArn must be at most '
     '2048 bytes'),
]


@pytest.mark.parametrize('activity,path,value,fragment', HOSTILE,
                         ids=[f'{h[0]}-{"/".join(h[1])}-{i}'
                              for i, h in enumerate(HOSTILE)])
def test_hostile_inputs_are_refused_before_any_call(aws, activity, path,
                                                    value, fragment):
    add_instance(aws)
    add_group(aws, [tcp(22)])
    add_cert(aws, Type='PRIVATE')
    base = {'remediate-disk': disk_input, 'remediate-sg': sg_input,
            'renew-cert': cert_input}[activity]()
    res = run(aws, activity, _with(base, path, value))
    expect_error(res, 'Healer.InvalidInput', fragment)
    assert ops(aws) == []


@pytest.mark.parametrize('activity', ['remediate-disk', 'remediate-sg',
                                      'renew-cert'])
@pytest.mark.parametrize('raw,fragment', [
    ('[1, 2, 3]', 'input must be a JSON object'),
    ('"just a string"', 'input must be a JSON object'),
    ('{"execution": ', 'is not valid JSON'),
    ('{"execution": "' + EXECUTION + '", "dryRun": false, "diagnosis": '
     '{"class": "x", "details": {}}, "event": "' + 'e' * (MB - 300) + '"}',
     'input is larger than 262144 bytes'),
])
def test_malformed_inputs(aws, activity, raw, fragment):
    res = run(aws, activity, None, raw=raw)
    expect_error(res, 'Healer.InvalidInput', fragment)
    assert ops(aws) == []


# ---- the SSM document itself -------------------------------------------------

def test_document_has_fixed_commands_and_one_constrained_parameter():
    with open(DOCUMENT_FILE) as f:
        doc = json.load(f)
    assert doc['schemaVersion'] == '2.2'
    assert list(doc['parameters']) == ['mountPath']
    param = doc['parameters']['mountPath']
    assert param['type'] == 'String'
    assert param['allowedPattern'] == '^/[A-Za-z0-9._/-]{0,200}$'
    steps = doc['mainSteps']
    assert len(steps) == 1 and steps[0]['action'] == 'aws:runShellScript'
    # The C side's EXECUTION_TIMEOUT_S must match.
    assert steps[0]['inputs']['timeoutSeconds'] == '600'
    with open(os.path.join(REPO, 'activities', 'remediate_disk.c')) as f:
        assert re.search(r'#define EXECUTION_TIMEOUT_S 600\b', f.read())
    lines = steps[0]['inputs']['runCommand']
    uses = [ln for ln in lines if '{{' in ln]
    assert uses == ["MOUNT_PATH='{{ mountPath }}'"]
    text = '\n'.join(lines)
    assert 'journalctl --vacuum-size=200M' in text
    assert "find /var/log -xdev -type f \\( -name '*.gz' -o -name '*.[0-9]' " \
           "-o -name '*.old' \\) -delete" in text
    for key in ('HEALER_USAGE_BEFORE', 'HEALER_USAGE_AFTER',
                'HEALER_FREED_BYTES', 'HEALER_TOP'):
        assert key in text


@pytest.mark.parametrize('path,ok', [
    ('/', True), ('/data/vol-1', True), ('/var/lib/docker', True),
    ('/; rm -rf /', False), ("/x' ; id ; '", False), ('/$(id)', False),
    ('/tmp/`id`', False), ('relative', False), ('/a b', False),
    ('/' + 'a' * 200, True), ('/' + 'a' * 201, False),
])
def test_document_pattern_agrees_with_the_activity(aws, path, ok):
    """The document's allowedPattern (as the stand-in applies it) and the
    activity's own check accept and refuse the same paths."""
    with open(DOCUMENT_FILE) as f:
        pattern = json.load(f)['parameters']['mountPath']['allowedPattern']
    assert bool(re.search(pattern, path)) == ok
    add_instance(aws)
    res = run(aws, 'remediate-disk', disk_input(path=path))
    if ok:
        assert res.rc == 0, res
    else:
        expect_error(res, 'Healer.InvalidInput', 'diagnosis.details.path')
        assert ops(aws) == []


@pytest.fixture
def nobody_dir():
    """A scratch directory the user nobody can reach (pytest's tmp_path
    lives under a 0700 directory)."""
    d = tempfile.mkdtemp(prefix='healer-doc-')
    os.chmod(d, 0o755)
    try:
        yield pathlib.Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_document_script_runs_in_a_sandbox(nobody_dir):
    """Runs the document's script as `nobody` with /var/log pointed at a
    scratch directory and a fake journalctl, and checks what it deletes and
    the lines it prints."""
    if os.geteuid() != 0 or not shutil.which('runuser'):
        pytest.skip('needs root and runuser to drop to nobody')
    tmp_path = nobody_dir
    with open(DOCUMENT_FILE) as f:
        doc = json.load(f)
    logs = tmp_path / 'log'
    (logs / 'nginx').mkdir(parents=True)
    keep = ['syslog', 'nginx/access.log', 'journal.conf']
    gone = ['syslog.1', 'syslog.2.gz', 'nginx/access.log.3', 'messages.old',
            'nginx/error.log.1.gz']
    for name in keep + gone:
        (logs / name).write_bytes(b'x' * 4096)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    record = tmp_path / 'journalctl.args'
    (bindir / 'journalctl').write_text(
        f'#!/bin/sh\necho "$@" > {record}\n')
    (bindir / 'journalctl').chmod(0o755)
    mount = tmp_path / 'mnt'
    (mount / 'big').mkdir(parents=True)
    (mount / 'big' / 'blob').write_bytes(b'y' * 65536)
    script = '\n'.join(doc['mainSteps'][0]['inputs']['runCommand'])
    script = script.replace('{{ mountPath }}', str(mount))
    script = script.replace('find /var/log ', f'find {logs} ')
    assert '/var/log' not in script.replace(f'{logs}', '')
    (tmp_path / 'script.sh').write_text(script)
    subprocess.run(['chown', '-R', 'nobody', str(tmp_path)], check=True)
    proc = subprocess.run(
        ['runuser', '-u', 'nobody', '--', 'env',
         f'PATH={bindir}:/usr/bin:/bin', 'sh', str(tmp_path / 'script.sh')],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    for name in keep:
        assert (logs / name).exists(), name
    for name in gone:
        assert not (logs / name).exists(), name
    assert record.read_text().strip() == '--vacuum-size=200M'
    lines = dict(ln.split('=', 1) for ln in proc.stdout.splitlines()
                 if ln.startswith('HEALER_') and not ln.startswith('HEALER_TOP'))
    assert 0 <= int(lines['HEALER_USAGE_BEFORE']) <= 100
    assert 0 <= int(lines['HEALER_USAGE_AFTER']) <= 100
    assert int(lines['HEALER_FREED_BYTES']) >= 0
    assert lines['HEALER_FILES_REMOVED'] == str(len(gone))
    assert int(lines['HEALER_SIZE_BYTES']) > 0
    assert lines['HEALER_DONE'] == '1'
    tops = [ln for ln in proc.stdout.splitlines()
            if ln.startswith('HEALER_TOP=')]
    assert any(ln.endswith(f' {mount}/big') for ln in tops), tops
    # The usage lines come before any path is printed (the parser takes
    # the first occurrence of each key).
    out = proc.stdout.splitlines()
    assert out.index(next(t for t in tops)) > \
        out.index(f'HEALER_USAGE_AFTER={lines["HEALER_USAGE_AFTER"]}')


def test_document_script_refuses_traversal(tmp_path):
    with open(DOCUMENT_FILE) as f:
        doc = json.load(f)
    script = '\n'.join(doc['mainSteps'][0]['inputs']['runCommand'])
    # Stop right after the checks: nothing below them may run.
    head = script.split('healer_pct()')[0] + '\necho CHECKS_PASSED\n'
    for path, ok in (('/tmp/../etc', False), (str(tmp_path), True),
                     (str(tmp_path / 'missing'), False)):
        proc = subprocess.run(['sh', '-c', head.replace('{{ mountPath }}', path)],
                              capture_output=True, text=True, timeout=10)
        assert ('CHECKS_PASSED' in proc.stdout) == ok, (path, proc)
        if not ok:
            assert proc.returncode == 2 and 'HEALER_ERROR=' in proc.stderr


# ============================================================================
# remediate-sg
# ============================================================================

def test_sg_closes_port_22(aws):
    add_group(aws, [tcp(22, v4=True, v6=True), tcp(443)])
    role = 'arn:aws:iam::123456789012:role/HealerAutomation'
    res = run(aws, 'remediate-sg', sg_input(),
              env={'HEALER_SG_AUTOMATION_ROLE_ARN': role})
    assert res.rc == 0, res
    out = res.output
    assert out['action'] == 'close_public_ssh'
    assert out['applied'] is True and out['verified'] is True
    assert out['escalate'] is False
    d = out['details']
    assert [r['rule'] for r in out['before']['worldOpenRules']] == [
        'tcp 22 from 0.0.0.0/0', 'tcp 22 from ::/0']
    assert out['after']['worldOpenRules'] == []
    assert [r['rule'] for r in d['removed']] == [
        'tcp 22 from 0.0.0.0/0', 'tcp 22 from ::/0']
    assert d['remaining'] == []
    assert d['ownerMessage'] == 'I closed port 22 for you. Please use the VPN.'
    assert d['automationStatus'] == 'Success'
    assert d['configFresh'] is True
    assert out['reason'].startswith(
        f'closed port 22 on {GROUP}: removed tcp 22 from 0.0.0.0/0, '
        'tcp 22 from ::/0 (automation ')
    # The automation: the runbook, the group, the role, a token derived
    # from the execution.
    (a,) = automations(aws)
    assert a['document'] == 'AWS-DisablePublicAccessForSecurityGroup'
    assert a['params'] == {'GroupId': [GROUP], 'AutomationAssumeRole': [role]}
    assert a['clientToken'] == exec_uuid(EXECUTION, 'remediate-sg')
    assert d['clientToken'] == a['clientToken']
    assert d['automationExecutionId'] == a['id']
    # The group itself: port 22 gone, 443 untouched.
    perms = group_state(aws)['ipPermissions']
    assert [(p['ipProtocol'], p['fromPort']) for p in perms] == [('tcp', 443)]
    # The rollback restores exactly what was removed.
    argv = shlex.split(out['rollback'])
    assert argv[:7] == ['aws', 'ec2', 'authorize-security-group-ingress',
                        '--region', 'us-east-1', '--group-id', GROUP]
    assert argv[7] == '--ip-permissions' and len(argv) == 9
    assert json.loads(argv[8]) == [
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
         'IpRanges': [{'CidrIp': '0.0.0.0/0'}]},
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
         'Ipv6Ranges': [{'CidrIpv6': '::/0'}]}]


def test_sg_without_role_sends_only_group(aws):
    add_group(aws, [tcp(22)])
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    assert automations(aws)[0]['params'] == {'GroupId': [GROUP]}


def test_sg_all_traffic_rule_escalates_after_the_runbook(aws):
    all_traffic = {'ipProtocol': '-1',
                   'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]}
    add_group(aws, [tcp(22), all_traffic])
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is True
    assert out['escalate'] is True and out['verified'] is False
    d = out['details']
    assert [r['rule'] for r in d['removed']] == ['tcp 22 from 0.0.0.0/0']
    assert [r['rule'] for r in d['remaining']] == ['all traffic from 0.0.0.0/0']
    assert d['remaining'][0]['ipProtocol'] == '-1'
    assert 'ownerMessage' not in d
    assert (f'{GROUP} is still open to the world on port 22: all traffic '
            'from 0.0.0.0/0 (AWS-DisablePublicAccessForSecurityGroup removes '
            'only tcp 22/3389 rules from 0.0.0.0/0 and ::/0); removed: tcp 22 '
            'from 0.0.0.0/0') == out['reason']
    assert json.loads(shlex.split(out['rollback'])[-1]) == [
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
         'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}]
    # The all-traffic rule really is still there.
    assert [p['ipProtocol'] for p in group_state(aws)['ipPermissions']] == ['-1']


def test_sg_wide_port_range_escalates(aws):
    add_group(aws, [tcp(0, 65535, v4=False, v6=True)])
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True
    assert out['rollback'] is None
    assert out['details']['removed'] == []
    assert [r['rule'] for r in out['details']['remaining']] == [
        'tcp 0-65535 from ::/0']
    assert out['details']['configFresh'] is True   # nothing could change


def test_sg_non_default_vpc_runbook_failure(aws):
    add_group(aws, [tcp(22)], defaultVpc=False)
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    d = out['details']
    assert d['automationStatus'] == 'Failed'
    assert 'InvalidPermission.NotFound' in d['failureMessage']
    assert out['escalate'] is True and out['verified'] is False
    assert out['reason'].startswith(
        f'automation {d["automationExecutionId"]} of '
        'AWS-DisablePublicAccessForSecurityGroup ended Failed: ')
    # The rule it did revoke before failing is reported (and rollback-able).
    assert [r['rule'] for r in d['removed']] == ['tcp 22 from 0.0.0.0/0']
    assert d['remaining'] == []
    assert out['rollback'] is not None


def test_sg_waits_for_config_to_record_the_change(aws):
    add_group(aws, [tcp(22)], lagReads=3)
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    assert res.output['verified'] is True
    assert res.output['details']['configFresh'] is True
    reads = [o for o in ops(aws) if o == 'BatchGetResourceConfig']
    assert len(reads) == 1 + 3 + 1


def test_sg_config_that_never_catches_up_is_not_trusted(aws):
    add_group(aws, [tcp(22)], lagReads=10 ** 6)
    res = run(aws, 'remediate-sg', sg_input(),
              env={'HEALER_CONFIG_WAIT_S': '0'})
    assert res.rc == 0, res
    out = res.output
    assert out['details']['configFresh'] is False
    assert out['verified'] is False and out['escalate'] is True
    assert (f'AWS Config has not recorded {GROUP} since the automation '
            'started (waited 0 s): cannot verify') in out['reason']
    assert 'ownerMessage' not in out['details']


def test_sg_dry_run(aws):
    all_traffic = {'ipProtocol': '-1', 'ipv6Ranges': [{'cidrIpv6': '::/0'}],
                   'ipv4Ranges': []}
    add_group(aws, [tcp(22), all_traffic])
    res = run(aws, 'remediate-sg', sg_input(), dry_run=True)
    assert res.rc == 0, res
    out = res.output
    token = exec_uuid(EXECUTION, 'remediate-sg')
    assert out['dryRun'] is True and out['applied'] is False
    assert out['escalate'] is True
    assert out['reason'] == (
        'dry run: would start SSM Automation '
        f'AWS-DisablePublicAccessForSecurityGroup on {GROUP} (ClientToken '
        f'{token}) to remove: tcp 22 from 0.0.0.0/0; the runbook would leave '
        'open on port 22: all traffic from ::/0 (would escalate)')
    assert json.loads(shlex.split(out['rollback'])[-1]) == [
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
         'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}]
    assert ops(aws) == ['BatchGetResourceConfig']
    assert automations(aws) == []
    assert len(group_state(aws)['ipPermissions']) == 2
    assert plan_item(aws) is None, 'a dry run records no plan'


def test_sg_protected_group_is_refused_without_any_call(aws):
    add_group(aws, [tcp(22)])
    res = run(aws, 'remediate-sg', sg_input(),
              env={'HEALER_PROTECTED_SGS': f'sg-11111111, {GROUP}'})
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True and out['applied'] is False
    assert out['reason'] == (f'{GROUP} is a protected security group '
                             '(HEALER_PROTECTED_SGS): not modified')
    assert ops(aws) == []


def test_sg_bad_protected_list_stops_at_init(aws):
    res = run(aws, 'remediate-sg', sg_input(),
              env={'HEALER_PROTECTED_SGS': 'sg-1234;id'})
    assert res.rc == 2, res
    assert 'HEALER_PROTECTED_SGS' in res.stderr


def test_sg_nothing_open_is_nothing_to_do(aws):
    add_group(aws, [tcp(443, v6=True), tcp(22, v4=False)])
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is False and out['verified'] is True
    assert out['escalate'] is False
    assert out['reason'] == (f'no rule of {GROUP} is open to the world on '
                             'port 22 (AWS Config): nothing to do')
    assert automations(aws) == []
    assert plan_item(aws) is None


def plan_item(aws, execution=EXECUTION):
    """remediate-sg's plan of `execution` in the breaker table, or None."""
    key = 'sgplan#' + hashlib.sha256(execution.encode()).hexdigest()
    return aws.ddb.get_item(BREAKER_TABLE, {'pk': {'S': key}})


def test_sg_plan_is_recorded_before_the_automation(aws):
    add_group(aws, [tcp(22, v6=True), tcp(3389), tcp(443)])
    t0 = time.time()
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    item = plan_item(aws)
    assert item is not None
    assert item['execution'] == {'S': EXECUTION}
    assert item['groupId'] == {'S': GROUP}
    rules = [{k: next(iter(v.values())) for k, v in r['M'].items()}
             for r in item['rules']['L']]
    assert rules == [
        {'ipProtocol': 'tcp', 'fromPort': '22', 'toPort': '22',
         'cidr': '0.0.0.0/0'},
        {'ipProtocol': 'tcp', 'fromPort': '22', 'toPort': '22',
         'cidr': '::/0'},
        {'ipProtocol': 'tcp', 'fromPort': '3389', 'toPort': '3389',
         'cidr': '0.0.0.0/0'}]
    # The rollback on record is the one answered (all three were removed).
    assert item['rollback'] == {'S': res.output['rollback']}
    (a,) = automations(aws)
    assert item['automationExecutionId'] == {'S': a['id']}
    # TTL: two weeks (housekeeping only; dynalite does not expire items).
    ttl = int(item['expires_at']['N'])
    assert t0 + 14 * DAY - 5 <= ttl <= time.time() + 14 * DAY + 5
    assert res.output['details']['recoveredFromPlan'] is False
    assert 'planRecordedAt' not in res.output['details']


def test_sg_retry_after_a_lost_answer_keeps_the_rollback(aws):
    """The first attempt runs the automation and its answer is lost (Step
    Functions then retries the task with the same execution): the retry
    finds nothing open, and must still report what the engine removed and
    how to put it back."""
    add_group(aws, [tcp(22, v6=True), tcp(443)])
    first = run(aws, 'remediate-sg', sg_input())     # answer "lost"
    assert first.rc == 0, first
    assert first.output['verified'] is True
    assert [p['fromPort'] for p in group_state(aws)['ipPermissions']] == [443]

    second = run(aws, 'remediate-sg', sg_input())
    assert second.rc == 0, second
    out, d = second.output, second.output['details']
    assert out['applied'] is True and out['verified'] is True
    assert out['escalate'] is False
    assert d['removed'] == first.output['details']['removed']
    assert [r['rule'] for r in d['removed']] == [
        'tcp 22 from 0.0.0.0/0', 'tcp 22 from ::/0']
    assert out['rollback'] == first.output['rollback']
    assert out['after']['worldOpenRules'] == []
    assert d['recoveredFromPlan'] is True
    planned_at = plan_item(aws)['plannedAt']['S']
    assert d['planRecordedAt'] == planned_at
    assert d['ownerMessage'] == first.output['details']['ownerMessage']
    (a,) = automations(aws)
    assert d['automationExecutionId'] == a['id']
    assert d['automationStatus'] == 'Success'
    assert out['reason'] == (
        'an earlier attempt of this execution removed tcp 22 from '
        f'0.0.0.0/0, tcp 22 from ::/0 from {GROUP} (automation {a["id"]} '
        f'Success); recovered from the plan recorded at {planned_at}')
    # Exactly one automation, started once: the retry followed the one the
    # plan names instead of starting it again.
    assert a['starts'] == 1
    assert ops(aws).count('StartAutomationExecution') == 1


def test_sg_retry_without_a_recorded_automation_asks_with_the_token(aws):
    """The plan is on record but the automation id is not (the worker died
    between the start and recording it): the retry asks SSM with the same
    ClientToken and gets the same automation back, not a second one."""
    add_group(aws, [tcp(22)])
    first = run(aws, 'remediate-sg', sg_input())
    assert first.rc == 0, first
    item = plan_item(aws)
    del item['automationExecutionId']
    aws.ddb.put_item(BREAKER_TABLE, item)
    second = run(aws, 'remediate-sg', sg_input())
    assert second.rc == 0, second
    assert second.output['applied'] is True
    assert second.output['rollback'] == first.output['rollback']
    (a,) = automations(aws)
    assert a['starts'] == 2
    assert second.output['details']['automationExecutionId'] == a['id']


def test_sg_retry_that_starts_the_runbook_records_what_is_open_now(aws):
    """The plan is on record without an automation id and nothing reaches
    port 22 any more, but RDP is open to the world now (the earlier read
    did not see it). The retry's start runs the runbook on the group as it
    is, which removes 3389 rules too: that rule must be on record (with
    its rollback) before the start, not only the earlier plan's."""
    add_group(aws, [tcp(22)])
    first = run(aws, 'remediate-sg', sg_input())
    assert first.rc == 0, first
    item = plan_item(aws)
    del item['automationExecutionId']
    aws.ddb.put_item(BREAKER_TABLE, item)
    add_group(aws, [tcp(3389), tcp(443)])
    second = run(aws, 'remediate-sg', sg_input())
    assert second.rc == 0, second
    rules = [{k: next(iter(v.values())) for k, v in r['M'].items()}
             for r in plan_item(aws)['rules']['L']]
    assert rules == [
        {'ipProtocol': 'tcp', 'fromPort': '22', 'toPort': '22',
         'cidr': '0.0.0.0/0'},
        {'ipProtocol': 'tcp', 'fromPort': '3389', 'toPort': '3389',
         'cidr': '0.0.0.0/0'}]
    assert '"FromPort":3389' in plan_item(aws)['rollback']['S'], plan_item(aws)


def test_sg_worker_killed_while_the_automation_runs(aws):
    """SIGKILL after the automation started and before it ended: the retry
    (same execution) follows that automation to its end and reports the
    removed rules; one automation in all."""
    add_group(aws, [tcp(22)])
    aws.admin('POST', '/_admin/ssm/automation', {'pendingPolls': 10 ** 6})
    tmp = tempfile.mkdtemp(prefix='healer-remediate-')
    try:
        path = os.path.join(tmp, 'input.json')
        with open(path, 'w') as f:
            json.dump(sg_input(), f)
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': tmp,
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '2'}
        e.update(aws.env())
        e.update(aws.ddb.env(HEALER_BREAKER_TABLE=BREAKER_TABLE))
        e.update(FAST)
        proc = subprocess.Popen(
            [HEALER_BIN, 'run-activity', 'remediate-sg', '--input', path],
            env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not automations(aws) or automations(aws)[0]['polls'] < 2:
                assert proc.poll() is None, 'the first attempt ended'
                assert time.monotonic() < deadline, 'no automation started'
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert group_state(aws)['ipPermissions'], 'the runbook has not run yet'
    aws.admin('POST', '/_admin/ssm/automation', {'pendingPolls': 1})
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is True and out['verified'] is True
    assert [r['rule'] for r in out['details']['removed']] == [
        'tcp 22 from 0.0.0.0/0']
    assert json.loads(shlex.split(out['rollback'])[-1]) == [
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
         'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}]
    (a,) = automations(aws)
    assert out['details']['automationExecutionId'] == a['id']
    assert out['details']['planRecordedAt'] == plan_item(aws)['plannedAt']['S']
    assert group_state(aws)['ipPermissions'] == []


def test_sg_retry_of_a_group_opened_again_keeps_the_first_rollback(aws):
    """Between the attempts someone opens port 22 again (another rule):
    the ClientToken gives back the finished automation, which does not run
    again, so the new rule stays (escalate); the rule the engine removed
    stays in the answer and its rollback."""
    add_group(aws, [tcp(22)])
    first = run(aws, 'remediate-sg', sg_input())
    assert first.rc == 0 and first.output['verified'] is True, first
    add_group(aws, [tcp(22, v4=False, v6=True)])
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out, d = res.output, res.output['details']
    assert out['applied'] is True and out['escalate'] is True
    assert [r['rule'] for r in d['removed']] == ['tcp 22 from 0.0.0.0/0']
    assert [r['rule'] for r in d['remaining']] == ['tcp 22 from ::/0']
    assert out['rollback'] == first.output['rollback']
    assert len(automations(aws)) == 1
    assert 'recorded its plan at' in out['reason']


def test_sg_nothing_open_without_a_plan_is_still_nothing_to_do(aws):
    """Another execution's plan is not this one's."""
    add_group(aws, [tcp(22)])
    other = dict(sg_input(), execution=EXECUTION + '-other')
    assert run(aws, 'remediate-sg', other).output['verified'] is True
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    assert res.output['applied'] is False
    assert res.output['reason'] == (f'no rule of {GROUP} is open to the '
                                    'world on port 22 (AWS Config): nothing '
                                    'to do')
    assert plan_item(aws) is None
    assert len(automations(aws)) == 1


def test_sg_retry_while_config_lags_gets_the_same_automation(aws):
    add_group(aws, [tcp(22)], lagReads=10 ** 6)
    env = {'HEALER_CONFIG_WAIT_S': '0'}
    first = run(aws, 'remediate-sg', sg_input(), env=env)
    second = run(aws, 'remediate-sg', sg_input(), env=env)
    assert first.rc == 0 and second.rc == 0, (first, second)
    (a,) = automations(aws)
    assert a['starts'] == 2
    assert first.output['details']['automationExecutionId'] == a['id']
    assert second.output['details']['automationExecutionId'] == a['id']


def test_sg_token_reused_with_other_parameters(aws):
    add_group(aws, [tcp(22)])
    assert run(aws, 'remediate-sg', sg_input()).rc == 0
    add_group(aws, [tcp(22)])       # opened again, same execution retried
    res = run(aws, 'remediate-sg', sg_input(), env={
        'HEALER_SG_AUTOMATION_ROLE_ARN':
            'arn:aws:iam::123456789012:role/Other'})
    expect_error(res, 'Healer.RemediateSg.IdempotencyConflict',
                 exec_uuid(EXECUTION, 'remediate-sg'))


def test_sg_group_not_recorded(aws):
    add_group(aws, [tcp(22)], status='ResourceNotRecorded')
    res = run(aws, 'remediate-sg', sg_input())
    expect_error(res, 'Healer.RemediateSg.GroupNotRecorded', GROUP)
    assert not MUTATING & set(ops(aws))


def test_sg_group_deleted(aws):
    add_group(aws, [], status='ResourceDeleted')
    res = run(aws, 'remediate-sg', sg_input())
    expect_error(res, 'Healer.RemediateSg.GroupDeleted', GROUP)


def test_sg_automation_timeout(aws):
    add_group(aws, [tcp(22)])
    aws.admin('POST', '/_admin/ssm/automation', {'pendingPolls': 10 ** 6})
    res = run(aws, 'remediate-sg', sg_input(),
              env={'HEALER_AUTOMATION_WAIT_S': '1'})
    expect_error(res, 'Healer.RemediateSg.AutomationTimedOut', 'still InProgress')


def test_sg_automation_not_found_at_first_is_retried(aws):
    add_group(aws, [tcp(22)])
    aws.admin('POST', '/_admin/ssm/automation', {'notFoundPolls': 3})
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    assert res.output['verified'] is True


@pytest.mark.parametrize('outcome', ['Cancelled', 'TimedOut'])
def test_sg_automation_ending_badly_escalates(aws, outcome):
    add_group(aws, [tcp(22)])
    aws.admin('POST', '/_admin/ssm/automation', {'outcome': outcome})
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True and out['verified'] is False
    assert out['details']['automationStatus'] == outcome
    assert [r['rule'] for r in out['details']['remaining']] == [
        'tcp 22 from 0.0.0.0/0']
    assert out['rollback'] is None


def test_sg_throttled(aws):
    add_group(aws, [tcp(22)])
    aws.faults(rate_throttle=1.0, operations=['BatchGetResourceConfig'])
    try:
        res = run(aws, 'remediate-sg', sg_input(),
                  env={'AWS_MAX_ATTEMPTS': '1'})
    finally:
        aws.clear_faults()
    expect_error(res, 'Healer.Throttled', 'BatchGetResourceConfig')


class DynamoFaults:
    """A proxy in front of dynalite (which has no fault injection) that
    answers the listed DynamoDB operations with an error and forwards
    everything else unchanged. 127.0.0.1 only; stopped with the context."""

    def __init__(self, upstream, fail, status=500,
                 code='InternalServerError'):
        import http.client
        import http.server
        import threading
        target = upstream.split('//', 1)[1]
        proxy = self
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                op = self.headers.get('X-Amz-Target', '').split('.')[-1]
                proxy.seen.append(op)
                if op in fail:
                    data = json.dumps({
                        '__type': f'com.amazonaws.dynamodb.v20120810#{code}',
                        'message': 'injected by the test'}).encode()
                    self.send_response(status)
                    self.send_header('Content-Type',
                                     'application/x-amz-json-1.0')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection(target, timeout=30)
                conn.request('POST', self.path, body, dict(self.headers))
                up = conn.getresponse()
                data = up.read()
                self.send_response(up.status)
                for k, v in up.getheaders():
                    if k.lower() not in ('content-length', 'connection',
                                         'transfer-encoding', 'date',
                                         'server'):
                        self.send_header(k, v)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_sg_plan_write_failure_changes_nothing(aws):
    """DynamoDB refuses the plan: no automation, the group untouched, and
    an error the state machine retries."""
    add_group(aws, [tcp(22)])
    with DynamoFaults(aws.ddb.url, {'UpdateItem'}) as proxy:
        res = run(aws, 'remediate-sg', sg_input(),
                  env={'AWS_ENDPOINT_URL_DYNAMODB': proxy.url})
    expect_error(res, 'Healer.RemediateSg.PlanUnavailable',
                 'recording the rollback plan (UpdateItem)',
                 'InternalServerError', f'{GROUP} not changed')
    assert proxy.seen[0] == 'GetItem' and 'UpdateItem' in proxy.seen
    assert automations(aws) == []
    assert not MUTATING & set(ops(aws))
    assert len(group_state(aws)['ipPermissions']) == 1
    assert plan_item(aws) is None
    # The engine retries exactly this error on RemediateSg.
    asl = json.loads(re.sub(r'\$\{[a-z_]+\}', '1', pathlib.Path(
        REPO, 'statemachines', 'engine.asl.json').read_text()))
    retried = [e for r in asl['States']['RemediateSg']['Retry']
               for e in r['ErrorEquals']]
    assert 'Healer.RemediateSg.PlanUnavailable' in retried
    # Once DynamoDB answers, the retry acts and the plan is on record.
    res = run(aws, 'remediate-sg', sg_input())
    assert res.rc == 0 and res.output['verified'] is True, res
    assert plan_item(aws)['rollback'] == {'S': res.output['rollback']}


def test_sg_plan_write_throttled_is_retried_as_throttling(aws):
    add_group(aws, [tcp(22)])
    with DynamoFaults(aws.ddb.url, {'UpdateItem'}, status=400,
                      code='ProvisionedThroughputExceededException') as proxy:
        res = run(aws, 'remediate-sg', sg_input(),
                  env={'AWS_ENDPOINT_URL_DYNAMODB': proxy.url,
                       'AWS_MAX_ATTEMPTS': '1'})
    expect_error(res, 'Healer.Throttled', 'UpdateItem')
    assert automations(aws) == []


def test_sg_plan_unreadable_on_a_retry_changes_nothing(aws):
    """DynamoDB unreachable: the run cannot tell a retry from a first
    attempt, so it neither acts nor answers "nothing to do"."""
    add_group(aws, [])
    res = run(aws, 'remediate-sg', sg_input(),
              env={'AWS_ENDPOINT_URL_DYNAMODB': 'http://127.0.0.1:9'})
    expect_error(res, 'Healer.RemediateSg.PlanUnavailable',
                 'reading the rollback plan (GetItem)')
    add_group(aws, [tcp(22)])
    res = run(aws, 'remediate-sg', sg_input(),
              env={'AWS_ENDPOINT_URL_DYNAMODB': 'http://127.0.0.1:9'})
    expect_error(res, 'Healer.RemediateSg.PlanUnavailable')
    assert automations(aws) == []


# ============================================================================
# renew-cert
# ============================================================================

def _now():
    return time.time()


def test_cert_private_renewed_and_verified(aws):
    old = _now() + 20 * DAY
    add_cert(aws, Type='PRIVATE', NotAfter=old, InUseBy=[ALB],
             CertificateAuthorityArn='arn:aws:acm-pca:us-east-1:123456789012:'
             'certificate-authority/11111111-2222-3333-4444-555555555555',
             sim={'renewOutcome': 'success', 'renewDelayReads': 3})
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['action'] == 'renew_certificate'
    assert out['applied'] is True and out['verified'] is True
    assert out['escalate'] is False
    assert out['before']['status'] == 'ISSUED'
    assert out['before']['daysToExpiry'] in (19, 20)
    assert out['after']['daysToExpiry'] >= 395
    assert out['after']['renewalStatus'] == 'SUCCESS'
    assert out['reason'].startswith(f'renewed {CERT}: NotAfter ')
    assert len(renewals(aws)) == 1
    assert out['details']['inUseBy'] == [ALB]


def test_cert_exportable_public_certificate_is_renewed(aws):
    add_cert(aws, Type='AMAZON_ISSUED', Options={'Export': 'ENABLED'},
             NotAfter=_now() + 10 * DAY)
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    assert res.output['verified'] is True
    assert len(renewals(aws)) == 1


def test_cert_renewal_failing_escalates(aws):
    add_cert(aws, Type='PRIVATE', sim={'renewOutcome': 'failed'})
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is True
    assert out['escalate'] is True and out['verified'] is False
    assert out['reason'].startswith(
        'RenewCertificate was accepted but the renewal FAILED: '
        'PCA_ACCESS_DENIED')
    assert out['details']['renewalSummary'] == {
        'status': 'FAILED', 'reason': 'PCA_ACCESS_DENIED'}


def test_cert_renewal_not_yet_visible(aws):
    add_cert(aws, Type='PRIVATE', sim={'renewOutcome': 'pending'})
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is True and out['verified'] is False
    assert out['escalate'] is False
    assert 'not yet visible after 10 reads (RenewalStatus ' \
           'PENDING_AUTO_RENEWAL' in out['reason']
    assert ops(aws).count('DescribeCertificate') == 11


def test_cert_retry_while_renewal_in_progress(aws):
    add_cert(aws, Type='PRIVATE', sim={'renewOutcome': 'pending'})
    assert run(aws, 'renew-cert', cert_input()).rc == 0
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    assert res.output['details']['renewalAlreadyInProgress'] is True
    assert res.output['applied'] is True
    assert len(renewals(aws)) == 2      # the second got RequestInProgress
    assert aws.summary()['errors_by_code'] == {'RequestInProgressException': 1}


def test_cert_already_renewed_is_nothing_to_do(aws):
    add_cert(aws, Type='PRIVATE', NotAfter=_now() + 300 * DAY)
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is False and out['verified'] is True
    assert out['escalate'] is False
    assert out['reason'].startswith('nothing to do: the certificate is ISSUED '
                                    'and expires ')
    assert renewals(aws) == []


def test_cert_dry_run(aws):
    add_cert(aws, Type='PRIVATE', NotAfter=_now() + 20 * DAY)
    res = run(aws, 'renew-cert', cert_input(), dry_run=True)
    assert res.rc == 0, res
    out = res.output
    assert out['dryRun'] is True and out['applied'] is False
    assert out['reason'].startswith(
        f'dry run: would call ACM RenewCertificate for {CERT} (PRIVATE '
        'certificate, RenewalEligibility ELIGIBLE, expires ')
    assert ops(aws) == ['DescribeCertificate']
    assert renewals(aws) == []


def _dns(domain, status, name='_3f0c6a0e.www.example.com.',
         value='_9d7e2b1f.acm-validations.aws.'):
    return {'DomainName': domain, 'ValidationDomain': domain,
            'ValidationStatus': status, 'ValidationMethod': 'DNS',
            'ResourceRecord': {'Name': name, 'Type': 'CNAME', 'Value': value}}


def test_cert_external_dns_validation_pending(aws):
    dvo = [_dns('www.example.com', 'PENDING_VALIDATION')]
    add_cert(aws, Type='AMAZON_ISSUED', InUseBy=[ALB],
             DomainValidationOptions=dvo,
             RenewalSummary={'RenewalStatus': 'PENDING_VALIDATION',
                             'DomainValidationOptions': dvo,
                             'UpdatedAt': _now()})
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True and out['applied'] is False
    assert out['reason'].startswith(
        'external DNS validation pending for www.example.com: create the '
        'CNAME _3f0c6a0e.www.example.com. -> _9d7e2b1f.acm-validations.aws. '
        "in the domain's DNS so ACM can renew")
    assert out['details']['dependencyPath'] == (
        f'{ALB} -> certificate {CERT} (www.example.com, AMAZON_ISSUED) -> DNS '
        'validation of www.example.com: PENDING_VALIDATION (CNAME '
        '_3f0c6a0e.www.example.com. -> _9d7e2b1f.acm-validations.aws.) -> '
        'renewal PENDING_VALIDATION')
    assert out['details']['validation'] == [{
        'domainName': 'www.example.com', 'method': 'DNS',
        'status': 'PENDING_VALIDATION',
        'resourceRecord': {'name': '_3f0c6a0e.www.example.com.',
                           'type': 'CNAME',
                           'value': '_9d7e2b1f.acm-validations.aws.'}}]
    assert renewals(aws) == []


def test_cert_email_validation(aws):
    dvo = [{'DomainName': 'www.example.com', 'ValidationMethod': 'EMAIL',
            'ValidationStatus': 'SUCCESS',
            'ValidationEmails': ['admin@example.com',
                                 'hostmaster@example.com']}]
    add_cert(aws, Type='AMAZON_ISSUED', DomainValidationOptions=dvo,
             InUseBy=[ALB])
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True
    assert out['reason'].startswith(
        "EMAIL validation: ACM's managed renewal of www.example.com waits for "
        'someone to approve the validation email')
    assert out['details']['validation'][0]['validationEmails'] == [
        'admin@example.com', 'hostmaster@example.com']
    assert renewals(aws) == []


def test_cert_imported(aws):
    add_cert(aws, Type='IMPORTED', Issuer='Example Corp CA', InUseBy=[ALB],
             RenewalEligibility='INELIGIBLE')
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True
    assert out['reason'].startswith(
        'IMPORTED certificate (issuer Example Corp CA): ACM does not renew '
        'imported certificates; import a renewed certificate from its issuer '
        'before ')
    assert out['details']['dependencyPath'].startswith(
        f'{ALB} -> certificate {CERT} (www.example.com, IMPORTED)')
    assert renewals(aws) == []


@pytest.mark.parametrize('detail,fragment', [
    ({'Status': 'PENDING_VALIDATION'},
     'the certificate is PENDING_VALIDATION'),
    ({'Status': 'EXPIRED', 'NotAfter': time.time() - DAY},
     'the certificate is EXPIRED: request or import a new certificate'),
    ({'Status': 'FAILED', 'FailureReason': 'CAA_ERROR'},
     'the certificate is FAILED CAA_ERROR'),
    ({'ManagedBy': 'CLOUDFRONT'},
     'the certificate is managed by CLOUDFRONT: renew it through that '
     'service'),
    ({'Type': 'PRIVATE', 'RenewalEligibility': 'INELIGIBLE'},
     'PRIVATE certificate is INELIGIBLE for renewal'),
    ({'RenewalEligibility': 'INELIGIBLE', 'InUseBy': []},
     'the certificate is INELIGIBLE for managed renewal: it is not in use by '
     'any AWS resource'),
    ({'InUseBy': [ALB],
      'DomainValidationOptions': [_dns('www.example.com', 'SUCCESS')],
      'RenewalSummary': {'RenewalStatus': 'PENDING_AUTO_RENEWAL',
                         'DomainValidationOptions': [
                             _dns('www.example.com', 'SUCCESS')],
                         'UpdatedAt': time.time()}},
     'ACM managed renewal has not completed'),
    ({'InUseBy': [ALB],
      'RenewalSummary': {'RenewalStatus': 'FAILED',
                         'RenewalStatusReason': 'CAA_ERROR',
                         'DomainValidationOptions': [
                             _dns('www.example.com', 'FAILED')],
                         'UpdatedAt': time.time()}},
     'ACM managed renewal FAILED: CAA_ERROR'),
])
def test_cert_escalations(aws, detail, fragment):
    add_cert(aws, **detail)
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['escalate'] is True and out['applied'] is False
    assert out['reason'].startswith(fragment), out['reason']
    assert renewals(aws) == []
    assert not MUTATING & set(ops(aws))


def test_cert_refused_by_acm_escalates(aws):
    # Exportable and ELIGIBLE per DescribeCertificate, but never exported:
    # ACM refuses, and the refusal is the reason.
    add_cert(aws, Type='AMAZON_ISSUED', Options={'Export': 'ENABLED'},
             sim={'renewError': ['ValidationException',
                                 'You can only renew certificates that have '
                                 'been previously exported.']})
    res = run(aws, 'renew-cert', cert_input())
    assert res.rc == 0, res
    out = res.output
    assert out['applied'] is False and out['escalate'] is True
    assert out['reason'].startswith('ACM refused RenewCertificate (AMAZON_ISSUED '
                                    'exportable certificate, ')
    assert out['reason'].endswith('): ValidationException: You can only renew '
                                  'certificates that have been previously '
                                  'exported.')


def test_cert_not_found(aws):
    res = run(aws, 'renew-cert', cert_input())
    expect_error(res, 'Healer.RenewCert.CertificateNotFound', CERT)


def test_cert_throttled(aws):
    add_cert(aws, Type='PRIVATE')
    aws.faults(rate_throttle=1.0, operations=['RenewCertificate'])
    try:
        res = run(aws, 'renew-cert', cert_input(),
                  env={'AWS_MAX_ATTEMPTS': '1'})
    finally:
        aws.clear_faults()
    expect_error(res, 'Healer.Throttled', 'RenewCertificate')
