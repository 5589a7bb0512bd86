"""Step Functions activities, as AWS serves them to activity workers.

Operations: CreateActivity, DescribeActivity, ListActivities, DeleteActivity,
GetActivityTask, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.  Tasks
come from the admin API (POST /_admin/tasks), standing in for executions
entering a Task state.

Concurrency: one lock guards all state.  A GetActivityTask with nothing queued
waits on its own Condition (sharing that lock) in a per-activity FIFO; an
enqueued task goes to the oldest waiting poll, which is woken alone.  Each
token is handed out at most once.  A poll whose client went away still takes
the task handed to it (as on AWS); when the HTTP layer then finds the client
gone, the task is marked ``lost`` and ends only through its timeouts.

A timer thread (heap of deadlines, lazy deletion) times tasks out:
TimeoutSeconds counts from enqueue (the state was entered), HeartbeatSeconds
from assignment and from each accepted heartbeat.

Task tokens are opaque base64 text, 600-900 characters like AWS's, carrying
an internal checksum: a token that does not decode to our format is
``InvalidToken``; a well-formed token that is not known (e.g. from before a
reset) is ``TaskDoesNotExist``; a known token whose task is settled or timed
out is ``TaskTimedOut`` (what AWS answers).
"""

import base64
import binascii
import collections
import hashlib
import heapq
import json
import os
import re
import threading
import time

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

NS = 'com.amazonaws.swf.service.v2.model'

_TOKEN_MAGIC = b'\x00\x00\x00\x2a\x00\x00\x00\x02'     # "AAAAKgAAAAI..."
_TOKEN_MIN_RAW, _TOKEN_MAX_RAW = 450, 660               # ~600-880 chars
_ARN_RE = re.compile(r'arn:(aws[a-zA-Z-]*):states:([a-z0-9-]+):(\d{12}):'
                     r'([a-zA-Z]+):(.+)')
_BAD_NAME_RE = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]')

OPEN_STATES = ('queued', 'assigned')


def _err(code, message):
    return AwsError(code, message, 400, NS)


def _reject_constant(name):
    raise ValueError(f'invalid JSON constant {name}')


def _is_json(text):
    try:
        json.loads(text, parse_constant=_reject_constant)
        return True
    except ValueError:
        return False


class Task:
    __slots__ = ('token', 'arn', 'input', 'state', 'lost', 'lost_reason',
                 'worker', 'assign_count', 'heartbeats', 'sends',
                 'accepted', 'rejected', 'enqueued_at', 'assigned_at',
                 'settled_at', 'timeout_reason', 'heartbeat_s', 'timeout_s',
                 'hb_deadline', 'to_deadline', 'rejected_heartbeats')

    def public(self):
        return {'token': self.token, 'activityArn': self.arn,
                'input': self.input, 'state': self.state, 'lost': self.lost,
                'lostReason': self.lost_reason, 'workerName': self.worker,
                'assignCount': self.assign_count,
                'heartbeats': self.heartbeats,
                'rejectedHeartbeats': self.rejected_heartbeats,
                'sends': list(self.sends), 'acceptedResults': self.accepted,
                'rejectedSends': self.rejected,
                'enqueuedAt': self.enqueued_at,
                'assignedAt': self.assigned_at,
                'settledAt': self.settled_at,
                'timeoutReason': self.timeout_reason,
                'heartbeatSeconds': self.heartbeat_s,
                'timeoutSeconds': self.timeout_s}


class Poll:
    __slots__ = ('worker', 'cond', 'task')

    def __init__(self, worker, lock):
        self.worker = worker
        self.cond = threading.Condition(lock)
        self.task = None


class StepFunctions(Service):
    name = 'stepfunctions'
    target_prefix = 'AWSStepFunctions'
    botocore_name = 'stepfunctions'
    error_namespace = NS
    # Debian's botocore (1.29) has TaskToken max 1024; AWS's current model
    # says 2048.  Serve what AWS serves today.
    shape_overrides = {'TaskToken': {'min': 1, 'max': 2048}}

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.timer_cond = threading.Condition(self.lock)
        # Waiting polls are connections, not state: they survive a reset.
        self.waiting = collections.defaultdict(collections.deque)
        self.open_polls = 0
        self._clear()

    def _clear(self):
        self.activities = {}        # arn -> {name, creationDate}
        self.tasks = {}             # token -> Task
        self.queues = collections.defaultdict(collections.deque)
        self.heap = []              # (deadline_monotonic, seq, token, kind)
        self.seq = 0

    def start(self):
        t = threading.Thread(target=self._timer_loop, name='sfn-timer',
                             daemon=True)
        t.start()

    def reset(self):
        with self.lock:
            self._clear()
            self.timer_cond.notify()

    # -- ARNs, names, tokens -------------------------------------------------

    def activity_arn(self, name):
        return (f'arn:aws:states:{self.endpoint.region}:'
                f'{self.endpoint.account}:activity:{name}')

    def _check_activity_arn(self, arn):
        m = _ARN_RE.fullmatch(arn)
        if m is None:
            raise _err('InvalidArn', f"Invalid Arn: 'Invalid ARN prefix: "
                       f"{arn}'")
        if m.group(4) != 'activity':
            raise _err('InvalidArn', "Invalid Arn: 'Resource type not valid "
                       f"in this context: {m.group(4)}'")
        if _BAD_NAME_RE.search(m.group(5)):
            raise _err('InvalidArn', f"Invalid Arn: 'Invalid Activity name: "
                       f"{m.group(5)}'")

    def _new_token(self):
        n = _TOKEN_MIN_RAW + int.from_bytes(os.urandom(2), 'big') % (
            _TOKEN_MAX_RAW - _TOKEN_MIN_RAW)
        n -= n % 3                          # no '=' padding, like AWS's
        body = _TOKEN_MAGIC + os.urandom(n - len(_TOKEN_MAGIC) - 8)
        raw = body + hashlib.sha256(body).digest()[:8]
        return base64.b64encode(raw).decode('ascii')

    @staticmethod
    def _well_formed(token):
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return False
        return (_TOKEN_MIN_RAW - 3 <= len(raw) <= _TOKEN_MAX_RAW
                and raw.startswith(_TOKEN_MAGIC)
                and hashlib.sha256(raw[:-8]).digest()[:8] == raw[-8:])

    def _lookup(self, token):
        """The task for token (caller holds no lock)."""
        task = self.tasks.get(token)
        if task is not None:
            return task
        if not self._well_formed(token):
            raise _err('InvalidToken', "Invalid Token: 'Invalid token'")
        raise _err('TaskDoesNotExist', "Task Does Not Exist: 'Provided task "
                   "does not exist'")

    # -- activities ----------------------------------------------------------

    def _create_activity(self, name):
        """Caller holds the lock."""
        arn = self.activity_arn(name)
        act = self.activities.get(arn)
        if act is None:
            act = {'activityArn': arn, 'name': name,
                   'creationDate': time.time()}
            self.activities[arn] = act
        return act

    @operation('CreateActivity')
    def create_activity(self, req):
        name = req.params['name']
        if _BAD_NAME_RE.search(name):
            raise _err('InvalidName', f"Invalid Name: '{name}'")
        if len(req.params.get('tags') or []) > 50:
            raise _err('TooManyTags', 'Too many tags')
        with self.lock:
            act = self._create_activity(name)
        return {'activityArn': act['activityArn'],
                'creationDate': act['creationDate']}

    @operation('DescribeActivity')
    def describe_activity(self, req):
        arn = req.params['activityArn']
        self._check_activity_arn(arn)
        act = self.activities.get(arn)
        if act is None:
            raise _err('ActivityDoesNotExist',
                       f"Activity Does Not Exist: '{arn}'")
        return dict(act)

    @operation('ListActivities')
    def list_activities(self, req):
        max_results = req.params.get('maxResults') or 100
        start = 0
        token = req.params.get('nextToken')
        if token is not None:
            try:
                start = int(base64.b64decode(token, validate=True)
                            .decode().split(':')[1])
            except (ValueError, IndexError, binascii.Error):
                raise _err('InvalidToken', "Invalid Token: 'Invalid "
                           "pagination token'") from None
        with self.lock:
            acts = sorted(self.activities.values(), key=lambda a: a['name'])
        page = acts[start:start + max_results]
        out = {'activities': [dict(a) for a in page]}
        if start + max_results < len(acts):
            out['nextToken'] = base64.b64encode(
                f'page:{start + max_results}:{os.urandom(6).hex()}'
                .encode()).decode()
        return out

    @operation('DeleteActivity')
    def delete_activity(self, req):
        arn = req.params['activityArn']
        self._check_activity_arn(arn)
        with self.lock:
            self.activities.pop(arn, None)
        return {}

    # -- tasks ---------------------------------------------------------------

    def _schedule(self, deadline, token, kind):
        """Caller holds the lock."""
        self.seq += 1
        wake = not self.heap or deadline < self.heap[0][0]
        heapq.heappush(self.heap, (deadline, self.seq, token, kind))
        if wake:
            self.timer_cond.notify()

    def _assign(self, task, worker):
        """Caller holds the lock."""
        task.state = 'assigned'
        task.worker = worker
        task.assign_count += 1
        task.assigned_at = time.time()
        if task.heartbeat_s:
            task.hb_deadline = time.monotonic() + task.heartbeat_s
            self._schedule(task.hb_deadline, task.token, 'hb')

    def enqueue(self, arn, inputs, heartbeat_s=None, timeout_s=None):
        tokens = []
        now, mono = time.time(), time.monotonic()
        with self.lock:
            if arn not in self.activities:
                self._create_activity(arn.rsplit(':', 1)[1])
            queue = self.queues[arn]
            waiting = self.waiting.get(arn)
            for text in inputs:
                t = Task()
                t.token = self._new_token()
                t.arn, t.input, t.state = arn, text, 'queued'
                t.lost, t.lost_reason, t.worker = False, None, None
                t.assign_count = t.heartbeats = t.rejected_heartbeats = 0
                t.sends, t.accepted, t.rejected = [], 0, 0
                t.enqueued_at, t.assigned_at, t.settled_at = now, None, None
                t.timeout_reason = None
                t.heartbeat_s, t.timeout_s = heartbeat_s, timeout_s
                t.hb_deadline = t.to_deadline = None
                self.tasks[t.token] = t
                tokens.append(t.token)
                if timeout_s:
                    t.to_deadline = mono + timeout_s
                    self._schedule(t.to_deadline, t.token, 'to')
                if waiting:
                    poll = waiting.popleft()
                    poll.task = t
                    self._assign(t, poll.worker)
                    poll.cond.notify()
                else:
                    queue.append(t)
        return tokens

    def _next_queued(self, arn):
        """Caller holds the lock.  Skips tasks that timed out in the queue."""
        q = self.queues.get(arn)
        while q:
            t = q.popleft()
            if t.state == 'queued' and self.tasks.get(t.token) is t:
                return t
        return None

    @operation('GetActivityTask')
    def get_activity_task(self, req):
        arn = req.params['activityArn']
        worker = req.params.get('workerName')
        self._check_activity_arn(arn)
        timeout = self.endpoint.settings['poll_timeout_s']
        with self.lock:
            if arn not in self.activities:
                raise _err('ActivityDoesNotExist',
                           f"Activity Does Not Exist: '{arn}'")
            task = self._next_queued(arn)
            if task is not None:
                self._assign(task, worker)
            else:
                poll = Poll(worker, self.lock)
                waiting = self.waiting[arn]
                waiting.append(poll)
                self.open_polls += 1
                deadline = time.monotonic() + timeout
                try:
                    while poll.task is None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        poll.cond.wait(remaining)
                finally:
                    self.open_polls -= 1
                    if poll.task is None:
                        try:
                            waiting.remove(poll)
                        except ValueError:
                            pass
                task = poll.task
        if task is None:
            return {}
        req.on_undelivered(lambda reason: self._mark_lost(task, reason))
        return {'taskToken': task.token, 'input': task.input}

    def _mark_lost(self, task, reason):
        with self.lock:
            task.lost = True
            task.lost_reason = reason

    def _settle(self, req, op, new_state, record):
        token = req.params['taskToken']
        task = self._lookup(token)
        with self.lock:
            record['op'] = op
            record['at'] = time.time()
            if self.tasks.get(token) is not task or \
                    task.state not in OPEN_STATES:
                record['accepted'] = False
                record['rejectedWith'] = 'TaskTimedOut'
                task.sends.append(record)
                task.rejected += 1
                raise _err('TaskTimedOut', "Task Timed Out: 'Provided task "
                           "does not exist anymore'")
            if new_state == 'succeeded' and not _is_json(
                    req.params['output']):
                record['accepted'] = False
                record['rejectedWith'] = 'InvalidOutput'
                task.sends.append(record)
                task.rejected += 1
                raise _err('InvalidOutput', "Invalid Output: 'Output is not "
                           "valid JSON'")
            record['accepted'] = True
            task.sends.append(record)
            task.accepted += 1
            task.state = new_state
            task.settled_at = record['at']
            task.hb_deadline = task.to_deadline = None
        return {}

    @operation('SendTaskSuccess')
    def send_task_success(self, req):
        return self._settle(req, 'SendTaskSuccess', 'succeeded',
                            {'output': req.params['output']})

    @operation('SendTaskFailure')
    def send_task_failure(self, req):
        rec = {}
        for k in ('error', 'cause'):
            if req.params.get(k) is not None:
                rec[k] = req.params[k]
        return self._settle(req, 'SendTaskFailure', 'failed', rec)

    @operation('SendTaskHeartbeat')
    def send_task_heartbeat(self, req):
        token = req.params['taskToken']
        task = self._lookup(token)
        with self.lock:
            if self.tasks.get(token) is not task or \
                    task.state not in OPEN_STATES:
                task.rejected_heartbeats += 1
                raise _err('TaskTimedOut', "Task Timed Out: 'Provided task "
                           "does not exist anymore'")
            task.heartbeats += 1
            if task.state == 'assigned' and task.heartbeat_s:
                task.hb_deadline = time.monotonic() + task.heartbeat_s
                self._schedule(task.hb_deadline, token, 'hb')
        return {}

    # -- the timer -----------------------------------------------------------

    def _timer_loop(self):
        with self.lock:
            while True:
                if not self.heap:
                    self.timer_cond.wait()
                    continue
                now = time.monotonic()
                deadline = self.heap[0][0]
                if deadline > now:
                    self.timer_cond.wait(deadline - now)
                    continue
                _, _, token, kind = heapq.heappop(self.heap)
                task = self.tasks.get(token)
                if task is None or task.state not in OPEN_STATES:
                    continue
                if kind == 'hb':
                    if task.state != 'assigned' or task.hb_deadline != \
                            deadline:
                        continue            # superseded by a heartbeat
                    reason = 'States.HeartbeatTimeout'
                else:
                    if task.to_deadline != deadline:
                        continue
                    reason = 'States.Timeout'
                task.state = 'timed_out'
                task.timeout_reason = reason
                task.settled_at = time.time()
                task.hb_deadline = task.to_deadline = None

    # -- admin ---------------------------------------------------------------

    def routes(self):
        return [('POST', r'/_admin/tasks', self._admin_enqueue),
                ('GET', r'/_admin/tasks', self._admin_tasks)]

    def _admin_enqueue(self, req):
        b = req.json()
        arn = b.get('activityArn')
        if not isinstance(arn, str) or not arn:
            raise HttpError(400, 'tasks: activityArn is required (an ARN or '
                            'an activity name)')
        if not arn.startswith('arn:'):
            arn = self.activity_arn(arn)
        try:
            self._check_activity_arn(arn)
        except AwsError as e:
            raise HttpError(400, f'tasks: {e.message}') from None
        raw = b.get('rawInputs')
        if raw is not None:
            # Taken verbatim, even when not JSON: Step Functions never sends
            # such input, but a worker must survive it.
            if not isinstance(raw, list) or not all(isinstance(x, str)
                                                    for x in raw):
                raise HttpError(400, 'tasks: rawInputs must be a list of '
                                'strings')
        inputs = b.get('inputs')
        if inputs is None and raw is not None:
            inputs = []
        if inputs is None and 'count' in b:
            if not isinstance(b['count'], int) or b['count'] < 0:
                raise HttpError(400, 'tasks: count must be an integer >= 0')
            inputs = [b.get('input', {})] * b['count']
        if not isinstance(inputs, list):
            raise HttpError(400, 'tasks: inputs must be a list (or give '
                            'count and input)')
        texts = []
        for x in inputs:
            if isinstance(x, str) and _is_json(x):
                texts.append(x)
            else:
                texts.append(json.dumps(x, separators=(',', ':')))
        texts.extend(raw or [])
        hb, to = b.get('heartbeatSeconds'), b.get('timeoutSeconds')
        for k, v in (('heartbeatSeconds', hb), ('timeoutSeconds', to)):
            if v is not None and (not isinstance(v, (int, float))
                                  or isinstance(v, bool) or v <= 0):
                raise HttpError(400, f'tasks: {k} must be a number > 0')
        return {'activityArn': arn,
                'tokens': self.enqueue(arn, texts, hb, to)}

    def _admin_tasks(self, req):
        state = req.query.get('state')
        arn = req.query.get('activityArn')
        with self.lock:
            out = [t.public() for t in self.tasks.values()
                   if (state is None or t.state == state)
                   and (arn is None or t.arn == arn)]
        return {'tasks': out}

    def summary(self):
        counts = dict.fromkeys(('queued', 'assigned', 'succeeded', 'failed',
                                'timed_out'), 0)
        lost = dup = rejected = 0
        with self.lock:
            for t in self.tasks.values():
                counts[t.state] += 1
                lost += t.lost
                dup += t.accepted > 1
                rejected += t.rejected
            out = dict(counts, lost=lost, duplicate_results=dup,
                       rejected_sends=rejected, open_polls=self.open_polls,
                       tasks=len(self.tasks), activities=len(self.activities))
        return out


SERVICES = [StepFunctions]
