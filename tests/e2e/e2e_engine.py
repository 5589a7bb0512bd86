"""e2e_engine: the whole loop on the local stand-ins, shared by `make demo`
(tests/e2e/demo.py) and the end-to-end tests (tests/integration/test_e2e.py).

    stands = Stands().start()             # endpoint + dynalite + the world
    w = stands.start_worker('w1')         # build/healer serving every activity
    definition = render_definition(path)  # statemachines/engine.asl.json
    ex = Execution(stands, definition, event).start()
    res = ex.result()                     # sfn_runner.js's JSON
    out = Outcome(event, res, stands.records(), top_level_states(path))
    problems = out.check()                # [] when it ended as expected
    text = out.describe()                 # the demo's block for it

What is simulated (the "world"): the EC2 instance of the disk alarm in the
SSM stand-in (91% used, the cleanup frees 30 points), the security group
of the Config finding with SSH and RDP open to the world in the Config
stand-in, the certificate of the ACM event as a private (AWS Private CA)
certificate that ACM can renew, Owner tags in the Tagging stand-in, the
kill switch /healer/enabled = "true" in Parameter Store, Slack and Jira
stand-ins, and dynalite with the breaker and audit tables.

Executions run the REAL statemachines/engine.asl.json through
tests/local/sfn_runner.js (rendered once with scripts/render-asl.js); every
Task state is served by real build/healer workers through the endpoint's
Step Functions activity API. Nothing here talks to anything but 127.0.0.1.

The scenario: the fixture events of tests/fixtures/events, with the
disk alarm sent four times (distinct event ids, so distinct executions):
the breaker allows three remediations of one resource per hour, so the
fourth is refused with "Manual Intervention Required". EXPECTED holds what
each one must end as; Outcome.check() compares.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402
from workers import Worker  # noqa: E402

FIXTURES = os.environ.get('HEALER_FIXTURES') or os.path.join(
    REPO, 'tests', 'fixtures', 'events')
RUNNER = os.path.join(REPO, 'tests', 'local', 'sfn_runner.js')
RENDER = os.path.join(REPO, 'scripts', 'render-asl.js')
ENGINE = os.path.join(REPO, 'statemachines', 'engine.asl.json')
NODE = os.environ.get('NODE', 'node')

ACCOUNT, REGION = '123456789012', 'us-east-1'
PREFIX = f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-'
ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg',
              'renew-cert', 'ticket', 'notify', 'audit']
INSTANCE = 'i-0abcd1234ef567890'
GROUP = 'sg-0abcd1234ef567890'
INSTANCE_ARN = f'arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}'
GROUP_ARN = f'arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP}'
ALB_ARN = (f'arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/'
           'app/web/50dc6c495c0c9188')
INSTANCE_OWNER = 'team-storage@example.com'
GROUP_OWNER = 'owner@example.com'          # a Slack user of the stand-in
GROUP_OWNER_SLACK = 'U0OWNER001'
CHANNEL = 'C0HEALER01'                     # #healer-alerts in the stand-in
SLACK_TOKEN = 'xoxb-test-0000-healer-token'
JIRA_EMAIL = 'healer-bot@example.com'
JIRA_TOKEN = 'jira-test-token-0000'
KILL_SWITCH = '/healer/enabled'
BREAKER_MAX = 3
DAY = 86400
GIB = 1024 ** 3


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def exec_hash(execution):
    """First 16 hex of SHA-256(execution ARN): the SSM comment and Jira
    label suffix the activities derive (docs/ACTIVITIES.md)."""
    return hashlib.sha256(execution.encode()).hexdigest()[:16]


def exec_uuid(execution, purpose):
    """The idempotency token activities/diagnosis_input.c derives (UUID v8
    layout of SHA-256(purpose + "\\n" + execution ARN))."""
    h = list(hashlib.sha256(f'{purpose}\n{execution}'.encode())
             .hexdigest()[:32])
    h[12] = '8'
    h[16] = '89ab'[int(h[16], 16) & 3]
    s = ''.join(h)
    return f'{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}'


def execution_arn(event):
    return (f'arn:aws:states:{REGION}:{ACCOUNT}:execution:healer-engine:'
            f'evt-{event["id"]}')


# ---- the scenario ----------------------------------------------------------

class Event:
    """One EventBridge event of the scenario and what it must end as."""

    def __init__(self, key, title, fixture_name, event, expect):
        self.key = key
        self.title = title
        self.fixture = fixture_name
        self.event = event
        self.expect = expect
        self.execution = execution_arn(event)

    def input(self, dry_run=False):
        return {'event': self.event, 'dryRun': dry_run}


# What each execution must end as. "end": the terminal state of the
# engine (Remediated | Escalated); "class": the diagnosis (None: the
# execution never got to Diagnose); "action": the remediation's action
# (None: none ran); "ticket": the Jira issue's status category when the
# execution ends (done = closed, new = open); "why": a fragment of the
# escalation's reason.
EXPECTED = {
    'disk': {'end': 'Remediated', 'class': 'disk_pressure',
             'action': 'disk_cleanup', 'ticket': 'done'},
    'ssh': {'end': 'Remediated', 'class': 'public_ssh',
            'action': 'close_public_ssh', 'ticket': 'done', 'dm': True},
    'cert': {'end': 'Remediated', 'class': 'cert_expiry',
             'action': 'renew_certificate', 'ticket': 'done'},
    'unknown': {'end': 'Escalated', 'class': 'unknown', 'action': None,
                'ticket': 'new', 'why': 'EC2 Instance State-change'},
    'breaker': {'end': 'Escalated', 'class': None, 'action': None,
                'ticket': 'new',
                'why': 'Manual Intervention Required: circuit breaker open'},
}


def disk_event(n):
    """The disk alarm fixture; n > 1 gets its own event id (a new alarm)."""
    ev = fixture('cloudwatch-alarm-disk-used-percent.json')
    if n > 1:
        base = ev['id']
        ev['id'] = base[:-2] + '%02x' % ((int(base[-2:], 16) + n - 1) % 256)
    return ev


def scenario():
    """The events in the order the demo sends them."""
    disk = 'cloudwatch-alarm-disk-used-percent.json'
    ssh = 'config-restricted-ssh-noncompliant.json'
    cert = 'acm-certificate-approaching-expiration.json'
    ec2 = 'ec2-instance-state-change-unclassifiable.json'
    return [
        Event('disk-1', f'disk alarm on {INSTANCE}', disk, disk_event(1),
              EXPECTED['disk']),
        Event('ssh', f'SSH open to the world on {GROUP}', ssh, fixture(ssh),
              EXPECTED['ssh']),
        Event('cert', 'certificate www.example.com expires in 31 days', cert,
              fixture(cert), EXPECTED['cert']),
        Event('unknown', 'EC2 instance stopped (no rule for it)', ec2,
              fixture(ec2), EXPECTED['unknown']),
        Event('disk-2', f'disk alarm on {INSTANCE} again', disk,
              disk_event(2), EXPECTED['disk']),
        Event('disk-3', f'disk alarm on {INSTANCE}, third time this hour',
              disk, disk_event(3), EXPECTED['disk']),
        Event('disk-4', f'disk alarm on {INSTANCE}, fourth time this hour',
              disk, disk_event(4), EXPECTED['breaker']),
    ]


def cert_arn():
    ev = fixture('acm-certificate-approaching-expiration.json')
    return ev['resources'][0]


def seconds_left_in_hour(now=None):
    now = time.time() if now is None else now
    return 3600 - int(now) % 3600


def wait_for_hour_room(needed_s, say=None):
    """The breaker counts per UTC hour: a scenario whose disk alarms
    straddle the hour would see two buckets. If fewer than needed_s seconds
    remain in this hour, wait for the next one (returns the seconds
    waited)."""
    left = seconds_left_in_hour()
    if left >= needed_s:
        return 0
    if say:
        say(f'waiting {left + 1} s for the UTC hour to turn: the circuit '
            'breaker counts remediations per hour, and the scenario must '
            'not straddle two')
    time.sleep(left + 1)
    return left + 1


# ---- the stand-ins ---------------------------------------------------------

class Stands:
    """The local AWS endpoint (with SSM, Config, ACM, Tagging, Parameter
    Store, Slack, Jira) and dynalite, holding the scenario's world."""

    def __init__(self, poll_timeout=2, disk_pending_polls=0,
                 automation_pending_polls=1, renew_delay_reads=1):
        self.poll_timeout = poll_timeout
        self.disk_pending_polls = disk_pending_polls
        self.automation_pending_polls = automation_pending_polls
        self.renew_delay_reads = renew_delay_reads
        self.ep = None
        self.ddb = None
        self.breaker_table = 'healer-breaker'
        self.audit_table = 'healer-audit'
        self.cert_not_after = None
        self.workers = []

    def start(self):
        try:
            self.ep = LocalAWS(poll_timeout=self.poll_timeout).start()
            self.ddb = Dynalite().start()
            self.ddb.create_table(self.breaker_table, 'pk')
            self.ddb.create_table(self.audit_table, 'execution', 'at', gsis=[
                {'name': 'resource-index', 'hash_key': 'resource',
                 'range_key': 'at'}])
            sfn = self.ep.boto3_client('stepfunctions', max_attempts=3)
            for a in ACTIVITIES:
                sfn.create_activity(name='healer-' + a)
            self.seed()
        except BaseException:
            self.stop()
            raise
        return self

    def seed(self):
        """The simulated resources the events name."""
        ep = self.ep
        ep.admin('POST', '/_admin/ssm/parameters',
                 {'name': KILL_SWITCH, 'value': 'true'})
        self.refill_disk()
        ep.admin('POST', '/_admin/config/security-groups', {
            'groupId': GROUP, 'groupName': 'web-admin',
            'ipPermissions': [
                {'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22,
                 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}],
                 'ipv6Ranges': [{'cidrIpv6': '::/0'}]},
                {'ipProtocol': 'tcp', 'fromPort': 3389, 'toPort': 3389,
                 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]},
                {'ipProtocol': 'tcp', 'fromPort': 443, 'toPort': 443,
                 'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}]}]})
        ep.admin('POST', '/_admin/ssm/automation',
                 {'pendingPolls': self.automation_pending_polls})
        now = time.time()
        self.cert_not_after = int(now) + 31 * DAY
        ep.admin('POST', '/_admin/acm/certificates', {
            'CertificateArn': cert_arn(), 'DomainName': 'www.example.com',
            'SubjectAlternativeNames': ['www.example.com'],
            'Type': 'PRIVATE', 'Status': 'ISSUED',
            'RenewalEligibility': 'ELIGIBLE', 'InUseBy': [ALB_ARN],
            'CertificateAuthorityArn': (
                f'arn:aws:acm-pca:{REGION}:{ACCOUNT}:certificate-authority/'
                '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'),
            'Issuer': 'Example Corp Private CA',
            'NotAfter': self.cert_not_after,
            'sim': {'renewOutcome': 'success',
                    'renewDelayReads': self.renew_delay_reads}})
        for arn, owner in ((INSTANCE_ARN, INSTANCE_OWNER),
                           (GROUP_ARN, GROUP_OWNER),
                           (cert_arn(), 'team-web@example.com')):
            ep.admin('POST', '/_admin/tagging',
                     {'arn': arn, 'tags': {'Owner': owner}})

    def refill_disk(self):
        """The alarm's instance at 91% used (what the disk alarm reports);
        its cleanup frees 30 points."""
        self.ep.admin('POST', '/_admin/ssm/instances', {
            'instanceId': INSTANCE, 'usedPercent': 91, 'freesPercent': 30,
            'pendingPolls': self.disk_pending_polls})

    def instance(self):
        for i in self.ep.admin('GET', '/_admin/ssm/instances')['instances']:
            if i['instanceId'] == INSTANCE:
                return i
        return None

    def worker_env(self, **over):
        env = {'HEALER_ACTIVITY_ARN_PREFIX': PREFIX,
               'AWS_ENDPOINT_URL_DYNAMODB': self.ddb.url,
               'HEALER_KILL_SWITCH_PARAM': KILL_SWITCH,
               'HEALER_BREAKER_TABLE': self.breaker_table,
               'HEALER_BREAKER_MAX': str(BREAKER_MAX),
               'HEALER_AUDIT_TABLE': self.audit_table,
               'HEALER_JIRA_URL': self.ep.url + '/_jira',
               'HEALER_JIRA_EMAIL': JIRA_EMAIL,
               'HEALER_JIRA_API_TOKEN': JIRA_TOKEN,
               'HEALER_JIRA_PROJECT': 'OPS',
               'HEALER_SLACK_API_URL': self.ep.url + '/_slack/api',
               'HEALER_SLACK_TOKEN': SLACK_TOKEN,
               'HEALER_SLACK_CHANNEL': CHANNEL,
               # Seconds in production; the stand-ins answer at once.
               'HEALER_SSM_POLL_MS': '100',
               'HEALER_AUTOMATION_POLL_MS': '100',
               'HEALER_ACM_POLL_MS': '100',
               'HEALER_CONFIG_WAIT_S': '10',
               'HEALER_DRY_RUN': 'false'}
        env.update({k: str(v) for k, v in over.items()})
        return env

    def start_worker(self, name, slots=2, activities=None,
                     credentials='static', **env):
        """build/healer serving every engine activity (`slots` each, or
        `activities`, a HEALER_ACTIVITIES string) under workerName `name`.
        credentials: 'static' (test keys in the environment) or 'ecs' (the
        endpoint's ECS container-credentials stand-in, as on Fargate)."""
        acts = activities or ','.join(f'{a}:{slots}' for a in ACTIVITIES)
        extra = self.worker_env(HEALER_WORKER_NAME=name, **env)
        if credentials == 'ecs':
            token = 'healer-ecs-token'
            self.ep.ecs(rotate_every_s=300, lifetime_s=3600, auth_token=token)
            extra['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = \
                self.ep.url + '/_ecs/credentials'
            extra['AWS_CONTAINER_AUTHORIZATION_TOKEN'] = token
        w = Worker(self.ep.url, acts, extra_env=extra,
                   credentials='static' if credentials == 'static' else 'none')
        w.name = name
        self.workers.append(w)
        return w

    def stop(self):
        for w in self.workers:
            w.stop()
        self.workers = []
        if self.ddb is not None:
            self.ddb.stop()
            self.ddb = None
        if self.ep is not None:
            self.ep.stop()
            self.ep = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the stand-ins recorded -----------------------------------------

    def records(self):
        ep = self.ep
        audit = [_plain(i) for i in self.ddb.scan(self.audit_table)]
        breaker = [_plain(i) for i in self.ddb.scan(self.breaker_table)]
        ssm = ep.admin('GET', '/_admin/ssm/commands')
        return {
            'sent': ssm['sent'],
            'commands': ssm['commands'],
            'instances': ep.admin('GET', '/_admin/ssm/instances')['instances'],
            'automations': ep.admin('GET', '/_admin/ssm/automations')
            ['automations'],
            'groups': ep.admin('GET', '/_admin/config/security-groups')
            ['groups'],
            'renewals': ep.admin('GET', '/_admin/acm/renewals')['renewals'],
            'certificates': ep.admin('GET', '/_admin/acm/certificates')
            ['certificates'],
            'jira': ep.admin('GET', '/_admin/jira')['issues'],
            'slack': ep.admin('GET', '/_admin/slack')['messages'],
            'audit': audit,
            'breaker': breaker,
            'tasks': ep.tasks(),
        }


_BREAKER_KEY = re.compile(r'^(i-[0-9a-f]+|sg-[0-9a-f]+|arn:[^#]+)'
                          r'#\d{4}-\d\d-\d\dT\d\d$')


def resource_breakers(records):
    """The per-resource breaker items ("<resource id>#<UTC hour>") among
    whatever else the guard keeps in its table."""
    return [b for b in records['breaker'] if _BREAKER_KEY.match(b['pk'])]


def _plain(item):
    """DynamoDB wire form -> plain values (S, N, BOOL, SS, NULL)."""
    out = {}
    for k, v in item.items():
        (t, x), = v.items()
        if t == 'N':
            out[k] = float(x) if '.' in x else int(x)
        elif t == 'SS':
            out[k] = sorted(x)
        elif t == 'NULL':
            out[k] = None
        else:
            out[k] = x
    return out


# ---- executions ------------------------------------------------------------

def render_definition(path, **variables):
    """Renders statemachines/engine.asl.json (Terraform's defaults, the
    test activity ARNs, `variables` overriding) into path."""
    cmd = [NODE, RENDER, '--arn-prefix', PREFIX]
    for k, v in sorted(variables.items()):
        cmd += ['--var', f'{k}={v}']
    cmd.append(ENGINE)
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f'render-asl failed: {p.stderr.strip()}')
    with open(path, 'w') as f:
        f.write(p.stdout)
    return path


class Execution:
    """One execution of the engine by tests/local/sfn_runner.js."""

    def __init__(self, stands, definition, event, dry_run=False,
                 retry_interval_ms=None, poll_ms=100, timeout_s=120):
        self.event = event
        self.cmd = [NODE, RUNNER, '--endpoint', stands.ep.url,
                    '--definition', definition,
                    '--input-json', json.dumps(event.input(dry_run)),
                    '--poll-ms', str(poll_ms), '--timeout-s', str(timeout_s)]
        if retry_interval_ms is not None:
            self.cmd += ['--retry-interval-ms', str(retry_interval_ms)]
        self.timeout_s = timeout_s
        self.proc = None
        self.started = None
        self.elapsed = None

    def start(self):
        self._err = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, text=True)
        return self

    def result(self):
        try:
            out, _ = self.proc.communicate(timeout=self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f'sfn_runner for {self.event.key} did not end')
        self.elapsed = time.monotonic() - self.started
        self._err.seek(0)
        err = self._err.read().decode('utf-8', 'replace')
        self._err.close()
        if self.proc.returncode != 0:
            raise RuntimeError(f'sfn_runner for {self.event.key} failed '
                               f'({self.proc.returncode}): {err.strip()}')
        return json.loads(out)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_sequential(stands, definition, events, on_outcome=None,
                   refill=True, **exec_kw):
    """Runs the events one after the other (each execution to its end
    before the next starts, so the breaker sees them in order) and returns
    their Outcomes. refill: the disk alarm's instance is back at 91% before
    each disk alarm, as the alarm reports. on_outcome(index, outcome) is
    called as each one ends."""
    outcomes = []
    top_level = top_level_states(definition)
    for i, ev in enumerate(events):
        if refill and ev.event.get('source') == 'aws.cloudwatch':
            inst = stands.instance()
            if inst is not None and inst['cleanups'] > 0:
                stands.refill_disk()
        ex = Execution(stands, definition, ev, **exec_kw).start()
        try:
            res = ex.result()
        finally:
            ex.close()
        out = Outcome(ev, res, stands.records(), top_level, ex.elapsed)
        outcomes.append(out)
        if on_outcome:
            on_outcome(i, out)
    return outcomes


# ---- outcomes --------------------------------------------------------------

def top_level_states(definition):
    """The names of a rendered definition's top-level states (the
    runner's history does not tell Parallel branches' states apart)."""
    with open(definition) as f:
        return frozenset(json.load(f)['States'])


class Outcome:
    """An execution's result joined with what the stand-ins recorded for
    it."""

    def __init__(self, event, result, records, top_level, elapsed=None):
        self.event = event
        self.result = result
        self.records = records
        self.elapsed = elapsed
        self.execution = result.get('executionArn')
        out = result.get('output') or {}
        self.output = out
        self.guard = out.get('guard')
        self.diagnosis = out.get('diagnosis')
        self.remediation = out.get('remediation')
        self.error = out.get('error')
        # Escalate after Record (a Record failure) leaves both: the
        # escalation is the last word.
        self.record = out.get('escalation') or out.get('record') or {}
        h = exec_hash(self.execution or '')
        self.label = 'healer-' + h
        history = result.get('history', [])
        self.path = [e['state'] for e in history
                     if e['type'] == 'StateEntered'
                     and e['state'] in top_level]
        self.retries = [e['state'] for e in history
                        if e['type'] == 'StateRetried']
        self.end = self.path[-1] if self.path else None
        self.commands = [c for c in records['sent']
                         if c.get('Comment', '').endswith('exec=' + h)]
        token = exec_uuid(self.execution or '', 'remediate-sg')
        self.automations = [a for a in records['automations']
                            if a.get('clientToken') == token]
        self.issues = [i for i in records['jira'] if self.label in i['labels']]
        self.audit = [a for a in records['audit']
                      if a.get('execution') == self.execution
                      and a.get('kind') == 'action']

    # -- the pieces ----------------------------------------------------------

    def _part(self, name):
        p = self.record.get(name)
        return None if not isinstance(p, dict) or p.get('failed') else p

    @property
    def ticket(self):
        return self._part('ticket')

    @property
    def notify(self):
        return self._part('notify')

    def slack_messages(self):
        """(channel alert, owner DM) as the Slack stand-in recorded them."""
        n = self.notify or {}
        msgs = self.records['slack']

        def find(sent):
            if not isinstance(sent, dict) or not sent.get('ok'):
                return None
            for m in msgs:
                if m['ts'] == sent.get('ts') and m['channel'] == sent.get(
                        'channel'):
                    return m
            return None
        return find(n.get('channel')), find(n.get('dm'))

    def issue(self):
        t = self.ticket or {}
        for i in self.records['jira']:
            if i['key'] == t.get('key'):
                return i
        return None

    def escalation_reason(self):
        """Why a person has to look: the first refusal or error."""
        g, d, r, e = self.guard, self.diagnosis, self.remediation, self.error
        if e:
            return f'{e.get("Error")}: {e.get("Cause")}'
        if g and g.get('proceed') is not True:
            return g.get('reason')
        if d and d.get('class') == 'unknown':
            return 'unclassifiable event: ' + str(
                (d.get('details') or {}).get('why') or d.get('reason'))
        if d and r is None:
            return (f'confidence {d.get("confidence")} below the threshold'
                    if d.get('class') != 'unknown' else d.get('reason'))
        if r and r.get('escalate'):
            return r.get('reason')
        return None

    # -- the comparison with EXPECTED ----------------------------------------

    def check(self, expect=None):
        """Differences from the expected outcome (the event's, or `expect`,
        an EXPECTED row): [] when it ended as expected."""
        x = expect or self.event.expect
        bad = []
        res = self.result
        if res.get('status') != 'SUCCEEDED':
            bad.append(f'execution {res.get("status")}: {res.get("error")} '
                       f'{res.get("cause")}')
        if self.end != x['end']:
            bad.append(f'ended in {self.end}, expected {x["end"]} '
                       f'(path {" > ".join(self.path)})')
        cls = (self.diagnosis or {}).get('class')
        if cls != x['class']:
            bad.append(f'class {cls}, expected {x["class"]}')
        action = (self.remediation or {}).get('action')
        if action != x['action']:
            bad.append(f'action {action}, expected {x["action"]}')
        if x['end'] == 'Remediated':
            r = self.remediation or {}
            # A retry of a remediation whose first attempt took effect may
            # find nothing left to do (applied false, verified true): the
            # stand-ins' records below still prove the effect happened once.
            state = {'disk_cleanup': 'RemediateDisk',
                     'close_public_ssh': 'RemediateSg',
                     'renew_certificate': 'RenewCert'}.get(action)
            applied_ok = r.get('applied') is True or state in self.retries
            if not (applied_ok and r.get('verified') is True
                    and r.get('escalate') is False
                    and r.get('dryRun') is False):
                bad.append('remediation not applied and verified: '
                           f'{r.get("reason")}')
        if x.get('why'):
            why = self.escalation_reason() or ''
            if x['why'] not in why:
                bad.append(f'escalated for "{why}", expected '
                           f'"{x["why"]}..."')
        for part in ('ticket', 'notify', 'audit'):
            p = self.record.get(part)
            if not isinstance(p, dict) or p.get('failed'):
                bad.append(f'{part} failed: {(p or {}).get("error")}')
        issue = self.issue()
        if issue is None:
            bad.append('no Jira issue')
        else:
            cat = {'To Do': 'new', 'In Progress': 'indeterminate',
                   'Done': 'done'}.get(issue['status'])
            if cat != x['ticket']:
                bad.append(f'Jira issue {issue["key"]} is "{issue["status"]}"'
                           f', expected category {x["ticket"]}')
        if len(self.issues) != 1:
            bad.append(f'{len(self.issues)} Jira issues carry {self.label}')
        alert, dm = self.slack_messages()
        if alert is None or alert['channel'] != CHANNEL:
            bad.append('no Slack alert in #healer-alerts')
        if x.get('dm') and (dm is None or dm['channel'] != 'D' +
                            GROUP_OWNER_SLACK[1:]):
            bad.append('no Slack DM to the owner')
        want = 'remediated' if x['end'] == 'Remediated' else 'escalated'
        if [a.get('result') for a in self.audit] != [want]:
            bad.append(f'audit items {[a.get("result") for a in self.audit]}'
                       f', expected one "{want}"')
        # The stand-ins' own records: what was changed for this execution.
        n_cmd = len(self.commands)
        if n_cmd != (1 if action == 'disk_cleanup' else 0):
            bad.append(f'{n_cmd} SSM SendCommand for this execution')
        n_auto = len(self.automations)
        if n_auto != (1 if action == 'close_public_ssh' else 0):
            bad.append(f'{n_auto} SSM automations for this execution')
        return bad

    # -- the demo's block ----------------------------------------------------

    def describe(self):
        """Readable lines about this execution (no trailing newline)."""
        lines = []

        def line(label, text):
            lines.append(f'    {label:<9} {text}')

        g, d, r = self.guard, self.diagnosis, self.remediation
        if d:
            owner = d.get('owner') or 'unknown'
            line('class', f'{d.get("class")} (confidence '
                 f'{d.get("confidence")}), owner {owner}')
        if g:
            b = g.get('breaker') or {}
            if g.get('proceed') is True:
                text = 'proceed'
                if b:
                    text += (f' (breaker {b.get("count")}/{b.get("max")} '
                             'for this resource this hour)')
            else:
                text = f'REFUSED: {g.get("reason")}'
            line('guard', text)
        if r:
            line('action', self._action_text())
        elif d or g:
            line('action', 'none')
        t = self.ticket
        issue = self.issue()
        if t and t.get('key'):
            status = issue['status'] if issue else '?'
            line('ticket', f'{t["key"]} {t.get("status")} (Jira status '
                 f'"{status}")')
        else:
            line('ticket', 'none: ' + str(self.record.get('ticket')))
        alert, dm = self.slack_messages()
        if alert:
            line('slack', '#healer-alerts: ' + _clip(
                slack_plain(alert['text'].splitlines()[0]), 100))
        else:
            line('slack', 'no channel alert')
        if dm:
            first = dm['text'].splitlines()[0]
            line('', f'DM to {GROUP_OWNER}: {_clip(first, 80)}')
        why = self.escalation_reason() if self.end != 'Remediated' else None
        if why:
            line('escalate', _clip(why, 160))
        if self.retries:
            line('retries', ', '.join(self.retries))
        return '\n'.join(lines)

    def _action_text(self):
        r = self.remediation
        det = r.get('details') or {}
        act = r.get('action')
        if act == 'disk_cleanup':
            before = (r.get('before') or {}).get('usedPercent')
            after = (r.get('after') or {}).get('usedPercent')
            freed = det.get('freedBytes')
            text = (f'disk cleanup (SSM SendCommand {det.get("document")}): '
                    f'usage {before}% -> {after}%')
            if isinstance(freed, (int, float)):
                text += f', freed {freed / GIB:.1f} GiB'
            if det.get('filesRemoved') is not None:
                text += f', {det["filesRemoved"]} files removed'
            return text
        if act == 'close_public_ssh':
            removed = [x.get('rule') for x in det.get('removed') or []
                       if isinstance(x, dict)]
            text = (f'SSM Automation {det.get("runbook")} '
                    f'{det.get("automationStatus")}: removed '
                    f'{", ".join(removed) or "nothing"}')
            if r.get('rollback'):
                text += ('\n              rollback: '
                         + _clip(r['rollback'], 140))
            return text
        if act == 'renew_certificate':
            b, a = r.get('before') or {}, r.get('after') or {}
            return (f'ACM RenewCertificate: expiry {b.get("notAfter")} -> '
                    f'{a.get("notAfter")} (in {a.get("daysToExpiry")} days), '
                    f'renewal {a.get("renewalStatus")}')
        return _clip(str(r.get('reason')), 160)


def slack_plain(text):
    """Slack mrkdwn as plain text: no leading :emoji:, *bold* or `code`
    marks, entities decoded."""
    text = re.sub(r'^:[a-z0-9_+-]+:\s*', '', text)
    text = text.replace('*', '').replace('`', '')
    return text.replace('&gt;', '>').replace('&lt;', '<').replace('&amp;', '&')


def _clip(text, n):
    text = ' '.join(str(text).split())
    return text if len(text) <= n else text[:n - 3] + '...'


def leaked_secrets(text):
    """The secrets the stand-ins hand out; none may appear in a log."""
    import base64
    basic = base64.b64encode(f'{JIRA_EMAIL}:{JIRA_TOKEN}'.encode()).decode()
    leaked = [s for s in (SLACK_TOKEN, JIRA_TOKEN, basic,
                          'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
              if s in text]
    return leaked
