"""The outcome metrics (include/healer/outcome_metrics.h) as CloudWatch
would read them: the EMF lines in a real worker's stdout while the REAL
statemachines/engine.asl.json runs events through tests/local/sfn_runner.js
on the local stand-ins (tests/e2e/e2e_engine.py sets them up).

Four executions, one after the other, on one worker with a breaker of one
remediation per resource and hour: a disk alarm (remediated), an
unclassifiable event (escalated), the same disk alarm again under a new
event id (refused by the breaker, escalated) and the SSH finding in dry
run. Every EMF line must be one CloudWatch accepts (each numeric member
declared, each dimension a string member); the counts must be exactly what
happened: one Remediations{disk_pressure, applied}, one
Remediations{public_ssh, dry-run}, no remediation counted for the refused
or unknown events, one Escalations{unknown}, one Escalations{disk_pressure}
(the refused alarm: its class comes from the guard's resource), and a
BreakerTrips{disk_pressure} for every guard answer that found the breaker
open.
"""

import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

import e2e_engine as engine  # noqa: E402
from workers import wait_until  # noqa: E402


def emf_lines(worker):
    return [line for line in worker.lines() if '_aws' in line]


def check_declared(line):
    """What CloudWatch needs to turn the line into metrics ([] when it
    is all there). A member no directive declares is silently dropped."""
    bad = []
    aws = line['_aws']
    if not isinstance(aws.get('Timestamp'), int):
        bad.append('no integer _aws.Timestamp')
    declared = set()
    for d in aws.get('CloudWatchMetrics', []):
        if d.get('Namespace') != 'Healer':
            bad.append(f'namespace {d.get("Namespace")!r}')
        for dset in d.get('Dimensions', []):
            for name in dset:
                if not isinstance(line.get(name), str):
                    bad.append(f'dimension {name} is not a string member')
        for m in d.get('Metrics', []):
            declared.add(m['Name'])
            if m.get('Unit') not in ('Count', 'Milliseconds'):
                bad.append(f'{m["Name"]}: unit {m.get("Unit")!r}')
            if not isinstance(line.get(m['Name']), (int, float)):
                bad.append(f'{m["Name"]} declared but not a number')
    for k, v in line.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) \
                and k not in declared:
            bad.append(f'{k} is a number no directive declares')
    return bad


def metric_counts(lines, metric):
    """{(dimension values...): sum} of one metric over the lines."""
    out = collections.Counter()
    for line in lines:
        for d in line['_aws']['CloudWatchMetrics']:
            if metric in [m['Name'] for m in d['Metrics']]:
                for dset in d['Dimensions']:
                    out[tuple(line[n] for n in dset)] += line[metric]
    return out


def test_outcome_metrics_over_the_real_state_machine(tmp_path):
    # The breaker counts per UTC hour: both disk alarms in the same one.
    engine.wait_for_hour_room(90)
    with engine.Stands() as stands:
        worker = stands.start_worker('metrics-1', HEALER_BREAKER_MAX=1)
        definition = engine.render_definition(str(tmp_path / 'engine.json'))
        by = {e.key: e for e in engine.scenario()}
        events = [by['disk-1'], by['unknown'], by['disk-2']]
        events[2].expect = engine.EXPECTED['breaker']
        outcomes = engine.run_sequential(stands, definition, events)
        for o in outcomes:
            assert o.check() == [], (o.event.key, o.check())
        (dry,) = engine.run_sequential(stands, definition, [by['ssh']],
                                       dry_run=True)
        assert dry.result['status'] == 'SUCCEEDED', dry.result
        assert dry.remediation['dryRun'] is True
        # A pool-wide line after the executions: Workers is on it.
        wait_until(
            lambda: sum(line.get('Workers', 0)
                        for line in emf_lines(worker)) >= 2,
            timeout=30, what='two pool-wide metric lines')
        guard_logs = worker.events('guard decision')
        lines = emf_lines(worker)

    for line in lines:
        assert check_declared(line) == [], line

    rem = metric_counts(lines, 'Remediations')
    assert rem == {('disk_pressure', 'applied'): 1,
                   ('public_ssh', 'dry-run'): 1}, rem
    esc = metric_counts(lines, 'Escalations')
    assert esc == {('unknown',): 1, ('disk_pressure',): 1}, esc

    # Per guard answer: a retried guard would decide (and count) again,
    # so the trips match the answers that found the breaker open.
    opened = [g for g in guard_logs if g['reason'].startswith(
        'Manual Intervention Required: circuit breaker open')]
    assert len(opened) >= 1
    trips = metric_counts(lines, 'BreakerTrips')
    assert trips == {('disk_pressure',): len(opened)}, trips
    decisions = metric_counts(lines, 'GuardDecisions')
    assert decisions[('breaker',)] == len(opened)
    assert decisions[('proceed',)] == len(guard_logs) - len(opened)
    assert sum(decisions.values()) == len(guard_logs)
    assert metric_counts(lines, 'BlastRadiusStopped') == {}

    # The pool-wide line: one worker, every line it flushed.
    pool = [line for line in lines if 'Workers' in line]
    assert pool and all(line['Workers'] == 1 for line in pool)
    assert all(line['_aws']['CloudWatchMetrics'][0]['Dimensions'] == [[]]
               for line in pool)
