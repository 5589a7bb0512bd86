"""SSM Parameter Store (GetParameter, PutParameter), for the guard's kill switch.

The endpoint routes one X-Amz-Target prefix to one Service class, and the SSM
service (Run Command / Automation) lives in services/ssm.py (another owner).
The store is written as a MIXIN, ``ParameterStoreMixin``, and this module's
``SsmParameterStore`` adapts, when it is built, to whichever way ssm.py chose
(ssm.py sorts before this module, so its service is already loaded):
  - inherited: ssm.py's SSM class inherits ParameterStoreMixin (calling
    params_init / params_reset / params_routes / params_summary itself):
    this service then does nothing at all;
  - attached: ssm.py offers ``attach(endpoint, provider)``: this service has
    no target prefix, keeps the store, admin routes, reset and summary, and
    hands its two @operation methods to the SSM service in start();
  - standalone: no SSM service is loaded: this service takes the AmazonSSM
    prefix itself, with only the parameter store.
In every mode requests go through the SSM pipeline: SigV4, botocore model
validation, faults and the request record.

Semantics (as SSM documents them): a parameter has Name, Type (String |
StringList | SecureString), Value, Version (1 on creation, +1 on each
overwrite), LastModifiedDate (epoch seconds), DataType "text".  PutParameter
of an existing name without Overwrite=true -> ParameterAlreadyExists;
GetParameter of an unknown name -> ParameterNotFound.  SecureString values
are stored as given (no KMS here); WithDecryption is accepted and ignored.

Admin (does not count as AWS requests, so tests can set state without
touching the request record):
  GET  /_admin/ssm/parameters                     -> {"parameters": [...]}
  POST /_admin/ssm/parameters {"name", "value", "type"?}   set (version+1)
  POST /_admin/ssm/parameters/delete {"name"}     remove (absent is fine)
"""

import importlib
import threading
import time

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

_TYPES = ('String', 'StringList', 'SecureString')


def _err(code, message):
    return AwsError(code, message, 400)


class ParameterStoreMixin:
    """GetParameter / PutParameter on an in-memory store (thread-safe)."""

    def params_init(self):
        self._params_lock = threading.Lock()
        self._params = {}
        self._params_counts = {'gets': 0, 'puts': 0}

    def params_reset(self):
        with self._params_lock:
            self._params.clear()
            self._params_counts = {'gets': 0, 'puts': 0}

    def params_summary(self):
        with self._params_lock:
            return {'ssm_parameters': len(self._params),
                    'ssm_parameter_gets': self._params_counts['gets'],
                    'ssm_parameter_puts': self._params_counts['puts']}

    def _params_arn(self, name):
        path = name if name.startswith('/') else '/' + name
        return (f'arn:aws:ssm:{self.endpoint.region}:'
                f'{self.endpoint.account}:parameter{path}')

    def _params_set(self, name, value, typ, description=None,
                    overwrite=True):
        """Creates or overwrites; returns the new version.  Caller holds
        no lock."""
        with self._params_lock:
            old = self._params.get(name)
            if old is not None and not overwrite:
                raise _err('ParameterAlreadyExists',
                           'The parameter already exists. To overwrite this '
                           'value, set the overwrite option in the request '
                           'to true.')
            version = old['Version'] + 1 if old else 1
            self._params[name] = {
                'Name': name, 'Type': typ, 'Value': value,
                'Version': version, 'LastModifiedDate': time.time(),
                'DataType': 'text',
                'Description': description if description is not None
                else (old or {}).get('Description'),
            }
            return version

    @operation('GetParameter')
    def op_get_parameter(self, req):
        name = req.params['Name']
        with self._params_lock:
            self._params_counts['gets'] += 1
            p = self._params.get(name)
            if p is None:
                raise _err('ParameterNotFound', '')
            out = {k: p[k] for k in ('Name', 'Type', 'Value', 'Version',
                                     'LastModifiedDate', 'DataType')}
        out['ARN'] = self._params_arn(name)
        return {'Parameter': out}

    @operation('PutParameter')
    def op_put_parameter(self, req):
        p = req.params
        typ = p.get('Type')
        with self._params_lock:
            self._params_counts['puts'] += 1
            exists = p['Name'] in self._params
            if typ is None and exists:
                typ = self._params[p['Name']]['Type']
        if typ is None:
            raise AwsError('ValidationException',
                           'A parameter type is required when you create a '
                           'parameter.', 400)
        if p.get('Overwrite') and p.get('Tags'):
            raise AwsError('ValidationException',
                           'Invalid request: tags and overwrite can\'t be '
                           'used together.', 400)
        version = self._params_set(p['Name'], p['Value'], typ,
                                   p.get('Description'),
                                   overwrite=bool(p.get('Overwrite')))
        return {'Version': version, 'Tier': 'Standard'}

    # -- admin ---------------------------------------------------------------

    def params_routes(self):
        return [
            ('GET', r'/_admin/ssm/parameters', self._params_admin_list),
            ('POST', r'/_admin/ssm/parameters', self._params_admin_set),
            ('POST', r'/_admin/ssm/parameters/delete',
             self._params_admin_delete),
        ]

    def _params_admin_list(self, req):
        with self._params_lock:
            return {'parameters': [dict(p) for p in self._params.values()]}

    def _params_admin_set(self, req):
        b = req.json()
        name, value = b.get('name'), b.get('value')
        typ = b.get('type', 'String')
        if not isinstance(name, str) or not name or \
                not isinstance(value, str) or typ not in _TYPES:
            raise HttpError(400, 'ssm parameters: name and value are '
                            f'required strings; type one of {_TYPES}')
        version = self._params_set(name, value, typ)
        return {'name': name, 'version': version}

    def _params_admin_delete(self, req):
        name = req.json().get('name')
        if not isinstance(name, str):
            raise HttpError(400, 'ssm parameters: name is required')
        with self._params_lock:
            existed = self._params.pop(name, None) is not None
        return {'deleted': existed}


class SsmParameterStore(ParameterStoreMixin, Service):
    """The parameter store, adapting to services/ssm.py (see the top)."""
    name = 'ssm-parameters'

    def __init__(self, endpoint):
        ssm = endpoint.targets.get('AmazonSSM')
        if ssm is None:
            self.mode = 'standalone'
            self.name, self.target_prefix, self.botocore_name = \
                'ssm', 'AmazonSSM', 'ssm'
        elif isinstance(ssm, ParameterStoreMixin):
            self.mode = 'inherited'
        else:
            self.mode = 'attached'
        super().__init__(endpoint)
        if self.mode == 'inherited':
            self.operations = {}        # ssm.py serves them itself
        self.params_init()

    def start(self):
        if self.mode != 'attached':
            return
        ssm = self.endpoint.targets['AmazonSSM']
        attach = getattr(importlib.import_module(type(ssm).__module__),
                         'attach', None)
        if attach is None:
            raise RuntimeError('services/ssm.py neither inherits '
                               'ParameterStoreMixin nor offers attach()')
        attach(self.endpoint, self)

    def reset(self):
        self.params_reset()

    def summary(self):
        return {} if self.mode == 'inherited' else self.params_summary()

    def routes(self):
        return [] if self.mode == 'inherited' else self.params_routes()


SERVICES = [SsmParameterStore]
