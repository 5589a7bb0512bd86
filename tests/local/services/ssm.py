"""SSM stand-in: Run Command on simulated instances, and Automation.

Operations (AmazonSSM, JSON 1.1): SendCommand, GetCommandInvocation,
ListCommands, DescribeInstanceInformation, StartAutomationExecution,
GetAutomationExecution.

Run Command
  Command documents: ``healer-disk-cleanup`` is loaded from the project's
  activities/disk-cleanup-document.json, so SendCommand checks parameters
  against the real document: unknown or missing parameters and values that
  fail a parameter's ``allowedPattern`` are InvalidParameters, an unknown
  document InvalidDocument.  Every SendCommand request is recorded in full
  (GET /_admin/ssm/commands), so a test can prove a dry run sent none.
  Instances are simulated (POST /_admin/ssm/instances):
    {"instanceId", "usedPercent" (91), "sizeBytes" (100 GiB),
     "freesPercent" (30: what the cleanup frees, in points of usage),
     "filesRemoved" (42), "topDirs" ([[bytes, path], ...]),
     "registered" (true; false = no agent: SendCommand InvalidInstanceId),
     "pingStatus" ("Online"), "outcome" ("Success" | "Failed" | "TimedOut" |
     "Cancelled" | "BadOutput"), "stderr", "pendingPolls" (0: invocations
     report Pending/InProgress for this many polls), "missingPolls" (0:
     GetCommandInvocation answers InvocationDoesNotExist this many times
     first)}
  An invocation advances only when polled; the cleanup's effect (usage
  drops by freesPercent) happens once, when it reaches Success.

Automation
  AWS-DisablePublicAccessForSecurityGroup acts on the AWS Config stand-in's
  groups (config.py) as the runbook does: it revokes exactly
  tcp 22 and tcp 3389 from 0.0.0.0/0 and ::/0.  In a default VPC a rule
  that is not there is skipped; in a non-default VPC (defaultVpc false)
  the first missing one fails the automation with InvalidPermission.NotFound
  (as AWS documents).  Rules for all traffic or port ranges stay.
  ClientToken (case-insensitive, as AWS documents): the same token with the
  same document and parameters returns the same execution without running
  it again (its "starts" counts the calls); with others,
  IdempotentParameterMismatch.
  POST /_admin/ssm/automation {"pendingPolls" (1), "notFoundPolls" (0),
  "outcome" (null | "Failed" | "TimedOut" | "Cancelled": end so without
  touching the group)}; GET /_admin/ssm/automations lists executions.

Parameter Store lives in another module (services/ssm_parameters.py).  Two
modules cannot both claim the AmazonSSM target prefix, so that module
defines a Service subclass without ``target_prefix`` and, in its
``start()``, calls ``services.ssm.attach(self.endpoint, self)``: every
``@operation`` method of that object is then served through this service
(SigV4, model validation, faults and the request record included); its
admin routes, reset and summary stay its own.
"""

import copy
import json
import os
import re
import threading
import time
import uuid
from datetime import datetime, timezone

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
DISK_DOCUMENT_FILE = os.path.join(REPO, 'activities',
                                  'disk-cleanup-document.json')
DISK_DOCUMENT_NAME = 'healer-disk-cleanup'
SG_RUNBOOK = 'AWS-DisablePublicAccessForSecurityGroup'
_SG_RUNBOOK_PARAMS = ('GroupId', 'AutomationAssumeRole', 'IpAddressToBlock')
_INSTANCE_RE = re.compile(r'(i-[0-9a-f]{8}(?:[0-9a-f]{9})?)|(mi-\w{17})')
_OUTCOMES = ('Success', 'Failed', 'TimedOut', 'Cancelled', 'BadOutput')
GIB = 1024 ** 3


def _err(code, message):
    return AwsError(code, message, 400)


def _iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


def _parse_iso(s):
    try:
        return datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
    except ValueError:
        raise _err('InvalidFilterValue', f'invalid date {s!r}') from None


def attach(endpoint, provider):
    """Route provider's @operation methods through the SSM service."""
    for svc in endpoint.services:
        if isinstance(svc, SSM):
            return svc.extend(provider)
    raise RuntimeError('the SSM service is not loaded')


class Instance:
    DEFAULTS = {'usedPercent': 91, 'sizeBytes': 100 * GIB,
                'freesPercent': 30, 'filesRemoved': 42,
                'topDirs': [[40 * GIB, '/var/lib/docker'],
                            [12 * GIB, '/home'], [3 * GIB, '/var/log']],
                'registered': True, 'pingStatus': 'Online',
                'outcome': 'Success', 'stderr': '', 'pendingPolls': 0,
                'missingPolls': 0, 'platform': 'Linux'}

    def __init__(self, body):
        self.cfg = dict(self.DEFAULTS)
        for k, v in body.items():
            if k == 'instanceId':
                continue
            if k not in self.DEFAULTS:
                raise HttpError(400, f'unknown key {k!r}; known: '
                                f'{sorted(self.DEFAULTS)}')
            self.cfg[k] = v
        if self.cfg['outcome'] not in _OUTCOMES:
            raise HttpError(400, f'outcome must be one of {_OUTCOMES}')
        if not 0 <= self.cfg['usedPercent'] <= 100:
            raise HttpError(400, 'usedPercent must be 0..100')
        self.iid = body['instanceId']
        self.used = self.cfg['usedPercent']
        self.cleanups = 0

    def public(self):
        return dict(self.cfg, instanceId=self.iid, usedPercentNow=self.used,
                    cleanups=self.cleanups)


class Invocation:
    def __init__(self, command, instance):
        self.command = command
        self.instance = instance
        self.missing_left = instance.cfg['missingPolls']
        self.pending_left = instance.cfg['pendingPolls']
        self.polls = 0
        self.status = 'Pending'
        self.details = 'Pending'
        self.code = -1
        self.stdout = ''
        self.stderr = ''
        self.start = None
        self.end = None

    def advance(self):
        """One GetCommandInvocation: returns None for
        InvocationDoesNotExist, else moves the simulation on."""
        self.polls += 1
        if self.missing_left > 0:
            self.missing_left -= 1
            return None
        if self.status not in ('Pending', 'InProgress'):
            return self
        if self.pending_left > 0:
            self.pending_left -= 1
            if self.status == 'Pending' and self.polls > 1:
                self.status, self.details = 'InProgress', 'In Progress'
                self.start = time.time()
            return self
        self.finish()
        return self

    def finish(self):
        inst = self.instance
        outcome = inst.cfg['outcome']
        self.start = self.start or time.time()
        self.end = time.time()
        if outcome in ('Success', 'BadOutput'):
            before = inst.used
            after = max(0, before - inst.cfg['freesPercent'])
            inst.used = after
            inst.cleanups += 1
            freed = int((before - after) / 100 * inst.cfg['sizeBytes'])
            self.status, self.details, self.code = 'Success', 'Success', 0
            if outcome == 'BadOutput':
                self.stdout = 'Vacuuming done\nsomething unexpected\n'
                return
            lines = [f'HEALER_USAGE_BEFORE={before}',
                     f'HEALER_USAGE_AFTER={after}',
                     f'HEALER_FREED_BYTES={freed}',
                     f'HEALER_FILES_REMOVED={inst.cfg["filesRemoved"]}',
                     f'HEALER_SIZE_BYTES={inst.cfg["sizeBytes"]}']
            path = self.command['Parameters']['mountPath'][0] \
                if 'mountPath' in self.command.get('Parameters', {}) else '/'
            lines.append(f'HEALER_TOP={int(inst.cfg["sizeBytes"] * after / 100)} {path}')
            for b, p in inst.cfg['topDirs']:
                lines.append(f'HEALER_TOP={b} {p}')
            lines.append('HEALER_DONE=1')
            self.stdout = '\n'.join(lines) + '\n'
            self.stderr = inst.cfg['stderr']
        elif outcome == 'Failed':
            self.status, self.details, self.code = 'Failed', 'Failed', 1
            self.stderr = inst.cfg['stderr'] or 'failed to run commands: exit status 1'
        elif outcome == 'TimedOut':
            self.status, self.details = 'TimedOut', 'Execution Timed Out'
            self.code = -1
        else:
            self.status, self.details = 'Cancelled', 'Cancelled'

    def answer(self):
        c = self.command
        return {'CommandId': c['CommandId'], 'InstanceId': self.instance.iid,
                'Comment': c.get('Comment', ''),
                'DocumentName': c['DocumentName'], 'DocumentVersion': '$DEFAULT',
                'PluginName': 'diskCleanup', 'ResponseCode': self.code,
                'ExecutionStartDateTime': _iso(self.start) if self.start else '',
                'ExecutionElapsedTime': '',
                'ExecutionEndDateTime': _iso(self.end) if self.end else '',
                'Status': self.status, 'StatusDetails': self.details,
                'StandardOutputContent': self.stdout[:24000],
                'StandardOutputUrl': '',
                'StandardErrorContent': self.stderr[:8000],
                'StandardErrorUrl': '',
                'CloudWatchOutputConfig': {'CloudWatchLogGroupName': '',
                                           'CloudWatchOutputEnabled': False}}


class SSM(Service):
    name = 'ssm'
    target_prefix = 'AmazonSSM'
    botocore_name = 'ssm'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.extensions = []
        self._clear()

    def _clear(self):
        self.documents = {DISK_DOCUMENT_NAME: self._load_document()}
        self.instances = {}
        self.commands = {}          # id -> command dict
        self.command_order = []
        self.invocations = {}       # (command id, instance id) -> Invocation
        self.sent = []              # every SendCommand request, in full
        self.automations = {}       # id -> execution dict
        self.tokens = {}            # ClientToken -> (id, fingerprint)
        self.automation_cfg = {'pendingPolls': 1, 'notFoundPolls': 0,
                               'outcome': None}

    @staticmethod
    def _load_document():
        with open(DISK_DOCUMENT_FILE) as f:
            return json.load(f)

    def reset(self):
        with self.lock:
            self._clear()

    def summary(self):
        with self.lock:
            return {'ssm_commands': len(self.commands),
                    'ssm_automations': len(self.automations)}

    def extend(self, provider):
        """Serve provider's @operation methods (e.g. Parameter Store)."""
        for attr in dir(type(provider)):
            fn = getattr(type(provider), attr)
            op = getattr(fn, '_aws_operation', None)
            if not op:
                continue
            if op in self.operations:
                raise ValueError(f'SSM operation {op} is already served')
            self.model.operation_model(op)      # fail early on a typo
            self.operations[op] = getattr(provider, attr)
        self.extensions.append(provider)
        return self

    def _config(self):
        for svc in self.endpoint.services:
            if svc.name == 'config':
                return svc
        raise RuntimeError('the AWS Config stand-in is not loaded')

    # -- Run Command --------------------------------------------------------

    def _check_parameters(self, name, doc, given):
        defs = doc.get('parameters', {})
        for k, v in given.items():
            if k not in defs:
                raise _err('InvalidParameters',
                           f'Parameter "{k}" is not defined in document '
                           f'{name}.')
            if len(v) != 1 and defs[k].get('type', 'String') == 'String':
                raise _err('InvalidParameters',
                           f'Parameter "{k}" must have exactly one value.')
            pat = defs[k].get('allowedPattern')
            if pat and not all(re.search(pat, x) for x in v):
                raise _err('InvalidParameters',
                           f'Parameter "{k}" "{v[0][:64]}" failed to satisfy '
                           f'constraint: Member must satisfy regular '
                           f'expression pattern: {pat}')
        for k, d in defs.items():
            if k not in given and 'default' not in d:
                raise _err('InvalidParameters',
                           f'Parameter "{k}" is required.')

    @operation('SendCommand')
    def send_command(self, req):
        p = req.params
        name = p['DocumentName']
        with self.lock:
            self.sent.append(copy.deepcopy(p))
            doc = self.documents.get(name)
            if doc is None:
                raise _err('InvalidDocument',
                           f'Document with name {name} does not exist.')
            ids = p.get('InstanceIds')
            if not ids:
                raise _err('InvalidInstanceId',
                           'InstanceIds is required by this stand-in')
            bad = [i for i in ids if i not in self.instances or
                   not self.instances[i].cfg['registered']]
            if bad:
                raise _err('InvalidInstanceId',
                           f'Instances {bad} not in a valid state for '
                           f'account {self.endpoint.account}')
            self._check_parameters(name, doc, p.get('Parameters', {}))
            now = time.time()
            cid = str(uuid.uuid4())
            cmd = {'CommandId': cid, 'DocumentName': name,
                   'DocumentVersion': '$DEFAULT',
                   'Comment': p.get('Comment', ''),
                   'ExpiresAfter': now + p.get('TimeoutSeconds', 3600),
                   'Parameters': copy.deepcopy(p.get('Parameters', {})),
                   'InstanceIds': list(ids), 'Targets': [],
                   'RequestedDateTime': now, 'Status': 'Pending',
                   'StatusDetails': 'Pending', 'MaxConcurrency': '50',
                   'MaxErrors': '0', 'TargetCount': len(ids),
                   'CompletedCount': 0, 'ErrorCount': 0,
                   'DeliveryTimedOutCount': 0,
                   'TimeoutSeconds': p.get('TimeoutSeconds', 3600),
                   'ServiceRole': '', 'NotificationConfig': {},
                   'CloudWatchOutputConfig': {
                       'CloudWatchLogGroupName': '',
                       'CloudWatchOutputEnabled': False}}
            self.commands[cid] = cmd
            self.command_order.append(cid)
            for i in ids:
                self.invocations[(cid, i)] = Invocation(cmd, self.instances[i])
            return {'Command': self._command_view(cmd)}

    def _command_view(self, cmd):
        c = copy.deepcopy(cmd)
        invs = [self.invocations[(cmd['CommandId'], i)]
                for i in cmd['InstanceIds']]
        done = [v for v in invs if v.status not in ('Pending', 'InProgress')]
        c['CompletedCount'] = len(done)
        c['ErrorCount'] = len([v for v in done if v.status != 'Success'])
        if len(invs) == 1:
            c['Status'] = invs[0].status
            c['StatusDetails'] = invs[0].details
        return c

    @operation('GetCommandInvocation')
    def get_command_invocation(self, req):
        p = req.params
        with self.lock:
            if p['CommandId'] not in self.commands:
                raise _err('InvalidCommandId', '')
            inv = self.invocations.get((p['CommandId'], p['InstanceId']))
            if inv is None or inv.advance() is None:
                raise _err('InvocationDoesNotExist', '')
            return inv.answer()

    @operation('ListCommands')
    def list_commands(self, req):
        p = req.params
        with self.lock:
            out = []
            for cid in reversed(self.command_order):
                cmd = self.commands[cid]
                if p.get('CommandId') and cid != p['CommandId']:
                    continue
                if p.get('InstanceId') and \
                        p['InstanceId'] not in cmd['InstanceIds']:
                    continue
                view = self._command_view(cmd)
                if all(self._filter_ok(f, view)
                       for f in p.get('Filters', [])):
                    out.append(view)
            start = int(p.get('NextToken') or 0)
            n = p.get('MaxResults', 50)
            page = out[start:start + n]
            ans = {'Commands': page}
            if start + n < len(out):
                ans['NextToken'] = str(start + n)
            return ans

    @staticmethod
    def _filter_ok(f, cmd):
        k, v = f['key'], f['value']
        if k == 'DocumentName':
            return cmd['DocumentName'] == v
        if k == 'Status':
            return cmd['Status'] == v
        if k == 'InvokedAfter':
            return cmd['RequestedDateTime'] >= _parse_iso(v)
        if k == 'InvokedBefore':
            return cmd['RequestedDateTime'] <= _parse_iso(v)
        return True

    @operation('DescribeInstanceInformation')
    def describe_instance_information(self, req):
        p = req.params
        wanted = None
        for f in p.get('Filters', []):
            if f['Key'] == 'InstanceIds':
                wanted = set(f['Values'])
        for f in p.get('InstanceInformationFilterList', []):
            if f['key'] == 'InstanceIds':
                wanted = set(f['valueSet'])
        with self.lock:
            out = []
            for iid, inst in self.instances.items():
                if not inst.cfg['registered'] or \
                        (wanted is not None and iid not in wanted):
                    continue
                out.append({'InstanceId': iid,
                            'PingStatus': inst.cfg['pingStatus'],
                            'LastPingDateTime': time.time(),
                            'AgentVersion': '3.3.0.0',
                            'IsLatestVersion': True,
                            'PlatformType': inst.cfg['platform'],
                            'PlatformName': 'Amazon Linux',
                            'PlatformVersion': '2023',
                            'ResourceType': 'EC2Instance'})
            return {'InstanceInformationList': out}

    # -- Automation ---------------------------------------------------------

    @operation('StartAutomationExecution')
    def start_automation_execution(self, req):
        p = req.params
        name = p['DocumentName']
        params = p.get('Parameters', {})
        fingerprint = json.dumps([name, params], sort_keys=True)
        with self.lock:
            token = p.get('ClientToken')
            # AWS: the token "is case insensitive".
            key = token.lower() if token else None
            if key and key in self.tokens:
                aid, fp = self.tokens[key]
                if fp != fingerprint:
                    raise _err('IdempotentParameterMismatch',
                               'The ClientToken was already used with '
                               'different parameters.')
                self.automations[aid]['starts'] += 1
                return {'AutomationExecutionId': aid}
            if name != SG_RUNBOOK:
                raise _err('AutomationDefinitionNotFoundException',
                           f'Document {name} does not exist')
            bad = [k for k in params if k not in _SG_RUNBOOK_PARAMS]
            if bad or len(params.get('GroupId', [])) != 1:
                raise _err('InvalidAutomationExecutionParametersException',
                           f'Parameters {bad or ["GroupId"]} are invalid')
            aid = str(uuid.uuid4())
            self.automations[aid] = {
                'id': aid, 'document': name, 'params': copy.deepcopy(params),
                'clientToken': token, 'status': 'InProgress',
                'start': time.time(), 'end': None, 'failure': None,
                'polls': 0, 'starts': 1, 'revoked': []}
            if key:
                self.tokens[key] = (aid, fingerprint)
            return {'AutomationExecutionId': aid}

    def _run_runbook(self, a):
        """The runbook's effect, when the execution is polled to its end."""
        cfg = self.automation_cfg
        a['end'] = time.time()
        if cfg['outcome']:
            a['status'] = cfg['outcome']
            a['failure'] = f'Execution ended {cfg["outcome"]} (simulated)'
            return
        config = self._config()
        gid = a['params']['GroupId'][0]
        if not config.has_group(gid):
            a['status'] = 'Failed'
            a['failure'] = ('An error occurred (InvalidGroup.NotFound) when '
                            'calling the DescribeSecurityGroups operation: '
                            f"The security group '{gid}' does not exist")
            return
        default_vpc = config.is_default_vpc(gid)
        changed = False
        for port in (22, 3389):
            for cidr in ('0.0.0.0/0', '::/0'):
                if config.revoke_exact(gid, 'tcp', port, cidr):
                    a['revoked'].append(f'tcp {port} {cidr}')
                    changed = True
                elif not default_vpc:
                    if changed:
                        config.record_change(gid)
                    a['status'] = 'Failed'
                    a['failure'] = (
                        'Step fails when it is Execute/Cancelling action. An '
                        'error occurred (InvalidPermission.NotFound) when '
                        'calling the RevokeSecurityGroupIngress operation: '
                        'The specified rule does not exist in this security '
                        'group.')
                    return
        if changed:
            config.record_change(gid)
        a['status'] = 'Success'

    @operation('GetAutomationExecution')
    def get_automation_execution(self, req):
        aid = req.params['AutomationExecutionId']
        with self.lock:
            a = self.automations.get(aid)
            if a is None:
                raise _err('AutomationExecutionNotFoundException',
                           f'Automation Execution {aid} not found')
            a['polls'] += 1
            if a['polls'] <= self.automation_cfg['notFoundPolls']:
                raise _err('AutomationExecutionNotFoundException',
                           f'Automation Execution {aid} not found')
            if a['status'] == 'InProgress' and a['polls'] > \
                    self.automation_cfg['notFoundPolls'] + \
                    self.automation_cfg['pendingPolls']:
                self._run_runbook(a)
            ex = {'AutomationExecutionId': aid,
                  'DocumentName': a['document'], 'DocumentVersion': '1',
                  'ExecutionStartTime': a['start'],
                  'AutomationExecutionStatus': a['status'],
                  'StepExecutions': [], 'StepExecutionsTruncated': False,
                  'Parameters': a['params'], 'Outputs': {}, 'Mode': 'Auto',
                  'ExecutedBy': f'arn:aws:sts::{self.endpoint.account}:'
                                'assumed-role/healer-worker/healer'}
            if a['end']:
                ex['ExecutionEndTime'] = a['end']
            if a['failure']:
                ex['FailureMessage'] = a['failure']
            return {'AutomationExecution': ex}

    # -- admin ----------------------------------------------------------------

    def routes(self):
        return [
            ('POST', r'/_admin/ssm/instances', self._admin_instance),
            ('GET', r'/_admin/ssm/instances', self._admin_instances),
            ('GET', r'/_admin/ssm/commands', self._admin_commands),
            ('POST', r'/_admin/ssm/documents', self._admin_document),
            ('POST', r'/_admin/ssm/automation', self._admin_automation),
            ('GET', r'/_admin/ssm/automations', self._admin_automations),
        ]

    def _admin_instance(self, req):
        body = req.json()
        iid = body.get('instanceId')
        if not isinstance(iid, str) or not _INSTANCE_RE.fullmatch(iid):
            raise HttpError(400, 'instanceId must be i- and 8 or 17 hex digits')
        inst = Instance(body)
        with self.lock:
            self.instances[iid] = inst
            return inst.public()

    def _admin_instances(self, req):
        with self.lock:
            return {'instances': [i.public() for i in self.instances.values()]}

    def _admin_commands(self, req):
        with self.lock:
            return {'sent': copy.deepcopy(self.sent),
                    'commands': [self._command_view(self.commands[c])
                                 for c in self.command_order]}

    def _admin_document(self, req):
        body = req.json()
        name, content = body.get('name'), body.get('content')
        if not isinstance(name, str) or not isinstance(content, dict):
            raise HttpError(400, 'name (string) and content (object) are '
                            'required')
        with self.lock:
            self.documents[name] = content
        return {'ok': True}

    def _admin_automation(self, req):
        body = req.json()
        with self.lock:
            for k, v in body.items():
                if k not in self.automation_cfg:
                    raise HttpError(400, f'unknown key {k!r}')
                if k == 'outcome' and v not in (None, 'Failed', 'TimedOut',
                                                 'Cancelled'):
                    raise HttpError(400, 'outcome must be null, Failed, '
                                    'TimedOut or Cancelled')
                self.automation_cfg[k] = v
            return dict(self.automation_cfg)

    def _admin_automations(self, req):
        with self.lock:
            return {'automations': copy.deepcopy(
                list(self.automations.values()))}


SERVICES = [SSM]
