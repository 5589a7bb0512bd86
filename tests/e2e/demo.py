#!/usr/bin/python3
"""make demo: the whole self-healing loop on local stand-ins, event by
event.

Starts the local AWS endpoint (Step Functions activities, SSM Run Command
and Automation, AWS Config, ACM, Tagging, Parameter Store, Slack and Jira
stand-ins) and dynalite (breaker and audit tables), seeds the simulated
instance, security group and certificate the fixture events name, sets the
kill switch /healer/enabled to "true", starts a real build/healer worker
serving every engine activity (credentials from the ECS stand-in, as on
Fargate), and runs the REAL statemachines/engine.asl.json through
tests/local/sfn_runner.js for each event of engine.scenario(). One block per
event says what happened; the worker's JSON logs go to a file whose path is
printed. Exits 1 if any execution ends other than engine.EXPECTED says.

Mode: LIVE (dryRun false) against the simulated resources, so the
remediations really happen on the stand-ins (the deployment default is dry
run; with it the breaker would only report). Shared code: e2e_engine.py.
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # leave no __pycache__ in the tree

import e2e_engine as engine  # noqa: E402

ENDS = {'Remediated': 'remediated', 'Escalated': 'escalated to a person'}


def stdout(text=''):
    print(text, flush=True)


def short_path(path):
    hidden = {'GuardChoice', 'Route', 'RemediationChoice'}
    return ' > '.join(s for s in path if s not in hidden)


def block(i, n, out, say):
    ev = out.event
    say(f'[{i + 1}/{n}] {ev.title}')
    say(f'    event     {ev.fixture} (id {ev.event["id"]})')
    say(f'    path      {short_path(out.path)}')
    say(out.describe())
    problems = out.check()
    verdict = ENDS.get(out.end, out.end or 'no end')
    if problems:
        say(f'    result    UNEXPECTED: {verdict}; expected '
            f'{ENDS.get(ev.expect["end"], ev.expect["end"])}')
        for p in problems:
            say(f'              - {p}')
    else:
        say(f'    result    {verdict}, as expected ({out.elapsed:.1f} s)')
    say()
    return not problems


def totals(stands, say):
    rec = stands.records()
    issues = rec['jira']
    closed = sum(1 for i in issues if i['status'] == 'Done')
    dms = sum(1 for m in rec['slack'] if m['channel'].startswith('D'))
    group = next((g for g in rec['groups'] if g['groupId'] == engine.GROUP),
                 {})
    audit = sum(1 for a in rec['audit'] if a.get('kind') == 'action')
    breaker = ', '.join(f'{_resource(x["pk"])} {x["count"]}'
                        for x in sorted(engine.resource_breakers(rec),
                                        key=lambda x: x['pk']))
    say('what the stand-ins recorded')
    say(f'    SSM       {len(rec["sent"])} SendCommand to {engine.INSTANCE}, '
        f'{len(rec["automations"])} automation on {engine.GROUP} '
        f'({len(group.get("revokes", []))} rules revoked)')
    say(f'    ACM       {len(rec["renewals"])} RenewCertificate')
    say(f'    Jira      {len(issues)} issues: {closed} closed, '
        f'{len(issues) - closed} open')
    say(f'    Slack     {len(rec["slack"]) - dms} alerts in #healer-alerts, '
        f'{dms} direct message')
    say(f'    DynamoDB  {audit} audit items; breaker counts this hour: '
        f'{breaker}')


def _resource(pk):
    rid = pk.rsplit('#', 1)[0]
    return 'certificate ' + rid.rsplit('/', 1)[1][:8] + '...' \
        if rid.startswith('arn:') else rid


def run(stands, say=stdout):
    """The demo on started stand-ins: returns (ok, outcomes); every line
    goes through say."""
    events = engine.scenario()
    worker = stands.start_worker('demo-worker', credentials='ecs')
    definition = engine.render_definition(
        os.path.join(worker.dir, 'engine.asl.json'))
    say(f'    AWS       local endpoint {stands.ep.url} (Step Functions '
        'activities, SSM, Config, ACM,')
    say('              Tagging, Parameter Store) with Slack and Jira '
        f'stand-ins; dynalite {stands.ddb.url}')
    say(f'    settings  kill switch {engine.KILL_SWITCH} = "true"; circuit '
        f'breaker {engine.BREAKER_MAX} remediations')
    say('              per resource per hour; the instance is back at 91% '
        'before each disk alarm')
    say(f'    workers   build/healer pid {worker.pid} serving '
        + ', '.join(engine.ACTIVITIES))
    say(f'    logs      {worker.log_path}')
    say('    engine    statemachines/engine.asl.json (Terraform defaults) '
        'run by tests/local/sfn_runner.js')
    say()
    engine.wait_for_hour_room(30, say=lambda t: say('    note      ' + t))
    results = []
    outcomes = engine.run_sequential(
        stands, definition, events,
        on_outcome=lambda i, out: results.append(block(i, len(events), out,
                                                       say)))
    totals(stands, say)
    worker.signal(signal.SIGTERM)
    code = worker.wait(30)
    summary = stands.ep.summary()
    leaked = engine.leaked_secrets(worker.text())
    good = sum(results)
    say(f'    worker    exit code {code}; tasks lost {summary["lost"]}, '
        f'duplicate results {summary["duplicate_results"]}; secrets in '
        f'its log: {len(leaked)}')
    say()
    say(f'{good} of {len(events)} events ended as expected')
    ok = (good == len(events) and code == 0 and summary['lost'] == 0
          and summary['duplicate_results'] == 0 and not leaked)
    return ok, outcomes


def main():
    say = stdout
    t0 = time.monotonic()
    say('healer demo: the engine end to end on local stand-ins '
        '(nothing leaves 127.0.0.1)')
    say('    mode      LIVE on simulated resources (dryRun false): the '
        'cleanup, the')
    say('              SSH closure and the renewal really change the '
        'stand-ins. A deployment')
    say('              starts in dry run (Terraform variable dry_run = '
        'true) and only reports.')
    stands = engine.Stands()
    ok = False
    try:
        stands.start()
        ok, _ = run(stands)
    except Exception as e:  # noqa: BLE001 - report, then fail the demo
        say(f'demo error: {type(e).__name__}: {e}')
        for w in stands.workers:
            say(f'worker log: {w.log_path}')
    finally:
        stands.stop()
    say(f'demo {"OK" if ok else "FAILED"} ({time.monotonic() - t0:.1f} s)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
