#!/usr/bin/env python3
"""The chaos soak: the real worker against the local AWS endpoint and the
real state machine runner, under faults, restarts, kills and credential
rotation. docs/RELIABILITY.md states what it proves and holds its figures.

    /usr/bin/python3 tests/soak/soak.py --preset long    # make soak
    /usr/bin/python3 tests/soak/soak.py --preset short   # make test (test_soak_short.py)

Phase 1, echo executions: tests/soak/echo.asl.json (one Task on the echo
activity, the engine's retry policy) run N times by tests/local/sfn_runner.js
--batch, served by a fleet of build/healer workers taking their credentials
from the endpoint's ECS stand-in (a new set every --rotate-s seconds, each
valid for twice that). Every AWS request, GetActivityTask included, draws
faults: 5 % 500, 5 % 503, 5 % throttling, 2 % connection resets, 1 % errors
after the effect (a task handed out and its answer swallowed: lost until
HeartbeatSeconds), plus a random latency. Spread evenly over the run (by
executions finished), --sigterm workers are stopped with SIGTERM and
--sigkill with SIGKILL, each replaced at once. One execution in ten makes the
echo sleep 0.5-10 s, so drains (deadline 8 s, after the 5 s long polls have
ended by themselves) hand some back with Healer.WorkerShutdown.

Phase 2, engine executions (tests/soak/engine.py): the real
statemachines/engine.asl.json, several disk-pressure events per instance at
once, not in dry run, with the same faults and workers killed / stopped in
the middle of remediations; judged by the SSM, DynamoDB and Jira records.

Pass: every execution reaches its expected end, no token gets two results,
and the stricter checks listed in the output (SIGTERMed workers exit 0, no
task dropped by a live worker, no auth failure under rotation, no task token
or secret in a log). Exit 0 on pass, 1 on failure, 2 on a setup error.
--json FILE writes every figure.
"""

import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))

import analysis  # noqa: E402
from chaos import (DRAIN_DEADLINE_S, ECS_TOKEN, FAULTS,  # noqa: E402
                   LogScan, auth_problems, keep_or_clean, rotate_credentials,
                   run_figures, worker_env)
import engine  # noqa: E402
from batch import Batch  # noqa: E402
from fleet import Fleet  # noqa: E402
from harness import LocalAWS  # noqa: E402

ECHO_ASL = os.path.join(HERE, 'echo.asl.json')

PRESETS = {
    'long': dict(executions=10000, sigterm=20, sigkill=5, rotate_s=30,
                 workers=3, slots=16, concurrency=100, poll_timeout=5,
                 latency_ms=(0, 100), engine_resources=6, engine_per_resource=5,
                 engine_sigkill=2, engine_sigterm=2, time_limit_s=3600),
    'short': dict(executions=1000, sigterm=3, sigkill=1, rotate_s=3,
                  workers=3, slots=16, concurrency=100, poll_timeout=5,
                  latency_ms=(0, 50), engine_resources=3, engine_per_resource=4,
                  engine_sigkill=1, engine_sigterm=1, time_limit_s=600),
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--preset', choices=sorted(PRESETS), default='short')
    for k in ('executions', 'sigterm', 'sigkill', 'rotate_s', 'workers',
              'slots', 'concurrency', 'poll_timeout', 'engine_resources',
              'engine_per_resource', 'engine_sigkill', 'engine_sigterm',
              'time_limit_s'):
        p.add_argument('--' + k.replace('_', '-'), type=int, default=None)
    p.add_argument('--seed', type=int, default=None,
                   help='seed of the disruption schedule and the faults '
                   '(default: random, printed)')
    p.add_argument('--fault-scale', type=float, default=1.0,
                   help='multiply every fault rate (0 = no faults, latency '
                   'kept; for comparisons)')
    p.add_argument('--skip-echo', action='store_true')
    p.add_argument('--skip-engine', action='store_true')
    p.add_argument('--json', metavar='FILE', help='write all figures here')
    p.add_argument('--keep', action='store_true',
                   help='keep worker logs and batch files (paths printed)')
    a = p.parse_args(argv)
    cfg = dict(PRESETS[a.preset])
    for k in list(cfg):
        v = getattr(a, k, None)
        if v is not None:
            cfg[k] = v
    cfg['seed'] = a.seed if a.seed is not None else random.randrange(1 << 30)
    if not 0 <= a.fault_scale <= 5:
        p.error('--fault-scale must be 0..5')
    cfg['faults'] = {k: v * a.fault_scale for k, v in FAULTS.items()}
    cfg['preset'] = a.preset
    return a, cfg


def log(msg):
    print(f'[soak {time.strftime("%H:%M:%S")}] {msg}', flush=True)


# -- phase 1: echo -------------------------------------------------------------

def echo_items(cfg, rng):
    items = []
    for i in range(cfg['executions']):
        sleep_ms = rng.randrange(500, 10000) if rng.random() < 0.1 else 0
        items.append({'name': f'soak-{i:05d}',
                      'input': {'seq': i, 'sleep_ms': sleep_ms}})
    return items


def expect_echo(inputs):
    def expect(ex):
        if ex['status'] != 'SUCCEEDED':
            return f'{ex["status"]} ({ex.get("error")}: ' \
                   f'{(ex.get("cause") or "")[:120]})'
        inp = inputs.get(ex['name'])
        out = ex.get('output') or {}
        want = {'execution': ex['executionArn'], 'seq': inp['seq'],
                'sleep_ms': inp['sleep_ms']}
        got = (out.get('result') or {}).get('echo')
        if got != want:
            return f'wrong output: {json.dumps(out)[:200]}'
        if out.get('seq') != inp['seq']:
            return 'the execution state lost its input'
        return None
    return expect


def schedule(cfg, rng):
    """[(executions finished, 'term' | 'kill')], spread over the run."""
    kinds = ['term'] * cfg['sigterm'] + ['kill'] * cfg['sigkill']
    rng.shuffle(kinds)
    n = len(kinds)
    return [(int((k + 1) * cfg['executions'] / (n + 1)), kind)
            for k, kind in enumerate(kinds)]


def run_echo(cfg, keep):
    rng = random.Random(cfg['seed'])
    out = {'config': {k: cfg[k] for k in ('executions', 'sigterm', 'sigkill',
                                           'rotate_s', 'workers', 'slots',
                                           'concurrency', 'poll_timeout',
                                           'seed')}}
    out['config']['latency_ms'] = list(cfg['latency_ms'])
    out['config']['faults'] = cfg['faults']
    problems = []
    with LocalAWS(poll_timeout=cfg['poll_timeout']) as aws:
        sfn = aws.boto3_client('stepfunctions', max_attempts=1)
        sfn.create_activity(name='healer-echo')
        rotate_credentials(aws, cfg)
        exit_limit = cfg['poll_timeout'] + DRAIN_DEADLINE_S + 60
        fleet = Fleet(aws.url, f'echo:{cfg["slots"]}', worker_env(aws, cfg),
                      cfg['workers'], 'soak-echo', exit_limit)
        batch = None
        try:
            want_polls = cfg['workers'] * cfg['slots']
            fleet.wait_polling(aws, want_polls)
            aws.faults(latency_ms=list(cfg['latency_ms']), seed=cfg['seed'],
                       **cfg['faults'])
            items = echo_items(cfg, rng)
            inputs = {it['name']: it['input'] for it in items}
            plan = schedule(cfg, rng)
            log(f'echo: {len(items)} executions, {cfg["workers"]} workers x '
                f'{cfg["slots"]} slots, {cfg["sigterm"]} SIGTERM + '
                f'{cfg["sigkill"]} SIGKILL, credentials every '
                f'{cfg["rotate_s"]} s, seed {cfg["seed"]}')
            batch = Batch(aws.url, ['--definition', ECHO_ASL], items,
                          cfg['concurrency'], timeout_s=600)
            deadline = time.monotonic() + cfg['time_limit_s']
            last_report = time.monotonic()
            while batch.running() and time.monotonic() < deadline:
                done = batch.done
                while plan and done >= plan[0][0]:
                    _, how = plan.pop(0)
                    victim = fleet.disrupt(how, rng)
                    log(f'echo: {done} done: SIG{how.upper()} {victim}')
                if time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    log(f'echo: {done}/{len(items)} executions done')
                time.sleep(0.1)
            rc = batch.wait(deadline - time.monotonic())
            if plan:
                problems.append(f'{len(plan)} planned disruptions not done '
                                '(the run ended first)')
            if rc != 0:
                problems.append(f'runner exit code {rc}: '
                                f'{batch.stderr()[-1500:]}')
            if batch.bad_lines:
                problems.append(f'runner printed non-JSON: {batch.bad_lines[:3]}')
            out['runner_s'] = round(batch.elapsed(), 1)
            log(f'echo: runner finished in {out["runner_s"]} s; stopping '
                'the workers')
        finally:
            fleet.stop_all()
        aws.clear_faults()
        tasks = aws.tasks()
        summary = aws.summary()
        ecs = aws.admin('GET', '/_admin/ecs')
        killed = fleet.killed_names()
        scan = LogScan(fleet.logs(), [t['token'] for t in tasks], [ECS_TOKEN])
        tf, tp = analysis.analyse_tasks(tasks, killed, scan.events,
                                        scan.aborting)
        ef, ep = analysis.analyse_executions(batch.results, tasks,
                                             expect_echo(inputs),
                                             expected_count=len(items))
        counts = scan.counts
        problems += ep + tp + scan.problems + fleet.exit_problems()
        problems += auth_problems(summary)
        if summary.get('validation_failures'):
            problems.append(f'{summary["validation_failures"]} requests '
                            'failed validation')
        out.update(executions=ef, tasks=tf,
                   **run_figures(summary, fleet, counts),
                   errors_by_code=summary.get('errors_by_code'),
                   credential_sets=ecs.get('rotations'),
                   ecs_fetches=ecs.get('fetches'))
        keep_or_clean(out, keep, batch, fleet)
    out['problems'] = problems
    return out


# -- printing ------------------------------------------------------------------

def _fmt(d):
    return ', '.join(f'{k} {v}' for k, v in sorted(d.items())) or 'none'


def print_echo(r):
    e, t, fl = r['executions'], r['tasks'], r['fleet']
    fates = {w['name']: w['how'] for w in r['retired']}
    ans, wait, ex = t['answer_s'], t['enqueue_to_answer_s'], e['execution_s']
    rows = [
        ('executions', e['executions']),
        ('reached expected end', e['reached_expected_end']),
        ('lost executions', e['lost_executions']),
        ('tasks (tokens)', t['tasks']),
        ('answered exactly once', t['answered_exactly_once']),
        ('lost tasks (endpoint)', f'{t["lost"]} ({_fmt(t["lost_by_reason"])})'),
        ('duplicates (>1 accepted)', t['duplicates']),
        ('conflicting sends', t['conflicting_sends']),
        ('repeat sends refused', f'{t["refused_repeat_sends"]} (same answer '
         'retried after an error after the effect)'),
        ('late answers refused', t['late_answers_refused']),
        ('timed out tasks', f'{t["timed_out"]} ({_fmt(t["timed_out_by_reason"])});'
         f' why: {_fmt(t["timeouts_explained"])}, unexplained '
         f'{t["unexplained_timeouts"]}'),
        ('timeouts seen in worker logs', '; '.join(
            f'{x["token"]} {x["why"]} ({x["worker"]}: {fates.get(x["worker"], "live")})'
            for x in t['timeouts_from_worker_logs'][:10]) + (
            f'; ... {len(t["timeouts_from_worker_logs"]) - 10} more'
            if len(t['timeouts_from_worker_logs']) > 10 else '') or 'none'),
        ('recovered through retry', f'{e["recovered_by_retry"]} executions '
         f'(failed attempts: {_fmt(e["attempt_errors"])}; most attempts '
         f'{e["attempts_max"]})'),
        ('max time to answer', f'{ans["max"]} s from hand-out (p50 '
         f'{ans["p50"]}, p99 {ans["p99"]}); {wait["max"]} s from the state\'s '
         f'start (p99 {wait["p99"]})'),
        ('execution time', f'p50 {ex["p50"]} s, p99 {ex["p99"]} s, max '
         f'{ex["max"]} s; runner {r.get("runner_s")} s'),
        ('workers', f'{fl["started"]} started, SIGTERM {fl["sigterm"]} (slowest '
         f'exit {fl["sigterm_exit_s_max"]} s), SIGKILL {fl["sigkill"]}'),
        ('credentials', f'{r["credential_sets"]} sets issued, '
         f'{r["ecs_fetches"]} fetches, auth failures {r["auth_failures"]}'),
        ('faults injected', _fmt(r['faults_injected'] or {})),
        ('requests', _fmt(r['requests_by_op'] or {})),
    ]
    print('== echo executions (tests/soak/echo.asl.json)')
    for k, v in rows:
        print(f'  {k:<28} {v}')


def main(argv=None):
    a, cfg = parse_args(argv)
    if not os.path.exists(os.environ.get('HEALER_BIN', os.path.join(
            REPO, 'build', 'healer'))):
        print('soak: build/healer not found (run make)', file=sys.stderr)
        return 2
    t0 = time.monotonic()
    report = {'preset': cfg['preset'], 'seed': cfg['seed']}
    problems = []
    try:
        if not a.skip_echo:
            r = run_echo(cfg, a.keep)
            report['echo'] = r
            problems += [f'echo: {p}' for p in r['problems']]
        if not a.skip_engine:
            r = engine.run_engine(cfg, a.keep, log)
            report['engine'] = r
            problems += [f'engine: {p}' for p in r['problems']]
    except RuntimeError as e:        # a stand-in or a worker did not start
        print(f'soak: setup failed: {e}', file=sys.stderr)
        return 2
    for phase in ('echo', 'engine'):
        if 'kept' in report.get(phase, {}):
            k = report[phase]['kept']
            log(f'{phase}: kept runner files in {k["batch"]}, worker logs in '
                f'{len(k["workers"])} directories, e.g. {k["workers"][0]}')
    report['elapsed_s'] = round(time.monotonic() - t0, 1)
    print()
    print(f'== soak ({cfg["preset"]}, seed {cfg["seed"]}, '
          f'{report["elapsed_s"]} s)')
    if 'echo' in report:
        print_echo(report['echo'])
    if 'engine' in report:
        engine.print_engine(report['engine'])
    report['problems'] = problems
    report['pass'] = not problems
    print('== checks')
    checks = []
    if 'echo' in report:
        e, t = report['echo']['executions'], report['echo']['tasks']
        checks += [('echo: lost executions = 0', e['lost_executions'] == 0),
                   ('echo: duplicate results = 0', t['duplicates'] == 0)]
    if 'engine' in report:
        checks += engine.checks(report['engine'])
    checks.append(('no other problem', not problems))
    for name, ok in checks:
        print(f'  {"PASS" if ok else "FAIL"}  {name}')
    for p in problems[:40]:
        print(f'  problem: {p}')
    if len(problems) > 40:
        print(f'  ... and {len(problems) - 40} more')
    print('RESULT:', 'PASS' if report['pass'] else 'FAIL')
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(report, f, indent=1, default=str)
    return 0 if report['pass'] else 1


if __name__ == '__main__':
    sys.exit(main())
