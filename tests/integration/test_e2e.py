"""The whole loop, end to end: the real statemachines/engine.asl.json run by
tests/local/sfn_runner.js, every Task served by real build/healer workers,
on the local stand-ins (tests/e2e/e2e_engine.py sets them up; make demo runs
the same scenario).

Judged twice over: by each execution's history and final output, and by
what the stand-ins themselves recorded (SSM commands and automations, the
security group's revoked rules, ACM renewals and the certificate's expiry,
Jira issues and their status, Slack messages, the audit and breaker items
in dynalite). The second test runs the scenario again, concurrently, with
one worker killed with SIGKILL and another drained with SIGTERM while each
holds a disk cleanup in flight: every execution must still reach its
expected end through the state machine's retries, and no remediation may
be applied twice for one execution.
"""

import importlib.util
import json
import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(HERE, '..', 'e2e')
sys.path.insert(0, E2E)

import e2e_engine as engine  # noqa: E402
from e2e_engine import (CHANNEL, DAY, GIB, GROUP, INSTANCE,  # noqa: E402
                        exec_hash, exec_uuid)
from workers import wait_until  # noqa: E402

# tests/e2e/demo.py (make demo), loaded under a name no other test uses.
_spec = importlib.util.spec_from_file_location(
    'healer_e2e_demo', os.path.join(E2E, 'demo.py'))
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

DOCUMENT = 'healer-disk-cleanup'
DM_CHANNEL = 'D' + engine.GROUP_OWNER_SLACK[1:]
OWNER_MESSAGE = 'I closed port 22 for you. Please use the VPN.'
PATHS = {
    'Remediated-disk': ['Guard', 'GuardChoice', 'Diagnose', 'Route',
                        'RemediateDisk', 'RemediationChoice', 'Record',
                        'Remediated'],
    'Remediated-ssh': ['Guard', 'GuardChoice', 'Diagnose', 'Route',
                       'RemediateSg', 'RemediationChoice', 'Record',
                       'Remediated'],
    'Remediated-cert': ['Guard', 'GuardChoice', 'Diagnose', 'Route',
                        'RenewCert', 'RemediationChoice', 'Record',
                        'Remediated'],
    'unknown': ['Guard', 'GuardChoice', 'Diagnose', 'Route', 'Escalate',
                'Escalated'],
    'breaker': ['Guard', 'GuardChoice', 'Escalate', 'Escalated'],
}


@pytest.fixture
def stands():
    s = engine.Stands()
    s.start()
    yield s
    s.stop()


def by_key(outcomes):
    return {o.event.key: o for o in outcomes}


def task_input(t):
    return json.loads(t['input'])


def assert_records_consistent(rec, outcomes, cert_not_after, retried=False):
    """What the stand-ins recorded, judged against the executions: each
    effect happened exactly once per execution that asked for it.
    retried: workers died mid-run, so a Slack post (which has no
    idempotency key) may have been repeated by a retried notify."""
    remediated_disk = [o for o in outcomes if (o.remediation or {})
                       .get('action') == 'disk_cleanup']
    # SSM Run Command: one command per remediated disk execution (a retry
    # follows the command it finds by its comment), none for the refused.
    comments = sorted(c['Comment'] for c in rec['sent'])
    assert comments == sorted(f'healer remediate-disk exec='
                              f'{exec_hash(o.execution)}'
                              for o in remediated_disk)
    for c in rec['sent']:
        assert c['DocumentName'] == DOCUMENT
        assert c['InstanceIds'] == [INSTANCE]
        assert c['Parameters'] == {'mountPath': ['/']}
    assert all(c['Status'] == 'Success' for c in rec['commands'])
    # SSM Automation: one execution of the runbook for the one SSH event,
    # with the token derived from its execution; exactly the three
    # world-open rules on 22 and 3389 revoked, once each; 443 stays.
    ssh = [o for o in outcomes if o.event.key == 'ssh'][0]
    assert len(rec['automations']) == 1
    a = rec['automations'][0]
    assert a['document'] == 'AWS-DisablePublicAccessForSecurityGroup'
    assert a['params']['GroupId'] == [GROUP]
    assert a['clientToken'] == exec_uuid(ssh.execution, 'remediate-sg')
    assert a['status'] == 'Success'
    assert sorted(a['revoked']) == ['tcp 22 0.0.0.0/0', 'tcp 22 ::/0',
                                    'tcp 3389 0.0.0.0/0']
    group = [g for g in rec['groups'] if g['groupId'] == GROUP][0]
    assert sorted((r['port'], r['cidr']) for r in group['revokes']) == [
        (22, '0.0.0.0/0'), (22, '::/0'), (3389, '0.0.0.0/0')]
    assert [(p['fromPort'], p['ipRanges']) for p in group['ipPermissions']] \
        == [(443, ['0.0.0.0/0'])]
    # ACM: the certificate renewed exactly once (NotAfter moved 395 days,
    # not twice that), whatever the number of RenewCertificate calls a
    # retry made (RequestInProgressException is followed).
    cert = [c for c in rec['certificates']
            if c['CertificateArn'] == engine.cert_arn()][0]
    assert cert['NotAfter'] == pytest.approx(cert_not_after + 395 * DAY,
                                             abs=1)
    assert cert['RenewalSummary']['RenewalStatus'] == 'SUCCESS'
    assert rec['renewals'] and all(r['arn'] == engine.cert_arn()
                                   for r in rec['renewals'])
    # Jira: exactly one issue per execution, closed when remediated.
    labels = sorted(lab for i in rec['jira'] for lab in i['labels']
                    if lab.startswith('healer-'))
    assert labels == sorted(o.label for o in outcomes)
    for o in outcomes:
        (issue,) = o.issues
        assert issue['status'] == ('Done' if o.end == 'Remediated'
                                   else 'To Do'), o.event.key
    # Slack: one channel alert per execution at least (the one its notify
    # output names), the owner's DM for the closed SSH port.
    for o in outcomes:
        alert, _ = o.slack_messages()
        assert alert is not None and alert['channel'] == CHANNEL
        assert o.execution.rsplit(':', 1)[1] in alert['text']
    dms = [m['text'].splitlines()[0] for m in rec['slack']
           if m['channel'] == DM_CHANNEL]
    if retried:
        assert dms and set(dms) == {OWNER_MESSAGE}
    else:
        assert dms == [OWNER_MESSAGE]
    # Audit: one action item per execution, with the result it ended in.
    items = [x for x in rec['audit'] if x.get('kind') == 'action']
    assert sorted(x['execution'] for x in items) == sorted(
        o.execution for o in outcomes)
    for o in outcomes:
        (item,) = o.audit
        assert item['result'] == ('remediated' if o.end == 'Remediated'
                                  else 'escalated')
        assert item['dryRun'] is False
    # The breaker: three executions counted on the instance this hour,
    # exactly the three that were remediated.
    (inst,) = [b for b in engine.resource_breakers(rec)
               if b['pk'].startswith(INSTANCE + '#')]
    assert inst['count'] == 3
    assert inst['executions'] == sorted(o.execution for o in remediated_disk)


def test_scenario_ends_as_expected_and_the_stand_ins_prove_it(stands):
    """make demo's scenario (demo.run), then every record checked."""
    lines = []
    ok, outcomes = demo.run(stands, lambda text='': lines.append(text))
    text = '\n'.join(str(x) for x in lines)
    assert ok, text
    out = by_key(outcomes)
    assert [o.event.key for o in outcomes] == [
        'disk-1', 'ssh', 'cert', 'unknown', 'disk-2', 'disk-3', 'disk-4']
    for o in outcomes:
        assert o.check() == [], (o.event.key, o.check())
        assert o.result['status'] == 'SUCCEEDED'
        # Production timings (HeartbeatSeconds 60): nothing was retried.
        assert o.retries == [], (o.event.key, o.retries)
    for k in ('disk-1', 'disk-2', 'disk-3'):
        assert out[k].path == PATHS['Remediated-disk']
    assert out['ssh'].path == PATHS['Remediated-ssh']
    assert out['cert'].path == PATHS['Remediated-cert']
    assert out['unknown'].path == PATHS['unknown']
    assert out['disk-4'].path == PATHS['breaker']

    # The executions' own outputs.
    for k, count in (('disk-1', 1), ('disk-2', 2), ('disk-3', 3)):
        o = out[k]
        assert o.guard['breaker']['count'] == count
        r = o.remediation
        assert r['before'] == {'usedPercent': 91, 'path': '/'}
        assert r['after'] == {'usedPercent': 61, 'path': '/'}
        assert r['details']['freedBytes'] == 30 * GIB
        assert r['details']['reusedCommand'] is False
        assert o.diagnosis['owner'] == engine.INSTANCE_OWNER
    g = out['disk-4'].guard
    assert g['proceed'] is False
    assert g['reason'] == ('Manual Intervention Required: circuit breaker '
                           f'open (3 remediations of {INSTANCE} this hour)')
    assert g['breaker']['open'] is True
    assert 'diagnosis' not in out['disk-4'].output
    ssh = out['ssh'].remediation
    assert ssh['details']['ownerMessage'] == OWNER_MESSAGE
    assert "--group-id sg-0abcd1234ef567890" in ssh['rollback']
    assert '"FromPort":22' in ssh['rollback'] and \
        '"FromPort":3389' in ssh['rollback']
    assert out['ssh'].notify['dm']['ok'] is True
    assert out['ssh'].notify['dm']['user'] == engine.GROUP_OWNER_SLACK
    cert = out['cert'].remediation
    assert cert['after']['daysToExpiry'] > 365
    assert cert['details']['inUseBy'] == [engine.ALB_ARN]
    unk = out['unknown']
    assert unk.diagnosis['class'] == 'unknown'
    assert unk.diagnosis['confidence'] == 0
    assert unk.remediation is None

    rec = stands.records()
    assert_records_consistent(rec, outcomes, stands.cert_not_after)
    # Escalated tickets carry the why: the raw unclassifiable event, the
    # breaker's refusal.
    assert 'stopped' in json.dumps(out['unknown'].issues[0])
    assert 'EC2 Instance State-change Notification' in json.dumps(
        out['unknown'].issues[0])
    assert 'circuit breaker open' in json.dumps(out['disk-4'].issues[0])
    audit = {o.event.key: o.audit[0] for o in outcomes}
    assert 'authorize-security-group-ingress' in audit['ssh']['rollback']
    assert 'circuit breaker open' in audit['disk-4']['reason']
    assert audit['disk-1']['resource'] == INSTANCE
    # Everything ran with the kill switch read from Parameter Store.
    s = stands.ep.summary()
    assert s['ssm_parameter_gets'] >= 1
    assert s['lost'] == 0 and s['duplicate_results'] == 0
    assert s['auth_failures'] == 0 and s['validation_failures'] == 0
    # The worker's log: no secret, no task token.
    log = stands.workers[0].text()
    assert engine.leaked_secrets(log) == []
    tokens = [t['token'] for t in rec['tasks']]
    assert len(tokens) >= 7 * 5
    assert not [t for t in tokens if t in log]

    # The demo's text says what happened, event by event.
    for must in ('[1/7] disk alarm', 'usage 91% -> 61%, freed 30.0 GiB',
                 'I closed port 22 for you. Please use the VPN.',
                 'removed tcp 22 from 0.0.0.0/0, tcp 22 from ::/0, '
                 'tcp 3389 from 0.0.0.0/0',
                 'ACM RenewCertificate', 'renewal SUCCESS',
                 'OPS-1 closed', 'OPS-4 open', 'OPS-7 open',
                 'REFUSED: Manual Intervention Required',
                 'unclassifiable event', '7 of 7 events ended as expected',
                 stands.workers[0].log_path):
        assert must in text, must
    assert text.count('as expected (') == 7


def disk_cleanups_in_flight(stands, names):
    """{worker name: execution} when each worker in names holds a
    remediate-disk task whose SSM command has been sent and is still
    running; else None."""
    tasks = stands.ep.tasks(state='assigned',
                            activity=engine.PREFIX + 'remediate-disk')
    held = {t['workerName']: task_input(t)['execution'] for t in tasks
            if not t['lost']}
    if not all(n in held for n in names):
        return None
    ssm = stands.ep.admin('GET', '/_admin/ssm/commands')['commands']
    running = {c['Comment'] for c in ssm
               if c['Status'] in ('Pending', 'InProgress')}
    for n in names:
        if f'healer remediate-disk exec={exec_hash(held[n])}' not in running:
            return None
    # The SSH closure and the renewal are quick; strike after they ended.
    # (A retry of remediate-sg after its automation took effect reports
    # "nothing to do": it loses the removed rules, the rollback command and
    # the owner's DM. Reported; not what this test is about.)
    for a in ('remediate-sg', 'renew-cert'):
        if not stands.ep.tasks(state='succeeded', activity=engine.PREFIX + a):
            return None
    return {n: held[n] for n in names}


@pytest.fixture
def slow_stands():
    """Each disk cleanup takes >= 6 s (60 invocation polls of 100 ms), so
    both are still running when the signals come."""
    s = engine.Stands(disk_pending_polls=60)
    s.start()
    yield s
    s.stop()


def test_kill_and_drain_mid_run_every_execution_ends_as_expected(
        slow_stands, tmp_path):
    """The scenario's seven executions at once on two workers; while each
    worker runs a disk cleanup, w1 gets SIGKILL (its tasks come back
    through HeartbeatSeconds) and a replacement w3 starts, and w2 gets
    SIGTERM with a 3 s drain deadline (its cleanup is answered
    Healer.WorkerShutdown and retried at once)."""
    # The breaker counts per UTC hour; the run must not straddle two.
    engine.wait_for_hour_room(60)
    stands = slow_stands
    execs = []
    try:
        definition = engine.render_definition(
            str(tmp_path / 'engine.asl.json'), heartbeat_seconds=5,
            task_timeout_seconds=60, remediation_timeout_seconds=120,
            retry_max_attempts=3)
        slots = {a: 2 for a in engine.ACTIVITIES}
        slots.update({'remediate-disk': 1, 'remediate-sg': 1,
                      'renew-cert': 1})
        acts = ','.join(f'{a}:{n}' for a, n in slots.items())
        env = {'HEALER_HEARTBEAT_S': 1, 'HEALER_DRAIN_DEADLINE_S': 3}
        w1 = stands.start_worker('w1', activities=acts, **env)
        w2 = stands.start_worker('w2', activities=acts, **env)
        wait_until(lambda: stands.ep.summary()['open_polls'] >=
                   2 * sum(slots.values()), 30, what='both workers polling')

        events = engine.scenario()
        for ev in events:
            execs.append(engine.Execution(
                stands, definition, ev, retry_interval_ms=200, poll_ms=100,
                timeout_s=150).start())
        held = wait_until(lambda: disk_cleanups_in_flight(stands,
                                                          ('w1', 'w2')),
                          60, interval=0.05,
                          what='a disk cleanup running on each worker')
        killed, drained = held['w1'], held['w2']
        w1.signal(signal.SIGKILL)
        assert w1.wait(10) == -signal.SIGKILL
        w3 = stands.start_worker('w3', activities=acts.replace(
            'remediate-disk:1', 'remediate-disk:3'), **env)
        w2.signal(signal.SIGTERM)
        assert w2.wait(30) == 0, w2.text()[-3000:]
        results = [ex.result() for ex in execs]
    finally:
        for ex in execs:
            ex.close()
    rec = stands.records()
    top = engine.top_level_states(definition)
    outcomes = [engine.Outcome(ev, res, rec, top)
                for ev, res in zip(events, results)]
    out = by_key(outcomes)

    # Every execution reached its expected end. The four disk alarms
    # raced for the breaker: exactly one was refused.
    disks = [o for o in outcomes if o.event.key.startswith('disk-')]
    refused = [o for o in disks if o.guard and o.guard['proceed'] is False]
    assert len(refused) == 1, [o.guard for o in disks]
    for o in outcomes:
        expect = o.event.expect
        if o in disks:
            expect = engine.EXPECTED['breaker' if o in refused else 'disk']
        assert o.result['status'] == 'SUCCEEDED', o.result
        assert o.check(expect) == [], (o.event.key, o.check(expect))
    assert refused[0].execution not in (killed, drained)

    by_exec = {o.execution: o for o in outcomes}
    disk_tasks = stands.ep.tasks(activity=engine.PREFIX + 'remediate-disk')

    def attempts(execution):
        return [t for t in disk_tasks
                if task_input(t)['execution'] == execution]

    # SIGKILL: the cleanup w1 held ended by HeartbeatSeconds, the state
    # retried it, and the retry followed the command already sent.
    first, *rest = attempts(killed)
    assert first['workerName'] == 'w1'
    assert first['state'] == 'timed_out'
    assert first['timeoutReason'] == 'States.HeartbeatTimeout'
    assert rest and rest[-1]['state'] == 'succeeded'
    assert rest[-1]['workerName'] == 'w3'
    o = by_exec[killed]
    assert 'RemediateDisk' in o.retries
    assert o.remediation['details']['reusedCommand'] is True
    assert o.remediation['applied'] is True

    # SIGTERM: w2 answered its cleanup Healer.WorkerShutdown at the
    # drain deadline; the retry (elsewhere) followed the same command.
    first, *rest = attempts(drained)
    assert first['workerName'] == 'w2'
    assert first['state'] == 'failed'
    (answer,) = [s for s in first['sends'] if s['accepted']]
    assert answer['error'] == 'Healer.WorkerShutdown'
    assert rest and rest[-1]['state'] == 'succeeded'
    assert rest[-1]['workerName'] == 'w3'
    o = by_exec[drained]
    assert 'RemediateDisk' in o.retries
    assert o.remediation['details']['reusedCommand'] is True
    assert o.remediation['applied'] is True
    assert w3.pid and any(t['workerName'] == 'w3' for t in rec['tasks'])

    # No remediation applied twice for one execution.
    assert_records_consistent(rec, outcomes, stands.cert_not_after,
                              retried=True)
    inst = stands.instance()
    assert inst['cleanups'] == 3
    assert inst['usedPercentNow'] == 91 - 3 * 30
    s = stands.ep.summary()
    assert s['duplicate_results'] == 0
    assert s['auth_failures'] == 0 and s['validation_failures'] == 0
    for w in stands.workers:
        assert engine.leaked_secrets(w.text()) == [], w.name
    assert out['ssh'].notify['channel']['ok'] is True
