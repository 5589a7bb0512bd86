"""Judging a soak run: from the state machine runner's results and the local
endpoint's per-token task records to the figures the soak prints and the
problems that fail it.

Pure functions on plain dicts (no processes, no I/O), so the tests can feed
them made-up records and see each problem reported.

Inputs
  executions  the runner's result lines (tests/local/sfn_runner.js --batch):
              {"name", "status", "executionArn", "output", "error", "tasks":
              [{"state", "token": 12-hex hash, "result", "error"}],
              "startedAt", "endedAt"}
  tasks       GET /_admin/tasks of the endpoint (full records, token included)
  expect      expect(execution) -> None when the execution reached its
              expected end, else a short reason
  killed      names of the workers stopped with SIGKILL
  events      optional: what the workers logged per task, {token hash: [msg]}
  aborting    optional: workers that logged aborting open polls at their
              drain deadline

Words used in the figures
  answered exactly once  a token with exactly one accepted SendTaskSuccess /
                         SendTaskFailure
  duplicate              a token with more than one accepted result (the
                         endpoint refuses a second one, so this also catches
                         an endpoint regression)
  conflicting sends      sends for one token that differ (another result, not
                         the same one retried after an ambiguous failure)
  lost                   a token the endpoint handed to a poll whose client
                         never got it (aborted poll, error after the effect)
  timeout explanations   a token that timed out was lost (endpoint), held
                         by a SIGKILLed worker, never handed out, or - from
                         the worker's own log - handed to a poll the worker
                         aborted at its drain deadline (never received),
                         found timed out by a heartbeat (cancelled, nothing
                         sent), answered too late (refused), or its answer
                         could not be delivered after every retry
  unexplained timeout    none of these: a task a worker received and dropped
"""

import hashlib


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def percentile(values, p):
    """Nearest-rank percentile of values (p in 0..100); None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def _send_key(send):
    return (send.get('op'), send.get('output'), send.get('error'),
            send.get('cause'))


RECEIVED = 'task received'
HEARTBEAT_CANCELLED = 'task cancelled: Step Functions no longer accepts it'
LATE = 'task no longer accepts an answer'
UNDELIVERABLE = "could not deliver the task's answer"


def _explain(t, killed, events, aborting):
    """Why a timed-out task got no accepted answer, or None."""
    worker = t.get('workerName')
    if t.get('lost'):
        return 'lost'
    if worker is None:
        return 'never_handed_out'
    if worker in killed:
        return 'worker_sigkilled'
    refused = any(not s.get('accepted') for s in t.get('sends') or [])
    if events is None:
        return 'answered_too_late' if refused else None
    evs = events.get(token_hash(t['token']), [])
    has = lambda prefix: any((m or '').startswith(prefix) for m in evs)  # noqa: E731
    if not has(RECEIVED):
        return 'poll_aborted_at_drain_deadline' if worker in aborting else None
    if has(HEARTBEAT_CANCELLED):
        return 'heartbeat_found_it_timed_out'
    if refused or has(LATE):
        return 'answered_too_late'
    if has(UNDELIVERABLE):
        return 'answer_undeliverable'
    return None


def analyse_tasks(tasks, killed=(), events=None, aborting=()):
    """Figures and problems about tokens, whatever the executions."""
    killed, aborting = set(killed), set(aborting)
    f = {'tasks': len(tasks), 'answered_exactly_once': 0, 'duplicates': 0,
         'conflicting_sends': 0, 'lost': 0, 'lost_by_reason': {},
         'timed_out': 0, 'timed_out_by_reason': {}, 'open': 0,
         'refused_repeat_sends': 0, 'late_answers_refused': 0,
         'timeouts_explained': {}, 'timeouts_from_worker_logs': [],
         'unexplained_timeouts': 0}
    problems = []
    answer_s, wait_s = [], []
    for t in tasks:
        sends = t.get('sends') or []
        accepted = [s for s in sends if s.get('accepted')]
        if t.get('acceptedResults', len(accepted)) == 1:
            f['answered_exactly_once'] += 1
        if t.get('acceptedResults', len(accepted)) > 1:
            f['duplicates'] += 1
            problems.append(f'token {token_hash(t["token"])}: '
                            f'{t.get("acceptedResults")} accepted results')
        if len({_send_key(s) for s in sends}) > 1:
            f['conflicting_sends'] += 1
            problems.append(f'token {token_hash(t["token"])}: different '
                            f'results sent: {[s.get("op") for s in sends]}')
        for s in sends:
            if s.get('accepted'):
                continue
            if accepted:
                f['refused_repeat_sends'] += 1
            else:
                f['late_answers_refused'] += 1
        if t.get('lost'):
            f['lost'] += 1
            r = t.get('lostReason') or 'unknown'
            f['lost_by_reason'][r] = f['lost_by_reason'].get(r, 0) + 1
        state = t.get('state')
        if state in ('queued', 'assigned'):
            f['open'] += 1
            problems.append(f'token {token_hash(t["token"])}: still {state} '
                            'at the end')
        if state == 'timed_out':
            f['timed_out'] += 1
            r = t.get('timeoutReason') or 'unknown'
            f['timed_out_by_reason'][r] = \
                f['timed_out_by_reason'].get(r, 0) + 1
            why = _explain(t, killed, events, aborting)
            if why is not None:
                f['timeouts_explained'][why] = \
                    f['timeouts_explained'].get(why, 0) + 1
                if why not in ('lost', 'never_handed_out', 'worker_sigkilled'):
                    f['timeouts_from_worker_logs'].append(
                        {'token': token_hash(t['token']), 'why': why,
                         'worker': t.get('workerName')})
            else:
                f['unexplained_timeouts'] += 1
                problems.append(f'token {token_hash(t["token"])}: handed to '
                                f'{t.get("workerName")} (not SIGKILLed), '
                                f'never answered ({r}); the worker logged '
                                f'{(events or {}).get(token_hash(t["token"]))}')
        if accepted and t.get('assignedAt') is not None:
            answer_s.append(accepted[0]['at'] - t['assignedAt'])
            wait_s.append(accepted[0]['at'] - t['enqueuedAt'])
    f['answer_s'] = _dist(answer_s)
    f['enqueue_to_answer_s'] = _dist(wait_s)
    return f, problems


def _dist(values):
    if not values:
        return {'p50': None, 'p99': None, 'max': None}
    return {'p50': round(percentile(values, 50), 3),
            'p99': round(percentile(values, 99), 3),
            'max': round(max(values), 3)}


def analyse_executions(executions, tasks, expect, expected_count=None):
    """Figures and problems about executions, joined to the tokens."""
    by_hash = {token_hash(t['token']): t for t in tasks}
    f = {'executions': len(executions), 'by_status': {},
         'reached_expected_end': 0, 'lost_executions': 0,
         'recovered_by_retry': 0, 'attempt_errors': {},
         'attempts_max': 0, 'tasks_not_in_any_execution': 0}
    problems = []
    seen = set()
    durations = []
    for ex in executions:
        f['by_status'][ex['status']] = f['by_status'].get(ex['status'], 0) + 1
        why = expect(ex)
        if why is None:
            f['reached_expected_end'] += 1
        else:
            f['lost_executions'] += 1
            problems.append(f'execution {ex["name"]}: {why}')
        attempts = ex.get('tasks') or []
        f['attempts_max'] = max(f['attempts_max'], len(attempts))
        for a in attempts:
            seen.add(a['token'])
            t = by_hash.get(a['token'])
            if t is None:
                problems.append(f'execution {ex["name"]}: task {a["token"]} '
                                'unknown to the endpoint')
                continue
            if a.get('result') and a['result'] != t['state']:
                problems.append(f'execution {ex["name"]}: task {a["token"]} '
                                f'is {t["state"]} at the endpoint but '
                                f'{a["result"]} in the execution')
            if a.get('error') and a['error'] != 'States.TaskFailed':
                c = a['error']
                f['attempt_errors'][c] = f['attempt_errors'].get(c, 0) + 1
        # More tasks than Task states entered = a state was retried.
        if why is None and _retried(ex):
            f['recovered_by_retry'] += 1
        if ex.get('startedAt') is not None and ex.get('endedAt') is not None:
            durations.append((ex['endedAt'] - ex['startedAt']) / 1000.0)
    f['tasks_not_in_any_execution'] = len(set(by_hash) - seen)
    if f['tasks_not_in_any_execution']:
        problems.append(f'{f["tasks_not_in_any_execution"]} tasks at the '
                        'endpoint belong to no execution')
    if expected_count is not None and len(executions) != expected_count:
        missing = expected_count - len(executions)
        f['lost_executions'] += max(0, missing)
        problems.append(f'{missing} executions never reported an end '
                        f'({len(executions)} of {expected_count})')
    f['execution_s'] = _dist(durations)
    return f, problems


def _retried(ex):
    hist = ex.get('history')
    if hist:
        return any(h.get('type') == 'StateRetried' for h in hist)
    return len(ex.get('tasks') or []) > 1
