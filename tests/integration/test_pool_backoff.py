"""Poll backoff and answer heartbeats against the local AWS endpoint.

A transient GetActivityTask failure (5xx, reset, timeout) holds back only
the slot whose poll failed; throttling holds back the whole activity. A
task whose answer is being retried is still heartbeated, so retries that
outlast HeartbeatSeconds still land. The endpoint's request ring (start
and end of every request) and per-token records are the judges."""

import os
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from harness import LocalAWS  # noqa: E402

from workers import Worker, activity_arn, wait_until  # noqa: E402

POLL_TIMEOUT_S = 3
BACKOFF_LINE = 'GetActivityTask failed; backing off'


@pytest.fixture
def ep():
    with LocalAWS(poll_timeout=POLL_TIMEOUT_S) as endpoint:
        yield endpoint


def enqueue(ep, inputs, heartbeat=None):
    body = {'activityArn': activity_arn('echo'), 'inputs': inputs}
    if heartbeat is not None:
        body['heartbeatSeconds'] = heartbeat
    return ep.admin('POST', '/_admin/tasks', body)['tokens']


def summary(ep):
    return ep.admin('GET', '/_admin/summary')


def tasks(ep):
    return ep.admin('GET', '/_admin/tasks')['tasks']


def requests(ep, op):
    """(start, end, record) of every request for op, by start."""
    out = []
    for r in ep.admin('GET', '/_admin/requests')['requests']:
        if r['op'] == op:
            out.append((r['at'] - r.get('durationMs', 0) / 1000.0, r['at'], r))
    return sorted(out, key=lambda x: x[0])


def test_transient_poll_errors_back_off_only_their_slot(ep):
    ep.admin('POST', '/_admin/faults', {'rate_500': 0.2, 'seed': 11,
                                        'operations': ['GetActivityTask']})
    n = 400
    enqueue(ep, [{'n': i} for i in range(n)])
    with Worker(ep.url, 'echo:8') as w:
        wait_until(lambda: summary(ep)['succeeded'] >= n, 180,
                   what='%d tasks done under 500s on GetActivityTask' % n)
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0
        elapsed = time.monotonic() - w.started
    records = tasks(ep)
    assert all(t['state'] == 'succeeded' and t['acceptedResults'] == 1
               for t in records)
    polls = requests(ep, 'GetActivityTask')
    last_handout = max(t['assignedAt'] for t in records)
    failed = [end for _, end, r in polls
              if r['fault'] == '500' and end < last_handout - 1.0]
    assert len(failed) >= 20, 'too few failed polls to judge: %d' % len(failed)
    # While a failed poll's slot waits (at least 1 s), the other slots keep
    # polling. A whole-activity backoff would start no poll for 1-2 s
    # after each failure (polls sent with the failed one may reach the
    # endpoint a little after it fails: hence 0.2 s); allow for a loaded
    # machine by asking it of half the failures.
    starts = [start for start, _, _ in polls]
    kept_polling = sum(1 for f in failed
                       if any(f + 0.2 < s <= f + 0.9 for s in starts))
    assert kept_polling >= len(failed) // 2, (
        'after %d of %d failed polls no other poll started 0.2-0.9 s later'
        % (len(failed) - kept_polling, len(failed)))
    lines = w.events(BACKOFF_LINE)
    assert lines and all(l.get('scope') == 'poll' for l in lines), lines[:3]
    assert all(l['error'] == 'InternalFailure' for l in lines), lines[:3]
    # Rate-limited: one line per 10 s at most, counting what it stands for.
    assert len(lines) <= 2 + elapsed / 10, (len(lines), elapsed)
    all_500 = sum(1 for _, _, r in polls if r['fault'] == '500')
    assert len(lines) <= sum(l['failed_polls'] for l in lines) <= all_500
    assert lines[0]['backoff_ms'] >= 1000


def test_throttling_backs_off_the_whole_activity(ep):
    ep.admin('POST', '/_admin/faults', {'rate_throttle': 1.0,
                                        'operations': ['GetActivityTask']})
    with Worker(ep.url, 'echo:4') as w:
        w.wait_for(BACKOFF_LINE)
        time.sleep(5)
        polls = requests(ep, 'GetActivityTask')
        ep.admin('POST', '/_admin/faults', {})
        enqueue(ep, [{'n': i} for i in range(20)])
        # The backoff may have grown to 4-8 s; then one probe, then all.
        wait_until(lambda: summary(ep)['succeeded'] >= 20, 60,
                   what='20 tasks done once throttling stopped')
    assert polls and all(r['errorCode'] == 'ThrottlingException'
                         for _, _, r in polls)
    # The first turn opens a poll per slot and they are throttled
    # together: one decision. After it the activity waits, then probes
    # with one poll at a time: never two polls within 0.5 s.
    first = polls[0][0]
    later = [start for start, _, _ in polls if start > first + 0.5]
    assert len(polls) - len(later) <= 4, polls
    for a, b in zip(later, later[1:]):
        assert b - a >= 0.5, 'two polls of a throttled activity %.3f s apart' % (b - a)
    assert len(later) <= 5, len(later)
    lines = w.events(BACKOFF_LINE)
    assert lines[0].get('scope') == 'activity' and lines[0]['error'] == 'ThrottlingException'
    assert lines[0]['backoff_ms'] >= 1000
    assert all(l.get('scope') == 'activity' for l in lines), lines


def test_answer_retried_past_heartbeat_seconds_is_heartbeated(ep):
    hb_seconds = 3
    ep.admin('POST', '/_admin/faults', {'rate_500': 1.0,
                                        'operations': ['SendTaskSuccess']})
    (token,) = enqueue(ep, [{'n': 1}], heartbeat=hb_seconds)
    with Worker(ep.url, 'echo:1', extra_env={'HEALER_HEARTBEAT_S': '1'}) as w:
        def failing_for():
            sends = requests(ep, 'SendTaskSuccess')
            if len(sends) < 2:
                return False
            return time.time() - sends[0][1] > 2 * hb_seconds + 1
        wait_until(failing_for, 60, what='SendTaskSuccess failing for over 2 x HeartbeatSeconds')
        ep.admin('POST', '/_admin/faults', {})
        wait_until(lambda: summary(ep)['succeeded'] + summary(ep)['timed_out'] >= 1, 60,
                   what='the task settled')
    (t,) = tasks(ep)
    assert t['state'] == 'succeeded', t
    assert t['acceptedResults'] == 1 and t['rejectedSends'] == 0, t
    sends = requests(ep, 'SendTaskSuccess')
    first_fail = min(end for _, end, r in sends if r['fault'] == '500')
    accepted = max(end for _, end, r in sends if r['status'] == 200)
    beats = [end for _, end, r in requests(ep, 'SendTaskHeartbeat')
             if first_fail < end < accepted and r['status'] == 200]
    # Without heartbeats the state would have timed out after 3 s.
    assert accepted - first_fail > 2 * hb_seconds
    assert len(beats) >= 2, (beats, first_fail, accepted)
    assert not w.events('task cancelled: Step Functions no longer accepts it; no result will be sent')
    answered = w.events('task answered')
    assert len(answered) == 1 and answered[0]['attempts'] >= 2, answered


def test_heartbeat_refused_while_answer_in_flight_changes_nothing(ep):
    # The first SendTaskSuccess lands but its client sees a 500, and so do
    # the retries (each refused as settled, then answered 500): the answer
    # stays in flight while heartbeats come back TaskTimedOut. The answer
    # path decides: no cancellation, no second result, one log line.
    ep.admin('POST', '/_admin/faults', {'rate_after_effect': 1.0,
                                        'operations': ['SendTaskSuccess']})
    enqueue(ep, [{'n': 1}], heartbeat=30)
    with Worker(ep.url, 'echo:1', extra_env={'HEALER_HEARTBEAT_S': '1'}) as w:
        wait_until(lambda: tasks(ep)[0]['rejectedHeartbeats'] >= 1, 30,
                   what='a heartbeat refused while the answer is retried')
        ep.admin('POST', '/_admin/faults', {})
        settled_lines = w.wait_for('task already settled by an earlier attempt', timeout=60)
        time.sleep(1.5)   # a heartbeat turn after the answer settled
        lines = w.lines()
    (t,) = tasks(ep)
    assert t['state'] == 'succeeded' and t['acceptedResults'] == 1, t
    assert len(settled_lines) == 1
    msgs = [l.get('msg', '') for l in lines]
    assert not [m for m in msgs if m.startswith('task cancelled')], msgs
    assert not [m for m in msgs if m.startswith('task result discarded')], msgs
    assert 'task answered' not in msgs
    # Heartbeats stopped at the first refusal.
    assert t['rejectedHeartbeats'] == 1, t
