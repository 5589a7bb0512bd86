"""The record activities (ticket, notify, audit) against the local stand-ins.

Each test runs `build/healer run-activity NAME --input FILE` with the
environment pointing at the local AWS endpoint (which also serves the
Slack and Jira stand-ins under /_slack/api and /_jira) and at dynalite for
DynamoDB, then judges by what the stand-ins recorded.  One endpoint and one
dynalite serve the whole module; the endpoint is reset before each test and
each test uses its own execution ARN, so tests do not see each other's
records.  Every run also checks that no secret (Slack token, Jira token,
Basic credentials, AWS secret key) appears in anything the worker printed.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

HEALER_BIN = os.environ.get('HEALER_BIN', os.path.join(
    os.path.dirname(__file__), '..', '..', 'build', 'healer'))

SLACK_TOKEN = 'xoxb-test-0000-healer-token'
JIRA_EMAIL = 'healer-bot@example.com'
JIRA_TOKEN = 'jira-test-token-0000'
AUDIT_TABLE = 'healer-audit'
CHANNEL = 'C0HEALER01'
OWNER_EMAIL = 'owner@example.com'
OWNER_ID = 'U0OWNER001'

DISK_EVENT = {
    'version': '0', 'id': '5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f',
    'detail-type': 'CloudWatch Alarm State Change', 'source': 'aws.cloudwatch',
    'account': '123456789012', 'time': '2024-05-14T09:12:40Z',
    'region': 'us-east-1',
    'resources': ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:disk'],
    'detail': {'alarmName': 'disk', 'state': {'value': 'ALARM'}},
}
EC2_EVENT = {
    'version': '0', 'id': '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    'source': 'aws.ec2', 'account': '123456789012',
    'time': '2024-05-14T21:29:54Z', 'region': 'us-east-1',
    'resources': ['arn:aws:ec2:us-east-1:123456789012:instance/'
                  'i-0abcd1234ef567890'],
    'detail': {'instance-id': 'i-0abcd1234ef567890', 'state': 'stopped'},
}
INSTANCE = {'type': 'instance', 'id': 'i-0abcd1234ef567890',
            'arn': 'arn:aws:ec2:us-east-1:123456789012:instance/'
                   'i-0abcd1234ef567890',
            'account': '123456789012', 'region': 'us-east-1'}


# -- fixtures -------------------------------------------------------------------

@pytest.fixture(scope='module')
def stands():
    with LocalAWS() as ep, Dynalite() as ddb:
        ddb.create_table(AUDIT_TABLE, 'execution', 'at', gsis=[
            {'name': 'resource-index', 'hash_key': 'resource',
             'range_key': 'at'}])
        yield ep, ddb


@pytest.fixture
def ep(stands):
    endpoint, _ = stands
    endpoint.reset()
    return endpoint


@pytest.fixture
def ddb(stands):
    return stands[1]


def secrets():
    basic = base64.b64encode(f'{JIRA_EMAIL}:{JIRA_TOKEN}'.encode()).decode()
    return [SLACK_TOKEN, JIRA_TOKEN, basic,
            'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY']


def base_env(ep, ddb, **extra):
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
           'HOME': tempfile.gettempdir(),
           'AWS_EC2_METADATA_DISABLED': 'true',
           'HEALER_JIRA_URL': ep.url + '/_jira',
           'HEALER_JIRA_EMAIL': JIRA_EMAIL,
           'HEALER_JIRA_API_TOKEN': JIRA_TOKEN,
           'HEALER_JIRA_PROJECT': 'OPS',
           'HEALER_SLACK_API_URL': ep.url + '/_slack/api',
           'HEALER_SLACK_TOKEN': SLACK_TOKEN,
           'HEALER_SLACK_CHANNEL': CHANNEL,
           'HEALER_AUDIT_TABLE': AUDIT_TABLE}
    env.update(ep.env())
    env.update(ddb.env())
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Run:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.logs = [json.loads(line) for line in proc.stdout.splitlines()
                     if line.startswith('{"ts"')]
        rest = '\n'.join(line for line in proc.stdout.splitlines()
                         if not line.startswith('{"ts"'))
        self.output = json.loads(rest) if self.rc == 0 else None
        self.error = json.loads(proc.stderr) if self.rc != 0 and \
            proc.stderr.strip().startswith('{') else None

    def log(self, msg):
        return [line for line in self.logs if line.get('msg') == msg]


def run(env, activity, inp, dry_run=False, timeout=60):
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(inp, f)
        path = f.name
    try:
        args = [HEALER_BIN, 'run-activity', activity, '--input', path]
        if dry_run:
            args.append('--dry-run')
        t0 = time.monotonic()
        proc = subprocess.run(args, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
    finally:
        os.unlink(path)
    for secret in secrets():
        assert secret not in proc.stdout and secret not in proc.stderr, \
            f'a secret leaked into the output of {activity}'
    return Run(proc, elapsed)


def execution():
    return ('arn:aws:states:us-east-1:123456789012:execution:healer-engine:'
            'evt-' + uuid.uuid4().hex[:20])


def resolved_input(exe=None, **over):
    inp = {
        'execution': exe or execution(), 'dryRun': False, 'mode': 'resolved',
        'event': DISK_EVENT,
        'guard': {'proceed': True, 'reason': 'ok', 'resource': INSTANCE},
        'diagnosis': {'class': 'disk_pressure', 'confidence': 0.95,
                      'reason': 'CloudWatch alarm disk_used_percent >= 85 on '
                                'i-0abcd1234ef567890 path /',
                      'resource': INSTANCE, 'owner': OWNER_EMAIL,
                      'plan': ['vacuum journald'], 'details': {}},
        'remediation': {'action': 'disk_cleanup', 'dryRun': False,
                        'applied': True, 'verified': True, 'escalate': False,
                        'reason': 'usage 91% -> 62%, freed 12.3 GiB',
                        'before': {'usedPercent': 91},
                        'after': {'usedPercent': 62},
                        'rollback': None, 'details': {}},
    }
    inp.update(over)
    return inp


def escalated_unknown_input(exe=None):
    return {
        'execution': exe or execution(), 'dryRun': False, 'mode': 'escalated',
        'event': EC2_EVENT,
        'guard': {'proceed': True, 'reason': 'ok', 'resource': None},
        'diagnosis': {'class': 'unknown', 'confidence': 0.0,
                      'reason': 'not a known event',
                      'resource': None, 'owner': None, 'plan': [],
                      'details': {'why': 'EC2 Instance State-change '
                                         'Notification is not handled',
                                  'source': 'aws.ec2',
                                  'detailType': 'EC2 Instance State-change '
                                                'Notification'}},
        'error': {'Error': 'Healer.Diagnose.Unknown',
                  'Cause': 'no rule matches source aws.ec2'},
    }


def jira(ep):
    return ep.admin('GET', '/_admin/jira')


def slack(ep):
    return ep.admin('GET', '/_admin/slack')


def adf_text(doc):
    out = []
    for block in (doc or {}).get('content', []):
        out.append(''.join(n.get('text', '\n')
                           for n in block.get('content', [])))
    return '\n'.join(out)


def label_of(exe):
    import hashlib
    return 'healer-' + hashlib.sha256(exe.encode()).hexdigest()[:16]


# -- ticket ------------------------------------------------------------------------

def test_ticket_created_once_across_two_runs(ep, ddb):
    env = base_env(ep, ddb)
    inp = resolved_input()
    first = run(env, 'ticket', inp)
    second = run(env, 'ticket', inp)
    assert first.rc == 0, first.stderr
    assert second.rc == 0, second.stderr
    assert first.output['created'] is True
    assert second.output['created'] is False
    assert first.output['key'] == second.output['key'] == 'OPS-1'
    assert first.output['url'] == ep.url + '/_jira/browse/OPS-1'
    issues = jira(ep)['issues']
    assert len(issues) == 1
    issue = issues[0]
    assert issue['labels'][:2] == ['healer', label_of(inp['execution'])]
    assert 'disk_pressure' in issue['labels']
    assert len(issue['comments']) == 1, 'the retry must not comment again'
    creates = [r for r in jira(ep)['requests'] if r['route'] == 'create']
    assert len(creates) == 1
    assert all(r['auth'] == 'valid' for r in jira(ep)['requests'])
    # The memo the second run used: the issue key, kept in the audit table.
    memo = ddb.get_item(AUDIT_TABLE, {'execution': {'S': inp['execution']},
                                      'at': {'S': 'ticket'}})
    assert memo['ticketKey'] == {'S': 'OPS-1'}
    assert memo['kind'] == {'S': 'ticket'}


def test_ticket_memo_covers_lagging_search(ep, ddb):
    """Jira's search is eventually consistent: with a just-created issue
    invisible to search, the second run still finds it (through the memo)."""
    ep.admin('POST', '/_admin/jira', {'search_lag_s': 600})
    env = base_env(ep, ddb)
    inp = resolved_input()
    assert run(env, 'ticket', inp).rc == 0
    second = run(env, 'ticket', inp)
    assert second.rc == 0, second.stderr
    assert second.output['created'] is False
    assert len(jira(ep)['issues']) == 1
    routes = [r['route'] for r in jira(ep)['requests']]
    assert routes.count('create') == 1


def test_ticket_works_without_dynamodb(ep, ddb):
    """The memo is an optimisation: with DynamoDB unreachable the ticket is
    still filed once (found by label on the retry) and only a warning is
    logged."""
    env = base_env(ep, ddb, AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:9',
                   AWS_MAX_ATTEMPTS='1')
    inp = resolved_input()
    first = run(env, 'ticket', inp)
    second = run(env, 'ticket', inp)
    assert first.rc == 0, first.stderr
    assert second.rc == 0, second.stderr
    assert (first.output['created'], second.output['created']) == (True, False)
    assert len(jira(ep)['issues']) == 1
    assert first.log('ticket: cannot write the ticket memo')
    assert second.log('ticket: cannot read the ticket memo; searching Jira '
                      'instead')


def test_resolved_closes_with_comment(ep, ddb):
    inp = resolved_input()
    r = run(base_env(ep, ddb), 'ticket', inp)
    assert r.rc == 0, r.stderr
    assert r.output['status'] == 'closed'
    issue = jira(ep)['issues'][0]
    assert issue['status'] == 'Done'
    assert [t['id'] for t in issue['transitions']] == ['31']
    text = adf_text(issue['comments'][0]['body'])
    assert 'Resolved by healer: usage 91% -> 62%, freed 12.3 GiB' in text
    assert f'[{label_of(inp["execution"])}/resolved]' in text
    assert issue['summary'] == ('[healer] Remediated disk_pressure on '
                                'i-0abcd1234ef567890: usage 91% -> 62%, '
                                'freed 12.3 GiB')
    # The search used the current endpoint, never the removed one.
    routes = [x['route'] for x in jira(ep)['requests']]
    assert 'legacy-search' not in routes
    search = next(x for x in jira(ep)['requests'] if x['route'] == 'search')
    assert search['path'] == '/_jira/rest/api/3/search/jql'
    assert search['body']['jql'] == (
        f'project = "OPS" AND labels = "{label_of(inp["execution"])}" '
        'ORDER BY created ASC')


def test_resolved_without_done_transition_stays_open(ep, ddb):
    ep.admin('POST', '/_admin/jira', {'workflow': 'no_done'})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output['status'] == 'open'
    assert r.output['note'] == ('the workflow offers no transition to a done '
                                'status')


def test_escalated_stays_open_with_reason_and_raw_event(ep, ddb):
    inp = escalated_unknown_input()
    r = run(base_env(ep, ddb), 'ticket', inp)
    assert r.rc == 0, r.stderr
    assert r.output['status'] == 'open'
    issue = jira(ep)['issues'][0]
    assert issue['status'] == 'To Do'
    assert issue['transitions'] == []
    assert 'unknown' in issue['labels'] and 'escalated' in issue['labels']
    comment = adf_text(issue['comments'][0]['body'])
    assert comment.startswith('Escalated: Healer.Diagnose.Unknown: no rule '
                              'matches source aws.ec2')
    assert '"id":"7bf73129-1428-4cd3-a780-95db273d1602"' in \
        comment.replace(' ', '')
    console = ('https://us-east-1.console.aws.amazon.com/states/home?'
               'region=us-east-1#/v2/executions/details/' + inp['execution'])
    links = [m['attrs']['href']
             for b in issue['comments'][0]['body']['content']
             for n in b.get('content', []) for m in n.get('marks', [])
             if m['type'] == 'link']
    assert links == [console]
    desc = adf_text(issue['description'])
    assert 'needs a person' in desc
    assert 'EC2 Instance State-change Notification' in desc
    code = [b for b in issue['description']['content']
            if b['type'] == 'codeBlock']
    raw = json.loads(code[-1]['content'][0]['text'])
    assert raw == EC2_EVENT


def test_ticket_dry_run_is_filed_and_labelled(ep, ddb):
    inp = resolved_input(dryRun=True)
    inp['remediation'].update(applied=False, reason='would vacuum journald')
    r = run(base_env(ep, ddb), 'ticket', inp)
    assert r.rc == 0, r.stderr
    assert r.output['dryRun'] is True
    issue = jira(ep)['issues'][0]
    assert 'dry-run' in issue['labels']
    assert issue['summary'].startswith('[healer][dry-run] Would remediate '
                                       'disk_pressure')
    assert adf_text(issue['description']).startswith(
        'This ticket records a DRY RUN: healer changed nothing.')


def test_ticket_not_configured_is_skipped(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_JIRA_PROJECT=None), 'ticket',
            resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output['status'] == 'skipped'
    assert r.output['skipped'] == 'not configured'
    assert jira(ep)['requests'] == []


def test_jira_500_then_success_is_retried(ep, ddb):
    ep.admin('POST', '/_admin/jira/fail', {'route': 'search', 'status': 500})
    ep.admin('POST', '/_admin/jira/fail', {'route': 'transitions',
                                           'status': 503})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output['status'] == 'closed'
    statuses = [(x['route'], x['status']) for x in jira(ep)['requests']]
    assert statuses[:2] == [('search', 500), ('search', 200)]
    assert ('transitions', 503) in statuses


def test_jira_create_ambiguous_failure_does_not_duplicate(ep, ddb):
    """The create took effect but its answer was a 502: the activity looks
    again before creating, and finds the issue."""
    ep.admin('POST', '/_admin/jira/fail', {'route': 'create', 'status': 502,
                                           'after_effect': True})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output['key'] == 'OPS-1'
    assert len(jira(ep)['issues']) == 1
    routes = [x['route'] for x in jira(ep)['requests']]
    assert routes[:3] == ['search', 'create', 'search']
    assert routes.count('create') == 1


def test_jira_comment_ambiguous_failure_does_not_duplicate(ep, ddb):
    ep.admin('POST', '/_admin/jira/fail', {'route': 'comment', 'status': 500,
                                           'after_effect': True})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 0, r.stderr
    (issue,) = jira(ep)['issues']
    assert len(issue['comments']) == 1
    routes = [x['route'] for x in jira(ep)['requests']]
    assert routes.count('comment') == 1 and routes.count('comments') == 2


def test_jira_persistent_500_fails_unavailable(ep, ddb):
    ep.admin('POST', '/_admin/jira/fail', {'route': 'search', 'status': 500,
                                           'count': 10})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 1
    assert r.error['error'] == 'Healer.Ticket.Unavailable'
    assert r.error['cause'] == ('Jira find or create issue: Jira answered '
                                'HTTP 500: Internal server error.')
    assert [x['route'] for x in jira(ep)['requests']] == ['search'] * 3


def test_jira_429_retry_after_is_honoured(ep, ddb):
    ep.admin('POST', '/_admin/jira/fail', {'route': 'create', 'status': 429,
                                           'retry_after': 1})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 0, r.stderr
    creates = [x for x in jira(ep)['requests'] if x['route'] == 'create']
    assert [c['status'] for c in creates] == [429, 201]
    assert creates[1]['at'] - creates[0]['at'] >= 0.95
    assert len(jira(ep)['issues']) == 1


def test_jira_429_beyond_the_limit_is_throttled(ep, ddb):
    ep.admin('POST', '/_admin/jira/fail', {'route': 'search', 'status': 429,
                                           'retry_after': 3600})
    r = run(base_env(ep, ddb), 'ticket', resolved_input())
    assert r.rc == 1
    assert r.error['error'] == 'Healer.Throttled'
    assert r.elapsed < 10


def test_jira_bad_credentials_fail_unauthorized(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_JIRA_API_TOKEN='wrong-token'), 'ticket',
            resolved_input())
    assert r.rc == 1
    assert r.error['error'] == 'Healer.Ticket.Unauthorized'
    assert r.error['cause'] == (
        'Jira find or create issue: Jira answered HTTP 401: You are not '
        'authenticated. Authentication required to perform this operation.')
    assert 'wrong-token' not in r.stdout + r.stderr


def test_jira_400_fails_with_jiras_messages(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_JIRA_ISSUE_TYPE='Epic'), 'ticket',
            resolved_input())
    assert r.rc == 1
    assert r.error['error'] == 'Healer.Ticket.BadRequest'
    assert r.error['cause'] == ('Jira find or create issue: Jira answered '
                                'HTTP 400: issuetype: The issue type '
                                'selected is invalid.')


def test_ticket_rejects_plain_http_to_a_remote_host(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_JIRA_URL='http://jira.example.com'),
            'ticket', resolved_input())
    assert r.rc == 2
    assert 'HEALER_JIRA_URL: must be an https URL' in r.stderr


def test_invalid_execution_is_invalid_input(ep, ddb):
    inp = resolved_input(execution='arn:aws:states:us-east-1:123456789012:'
                                   'execution:m:x; rm -rf /')
    for act in ('ticket', 'notify', 'audit'):
        r = run(base_env(ep, ddb), act, inp)
        assert r.rc == 1
        assert r.error == {'error': 'Healer.InvalidInput',
                           'cause': '"execution" must be a Step Functions '
                                    'execution ARN'}
    assert jira(ep)['requests'] == [] and slack(ep)['requests'] == []


# -- notify ------------------------------------------------------------------------

def test_notify_channel_alert_and_owner_dm_by_email(ep, ddb):
    inp = resolved_input()
    inp['remediation']['details']['ownerMessage'] = \
        'I closed port 22 for you. Please use the VPN.'
    inp['ticket'] = {'key': 'OPS-7', 'url': ep.url + '/_jira/browse/OPS-7'}
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert r.output['channel']['ok'] is True
    assert r.output['dm']['ok'] is True
    assert r.output['dm']['via'] == 'email'
    assert r.output['dm']['user'] == OWNER_ID
    s = slack(ep)
    methods = [x['method'] for x in s['requests']]
    assert methods == ['chat.postMessage', 'users.lookupByEmail',
                       'chat.postMessage']
    assert all(x['auth'] == 'valid' for x in s['requests'])
    lookup = s['requests'][1]
    assert lookup['contentType'] == 'application/x-www-form-urlencoded'
    assert lookup['body'] == {'email': OWNER_EMAIL}
    alert, dm = s['messages']
    assert alert['channel'] == CHANNEL
    assert 'healer remediated' in alert['text']
    assert '`disk_pressure` on `i-0abcd1234ef567890`' in alert['text']
    assert 'usage 91% -&gt; 62%, freed 12.3 GiB' in alert['text']
    assert f'<{ep.url}/_jira/browse/OPS-7|OPS-7>' in alert['text']
    assert dm['requested'] == OWNER_ID and dm['channel'] == 'D0OWNER001'
    assert dm['text'].startswith('I closed port 22 for you. Please use the '
                                 'VPN.')


def test_notify_owner_dm_to_user_id_needs_no_lookup(ep, ddb):
    inp = resolved_input()
    inp['diagnosis']['owner'] = OWNER_ID
    inp['remediation']['details']['ownerMessage'] = 'Done for you.'
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert r.output['dm']['via'] == 'user id'
    assert [x['method'] for x in slack(ep)['requests']] == \
        ['chat.postMessage', 'chat.postMessage']


@pytest.mark.parametrize('owner,why', [
    ('nobody@example.com', "the owner's e-mail address has no Slack account"),
    ('team-storage', 'the owner is neither a Slack user id nor an e-mail '
                     'address'),
    (None, 'the diagnosis names no owner'),
])
def test_notify_owner_dm_skipped(ep, ddb, owner, why):
    inp = resolved_input()
    inp['diagnosis']['owner'] = owner
    inp['remediation']['details']['ownerMessage'] = 'Done for you.'
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert r.output['channel']['ok'] is True
    assert r.output['dm'] == {'ok': False, 'skipped': why}
    assert len(slack(ep)['messages']) == 1


def test_notify_dm_skipped_in_dry_run(ep, ddb):
    inp = resolved_input(dryRun=True)
    inp['remediation']['details']['ownerMessage'] = 'Done for you.'
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert r.output['dm']['skipped'].startswith('dry run')
    (alert,) = slack(ep)['messages']
    assert 'healer would remediate* (dry run, nothing changed)' in \
        alert['text']


def test_notify_no_dm_without_owner_message(ep, ddb):
    r = run(base_env(ep, ddb), 'notify', resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output['dm'] is None
    assert [x['method'] for x in slack(ep)['requests']] == \
        ['chat.postMessage']


def test_notify_mention_injection_is_escaped(ep, ddb):
    inp = escalated_unknown_input()
    inp['error'] = {'Error': 'Healer.X', 'Cause': '<!channel> wake up & '
                    '<@U0ADMIN01> see <https://evil.example|the fix>'}
    inp['diagnosis']['owner'] = '<!here> team'
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    (alert,) = slack(ep)['messages']
    text = alert['text']
    assert '&lt;!channel&gt; wake up &amp; &lt;@U0ADMIN01&gt; see ' \
        '&lt;https://evil.example|the fix&gt;' in text
    assert '*Owner:* &lt;!here&gt; team' in text
    # The only Slack control sequences left are our own two links.
    label = label_of(inp['execution'])
    controls = re.findall(r'<([^>]*)>', text)
    assert controls == [
        f'{ep.url}/_jira/issues/?jql=labels%20%3D%20{label}|{label}',
        'https://us-east-1.console.aws.amazon.com/states/home?region='
        'us-east-1#/v2/executions/details/' + inp['execution'] + '|' +
        inp['execution'].rsplit(':', 1)[1]]
    assert '<!' not in text and '<@' not in text


def test_notify_links_the_ticket(ep, ddb):
    """Ticket and notify run in parallel: without the ticket's output the
    alert links a Jira search for the execution's label; with it (after a
    Record failure, under "record") the issue itself."""
    inp = escalated_unknown_input()
    label = label_of(inp['execution'])
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert f'*Ticket:* <{ep.url}/_jira/issues/?jql=labels%20%3D%20{label}|' \
        f'{label}>' in slack(ep)['messages'][0]['text']
    inp['record'] = {'ticket': {'key': 'OPS-3', 'url': 'https://x.atlassian'
                                '.net/browse/OPS-3', 'status': 'closed'}}
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert '*Ticket:* <https://x.atlassian.net/browse/OPS-3|OPS-3>' in \
        slack(ep)['messages'][1]['text']
    r = run(base_env(ep, ddb, HEALER_JIRA_URL=None), 'notify',
            escalated_unknown_input())
    assert r.rc == 0, r.stderr
    assert '*Ticket:*' not in slack(ep)['messages'][2]['text']


@pytest.mark.parametrize('setup,error', [
    ({'channels': {'C0OTHER001': 'elsewhere'}}, 'Healer.Notify.ChannelNotFound'),
    ({'not_member': [CHANNEL]}, 'Healer.Notify.NotInChannel'),
    ({'archived': [CHANNEL]}, 'Healer.Notify.ChannelArchived'),
    ({'token': 'xoxb-some-other-token'}, 'Healer.Notify.Unauthorized'),
])
def test_notify_slack_ok_false_fails_clearly(ep, ddb, setup, error):
    ep.admin('POST', '/_admin/slack', setup)
    r = run(base_env(ep, ddb), 'notify', resolved_input())
    assert r.rc == 1
    assert r.error['error'] == error
    code = slack(ep)['requests'][0]['response']['error']
    assert r.error['cause'] == f'Slack chat.postMessage: Slack said {code}'


def test_notify_429_retry_after_is_honoured(ep, ddb):
    ep.admin('POST', '/_admin/slack/fail', {'method': 'chat.postMessage',
                                            'status': 429, 'retry_after': 1})
    r = run(base_env(ep, ddb), 'notify', resolved_input())
    assert r.rc == 0, r.stderr
    reqs = slack(ep)['requests']
    assert [x['status'] for x in reqs] == [429, 200]
    assert reqs[1]['at'] - reqs[0]['at'] >= 0.95
    assert len(slack(ep)['messages']) == 1


def test_notify_429_beyond_the_limit_is_throttled(ep, ddb):
    ep.admin('POST', '/_admin/slack/fail', {'method': 'chat.postMessage',
                                            'status': 429,
                                            'retry_after': 3600})
    r = run(base_env(ep, ddb), 'notify', resolved_input())
    assert r.rc == 1
    assert r.error == {'error': 'Healer.Throttled',
                       'cause': 'Slack chat.postMessage: Slack rate limit: '
                                'still limited after waiting'}
    assert r.elapsed < 10


def test_notify_ok_false_ratelimited_on_dm_does_not_fail(ep, ddb):
    ep.admin('POST', '/_admin/slack/fail', {'method': 'users.lookupByEmail',
                                            'error': 'ratelimited'})
    inp = resolved_input()
    inp['remediation']['details']['ownerMessage'] = 'Done for you.'
    r = run(base_env(ep, ddb), 'notify', inp)
    assert r.rc == 0, r.stderr
    assert r.output['dm'] == {
        'ok': False, 'error': 'ratelimited',
        'skipped': "the owner's e-mail address could not be looked up"}


def test_notify_not_configured_is_skipped(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_SLACK_TOKEN=None), 'notify',
            resolved_input())
    assert r.rc == 0, r.stderr
    assert r.output == {'channel': None, 'dm': None,
                        'skipped': 'not configured'}
    assert slack(ep)['requests'] == []


# -- audit -------------------------------------------------------------------------

def query_execution(ddb, exe):
    return ddb.client().query(
        TableName=AUDIT_TABLE, KeyConditionExpression='#e = :e',
        ExpressionAttributeNames={'#e': 'execution'},
        ExpressionAttributeValues={':e': {'S': exe}},
        ConsistentRead=True)['Items']


def test_audit_item_has_every_field_and_is_not_duplicated(ep, ddb):
    inp = resolved_input(startedAt='2026-11-27T04:00:00.123Z')
    inp['remediation']['rollback'] = 'aws ec2 authorize-security-group-' \
        'ingress --group-id sg-0abcd1234ef567890 --protocol tcp --port 22'
    inp['ticket'] = {'key': 'OPS-9', 'url': 'https://x.atlassian.net/browse/'
                                            'OPS-9', 'status': 'closed'}
    env = base_env(ep, ddb)
    first = run(env, 'audit', inp)
    second = run(env, 'audit', inp)
    assert first.rc == 0, first.stderr
    assert second.rc == 0, second.stderr
    key = {'execution': inp['execution'],
           'at': '2026-11-27T04:00:00.123Z#resolved'}
    assert first.output == {'written': True, 'key': key, 'duplicate': False,
                            'dryRun': False}
    assert second.output['duplicate'] is True
    assert second.output['key'] == key
    items = query_execution(ddb, inp['execution'])
    assert len(items) == 1
    item = {k: list(v.values())[0] for k, v in items[0].items()}
    assert item['mode'] == 'resolved' and item['result'] == 'remediated'
    assert item['actor'].startswith('healer/')
    assert item['dryRun'] is False
    assert item['resource'] == 'i-0abcd1234ef567890'
    assert item['resourceType'] == 'instance'
    assert item['account'] == '123456789012'
    assert item['class'] == 'disk_pressure'
    assert float(item['confidence']) == 0.95
    assert item['action'] == 'disk_cleanup'
    assert item['applied'] is True and item['verified'] is True
    assert json.loads(item['before']) == {'usedPercent': 91}
    assert json.loads(item['after']) == {'usedPercent': 62}
    assert item['rollback'] == inp['remediation']['rollback']
    assert item['reason'] == 'usage 91% -> 62%, freed 12.3 GiB'
    assert item['ticket'] == 'OPS-9'
    assert item['eventId'] == DISK_EVENT['id']
    assert item['owner'] == OWNER_EMAIL
    assert 'ttl' not in item and 'expires_at' not in item
    # The GSI finds it by resource.
    by_resource = ddb.client().query(
        TableName=AUDIT_TABLE, IndexName='resource-index',
        KeyConditionExpression='#r = :r',
        ExpressionAttributeNames={'#r': 'resource'},
        ExpressionAttributeValues={':r': {'S': 'i-0abcd1234ef567890'}})
    assert any(i['execution']['S'] == inp['execution']
               for i in by_resource['Items'])
    (line,) = first.log('audit record')
    assert line['execution'] == inp['execution']
    assert line['at'] == key['at'] and line['ticket'] == 'OPS-9'
    assert line['rollback'] == inp['remediation']['rollback']


def test_audit_key_falls_back_to_event_time(ep, ddb):
    inp = escalated_unknown_input()
    r = run(base_env(ep, ddb), 'audit', inp)
    assert r.rc == 0, r.stderr
    assert r.output['key']['at'] == '2024-05-14T21:29:54.000Z#escalated'
    (item,) = query_execution(ddb, inp['execution'])
    assert item['result'] == {'S': 'escalated'}
    assert item['error'] == {'S': 'Healer.Diagnose.Unknown'}
    assert 'resource' not in item      # so not in the resource GSI


def test_audit_without_any_time_is_still_written_once(ep, ddb):
    inp = resolved_input(event={'detail': 'malformed'})
    env = base_env(ep, ddb)
    first = run(env, 'audit', inp)
    second = run(env, 'audit', inp)
    assert first.rc == 0, first.stderr
    assert second.rc == 0, second.stderr
    assert second.output['duplicate'] is True
    assert second.output['key'] == first.output['key']
    assert len(query_execution(ddb, inp['execution'])) == 1


def test_audit_resolved_and_escalated_are_two_records(ep, ddb):
    exe = execution()
    env = base_env(ep, ddb)
    assert run(env, 'audit', resolved_input(exe)).rc == 0
    esc = resolved_input(exe, mode='escalated',
                         error={'Error': 'Healer.Notify.Unavailable',
                                'Cause': 'Slack down'})
    assert run(env, 'audit', esc).rc == 0
    ats = sorted(i['at']['S'] for i in query_execution(ddb, exe))
    assert ats == ['2024-05-14T09:12:40.000Z#escalated',
                   '2024-05-14T09:12:40.000Z#resolved']


def test_audit_dry_run_is_recorded_as_such(ep, ddb):
    inp = resolved_input()
    r = run(base_env(ep, ddb), 'audit', inp, dry_run=True)
    assert r.rc == 0, r.stderr
    (item,) = query_execution(ddb, inp['execution'])
    assert item['dryRun'] == {'BOOL': True}
    assert item['result'] == {'S': 'dry-run'}


def test_audit_missing_table_fails_clearly(ep, ddb):
    r = run(base_env(ep, ddb, HEALER_AUDIT_TABLE='no-such-table'), 'audit',
            resolved_input())
    assert r.rc == 1
    assert r.error['error'] == 'Healer.Audit.TableNotFound'
    assert r.error['cause'].startswith('DynamoDB PutItem: ')


def test_each_activity_fails_only_for_its_own_reasons(ep, ddb):
    """Slack and Jira both broken: audit still writes; DynamoDB gone:
    notify still posts and ticket still files."""
    ep.admin('POST', '/_admin/slack', {'token': 'xoxb-changed'})
    ep.admin('POST', '/_admin/jira/fail', {'route': '*', 'status': 500,
                                           'count': 100})
    inp = resolved_input()
    env = base_env(ep, ddb)
    assert run(env, 'notify', inp).rc == 1
    assert run(env, 'ticket', inp).rc == 1
    audit = run(env, 'audit', inp)
    assert audit.rc == 0, audit.stderr
    assert len(query_execution(ddb, inp['execution'])) == 1

    ep.reset()
    gone = base_env(ep, ddb, AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:9',
                    AWS_MAX_ATTEMPTS='1')
    inp2 = resolved_input()
    assert run(gone, 'notify', inp2).rc == 0
    assert run(gone, 'ticket', inp2).rc == 0
    assert run(gone, 'audit', inp2).error['error'] == \
        'Healer.Audit.Unreachable'
