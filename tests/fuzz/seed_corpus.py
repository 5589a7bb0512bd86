#!/usr/bin/python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/seed_corpus.py

Seeds are well-formed inputs of each parser (built from the event
fixtures in tests/fixtures/events, docs/ACTIVITIES.md, the local stand-ins' answers and the AWS
signing test suite) plus a few known-tricky ones; libFuzzer mutates from
there. Existing files with the same name are overwritten; other files in
the corpus directories (e.g. committed crash regressions, named
`regress-*`) are left alone. Stdlib only.
"""

import hashlib
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
SHARED = os.path.normpath(os.path.join(REPO, '..', 'shared'))
FIXTURES = os.path.join(REPO, 'tests', 'fixtures', 'events')
SIGV4_SUITE = os.path.join(SHARED, 'testdata', 'aws-signing-test-suite', 'v4')
CORPUS = os.path.join(HERE, 'corpus')

EXEC = ('arn:aws:states:us-east-1:123456789012:execution:healer-engine:'
        'evt-5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f')
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
CERT = ('arn:aws:acm:us-east-1:123456789012:certificate/'
        '3f0c6a0e-8b1d-4a52-9d7e-2b1f0c9e7a11')
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
TOKEN = 'IQoJb3JpZ2luX2VjEJr' + 'A' * 60 + '=='


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    elif not isinstance(data, (bytes, bytearray)):
        data = json.dumps(data, indent=1).encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def fixtures():
    out = {}
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith('.json'):
            with open(os.path.join(FIXTURES, name)) as f:
                out[name[:-5]] = json.load(f)
    return out


def resource(kind):
    if kind == 'instance':
        return {'type': 'instance', 'id': INSTANCE,
                'arn': 'arn:aws:ec2:us-east-1:123456789012:instance/' + INSTANCE,
                'account': '123456789012', 'region': 'us-east-1'}
    if kind == 'security-group':
        return {'type': 'security-group', 'id': GROUP,
                'arn': 'arn:aws:ec2:us-east-1:123456789012:security-group/' + GROUP,
                'account': '123456789012', 'region': 'us-east-1'}
    return {'type': 'certificate', 'id': CERT, 'arn': CERT,
            'account': '123456789012', 'region': 'us-east-1'}


def diagnosis(cls):
    details = {
        'disk_pressure': {'instanceId': INSTANCE, 'path': '/', 'device': 'nvme0n1p1',
                          'fstype': 'xfs', 'threshold': 85, 'usedPercent': 91.3},
        'public_ssh': {'groupId': GROUP, 'configRuleName': 'restricted-ssh',
                       'complianceType': 'NON_COMPLIANT'},
        'cert_expiry': {'certificateArn': CERT, 'commonName': 'www.example.com',
                        'daysToExpiry': 30, 'eventType': 'approaching-expiration'},
        'unknown': {'why': 'EC2 Instance State-change Notification is not handled',
                    'source': 'aws.ec2', 'detailType': 'EC2 Instance State-change Notification'},
    }[cls]
    kind = {'disk_pressure': 'instance', 'public_ssh': 'security-group',
            'cert_expiry': 'certificate', 'unknown': None}[cls]
    return {'class': cls, 'confidence': 0.95 if kind else 0.0, 'reason': 'seed',
            'resource': resource(kind) if kind else None,
            'owner': 'team-storage@example.com' if kind else None,
            'plan': ['seed step'], 'details': details}


def activity_corpus(events):
    write('activity', 'echo.json', {'hello': 'world'})
    for name, ev in events.items():
        write('activity', f'guard-{name}.json', {'execution': EXEC, 'dryRun': True, 'event': ev})
        write('activity', f'diagnose-{name}.json', {'execution': EXEC, 'dryRun': False, 'event': ev})
    for cls in ('disk_pressure', 'public_ssh', 'cert_expiry'):
        write('activity', f'remediate-{cls}.json',
              {'execution': EXEC, 'dryRun': False, 'diagnosis': diagnosis(cls)})
    write('activity', 'remediate-hostile-path.json',
          {'execution': EXEC, 'dryRun': False,
           'diagnosis': dict(diagnosis('disk_pressure'),
                             details={'instanceId': INSTANCE, 'path': '/; rm -rf / #',
                                      'usedPercent': 91})})
    for rec in record_inputs(events):
        write('activity', 'record-' + rec[0] + '.json', rec[1])
    write('activity', 'not-an-object.json', '[1, 2, 3]')
    write('activity', 'format-strings.json',
          {'execution': EXEC + '%n%s%s', 'mode': 'resolved%n', 'event': {'id': '%s%s%n%x'}})


def record_inputs(events):
    disk = events['cloudwatch-alarm-disk-used-percent']
    unknown = events['ec2-instance-state-change-unclassifiable']
    resolved = {
        'execution': EXEC, 'dryRun': False, 'mode': 'resolved', 'startedAt': '2026-11-27T04:50:00.123Z',
        'event': disk, 'guard': {'proceed': True, 'reason': 'ok', 'resource': resource('instance')},
        'diagnosis': diagnosis('disk_pressure'),
        'remediation': {'action': 'disk_cleanup', 'dryRun': False, 'applied': True, 'verified': True,
                        'escalate': False, 'reason': 'usage 91% -> 62%, freed 12.3 GiB',
                        'before': {'usedPercent': 91, 'path': '/'},
                        'after': {'usedPercent': 62, 'path': '/'}, 'rollback': None,
                        'details': {'ownerMessage': 'I closed port 22 for you. Please use the VPN.'}},
        'ticket': {'key': 'OPS-12', 'url': 'https://example.atlassian.net/browse/OPS-12'},
    }
    escalated = {
        'execution': EXEC, 'dryRun': True, 'mode': 'escalated', 'event': unknown,
        'guard': {'proceed': True, 'reason': 'ok', 'resource': None},
        'diagnosis': diagnosis('unknown'),
        'error': {'Error': 'Healer.Diagnose.Unknown', 'Cause': 'no rule matches\nsource aws.ec2'},
        'record': {'ticket': {'key': 'OPS-7', 'url': 'https://example.atlassian.net/browse/OPS-7'}},
    }
    hostile = json.loads(json.dumps(resolved))
    hostile['mode'] = 'escalated'
    hostile['diagnosis']['owner'] = '<!channel> \u202eevil\u202c @here'
    hostile['error'] = {'Error': 'E\x1b[31m', 'Cause': '%n%s\r\n<https://evil|click>'}
    hostile['remediation']['rollback'] = "aws ec2 x'; rm -rf / #"
    return [('resolved', resolved), ('escalated', escalated), ('hostile', hostile)]


def aws_response_corpus():
    ok = b'\x00\x00'      # 200
    bad = b'\x02\x00'     # 400
    e500 = b'\x07\x00'    # 500
    task = {'taskToken': 'AAAAKgAAAAIAAAAAAAAAA' + 'x' * 40, 'input': json.dumps({'a': 1})}
    write('aws_response', 'task.bin', ok + b'\n' + json.dumps(task).encode())
    write('aws_response', 'empty-poll.bin', ok + b'\n{}')
    write('aws_response', 'empty-body.bin', ok + b'\n')
    write('aws_response', 'type-error.bin', bad + b'\n' + json.dumps(
        {'__type': 'com.amazonaws.swf.service.model#TaskTimedOut',
         'message': 'Task Timed Out'}).encode())
    write('aws_response', 'code-error.bin', bad + b'\n' + json.dumps(
        {'code': 'ThrottlingException', 'Message': 'Rate exceeded'}).encode())
    write('aws_response', 'header-error.bin',
          bad + b'ValidationException:http://internal.amazon.com/coral/\n'
          + b'{"message":"1 validation error detected"}')
    write('aws_response', 'html-500.bin', e500 + b'\n<html><body>Internal</body></html>')
    write('aws_response', 'trailing.bin', ok + b'\n{"a":1} {"b":2}')
    write('aws_response', 'nested.bin', ok + b'\n' + b'{"a":' * 40 + b'1' + b'}' * 40)


def creds_doc_corpus():
    exp = '2026-11-27T05:00:00Z'
    write('creds_doc', 'ecs.bin', b'\x00' + json.dumps(
        {'RoleArn': 'arn:aws:iam::123456789012:role/healer-task', 'AccessKeyId': 'ASIAEXAMPLE0000000001',
         'SecretAccessKey': SECRET, 'Token': TOKEN, 'Expiration': exp}).encode())
    write('creds_doc', 'imds.bin', b'\x01' + json.dumps(
        {'Code': 'Success', 'LastUpdated': '2026-11-27T04:00:00Z', 'Type': 'AWS-HMAC',
         'AccessKeyId': 'ASIAEXAMPLE0000000002', 'SecretAccessKey': SECRET, 'Token': TOKEN,
         'Expiration': exp}).encode())
    write('creds_doc', 'imds-failed.bin', b'\x01' + json.dumps(
        {'Code': 'AssumeRoleUnauthorizedAccess', 'Message': 'no'}).encode())
    write('creds_doc', 'process.bin', b'\x02' + json.dumps(
        {'Version': 1, 'AccessKeyId': 'AKIDEXAMPLE', 'SecretAccessKey': SECRET,
         'SessionToken': TOKEN, 'Expiration': '2026-11-27T05:00:00.123+00:00'}).encode())
    write('creds_doc', 'process-static.bin', b'\x02' + json.dumps(
        {'Version': 1, 'AccessKeyId': 'AKIDEXAMPLE', 'SecretAccessKey': SECRET}).encode())
    write('creds_doc', 'crlf-token.bin', b'\x00' + json.dumps(
        {'AccessKeyId': 'ASIA1', 'SecretAccessKey': SECRET,
         'Token': 'abc\r\nX-Injected: 1', 'Expiration': exp}).encode())


def creds_ini_corpus():
    cred = ('[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = ' + SECRET +
            '\n\n[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=' + SECRET +
            '\naws_session_token = ' + TOKEN + '\n')
    conf = ('# comment\n[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 10\n'
            '[profile tools]\ncredential_process = /opt/bin/creds --profile "tools x" \'a b\'\n'
            '[profile assume]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n')
    write('creds_ini', 'default.bin', cred + '\0' + conf + '\0default')
    write('creds_ini', 'dev.bin', cred + '\0' + conf + '\0dev')
    write('creds_ini', 'process.bin', '\0' + conf + '\0tools')
    write('creds_ini', 'assume.bin', '\0' + conf + '\0assume')
    write('creds_ini', 'bom-crlf.bin', '\ufeff[default]\r\naws_access_key_id: A\r\n'
          'aws_secret_access_key: B\r\n')
    write('creds_ini', 'bad-line.bin', '[default]\njust text\n')


def creds_cmd_corpus():
    for i, line in enumerate([
            '/opt/bin/creds --profile tools',
            '"/opt/my tools/creds" \'single quoted $HOME\' plain\\ space "a \\" b"',
            'creds "unbalanced',
            'creds trailing\\',
            '   ',
            'sh -c \'echo; rm -rf /\' `id` $(id) | tee',
            'http://127.0.0.1:51679/creds',
            'https://creds.example.com/v2/credentials/abc',
            'http://169.254.170.2/v2/credentials/abc',
            'http://[::1]:8080/x',
            'http://evil.example.com@127.0.0.1/',
            'http://127.0.0.1@evil.example.com/']):
        write('creds_cmd', f'seed-{i:02d}.txt', line)


def config_corpus():
    def nul(*parts):
        return '\0'.join(parts)
    write('config', 'env.bin', nul('AWS_REGION=us-east-1', 'HEALER_ACTIVITIES=diagnose:8,remediate-disk:4',
                                   'HEALER_ACTIVITY_ARN_PREFIX=arn:aws:states:us-east-1:123456789012:activity:healer-'))
    write('config', 'flags.bin', nul('--region', 'eu-west-1', '--activities', 'guard:2,v2=diagnose:3',
                                     '--activity-arn-prefix=arn:aws:states:eu-west-1:123456789012:activity:',
                                     '--dry-run', '--log-level', 'debug', '--heartbeat-interval',
                                     'guard=10', '--executors', '4', 'serve'))
    write('config', 'arns.bin', nul('AWS_DEFAULT_REGION=us-east-1', '--activities', 'echo:1',
                                    '--activity-arns', 'echo=arn:aws:states:us-east-1:123456789012:activity:e',
                                    '--worker-name', 'w\x01bad', '--'))
    write('config', 'help.bin', nul('--bogus', '--help'))
    write('config', 'ecs.bin', nul('ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/abc-123',
                                   'AWS_REGION=us-east-1', '--activities=audit:1000',
                                   '--activity-arn-prefix', 'arn:aws:states:us-east-1:123456789012:activity:'))


def sigv4_corpus():
    if os.path.isdir(SIGV4_SUITE):
        for case in sorted(os.listdir(SIGV4_SUITE)):
            src = os.path.join(SIGV4_SUITE, case, 'request.txt')
            if os.path.isfile(src):
                with open(src, 'rb') as f:
                    data = f.read().replace(b'\r\n', b'\n')
                write('sigv4', case + '.txt', data)
    write('sigv4', 'sfn-token.txt', 'POST / HTTP/1.1\nHost:states.us-east-1.amazonaws.com\n'
          'Content-Type:application/x-amz-json-1.0\nX-Amz-Target:AWSStepFunctions.GetActivityTask\n'
          '@token:' + TOKEN + '\n\n{"activityArn":"arn:aws:states:us-east-1:123456789012:activity:x"}')
    write('sigv4', 'odd-path.txt', 'GET /a/./b/../%2e%2E/c//%7e~?x=%zz&a&b=&=c&a=2 HTTP/1.1\n'
          'Host:example.amazonaws.com\nX-A:  spaced   value  \nx-a:second\n\n')
    write('sigv4', 'crlf-header.txt', 'GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Bad:a\rb\n\n')


def health_corpus():
    now = 1795750000000
    head = struct.pack('<qH', now, 30)
    doc = {'pid': 1, 'updated_ms': now - 1000, 'status': 'ok', 'open_polls': 4, 'busy_slots': 1,
           'tasks_received': 10, 'results_undelivered': 0}
    write('health', 'ok.bin', head + json.dumps(doc).encode())
    write('health', 'stale.bin', head + json.dumps(dict(doc, updated_ms=now - 600000)).encode())
    write('health', 'stuck.bin', head + json.dumps(dict(doc, status='stuck')).encode())
    write('health', 'draining.bin', head + json.dumps(dict(doc, status='draining')).encode())
    write('health', 'wrapped-pid.bin', head + json.dumps(dict(doc, pid=4294967297)).encode())
    write('health', 'garbage.bin', head + b'not json')
    # Regressions: "status": null crashed `healer health` (strcmp on NULL);
    # an updated_ms far in the past overflowed the age computation.
    write('health', 'regress-status-null.bin', head + json.dumps(dict(doc, status=None)).encode())
    write('health', 'regress-int64-min.bin', head + json.dumps(dict(doc, updated_ms=-2**63)).encode())


def jira_corpus():
    issue = {'id': '10012', 'key': 'OPS-12',
             'fields': {'status': {'name': 'To Do', 'statusCategory': {'key': 'new'}}}}
    write('jira', 'search.bin', b'\x00' + json.dumps({'issues': [issue], 'isLast': True}).encode())
    write('jira', 'search-empty.bin', b'\x00' + json.dumps({'issues': []}).encode())
    write('jira', 'transitions.bin', b'\x00' + json.dumps({'transitions': [
        {'id': '11', 'name': 'Start', 'to': {'statusCategory': {'key': 'indeterminate'}}},
        {'id': '31', 'name': 'Done', 'to': {'statusCategory': {'key': 'done'}}}]}).encode())
    write('jira', 'error.bin', b'\x00' + json.dumps(
        {'errorMessages': ['Field \'labels\' cannot be set.'],
         'errors': {'summary': 'Summary is required', 'project': 'valid project is required'}}).encode())
    write('jira', 'error-500.bin', b'\x64<html>Service Unavailable</html>')
    write('jira', 'key.bin', b'\x00OPS-123')
    write('jira', 'label.bin', b'\x00healer-0123456789abcdef')


def slack_corpus():
    write('slack', 'posted.bin', b'\x00' + json.dumps(
        {'ok': True, 'channel': 'C0HEALER01', 'ts': '1795750000.000100',
         'message': {'text': 'x'}}).encode())
    write('slack', 'lookup.bin', b'\x00' + json.dumps(
        {'ok': True, 'user': {'id': 'U0OWNER001', 'name': 'owner'}}).encode())
    write('slack', 'error.bin', b'\x00' + json.dumps({'ok': False, 'error': 'channel_not_found'}).encode())
    write('slack', 'hostile-error.bin', b'\x00' + json.dumps(
        {'ok': False, 'error': 'x\n<!channel> %s%n'}).encode())
    write('slack', 'ratelimited.bin', b'\xc8' + json.dumps({'ok': False, 'error': 'ratelimited'}).encode())
    write('slack', 'text.bin', b'\x00<!channel> & <https://evil|click> \u202e')
    write('slack', 'email.bin', b'\x00owner@example.com')


def record_corpus(events):
    for name, rec in record_inputs(events):
        write('record', name + '.json', rec)
    write('record', 'time.txt', '2026-11-27T04:50:00.123456+00:00')
    write('record', 'url.txt', 'https://example.atlassian.net/rest/api/3')
    write('record', 'exec.txt', EXEC)


def disk_report_corpus():
    write('disk_report', 'success.txt', 'HEALER_USAGE_BEFORE=91\nHEALER_USAGE_AFTER=62\n'
          'HEALER_FREED_BYTES=13207024435\nHEALER_FILES_REMOVED=42\nHEALER_SIZE_BYTES=107374182400\n'
          'HEALER_TOP=66571993088 /var\nHEALER_TOP=5368709120 /var/log/app\n'
          'HEALER_TOP=1073741824 /var/cache\nHEALER_DONE=1\n')
    write('disk_report', 'still-high.txt', 'HEALER_USAGE_BEFORE=97\r\nHEALER_USAGE_AFTER=95\r\n'
          'HEALER_FREED_BYTES=0\r\nHEALER_TOP=12 /var/lib/docker/overlay2/\x1b[31mred\r\n')
    write('disk_report', 'bad.txt', 'Vacuuming done\nsomething unexpected\nHEALER_USAGE_BEFORE=101\n'
          'HEALER_FREED_BYTES=99999999999999999999\n')


def sg_config_corpus():
    base = {'groupId': GROUP, 'groupName': 'web', 'vpcId': 'vpc-0abc', 'ipPermissionsEgress': []}
    open22 = {'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22,
              'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}], 'ipRanges': ['0.0.0.0/0'],
              'ipv6Ranges': [{'cidrIpv6': '::/0'}]}
    write('sg_config', 'open22.json', dict(base, ipPermissions=[open22]))
    write('sg_config', 'mixed.json', dict(base, ipPermissions=[
        open22, {'ipProtocol': '-1', 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]},
        {'ipProtocol': 'tcp', 'fromPort': 0, 'toPort': 65535, 'ipRanges': ['0.0.0.0/0']},
        {'ipProtocol': 'tcp', 'fromPort': 3389, 'toPort': 3389, 'ipv6Ranges': [{'cidrIpv6': '::/0'}]},
        {'ipProtocol': '6', 'fromPort': 20, 'toPort': 23, 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]},
        {'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22, 'ipv4Ranges': [{'cidrIp': '10.0.0.0/8'}]}]))
    write('sg_config', 'closed.json', dict(base, ipPermissions=[]))
    write('sg_config', 'hostile.json', dict(base, ipPermissions=[
        {'ipProtocol': "tcp'; rm -rf /", 'fromPort': 22, 'toPort': 22, 'ipRanges': ['0.0.0.0/0']}]))


def sg_plan_corpus():
    def rule(proto, port, cidr):
        return {'M': {'ipProtocol': {'S': proto}, 'fromPort': {'N': str(port)},
                      'toPort': {'N': str(port)}, 'cidr': {'S': cidr}}}
    item = {'pk': {'S': 'sgplan#' + hashlib.sha256(EXEC.encode()).hexdigest()},
            'execution': {'S': EXEC}, 'groupId': {'S': GROUP},
            'rules': {'L': [rule('tcp', 22, '0.0.0.0/0'), rule('tcp', 3389, '::/0')]},
            'rollback': {'S': f"aws ec2 authorize-security-group-ingress --group-id {GROUP} "
                              "--ip-permissions '[]'"},
            'plannedAt': {'S': '2026-11-27T09:00:00.123Z'}, 'capturedAt': {'N': '1795770000.500'},
            'automationExecutionId': {'S': '0123abcd-0123-4567-89ab-0123456789ab'},
            'expires_at': {'N': '1797000000'}}
    write('sg_plan', 'plan.json', item)
    write('sg_plan', 'empty.json', dict(item, rules={'L': []}))
    write('sg_plan', 'hostile.json', dict(item, rules={'L': [
        rule("tcp'; rm -rf /", 22, '0.0.0.0/0'), rule('tcp', 99999, '10.0.0.0/8')]}))


def acm_cert_corpus():
    cert = {'CertificateArn': CERT, 'DomainName': 'www.example.com',
            'SubjectAlternativeNames': ['www.example.com', 'example.com'],
            'Status': 'ISSUED', 'Type': 'AMAZON_ISSUED', 'RenewalEligibility': 'ELIGIBLE',
            'NotBefore': 1764000000, 'NotAfter': 1797000000,
            'InUseBy': ['arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188'],
            'DomainValidationOptions': [{'DomainName': 'www.example.com', 'ValidationMethod': 'DNS',
                                         'ValidationStatus': 'SUCCESS',
                                         'ResourceRecord': {'Name': '_x.www.example.com.', 'Type': 'CNAME',
                                                            'Value': '_y.acm-validations.aws.'}}],
            'Options': {'CertificateTransparencyLoggingPreference': 'ENABLED', 'Export': 'DISABLED'},
            'RenewalSummary': {'RenewalStatus': 'PENDING_AUTO_RENEWAL',
                               'DomainValidationOptions': [], 'UpdatedAt': 1795000000}}
    write('acm_cert', 'amazon-issued.json', {'Certificate': cert})
    write('acm_cert', 'private.json', {'Certificate': dict(cert, Type='PRIVATE')})
    write('acm_cert', 'imported.json', {'Certificate': dict(cert, Type='IMPORTED', RenewalEligibility='INELIGIBLE')})
    write('acm_cert', 'email.json', {'Certificate': dict(cert, DomainValidationOptions=[
        {'DomainName': 'www.example.com', 'ValidationMethod': 'EMAIL', 'ValidationStatus': 'PENDING_VALIDATION',
         'ValidationEmails': ['admin@example.com']}])})
    write('acm_cert', 'failed.json', {'Certificate': dict(cert, RenewalSummary={
        'RenewalStatus': 'FAILED', 'RenewalStatusReason': 'CAA_ERROR'})})
    write('acm_cert', 'far-future.json', '{"Certificate": {"Status": "ISSUED", "NotAfter": 1e300}}')


def event_corpus(events):
    for name in events:
        shutil.copyfile(os.path.join(FIXTURES, name + '.json'),
                        os.path.join(CORPUS, 'event', name + '.json'))


def main():
    events = fixtures()
    os.makedirs(os.path.join(CORPUS, 'event'), exist_ok=True)
    event_corpus(events)
    activity_corpus(events)
    aws_response_corpus()
    creds_doc_corpus()
    creds_ini_corpus()
    creds_cmd_corpus()
    config_corpus()
    sigv4_corpus()
    health_corpus()
    jira_corpus()
    slack_corpus()
    record_corpus(events)
    disk_report_corpus()
    sg_config_corpus()
    sg_plan_corpus()
    acm_cert_corpus()
    total = sum(len(files) for _, _, files in os.walk(CORPUS))
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(CORPUS)):
        for f in sorted(files):
            with open(os.path.join(root, f), 'rb') as fh:
                digest.update(fh.read())
    print(f'{total} seed files under {os.path.relpath(CORPUS, REPO)} (sha256 {digest.hexdigest()[:12]})')


if __name__ == '__main__':
    main()
