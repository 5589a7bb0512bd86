#!/usr/bin/python3
"""make demo: run healer end to end on the local stand-ins and say what
happened, event by event.

What runs today: the local AWS endpoint (SigV4-verifying, Step Functions
activity semantics), and a real build/healer worker pool serving the `echo`
diagnostic activity with credentials from the ECS credential stand-in. The
remediation activities and the state machine replace the echo tasks here as
they land (see the open issues); this script says so rather than pretend.
Exits non-zero if any task ends in an unexpected state.
"""

import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'local'))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

from harness import LocalAWS  # noqa: E402
from workers import Worker, activity_arn, wait_until  # noqa: E402

SCENARIO = [
    ('ok', {'check': 'plumbing', 'note': 'a plain task'}),
    ('ok', {'check': 'slow', 'sleep_ms': 1500}),
    ('fail', {'check': 'failure path', 'fail': 'Demo'}),
    ('invalid', '{"this is": not json'),
    ('too-large', {'check': 'output bound', 'output_bytes': 300000}),
]


def main():
    started = time.monotonic()
    print('healer demo: local AWS endpoint + worker pool (echo activity)')
    print('  (the remediation engine is not built yet: this shows the worker runtime)')
    with LocalAWS(poll_timeout=2) as ep:
        ep.admin('POST', '/_admin/ecs', {'rotate_every_s': 30, 'lifetime_s': 3600,
                                          'auth_token': 'demo-token'})
        inputs = [x if isinstance(x, str) else json.dumps(x) for _, x in SCENARIO]
        tokens = ep.admin('POST', '/_admin/tasks', {'activityArn': activity_arn('echo'),
                                                    'inputs': inputs,
                                                    'heartbeatSeconds': 10})['tokens']
        env = {'AWS_CONTAINER_CREDENTIALS_FULL_URI': ep.url + '/_ecs/credentials',
               'AWS_CONTAINER_AUTHORIZATION_TOKEN': 'demo-token',
               'HEALER_HEARTBEAT_S': '1', 'HEALER_DRY_RUN': 'true'}
        with Worker(ep.url, 'echo:4', extra_env=env, credentials='none') as w:
            def done():
                s = ep.admin('GET', '/_admin/summary')
                return s['succeeded'] + s['failed'] + s['timed_out'] >= len(tokens)
            wait_until(done, 30, what='demo tasks')
            w.signal(signal.SIGTERM)
            code = w.wait(30)
        records = {t['token']: t for t in ep.admin('GET', '/_admin/tasks')['tasks']}
        bad = 0
        for (expect, _), token in zip(SCENARIO, tokens):
            t = records[token]
            accepted = [s for s in t['sends'] if s['accepted']]
            answer = accepted[0] if accepted else {}
            if answer.get('op') == 'SendTaskSuccess':
                outcome = 'ok'
                detail = 'output %d bytes' % len(answer.get('output', ''))
            else:
                err = answer.get('error', '(none)')
                outcome = {'Healer.InvalidInput': 'invalid',
                           'Healer.OutputTooLarge': 'too-large'}.get(err, 'fail')
                detail = '%s: %s' % (err, (answer.get('cause') or '')[:80])
            ok = outcome == expect and len(accepted) == 1
            bad += 0 if ok else 1
            print('  task %s  expected %-9s got %-9s heartbeats=%d  %s  %s'
                  % (token[:8], expect, outcome, t['heartbeats'], detail,
                     'OK' if ok else 'UNEXPECTED'))
        s = ep.admin('GET', '/_admin/summary')
        print('worker exit code %d; lost=%d; auth failures=%d; %.1fs'
              % (code, s['lost'], s['auth_failures'], time.monotonic() - started))
        if code != 0 or s['lost'] or bad:
            print('demo FAILED')
            return 1
    print('demo OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
