"""Soak phase 2: the real engine (statemachines/engine.asl.json) under chaos.

Several disk-pressure events per instance start executions all at once, not
in dry run, so the circuit breaker (3 remediations per resource per hour)
is contended: for each instance, at most 3 executions may get past Guard
and remediate; the others escalate with "Manual Intervention Required".
The same AWS faults as phase 1 apply to every AWS call of every activity
(SSM, Tagging, Parameter Store, Step Functions; DynamoDB is dynalite, which
the endpoint does not front), and workers are SIGKILLed and SIGTERMed while
they hold a remediate-disk task (each remediation takes a few seconds: the
simulated SSM invocation stays InProgress for a while), so remediations are
retried by the state machine mid-flight.

Judged by the records of the stand-ins, not by the activities' outputs:
  - SSM: the commands sent (GET /_admin/ssm/commands), each tagged by
    remediate-disk with "exec=<16 hex of SHA-256(execution ARN)>": at most
    one per execution ("no remediation applied twice"), and per instance
    and UTC hour at most the breaker's maximum; the simulated instances'
    completed cleanups likewise;
  - DynamoDB: each breaker item's count <= max and equal to the number of
    executions it lists; every execution that sent a command was counted;
  - Jira: at most one issue per execution label; audit: at most one action
    item per execution and mode;
  - the endpoint: no token with two results.
"""

import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))

import analysis  # noqa: E402
from chaos import (DRAIN_DEADLINE_S, ECS_TOKEN, LogScan,  # noqa: E402
                   auth_problems, keep_or_clean, rotate_credentials,
                   run_figures, worker_env)
from batch import Batch  # noqa: E402
from dynalite import Dynalite  # noqa: E402
from fleet import Fleet  # noqa: E402
from harness import LocalAWS  # noqa: E402

ENGINE_ASL = os.path.join(REPO, 'statemachines', 'engine.asl.json')
ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg',
              'renew-cert', 'ticket', 'notify', 'audit']
SERVED = 'guard:4,diagnose:4,remediate-disk:4,ticket:4,notify:4,audit:4'
BREAKER_TABLE, AUDIT_TABLE = 'healer-breaker', 'healer-audit'
BREAKER_MAX = 3
SLACK_TOKEN = 'xoxb-test-0000-healer-token'      # the stand-ins' defaults
JIRA_EMAIL, JIRA_TOKEN = 'healer-bot@example.com', 'jira-test-token-0000'
REGION, ACCOUNT = 'us-east-1', '123456789012'
# Template values: short heartbeats so a SIGKILLed worker's task comes back
# quickly; the engine's own retry counts and intervals otherwise.
TEMPLATE_VARS = {'heartbeat_seconds': 10, 'task_timeout_seconds': 120,
                 'remediation_timeout_seconds': 300, 'retry_max_attempts': 2}
# x HEALER_SSM_POLL_MS: a remediation lasts ~12 s, longer than the drain
# deadline, so a SIGTERMed worker hands it back (Healer.WorkerShutdown).
SSM_PENDING_POLLS = 30
SSM_POLL_MS = 400


def exec_hash(arn):
    return hashlib.sha256(arn.encode()).hexdigest()[:16]


def instance_id(seed, k):
    return 'i-' + hashlib.sha256(f'{seed}/{k}'.encode()).hexdigest()[:17]


def disk_event(iid, event_id):
    """A CloudWatch alarm event as EventBridge delivers it (the shape of
    tests/fixtures/events/cloudwatch-alarm-disk-used-percent.json)."""
    now = datetime.now(timezone.utc)
    t = now.strftime('%Y-%m-%dT%H:%M:%SZ')
    ms = now.strftime('%Y-%m-%dT%H:%M:%S.000+0000')
    alarm = f'DiskUsedPercentHigh-{iid}-root'
    reason = json.dumps({'version': '1.0', 'queryDate': ms, 'startDate': ms,
                         'statistic': 'Average', 'period': 300,
                         'recentDatapoints': [91.27], 'threshold': 85.0},
                        separators=(',', ':'))
    return {
        'version': '0', 'id': event_id,
        'detail-type': 'CloudWatch Alarm State Change',
        'source': 'aws.cloudwatch', 'account': ACCOUNT, 'time': t,
        'region': REGION,
        'resources': [f'arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}'],
        'detail': {
            'alarmName': alarm,
            'configuration': {
                'description': 'Root filesystem usage above 85 percent',
                'metrics': [{
                    'id': str(uuid.uuid4()),
                    'metricStat': {
                        'metric': {'dimensions': {'InstanceId': iid,
                                                  'path': '/',
                                                  'device': 'nvme0n1p1',
                                                  'fstype': 'xfs'},
                                   'name': 'disk_used_percent',
                                   'namespace': 'CWAgent'},
                        'period': 300, 'stat': 'Average'},
                    'returnData': True}]},
            'previousState': {'reason': 'Threshold Crossed', 'value': 'OK',
                              'timestamp': ms},
            'state': {'reason': 'Threshold Crossed: 1 out of the last 1 '
                      'datapoints [91.27] was greater than the threshold '
                      '(85.0)', 'reasonData': reason, 'timestamp': ms,
                      'value': 'ALARM'},
        },
    }


def _s(item, k):
    v = item.get(k) or {}
    return v.get('S')


class Disruptor(threading.Thread):
    """Stops workers while they hold a remediate-disk task: first the
    SIGKILLs, then the SIGTERMs, each on a worker holding a remediation
    that no earlier disruption hit."""

    def __init__(self, aws, fleet, kinds, rng, log):
        super().__init__(daemon=True)
        self.aws, self.fleet, self.kinds = aws, fleet, list(kinds)
        self.rng, self.log = rng, log
        self.stop = threading.Event()
        self.done = []
        self.hit = set()

    def run(self):
        arn = f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-remediate-disk'
        while self.kinds and not self.stop.is_set():
            try:
                held = self.aws.tasks(state='assigned', activity=arn)
            except Exception:       # noqa: BLE001 - endpoint busy; try again
                held = []
            for t in held:
                if t['token'] in self.hit or t.get('lost'):
                    continue
                # Not the moment it was handed out: let the remediation start.
                if time.time() - (t.get('assignedAt') or 0) < 1.0:
                    continue
                w = self.fleet.by_name(t.get('workerName'))
                if w is None:
                    continue
                how = self.kinds.pop(0)
                self.hit.add(t['token'])
                self.fleet.disrupt(how, self.rng, victim=w)
                self.done.append((how, w.name, analysis.token_hash(t['token'])))
                self.log(f'engine: SIG{how.upper()} {w.name} while it held '
                         f'remediation {analysis.token_hash(t["token"])}')
                break
            self.stop.wait(0.2)


def run_engine(cfg, keep, log):
    rng = random.Random(cfg['seed'] + 1)
    n_res, per = cfg['engine_resources'], cfg['engine_per_resource']
    out = {'config': {'resources': n_res, 'per_resource': per,
                      'sigkill': cfg['engine_sigkill'],
                      'sigterm': cfg['engine_sigterm'],
                      'breaker_max': BREAKER_MAX, 'template': TEMPLATE_VARS}}
    problems = []
    with LocalAWS(poll_timeout=cfg['poll_timeout']) as aws, Dynalite() as ddb:
        ddb.create_table(BREAKER_TABLE, 'pk')
        ddb.create_table(AUDIT_TABLE, 'execution', 'at', gsis=[
            {'name': 'resource-index', 'hash_key': 'resource',
             'range_key': 'at'}])
        sfn = aws.boto3_client('stepfunctions', max_attempts=1)
        for a in ACTIVITIES:
            sfn.create_activity(name='healer-' + a)
        aws.admin('POST', '/_admin/ssm/parameters',
                  {'name': '/healer/enabled', 'value': 'true'})
        iids = [instance_id(cfg['seed'], k) for k in range(n_res)]
        for iid in iids:
            aws.admin('POST', '/_admin/ssm/instances',
                      {'instanceId': iid, 'pendingPolls': SSM_PENDING_POLLS})
        rotate_credentials(aws, cfg)
        env = worker_env(aws, cfg, dict(
            ddb.env(), HEALER_BREAKER_TABLE=BREAKER_TABLE,
            HEALER_BREAKER_MAX=str(BREAKER_MAX),
            # The engine-wide blast-radius limit (guard, blast.h) would stop
            # the engine before the per-resource breaker is reached; this
            # phase is about the breaker, so it is set out of the way.
            HEALER_BLAST_MAX_PER_HOUR='10000',
            HEALER_BLAST_MAX_PER_CLASS_10M='10000',
            HEALER_AUDIT_TABLE=AUDIT_TABLE,
            HEALER_SSM_POLL_MS=str(SSM_POLL_MS),
            HEALER_JIRA_URL=aws.url + '/_jira', HEALER_JIRA_EMAIL=JIRA_EMAIL,
            HEALER_JIRA_API_TOKEN=JIRA_TOKEN, HEALER_JIRA_PROJECT='OPS',
            HEALER_SLACK_API_URL=aws.url + '/_slack/api',
            HEALER_SLACK_TOKEN=SLACK_TOKEN, HEALER_SLACK_CHANNEL='C0HEALER01'))
        exit_limit = cfg['poll_timeout'] + DRAIN_DEADLINE_S + 60
        fleet = Fleet(aws.url, SERVED, env, 2, 'soak-engine', exit_limit)
        kinds = ['kill'] * cfg['engine_sigkill'] + ['term'] * cfg['engine_sigterm']
        disruptor = Disruptor(aws, fleet, kinds, rng, log)
        batch = None
        try:
            fleet.wait_polling(aws, 2 * 6 * 4)
            aws.faults(latency_ms=list(cfg['latency_ms']),
                       seed=cfg['seed'] + 1, **cfg['faults'])
            items, resource_of = [], {}
            for k in range(per):
                for iid in iids:
                    eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    items.append({'name': f'evt-{eid}', 'input': {
                        'event': disk_event(iid, eid), 'dryRun': False}})
                    resource_of[f'evt-{eid}'] = iid
            log(f'engine: {len(items)} executions ({per} per instance on '
                f'{n_res} instances) at once, not in dry run; '
                f'{len(kinds)} disruptions during remediations')
            args = ['--template', ENGINE_ASL, '--arn-prefix',
                    f'arn:aws:states:{REGION}:{ACCOUNT}:activity:healer-']
            for k, v in TEMPLATE_VARS.items():
                args += ['--var', f'{k}={v}']
            batch = Batch(aws.url, args, items, len(items), timeout_s=900)
            disruptor.start()
            rc = batch.wait(cfg['time_limit_s'])
            disruptor.stop.set()
            disruptor.join(10)
            if rc != 0:
                problems.append(f'runner exit code {rc}: '
                                f'{batch.stderr()[-1500:]}')
            out['runner_s'] = round(batch.elapsed(), 1)
            log(f'engine: runner finished in {out["runner_s"]} s')
        finally:
            disruptor.stop.set()
            fleet.stop_all()
        aws.clear_faults()
        tasks = aws.tasks()
        summary = aws.summary()
        ssm = aws.admin('GET', '/_admin/ssm/commands')
        instances = aws.admin('GET', '/_admin/ssm/instances')['instances']
        jira = aws.admin('GET', '/_admin/jira')
        slack = aws.admin('GET', '/_admin/slack')
        breaker = ddb.scan(BREAKER_TABLE)
        audit = ddb.scan(AUDIT_TABLE)
        scan = LogScan(fleet.logs(), [t['token'] for t in tasks],
                       [SLACK_TOKEN, JIRA_TOKEN, ECS_TOKEN])
        f, p = judge(batch.results, len(items), resource_of, tasks, ssm,
                     instances, jira, breaker, audit, fleet.killed_names(),
                     slack=slack, scan=scan)
        counts = scan.counts
        problems += p + scan.problems + fleet.exit_problems()
        if len(disruptor.done) < len(kinds):
            problems.append(f'only {len(disruptor.done)} of {len(kinds)} '
                            'disruptions found a worker holding a remediation')
        problems += auth_problems(summary)
        out.update(f, disruptions=disruptor.done,
                   **run_figures(summary, fleet, counts))
        keep_or_clean(out, keep, batch, fleet)
    out['problems'] = problems
    return out


def judge(results, expected, resource_of, tasks, ssm, instances, jira,
          breaker, audit, killed, slack=None, scan=None):
    """Figures and problems of an engine run, from the stand-ins' records.
    Slack alerts are a figure, not a check: notify posts before it answers,
    so a worker dying in between makes the retry post again (at least
    once, as docs/RELIABILITY.md says)."""
    problems = []
    f = {'executions': len(results), 'by_status': {}, 'remediated': 0,
         'escalated': 0, 'escalated_breaker_open': 0, 'escalated_other': {}}
    arns = {}
    for r in results:
        f['by_status'][r['status']] = f['by_status'].get(r['status'], 0) + 1
        arns[exec_hash(r['executionArn'])] = r
        out = r.get('output') or {}
        if r['status'] != 'SUCCEEDED':
            problems.append(f'execution {r["name"]}: {r["status"]} '
                            f'({r.get("error")}: {(r.get("cause") or "")[:150]})')
        elif 'record' in out and 'escalation' not in out:
            f['remediated'] += 1
        elif 'escalation' in out:
            f['escalated'] += 1
            reason = (out.get('guard') or {}).get('reason') or ''
            if reason.startswith('Manual Intervention Required: circuit breaker open'):
                f['escalated_breaker_open'] += 1
            else:
                why = (out.get('error') or {}).get('Error') or reason or \
                    ((out.get('remediation') or {}).get('reason')) or 'unknown'
                f['escalated_other'][why] = f['escalated_other'].get(why, 0) + 1
        else:
            problems.append(f'execution {r["name"]}: ended neither '
                            'remediated nor escalated')
    if len(results) != expected:
        problems.append(f'{expected - len(results)} executions never ended')

    # SSM: commands per execution and per instance-hour.
    per_exec, per_res_hour = {}, {}
    for c in ssm['commands']:
        comment = c.get('Comment') or ''
        h = comment.rsplit('exec=', 1)[-1] if 'exec=' in comment else None
        per_exec.setdefault(h, []).append(c)
        for iid in c.get('InstanceIds') or []:
            hour = datetime.fromtimestamp(c['RequestedDateTime'],
                                          timezone.utc).strftime('%Y-%m-%dT%H')
            per_res_hour.setdefault((iid, hour), set()).add(h)
    f['commands'] = len(ssm['commands'])
    f['send_command_requests'] = len(ssm['sent'])
    f['commands_per_execution_max'] = max(
        (len(v) for v in per_exec.values()), default=0)
    f['remediations_applied_twice'] = 0
    for h, cmds in per_exec.items():
        if h is None or h not in arns:
            problems.append(f'SSM command(s) {[c["CommandId"] for c in cmds]} '
                            'belong to no execution of this run')
        if len(cmds) > 1:
            f['remediations_applied_twice'] += 1
            who = arns.get(h, {}).get('name', h)
            problems.append(f'execution {who}: {len(cmds)} SSM commands '
                            '(remediation applied more than once)')
    f['remediations_per_resource_hour_max'] = max(
        (len(v) for v in per_res_hour.values()), default=0)
    for (iid, hour), hs in per_res_hour.items():
        if len(hs) > BREAKER_MAX:
            problems.append(f'{iid}: remediated by {len(hs)} executions in '
                            f'hour {hour} (breaker max {BREAKER_MAX})')
    f['cleanups_per_instance_max'] = max(
        (i.get('cleanups', 0) for i in instances), default=0)
    for i in instances:
        if i.get('cleanups', 0) > BREAKER_MAX:
            problems.append(f'{i["instanceId"]}: {i["cleanups"]} cleanups ran')
    for r in results:
        out = r.get('output') or {}
        if 'record' in out and 'escalation' not in out and \
                exec_hash(r['executionArn']) not in per_exec:
            problems.append(f'execution {r["name"]}: remediated without an '
                            'SSM command')

    # DynamoDB breaker items ("<resource id>#<UTC hour>"; the table also
    # holds the guard's other items, e.g. event claims): count <= max and
    # == executions counted.
    resources = set(resource_of.values())
    items = [i for i in breaker if (_s(i, 'pk') or '').split('#', 1)[0] in resources]
    f['breaker_items'] = len(items)
    f['breaker_count_max'] = 0
    counted = {}
    for item in items:
        pk = _s(item, 'pk') or ''
        count = int((item.get('count') or {}).get('N', '0'))
        execs = set((item.get('executions') or {}).get('SS', []))
        f['breaker_count_max'] = max(f['breaker_count_max'], count)
        if count > BREAKER_MAX:
            problems.append(f'breaker {pk}: count {count} > {BREAKER_MAX}')
        if count != len(execs):
            problems.append(f'breaker {pk}: count {count} but '
                            f'{len(execs)} executions listed')
        counted.setdefault(pk.split('#', 1)[0], set()).update(execs)
    for h, cmds in per_exec.items():
        r = arns.get(h)
        if r is None:
            continue
        if r['executionArn'] not in counted.get(resource_of.get(r['name']), ()):
            problems.append(f'execution {r["name"]}: sent an SSM command '
                            'but the breaker never counted it')

    # Jira: one issue per execution; audit: one action item per mode.
    labels = {}
    for issue in jira.get('issues', []):
        for lab in (issue.get('fields') or {}).get('labels', []):
            if lab.startswith('healer-') and len(lab) == 23:
                labels[lab] = labels.get(lab, 0) + 1
    f['jira_issues'] = len(jira.get('issues', []))
    for lab, n in labels.items():
        if n > 1:
            problems.append(f'Jira: {n} issues with label {lab}')
    actions = {}
    for item in audit:
        if _s(item, 'kind') != 'action':
            continue
        key = (_s(item, 'execution'), _s(item, 'mode'))
        actions[key] = actions.get(key, 0) + 1
    f['audit_actions'] = sum(actions.values())
    for (ex, mode), n in actions.items():
        if n > 1:
            problems.append(f'audit: {n} {mode} items for {ex}')

    if slack is not None:
        per = {}
        for m in slack.get('messages', []):
            text = json.dumps(m)
            for r in results:
                if r['name'] in text:
                    per[r['name']] = per.get(r['name'], 0) + 1
        f['slack_messages'] = len(slack.get('messages', []))
        f['slack_alerts_per_execution_max'] = max(per.values(), default=0)
        f['executions_alerted_more_than_once'] = sum(1 for n in per.values() if n > 1)

    tf, tp = analysis.analyse_tasks(
        tasks, killed, scan.events if scan else None,
        scan.aborting if scan else ())
    problems += tp
    f['tasks'] = {k: tf[k] for k in ('tasks', 'answered_exactly_once',
                                     'duplicates', 'lost', 'timed_out',
                                     'timed_out_by_reason',
                                     'timeouts_explained',
                                     'timeouts_from_worker_logs',
                                     'unexplained_timeouts')}
    rd = [t for t in tasks if t['activityArn'].endswith(':healer-remediate-disk')]
    f['remediate_disk_tasks'] = len(rd)
    f['remediate_disk_retried'] = sum(
        1 for r in results if sum(1 for a in r.get('tasks') or []
                                  if a['state'] == 'RemediateDisk') > 1)
    f['retried_states'] = {}
    for r in results:
        for h in r.get('history') or []:
            if h.get('type') == 'StateRetried':
                f['retried_states'][h['state']] = \
                    f['retried_states'].get(h['state'], 0) + 1
    return f, problems


def checks(r):
    return [
        ('engine: every execution ended remediated or escalated',
         r['executions'] == r['config']['resources'] * r['config']['per_resource']
         and r['remediated'] + r['escalated'] == r['executions']),
        ('engine: no remediation applied twice for one execution',
         r['remediations_applied_twice'] == 0),
        (f'engine: breaker never exceeded (<= {BREAKER_MAX} per resource per hour)',
         r['remediations_per_resource_hour_max'] <= BREAKER_MAX
         and r['breaker_count_max'] <= BREAKER_MAX
         and r['cleanups_per_instance_max'] <= BREAKER_MAX),
        ('engine: duplicate results = 0', r['tasks']['duplicates'] == 0),
    ]


def print_engine(r):
    c, t = r['config'], r['tasks']
    rows = [
        ('executions', f'{r["executions"]} ({c["per_resource"]} per instance on '
         f'{c["resources"]} instances, concurrently, not dry run)'),
        ('remediated', r['remediated']),
        ('escalated', f'{r["escalated"]} (breaker open '
         f'{r["escalated_breaker_open"]}; other '
         f'{analysis_fmt(r["escalated_other"])})'),
        ('SSM commands', f'{r["commands"]} ({r["send_command_requests"]} '
         f'SendCommand requests reached the stand-in); max per execution '
         f'{r["commands_per_execution_max"]}'),
        ('remediations applied twice', r['remediations_applied_twice']),
        ('max per resource per hour', f'{r["remediations_per_resource_hour_max"]} '
         f'commands, {r["cleanups_per_instance_max"]} cleanups, breaker count '
         f'{r["breaker_count_max"]} (max {c["breaker_max"]})'),
        ('remediate-disk', f'{r["remediate_disk_tasks"]} tasks; '
         f'{r["remediate_disk_retried"]} executions retried it'),
        ('states retried', analysis_fmt(r['retried_states'])),
        ('disruptions', ', '.join(f'SIG{h.upper()} {w} (held {tok})'
                                  for h, w, tok in r['disruptions']) or 'none'),
        ('tokens', f'{t["tasks"]}, answered exactly once '
         f'{t["answered_exactly_once"]}, lost {t["lost"]}, duplicates '
         f'{t["duplicates"]}, timed out {t["timed_out"]} (why: '
         f'{analysis_fmt(t["timeouts_explained"])}; unexplained '
         f'{t["unexplained_timeouts"]})'),
        ('records', f'{r["jira_issues"]} Jira issues, {r["audit_actions"]} '
         f'audit items, {r.get("slack_messages")} Slack messages (executions '
         f'alerted more than once: {r.get("executions_alerted_more_than_once")})'),
        ('faults injected', analysis_fmt(r['faults_injected'] or {})),
        ('runner', f'{r.get("runner_s")} s'),
    ]
    print('== engine executions (statemachines/engine.asl.json)')
    for k, v in rows:
        print(f'  {k:<28} {v}')


def analysis_fmt(d):
    return ', '.join(f'{k} {v}' for k, v in sorted(d.items())) or 'none'
