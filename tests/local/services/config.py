"""AWS Config stand-in: security groups as Config records them.

Operations (StarlingDoveService, JSON 1.1): BatchGetResourceConfig and
GetResourceConfigHistory for resourceType AWS::EC2::SecurityGroup.

A group is created through the admin API with its ingress rules in Config's
own shape (``ipPermissions`` items with ``ipProtocol``, ``fromPort``,
``toPort``, ``ipv4Ranges: [{"cidrIp"}]``, ``ipv6Ranges: [{"cidrIpv6"}]``;
the legacy ``ipRanges`` list is filled in).  Every change is a new
configuration item with its own ``configurationItemCaptureTime``; the item's
``configuration`` is a JSON *string*, as in AWS.

Recording delay: with ``lagReads: N`` the first N reads after a change
still return the previous item (AWS Config records changes some time after
they happen).

The SSM stand-in (ssm.py) changes groups through ``revoke_exact`` when it
runs AWS-DisablePublicAccessForSecurityGroup: like EC2's
RevokeSecurityGroupIngress it needs an exact match (protocol, ports, CIDR).

Admin:
  POST /_admin/config/security-groups   {"groupId", "ipPermissions",
        "vpcId"?, "defaultVpc"? (true), "groupName"?, "lagReads"? (0),
        "status"? ("OK" | "ResourceDeleted" | "ResourceNotRecorded")}
  GET  /_admin/config/security-groups                  every group
  GET  /_admin/config/security-groups/<sg-id>          one group + counters
"""

import copy
import json
import re
import threading
import time

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

SG_TYPE = 'AWS::EC2::SecurityGroup'
_SG_RE = re.compile(r'sg-[0-9a-f]{8}(?:[0-9a-f]{9})?')
_STATUSES = ('OK', 'ResourceDeleted', 'ResourceNotRecorded')


def _err(code, message):
    return AwsError(code, message, 400)


def _normalise_permission(p):
    if not isinstance(p, dict):
        raise HttpError(400, 'ipPermissions items must be objects')
    proto = p.get('ipProtocol')
    if not isinstance(proto, str) or not proto:
        raise HttpError(400, 'ipPermissions[].ipProtocol is required')
    out = {'ipProtocol': proto}
    for k in ('fromPort', 'toPort'):
        if k in p:
            if not isinstance(p[k], int) or isinstance(p[k], bool):
                raise HttpError(400, f'ipPermissions[].{k} must be an integer')
            out[k] = p[k]
    v4 = p.get('ipv4Ranges', [])
    v6 = p.get('ipv6Ranges', [])
    if not isinstance(v4, list) or not isinstance(v6, list):
        raise HttpError(400, 'ipv4Ranges / ipv6Ranges must be lists')
    out['ipv6Ranges'] = [dict(r) for r in v6]
    out['prefixListIds'] = list(p.get('prefixListIds', []))
    out['userIdGroupPairs'] = list(p.get('userIdGroupPairs', []))
    out['ipv4Ranges'] = [dict(r) for r in v4]
    out['ipRanges'] = [r.get('cidrIp') for r in v4]
    return out


class Group:
    def __init__(self, gid, body, account, region):
        self.gid = gid
        self.account = account
        self.region = region
        self.vpc_id = body.get('vpcId', 'vpc-0a1b2c3d4e5f60718')
        self.default_vpc = bool(body.get('defaultVpc', True))
        self.name = body.get('groupName', 'healer-test-' + gid)
        self.lag_reads = int(body.get('lagReads', 0))
        self.status = body.get('status', 'OK')
        self.perms = [_normalise_permission(p)
                      for p in body.get('ipPermissions', [])]
        self.history = []       # [(captureTime, status, configuration dict)]
        self.pending_lag = 0
        self.reads = 0
        self.revokes = []       # what revoke_exact removed
        self.record(initial=True)

    def configuration(self):
        return {'description': 'healer test group', 'groupName': self.name,
                'ipPermissions': copy.deepcopy(self.perms),
                'ownerId': self.account, 'groupId': self.gid,
                'ipPermissionsEgress': [{
                    'ipProtocol': '-1', 'ipv6Ranges': [], 'prefixListIds': [],
                    'userIdGroupPairs': [],
                    'ipv4Ranges': [{'cidrIp': '0.0.0.0/0'}],
                    'ipRanges': ['0.0.0.0/0']}],
                'tags': [], 'vpcId': self.vpc_id}

    def record(self, initial=False):
        t = time.time()
        if self.history and t <= self.history[-1][0]:
            t = self.history[-1][0] + 0.001
        self.history.append((t, self.status, self.configuration()))
        self.pending_lag = 0 if initial else self.lag_reads

    def visible(self):
        """The item a read sees now (older while the recording lags)."""
        self.reads += 1
        if self.pending_lag > 0 and len(self.history) >= 2:
            self.pending_lag -= 1
            return self.history[-2]
        return self.history[-1]

    def item(self, entry, history_shape=False):
        t, status, cfg = entry
        it = {'version': '1.3', 'accountId': self.account,
              'configurationItemCaptureTime': t,
              'configurationItemStatus': status,
              'configurationStateId': str(int(t * 1000)),
              'arn': f'arn:aws:ec2:{self.region}:{self.account}:'
                     f'security-group/{self.gid}',
              'resourceType': SG_TYPE, 'resourceId': self.gid,
              'resourceName': self.name, 'awsRegion': self.region,
              'availabilityZone': 'Not Applicable',
              'supplementaryConfiguration': {}}
        if status == 'OK':
            it['configuration'] = json.dumps(cfg, separators=(',', ':'))
        if history_shape:
            it['tags'] = {}
            it['relatedEvents'] = []
            it['relationships'] = [{'resourceId': self.vpc_id,
                                    'resourceType': 'AWS::EC2::VPC',
                                    'name': 'Is contained in Vpc'}]
        return it

    def public(self):
        return {'groupId': self.gid, 'vpcId': self.vpc_id,
                'defaultVpc': self.default_vpc, 'status': self.status,
                'ipPermissions': copy.deepcopy(self.perms),
                'items': len(self.history), 'reads': self.reads,
                'lagReads': self.lag_reads, 'pendingLag': self.pending_lag,
                'revokes': list(self.revokes)}


class Config(Service):
    name = 'config'
    target_prefix = 'StarlingDoveService'
    botocore_name = 'config'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.groups = {}

    def reset(self):
        with self.lock:
            self.groups = {}

    def summary(self):
        with self.lock:
            return {'config_groups': len(self.groups)}

    # -- used by the SSM stand-in ----------------------------------------

    def has_group(self, gid):
        with self.lock:
            g = self.groups.get(gid)
            return g is not None and g.status == 'OK'

    def is_default_vpc(self, gid):
        with self.lock:
            return self.groups[gid].default_vpc

    def revoke_exact(self, gid, proto, port, cidr):
        """RevokeSecurityGroupIngress of one exact rule (tcp port-port from
        cidr).  True if it existed (and is now gone)."""
        v6 = ':' in cidr
        key, member = ('ipv6Ranges', 'cidrIpv6') if v6 else \
            ('ipv4Ranges', 'cidrIp')
        with self.lock:
            g = self.groups[gid]
            for p in g.perms:
                if p['ipProtocol'] != proto or p.get('fromPort') != port or \
                        p.get('toPort') != port:
                    continue
                ranges = p[key]
                for r in ranges:
                    if r.get(member) == cidr:
                        ranges.remove(r)
                        if not v6:
                            p['ipRanges'] = [x.get('cidrIp')
                                             for x in p['ipv4Ranges']]
                        g.revokes.append({'ipProtocol': proto,
                                          'port': port, 'cidr': cidr})
                        break
                else:
                    continue
                if not (p['ipv4Ranges'] or p['ipv6Ranges'] or
                        p['prefixListIds'] or p['userIdGroupPairs']):
                    g.perms.remove(p)
                return True
            return False

    def record_change(self, gid):
        with self.lock:
            self.groups[gid].record()

    # -- AWS operations -----------------------------------------------------

    @operation('BatchGetResourceConfig')
    def batch_get_resource_config(self, req):
        items = []
        with self.lock:
            for key in req.params['resourceKeys']:
                if key['resourceType'] != SG_TYPE:
                    continue
                g = self.groups.get(key['resourceId'])
                if g is None or g.status == 'ResourceNotRecorded':
                    continue
                items.append(g.item(g.visible()))
        return {'baseConfigurationItems': items,
                'unprocessedResourceKeys': []}

    @operation('GetResourceConfigHistory')
    def get_resource_config_history(self, req):
        p = req.params
        with self.lock:
            g = self.groups.get(p['resourceId']) \
                if p['resourceType'] == SG_TYPE else None
            if g is None or g.status == 'ResourceNotRecorded':
                raise _err('ResourceNotDiscoveredException',
                           f'Resource {p["resourceId"]} of resourceType:'
                           f'{p["resourceType"]} is unknown or has not been '
                           'discovered')
            newest = g.visible()
            entries = [e for e in g.history if e[0] <= newest[0]]
            if not p.get('chronologicalOrder') == 'Forward':
                entries.reverse()
            limit = p.get('limit') or 10
            return {'configurationItems': [g.item(e, True)
                                           for e in entries[:limit]]}

    # -- admin ----------------------------------------------------------------

    def routes(self):
        return [
            ('POST', r'/_admin/config/security-groups', self._admin_put),
            ('GET', r'/_admin/config/security-groups', self._admin_list),
            ('GET', r'/_admin/config/security-groups/(sg-[0-9a-f]+)',
             self._admin_get),
        ]

    def _admin_put(self, req):
        body = req.json()
        gid = body.get('groupId')
        if not isinstance(gid, str) or not _SG_RE.fullmatch(gid):
            raise HttpError(400, 'groupId must be sg- and 8 or 17 hex digits')
        if body.get('status', 'OK') not in _STATUSES:
            raise HttpError(400, f'status must be one of {_STATUSES}')
        g = Group(gid, body, self.endpoint.account, self.endpoint.region)
        with self.lock:
            self.groups[gid] = g
            return g.public()

    def _admin_list(self, req):
        with self.lock:
            return {'groups': [g.public() for g in self.groups.values()]}

    def _admin_get(self, req):
        with self.lock:
            g = self.groups.get(req.match.group(1))
            if g is None:
                raise HttpError(404, 'no such group')
            return g.public()


SERVICES = [Config]
