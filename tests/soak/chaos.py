"""What the soak does to the system, shared by both phases: the fault mix,
the workers' environment (credentials from the endpoint's ECS stand-in,
short drain deadline and heartbeat interval), credential rotation, and the
scan of worker logs for leaked task tokens or secrets."""

import json
import re

ARN_PREFIX = 'arn:aws:states:us-east-1:123456789012:activity:healer-'
ECS_TOKEN = 'soak-ecs-authorization-token-5c1e'
FAULTS = dict(rate_500=0.05, rate_503=0.05, rate_throttle=0.05,
              rate_reset=0.02, rate_after_effect=0.01)
# Longer than the endpoint's long poll (5 s in the soak), as the worker's
# default (100 s) is longer than Step Functions' (60 s): open polls end by
# themselves before the deadline instead of being aborted (which could lose
# a task handed to one at that moment; docs/RELIABILITY.md, known limits).
DRAIN_DEADLINE_S = 8
HEARTBEAT_S = 3            # worker heartbeat interval; echo HeartbeatSeconds 10


def worker_env(aws, cfg, extra=None):
    env = {
        'AWS_CONTAINER_CREDENTIALS_FULL_URI': aws.url + '/_ecs/credentials',
        'AWS_CONTAINER_AUTHORIZATION_TOKEN': ECS_TOKEN,
        'HEALER_ACTIVITY_ARN_PREFIX': ARN_PREFIX,
        'HEALER_DRAIN_DEADLINE_S': str(DRAIN_DEADLINE_S),
        'HEALER_HEARTBEAT_S': str(HEARTBEAT_S),
        'HEALER_METRICS_INTERVAL_S': '10',
    }
    env.update(extra or {})
    return env


def rotate_credentials(aws, cfg):
    """ECS stand-in: a new set once the current one is rotate_s old, each
    valid for 2 x rotate_s, so a worker (refreshing half way through a set's
    life) picks up a new set about every rotate_s seconds, and one that
    kept an old set would get ExpiredTokenException."""
    aws.ecs(rotate_every_s=cfg['rotate_s'], lifetime_s=2 * cfg['rotate_s'],
            auth_token=ECS_TOKEN)


# -- the end of a phase ---------------------------------------------------------

def auth_problems(summary):
    """Requests the endpoint refused for their credentials: with rotation
    working, none."""
    n = summary.get('auth_failures')
    return [f'{n} requests failed authentication (credential rotation)'] \
        if n else []


def run_figures(summary, fleet, counts):
    """The figures both phases report about the fleet and the endpoint."""
    return dict(fleet=fleet.counts(), retired=fleet.retired,
                faults_injected=summary.get('faults_injected'),
                requests_by_op=summary.get('requests_by_op'),
                auth_failures=summary.get('auth_failures'),
                worker_log_warnings=counts)


def keep_or_clean(out, keep, batch, fleet):
    """Names the run's directories in out['kept'] (keep), else removes
    them."""
    if keep:
        out['kept'] = {'batch': batch.dir,
                       'workers': [w.dir for w in fleet.all]}
    else:
        fleet.cleanup()
        batch.cleanup()


# -- worker logs ---------------------------------------------------------------

_LONG_B64 = re.compile(r'[A-Za-z0-9+/=]{200,}')
ABORTED_POLLS = 'open polls aborted at the drain deadline'


class LogScan:
    """What the workers' JSON logs say: warnings and errors by message,
    every message naming a task (by its token hash), the workers that
    aborted polls at their drain deadline, and leaks: a task token or one
    of `secrets` anywhere in a log is a problem."""

    def __init__(self, logs, tokens, secrets):
        tokens = set(tokens)
        self.counts, self.problems = {}, []
        self.events = {}            # token hash -> [msg, ...]
        self.aborting = set()       # worker names
        for name, text in logs:
            text = text.replace('\\/', '/')       # JSON may escape '/'
            for line in text.splitlines():
                if not line.startswith('{'):
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                msg = rec.get('msg')
                if rec.get('level') in ('warn', 'error'):
                    k = f'{rec.get("level")}: {msg}'
                    self.counts[k] = self.counts.get(k, 0) + 1
                if msg == ABORTED_POLLS:
                    self.aborting.add(name)
                tok = rec.get('token')
                if isinstance(tok, str):
                    self.events.setdefault(tok, []).append(msg)
            for m in _LONG_B64.findall(text):
                if m in tokens:
                    self.problems.append(f'worker {name}: a task token '
                                         'appears in its log')
                    break
            for sec in secrets:
                if sec and sec in text:
                    self.problems.append(f'worker {name}: a secret appears '
                                         'in its log')
