"""Step Functions executions: StartExecution, DescribeExecution,
StopExecution, on top of the activities of services/stepfunctions.py.

The state machines are the project's real definitions, registered through
the admin API; the interpreter is tests/local/sfn_executions.js (one Node
process for every execution, started on the first registration, ending when
this endpoint ends). Each Task state the interpreter enters is put on its
activity's queue here, in process (StepFunctions.enqueue, with the state's
HeartbeatSeconds and TimeoutSeconds), and its settlement by a worker
(SendTaskSuccess / SendTaskFailure / a timeout) is reported back, so the
workers serve the tasks exactly as they would under Step Functions.

Two modules cannot both claim the AWSStepFunctions target prefix, so this
one has none: at start() it adds its operations to the StepFunctions
service, whose SigV4 check, model validation, faults and request record
then apply to them as to any other.

Semantics kept from AWS (standard workflows):
  - name: 1..80 characters, none of whitespace, < > { } [ ] ? * " # % \\ ^
    | ~ ` $ & , ; : / or control characters (else InvalidName); the
    execution ARN is arn:aws:states:<region>:<account>:execution:<machine
    name>:<name>;
  - a name is unique per state machine: StartExecution with the name of an
    execution that is still running AND the same input answers that
    execution again (idempotent); any other reuse is ExecutionAlreadyExists
    (AWS keeps names for 90 days; here until a reset);
  - input: JSON text (default "{}"), at most 256 KiB (else
    InvalidExecutionInput);
  - unknown state machine: StateMachineDoesNotExist; unknown execution:
    ExecutionDoesNotExist; malformed ARNs: InvalidArn.

Admin:
  POST /_admin/sfn/state-machines {"name", "template": path in the repo
       (rendered as Terraform would, like sfn_runner.js --template) |
       "definition": {...}, "arnPrefix"?: activity ARN prefix (each
       ${x_y_activity_arn} becomes PREFIX + "x-y"), "vars"?: {...},
       "retryIntervalMs"?: replaces every Retry wait (tests),
       "timeoutS"?: an execution's wall-clock limit (default 600)}
       -> {"stateMachineArn"}
  GET  /_admin/sfn/executions -> {"executions": [{"executionArn", "name",
       "stateMachineArn", "status", "input", "output", "error", "cause",
       "startDate", "stopDate", "history": [...], "tasks": [{"state",
       "activityArn", "result"}]}]}
Reset forgets machines and executions (running ones are aborted).
"""

import json
import os
import re
import subprocess
import threading
import time

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

NS = 'com.amazonaws.swf.service.v2.model'
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
ENGINE_JS = os.path.join(HERE, '..', 'sfn_executions.js')
NODE = os.environ.get('NODE', 'node')

_NAME_RE = re.compile(r'[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}')
_MACHINE_ARN_RE = re.compile(r'arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):'
                             r'stateMachine:([A-Za-z0-9_-]{1,80})')
_EXEC_ARN_RE = re.compile(r'arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):'
                          r'execution:([A-Za-z0-9_-]{1,80}):(.{1,80})')
MAX_INPUT = 256 * 1024
SETTLED = ('succeeded', 'failed', 'timed_out')


def _err(code, message):
    return AwsError(code, message, 400, NS)


class Execution:
    def __init__(self, arn, name, machine_arn, input_text):
        self.arn, self.name, self.machine_arn = arn, name, machine_arn
        self.input = input_text
        self.status = 'RUNNING'
        self.start = time.time()
        self.stop = None
        self.output = self.error = self.cause = None
        self.history = []
        self.tasks = []

    def describe(self):
        out = {'executionArn': self.arn, 'stateMachineArn': self.machine_arn,
               'name': self.name, 'status': self.status,
               'startDate': self.start, 'input': self.input,
               'inputDetails': {'included': True}}
        if self.stop is not None:
            out['stopDate'] = self.stop
        if self.output is not None:
            out['output'] = self.output
            out['outputDetails'] = {'included': True}
        if self.error is not None:
            out['error'] = self.error
        if self.cause is not None:
            out['cause'] = self.cause
        return out

    def public(self):
        return dict(self.describe(), output=self.output, error=self.error,
                    cause=self.cause, history=list(self.history),
                    tasks=[dict(t) for t in self.tasks])


class Executions(Service):
    name = 'sfn-executions'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Condition()
        self.proc = None
        self.write_lock = threading.Lock()
        self.sfn = None
        self.next_id = 1
        self.replies = {}           # define id -> reply
        self.pending = {}           # task id -> (token, Execution, record)
        self._clear()

    def _clear(self):
        self.machines = {}          # arn -> {"name", "timeoutS"}
        self.executions = {}        # arn -> Execution

    # -- wiring ----------------------------------------------------------------

    def start(self):
        for svc in self.endpoint.services:
            if svc.name == 'stepfunctions':
                self.sfn = svc
        if self.sfn is None:
            raise RuntimeError('sfn_executions needs services/stepfunctions.py')
        for op, fn in self.operations.items():
            if op in self.sfn.operations:
                raise RuntimeError(f'{op} is already served')
            self.sfn.model.operation_model(op)      # fail early on a typo
            self.sfn.operations[op] = fn
        threading.Thread(target=self._watch_tasks, name='sfn-exec-watch',
                         daemon=True).start()

    def _engine(self):
        """The Node interpreter, started on first use. Caller holds lock."""
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        self.proc = subprocess.Popen(
            [NODE, ENGINE_JS], cwd=REPO, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)
        threading.Thread(target=self._read, args=(self.proc,),
                         name='sfn-exec-read', daemon=True).start()
        return self.proc

    def _send(self, proc, msg):
        line = json.dumps(msg, separators=(',', ':')) + '\n'
        with self.write_lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

    def _read(self, proc):
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            op = msg.get('op')
            if op == 'defined':
                with self.lock:
                    self.replies[msg.get('id')] = msg
                    self.lock.notify_all()
            elif op == 'task':
                self._enqueue(msg)
            elif op == 'done':
                with self.lock:
                    ex = self.executions.get(msg.get('executionArn'))
                    if ex is not None and ex.status == 'RUNNING':
                        ex.status = msg.get('status') or 'FAILED'
                        out = msg.get('output')
                        ex.output = None if out is None else json.dumps(
                            out, separators=(',', ':'))
                        ex.error, ex.cause = msg.get('error'), msg.get('cause')
                        ex.stop = time.time()
                    if ex is not None:
                        ex.history = msg.get('history') or []
                    self.lock.notify_all()
        with self.lock:         # the interpreter died: nothing will finish
            for ex in self.executions.values():
                if ex.status == 'RUNNING':
                    ex.status, ex.error = 'FAILED', 'Runner.Died'
                    ex.cause = 'the interpreter process ended'
                    ex.stop = time.time()
            self.lock.notify_all()

    # -- tasks -------------------------------------------------------------------

    def _enqueue(self, msg):
        with self.lock:
            ex = self.executions.get(msg.get('executionArn'))
        rec = {'state': msg.get('state'), 'activityArn': msg.get('activityArn'),
               'result': None}
        if ex is None:
            self._send(self.proc, {'op': 'taskDone', 'id': msg['id'],
                                   'state': 'vanished'})
            return
        token = self.sfn.enqueue(msg['activityArn'], [msg['input']],
                                 msg.get('heartbeatSeconds'),
                                 msg.get('timeoutSeconds'))[0]
        with self.lock:
            ex.tasks.append(rec)
            self.pending[msg['id']] = (token, ex, rec)
            self.lock.notify_all()

    def _watch_tasks(self):
        """Reports settled tasks to the interpreter (every 20 ms while any
        is open; the StepFunctions service is read under its own lock)."""
        while True:
            with self.lock:
                while not self.pending:
                    self.lock.wait()
                pending = list(self.pending.items())
            done = []
            with self.sfn.lock:
                for tid, (token, ex, rec) in pending:
                    t = self.sfn.tasks.get(token)
                    if t is None:
                        done.append((tid, rec, {'state': 'vanished'}))
                    elif t.state in SETTLED:
                        m = {'state': t.state}
                        sent = [s for s in t.sends if s.get('accepted')]
                        if t.state == 'succeeded':
                            m['output'] = sent[0]['output']
                        elif t.state == 'failed':
                            m['error'] = sent[0].get('error')
                            m['cause'] = sent[0].get('cause')
                        else:
                            m['timeoutReason'] = t.timeout_reason
                        done.append((tid, rec, m))
            for tid, rec, m in done:
                with self.lock:
                    self.pending.pop(tid, None)
                    rec['result'] = m['state']
                    if m.get('error'):
                        rec['error'] = m['error']
                self._send(self.proc, dict(m, op='taskDone', id=tid))
            time.sleep(0.02)

    # -- admin -------------------------------------------------------------------

    def routes(self):
        return [('POST', r'/_admin/sfn/state-machines', self._admin_define),
                ('GET', r'/_admin/sfn/executions', self._admin_executions)]

    def _admin_define(self, req):
        b = req.json()
        name = b.get('name')
        if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z0-9_-]{1,80}', name):
            raise HttpError(400, 'state-machines: name must be 1..80 of [A-Za-z0-9_-]')
        if ('template' in b) == ('definition' in b):
            raise HttpError(400, 'state-machines: give one of template or definition')
        if 'template' in b:
            t = b['template']
            full = os.path.normpath(os.path.join(REPO, t)) if isinstance(t, str) else ''
            if not full.startswith(REPO + os.sep) or not os.path.isfile(full):
                raise HttpError(400, 'state-machines: template must be a file of the repository')
        for k in ('retryIntervalMs', 'timeoutS'):
            v = b.get(k)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
                raise HttpError(400, f'state-machines: {k} must be a number >= 0')
        msg = {'op': 'define', 'machine': name}
        for k in ('template', 'definition', 'arnPrefix', 'vars', 'retryIntervalMs'):
            if b.get(k) is not None:
                msg[k] = b[k]
        with self.lock:
            proc = self._engine()
            did = self.next_id
            self.next_id += 1
            msg['id'] = did
        self._send(proc, msg)
        deadline = time.monotonic() + 60
        with self.lock:
            while did not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or proc.poll() is not None:
                    raise HttpError(500, 'state-machines: the interpreter did not answer')
                self.lock.wait(left)
            reply = self.replies.pop(did)
            if not reply.get('ok'):
                raise HttpError(400, f"state-machines: {reply.get('error')}")
            arn = (f'arn:aws:states:{self.endpoint.region}:'
                   f'{self.endpoint.account}:stateMachine:{name}')
            self.machines[arn] = {'name': name, 'timeoutS': b.get('timeoutS') or 600}
        return {'stateMachineArn': arn}

    def _admin_executions(self, req):
        with self.lock:
            return {'executions': [e.public() for e in
                                   sorted(self.executions.values(),
                                          key=lambda e: e.start)]}

    def reset(self):
        with self.lock:
            running = [e.arn for e in self.executions.values()
                       if e.status == 'RUNNING']
            self._clear()
            self.pending.clear()
            proc = self.proc
        for arn in running:
            if proc is not None:
                self._send(proc, {'op': 'stop', 'executionArn': arn})

    def summary(self):
        with self.lock:
            by = {}
            for e in self.executions.values():
                by[e.status] = by.get(e.status, 0) + 1
            return {'executions': len(self.executions),
                    'executions_by_status': by}

    # -- the API -------------------------------------------------------------------

    def _machine(self, arn):
        if not _MACHINE_ARN_RE.fullmatch(arn):
            raise _err('InvalidArn', f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
        m = self.machines.get(arn)
        if m is None:
            raise _err('StateMachineDoesNotExist',
                       f"State Machine Does Not Exist: '{arn}'")
        return m

    @operation('StartExecution')
    def start_execution(self, req):
        p = req.params
        machine_arn = p['stateMachineArn']
        name = p.get('name')
        text = p.get('input')
        if text is None:
            text = '{}'
        if len(text.encode('utf-8')) > MAX_INPUT:
            raise _err('InvalidExecutionInput',
                       'Invalid Execution Input: the input exceeds 262144 bytes')
        try:
            value = json.loads(text)
        except ValueError:
            raise _err('InvalidExecutionInput',
                       'Invalid Execution Input: the input is not valid JSON') from None
        with self.lock:
            m = self._machine(machine_arn)
            if name is None:
                name = os.urandom(16).hex()
            if not _NAME_RE.fullmatch(name):
                raise _err('InvalidName', f"Invalid Name: '{name}'")
            arn = (f'arn:aws:states:{self.endpoint.region}:'
                   f'{self.endpoint.account}:execution:{m["name"]}:{name}')
            old = self.executions.get(arn)
            if old is not None:
                if old.status == 'RUNNING' and old.input == text:
                    return {'executionArn': old.arn, 'startDate': old.start}
                raise _err('ExecutionAlreadyExists',
                           f"Execution Already Exists: '{arn}'")
            ex = Execution(arn, name, machine_arn, text)
            self.executions[arn] = ex
            proc = self._engine()
        iso = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ex.start)) + \
            '.%03dZ' % int((ex.start % 1) * 1000)
        self._send(proc, {'op': 'start', 'executionArn': arn,
                          'machine': m['name'], 'name': name, 'input': value,
                          'startTime': iso, 'stateMachineArn': machine_arn,
                          'timeoutS': m['timeoutS']})
        return {'executionArn': arn, 'startDate': ex.start}

    def _execution(self, arn):
        if not _EXEC_ARN_RE.fullmatch(arn):
            raise _err('InvalidArn', f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
        ex = self.executions.get(arn)
        if ex is None:
            raise _err('ExecutionDoesNotExist',
                       f"Execution Does Not Exist: '{arn}'")
        return ex

    @operation('DescribeExecution')
    def describe_execution(self, req):
        with self.lock:
            return self._execution(req.params['executionArn']).describe()

    @operation('StopExecution')
    def stop_execution(self, req):
        with self.lock:
            ex = self._execution(req.params['executionArn'])
            if ex.status == 'RUNNING':
                ex.status = 'ABORTED'
                ex.error = req.params.get('error')
                ex.cause = req.params.get('cause')
                ex.stop = time.time()
                proc = self.proc
            else:
                proc = None
            stop = ex.stop
        if proc is not None:
            self._send(proc, {'op': 'stop', 'executionArn': ex.arn})
        return {'stopDate': stop}


SERVICES = [Executions]
