"""The diagnose activity through `healer run-activity diagnose` against the
local AWS endpoint (Tagging API for the Owner tag).

Every event fixture goes through the real binary; the class, resource,
owner and details are checked, and the endpoint's request log shows that
diagnose only reads (one GetResources per classified event, none for an
unknown one).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
from harness import LocalAWS  # noqa: E402

from workers import ACCOUNT, FIXTURES, HEALER_BIN, fixture  # noqa: E402

INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
CERT = ('arn:aws:acm:us-east-1:123456789012:certificate/'
        '1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d')
INSTANCE_ARN = f'arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INSTANCE}'
GROUP_ARN = f'arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{GROUP}'
EXECUTION = f'arn:aws:states:us-east-1:{ACCOUNT}:execution:engine:evt-1'

# fixture -> (class, resource id or None, owner or None, why fragment)
EXPECTED = {
    'cloudwatch-alarm-disk-used-percent.json':
        ('disk_pressure', INSTANCE, 'storage@example.com', None),
    'cloudwatch-alarm-disk-used-percent-ok.json':
        ('unknown', None, None, 'alarm state is OK, not ALARM'),
    'cloudwatch-alarm-disk-used-percent-muted.json':
        ('unknown', None, None, 'alarm is muted'),
    'cloudwatch-alarm-disk-metric-math.json':
        ('unknown', None, None, 'metric math alarm'),
    'cloudwatch-alarm-composite.json':
        ('unknown', None, None, 'composite alarm'),
    'config-restricted-ssh-noncompliant.json':
        ('public_ssh', GROUP, 'netsec@example.com', None),
    'config-restricted-ssh-compliant.json':
        ('unknown', None, None, 'compliance is COMPLIANT'),
    'acm-certificate-approaching-expiration.json':
        ('cert_expiry', CERT, 'web@example.com', None),
    'acm-certificate-approaching-expiration-extended.json':
        ('cert_expiry', CERT, 'web@example.com', None),
    'acm-certificate-expired.json':
        ('cert_expiry', CERT, 'web@example.com', None),
    'acm-certificate-renewal-action-required.json':
        ('cert_expiry', CERT, 'web@example.com', None),
    'ec2-instance-state-change-unclassifiable.json':
        ('unknown', None, None, 'is not an event the engine handles'),
}


def test_every_fixture_is_listed():
    names = sorted(n for n in os.listdir(FIXTURES) if n.endswith('.json'))
    assert names == sorted(EXPECTED)


@pytest.fixture(scope='module')
def endpoint():
    with LocalAWS(poll_timeout=2) as ep:
        yield ep


@pytest.fixture
def ep(endpoint):
    endpoint.reset()
    endpoint.admin('POST', '/_admin/tagging', {
        'arn': INSTANCE_ARN,
        'tags': {'Owner': 'storage@example.com', 'AutoRemediate': 'true'}})
    endpoint.admin('POST', '/_admin/tagging', {
        'arn': GROUP_ARN, 'tags': {'Owner': 'netsec@example.com'}})
    endpoint.admin('POST', '/_admin/tagging', {
        'arn': CERT, 'tags': {'Owner': 'web@example.com'}})
    return endpoint


def diagnose(ep, tmp_path, event, dry_run=True, raw_input=None, **env):
    path = tmp_path / 'input.json'
    if raw_input is None:
        raw_input = json.dumps({'execution': EXECUTION, 'dryRun': dry_run,
                                'event': event})
    path.write_text(raw_input)
    e = dict(os.environ, **ep.env(), AWS_EC2_METADATA_DISABLED='true',
             HEALER_LOG_LEVEL='info', **env)
    p = subprocess.run([HEALER_BIN, 'run-activity', 'diagnose', '--input',
                        str(path)], env=e, capture_output=True, text=True,
                       timeout=30)
    lines = p.stdout.splitlines()
    body = [l for l in lines if not l.startswith('{"ts"')]
    logs = [json.loads(l) for l in lines if l.startswith('{"ts"')]
    out = json.loads('\n'.join(body)) if body else None
    return p.returncode, out, logs, p.stderr


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_fixture(ep, tmp_path, name):
    cls, rid, owner, why = EXPECTED[name]
    rc, out, logs, err = diagnose(ep, tmp_path, fixture(name))
    assert rc == 0, err
    assert out['class'] == cls
    assert out['owner'] == owner
    assert isinstance(out['plan'], list) and out['plan']
    ops = [r['op'] for r in ep.requests()]
    if cls == 'unknown':
        assert out['confidence'] == 0
        assert out['resource'] is None
        assert why in out['details']['why']
        assert out['reason'] == 'unclassified: ' + out['details']['why']
        assert out['details']['source'] == fixture(name)['source']
        assert ops == [], 'no lookups for an unknown event'
    else:
        assert out['confidence'] == 0.95
        assert out['resource']['id'] == rid
        assert out['resource']['account'] == ACCOUNT
        assert ops == ['GetResources'], 'diagnose only reads'
    assert [l['class'] for l in logs if l['msg'] == 'diagnosis'] == [cls]


def test_disk_details(ep, tmp_path):
    rc, out, _, err = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'))
    assert rc == 0, err
    assert out['details'] == {'instanceId': INSTANCE, 'path': '/',
                              'device': 'nvme0n1p1', 'fstype': 'xfs',
                              'threshold': 85.0, 'usedPercent': 91.27}
    assert out['reason'] == ('CloudWatch alarm disk_used_percent >= 85 on '
                             f'{INSTANCE} path / (latest 91.3%)')


def test_public_ssh_and_cert_details(ep, tmp_path):
    _, out, _, _ = diagnose(
        ep, tmp_path, fixture('config-restricted-ssh-noncompliant.json'))
    assert out['details'] == {'groupId': GROUP,
                              'configRuleName': 'restricted-ssh',
                              'complianceType': 'NON_COMPLIANT'}
    assert out['resource']['arn'] == GROUP_ARN
    _, out, _, _ = diagnose(
        ep, tmp_path,
        fixture('acm-certificate-renewal-action-required.json'))
    assert out['details'] == {'certificateArn': CERT,
                              'commonName': 'www.example.com',
                              'daysToExpiry': 30,
                              'eventType': 'renewal-action-required',
                              'renewalStatusReason': 'CAA_ERROR'}


def test_owner_tag_values_are_data_not_commands(ep, tmp_path):
    owner = '$(rm -rf /); `reboot` | nc evil 1 "quoted" %s%n'
    ep.admin('POST', '/_admin/tagging',
             {'arn': INSTANCE_ARN, 'tags': {'Owner': owner}})
    _, out, _, _ = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'))
    assert out['owner'] == owner, 'kept verbatim, as a JSON string'
    ep.admin('POST', '/_admin/tagging',
             {'arn': INSTANCE_ARN, 'tags': {'Owner': 'a\nb'}})
    _, out, logs, _ = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'))
    assert out['owner'] is None
    assert any(l['msg'].startswith('Owner tag ignored') for l in logs)


def test_untagged_resource_has_no_owner(ep, tmp_path):
    ep.admin('POST', '/_admin/tagging', {'arn': GROUP_ARN, 'tags': {}})
    _, out, _, _ = diagnose(
        ep, tmp_path, fixture('config-restricted-ssh-noncompliant.json'))
    assert out['class'] == 'public_ssh'
    assert out['owner'] is None


def test_owner_lookup_failure_does_not_fail_the_diagnosis(ep, tmp_path):
    ep.faults(rate_500=1.0, operations=['GetResources'])
    rc, out, logs, err = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'),
        AWS_MAX_ATTEMPTS='1')
    assert rc == 0, err
    assert out['class'] == 'disk_pressure'
    assert out['owner'] is None
    warn = [l for l in logs if l['msg'] == 'owner lookup failed']
    assert warn and warn[0]['aws_code'] == 'InternalFailure'


def test_hostile_instance_id_is_unknown(ep, tmp_path):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    dims = ev['detail']['configuration']['metrics'][0]['metricStat'][
        'metric']['dimensions']
    dims['InstanceId'] = 'i-0abc; rm -rf /'
    rc, out, _, err = diagnose(ep, tmp_path, ev)
    assert rc == 0, err
    assert out['class'] == 'unknown'
    assert 'dimensions.InstanceId: not a valid instance id' in \
        out['details']['why']
    assert 'rm -rf' not in json.dumps(out)
    assert [r['op'] for r in ep.requests()] == []


def test_one_megabyte_input(ep, tmp_path):
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    ev['detail']['padding'] = 'A' * (1000 * 1000)
    rc, out, _, err = diagnose(ep, tmp_path, ev)
    assert rc == 0, err
    assert out['class'] == 'unknown'
    assert "more than EventBridge's 262144" in out['details']['why']
    assert len(json.dumps(out)) < 4096


def test_malformed_input(ep, tmp_path):
    rc, out, _, err = diagnose(ep, tmp_path, None, raw_input='{"event": ')
    assert rc == 1 and out is None
    assert json.loads(err[err.index('{'):])['error'] == 'Healer.InvalidInput'
    rc, out, _, err = diagnose(ep, tmp_path, None,
                               raw_input='{"execution": "x", "event": {}}')
    assert rc == 1
    assert json.loads(err[err.index('{'):]) == {
        'error': 'Healer.InvalidInput',
        'cause': 'diagnose: "execution" must be a Step Functions execution '
                 'ARN'}


def test_disk_threshold_setting(ep, tmp_path):
    rc, out, _, _ = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'),
        HEALER_DISK_THRESHOLD='95')
    assert out['confidence'] == 0.7
    rc, out, _, err = diagnose(
        ep, tmp_path, fixture('cloudwatch-alarm-disk-used-percent.json'),
        HEALER_DISK_THRESHOLD='95%')
    assert rc == 2
    assert 'HEALER_DISK_THRESHOLD: "95%" is not a decimal number' in err
