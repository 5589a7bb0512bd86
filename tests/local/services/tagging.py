"""Resource Groups Tagging API (GetResources, TagResources, UntagResources).

The engine reads a resource's tags (Owner, AutoRemediate) with GetResources
and a ResourceARNList, as ../shared/fixtures/aws-api-notes.md §5 describes:
  - ResourceARNList cannot be combined with TagFilters, ResourceTypeFilters,
    ResourcesPerPage, TagsPerPage or PaginationToken
    -> InvalidParameterException;
  - an ARN that does not exist, or has no tags, is simply left out of
    ResourceTagMappingList (no error), so absence cannot tell the two apart;
  - Tags come back as a LIST of {"Key", "Value"}; PaginationToken is "".
Without ResourceARNList every tagged resource is returned, filtered by
TagFilters ([{Key, Values?}], all must match) and ResourceTypeFilters
("service" or "service:type", e.g. "ec2:instance"), in one page.

Admin (not counted as AWS requests):
  GET  /_admin/tagging                      -> {"resources": {arn: {k: v}}}
  POST /_admin/tagging {"arn", "tags": {k: v}}   replace one resource's tags
                                                 ({} removes them)
Reset (POST /_admin/reset) forgets every tag.
"""

import threading

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation


def _invalid(message):
    return AwsError('InvalidParameterException', message, 400)


def _resource_type(arn):
    """'arn:aws:ec2:r:a:instance/i-1' -> ('ec2', 'instance')."""
    parts = arn.split(':', 5)
    if len(parts) < 6:
        return '', ''
    rest = parts[5]
    for sep in ('/', ':'):
        if sep in rest:
            return parts[2], rest.split(sep, 1)[0]
    return parts[2], rest


class Tagging(Service):
    name = 'tagging'
    target_prefix = 'ResourceGroupsTaggingAPI_20170126'
    botocore_name = 'resourcegroupstaggingapi'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.tags = {}              # arn -> {key: value}
        self.lookups = 0

    def reset(self):
        with self.lock:
            self.tags.clear()
            self.lookups = 0

    def summary(self):
        with self.lock:
            return {'tagging_resources': len(self.tags),
                    'tagging_lookups': self.lookups}

    @staticmethod
    def _mapping(arn, tags):
        return {'ResourceARN': arn,
                'Tags': [{'Key': k, 'Value': v} for k, v in tags.items()]}

    @operation('GetResources')
    def op_get_resources(self, req):
        p = req.params
        arns = p.get('ResourceARNList')
        with self.lock:
            self.lookups += 1
            if arns is not None:
                clash = [k for k in ('TagFilters', 'ResourceTypeFilters',
                                     'ResourcesPerPage', 'TagsPerPage',
                                     'PaginationToken') if k in p]
                if clash:
                    raise _invalid('ResourceARNList cannot be used with '
                                   + ', '.join(clash))
                found = [self._mapping(a, self.tags[a]) for a in arns
                         if self.tags.get(a)]
                return {'PaginationToken': '',
                        'ResourceTagMappingList': found}
            out = []
            for arn, tags in sorted(self.tags.items()):
                if not tags or not self._matches(arn, tags, p):
                    continue
                out.append(self._mapping(arn, tags))
            return {'PaginationToken': '', 'ResourceTagMappingList': out}

    @staticmethod
    def _matches(arn, tags, p):
        for f in p.get('TagFilters', []):
            key = f.get('Key')
            if key not in tags:
                return False
            values = f.get('Values')
            if values and tags[key] not in values:
                return False
        types = p.get('ResourceTypeFilters')
        if types:
            svc, typ = _resource_type(arn)
            if not any(t == svc or t == f'{svc}:{typ}' for t in types):
                return False
        return True

    @operation('TagResources')
    def op_tag_resources(self, req):
        with self.lock:
            for arn in req.params['ResourceARNList']:
                self.tags.setdefault(arn, {}).update(req.params['Tags'])
        return {'FailedResourcesMap': {}}

    @operation('UntagResources')
    def op_untag_resources(self, req):
        with self.lock:
            for arn in req.params['ResourceARNList']:
                for k in req.params['TagKeys']:
                    self.tags.get(arn, {}).pop(k, None)
        return {'FailedResourcesMap': {}}

    # -- admin ---------------------------------------------------------------

    def routes(self):
        return [('GET', r'/_admin/tagging', self._admin_get),
                ('POST', r'/_admin/tagging', self._admin_set)]

    def _admin_get(self, req):
        with self.lock:
            return {'resources': {a: dict(t) for a, t in self.tags.items()}}

    def _admin_set(self, req):
        b = req.json()
        arn, tags = b.get('arn'), b.get('tags')
        if not isinstance(arn, str) or not arn.startswith('arn:') or \
                not isinstance(tags, dict) or \
                not all(isinstance(k, str) and isinstance(v, str)
                        for k, v in tags.items()):
            raise HttpError(400, 'tagging: "arn" (an ARN) and "tags" '
                            '({string: string}) are required')
        with self.lock:
            if tags:
                self.tags[arn] = dict(tags)
            else:
                self.tags.pop(arn, None)
        return {'arn': arn, 'tags': tags}


SERVICES = [Tagging]
