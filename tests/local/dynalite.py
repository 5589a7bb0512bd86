"""DynamoDB for tests: dynalite (npm, pinned in package.json) on 127.0.0.1.

    import sys; sys.path.insert(0, 'tests/local')
    from dynalite import Dynalite

    with Dynalite() as ddb:
        ddb.create_table('healer-breaker', 'pk')
        ddb.create_table('healer-audit', 'execution', 'at',
                         gsis=[{'name': 'resource-index',
                                'hash_key': 'resource', 'range_key': 'at'}])
        env = ddb.env()              # {'AWS_ENDPOINT_URL_DYNAMODB': url}
        item = ddb.get_item('healer-breaker', {'pk': {'S': '...'}})

How it works: a free port is picked by binding port 0 and closing the socket,
then `node node_modules/dynalite/cli.js --host 127.0.0.1 --port PORT
--createTableMs 0 --deleteTableMs 0` is started (in-memory; see
../shared/TOOLING.md) under this module's own process handle, so stop() ends
exactly that process.  If another process grabs the port in between, the
start is retried on a new port.  Ready means `GET /` answers.

Keys: a key attribute is a name (type S) or a (name, type) tuple with type
S, N or B.  dynalite checks that requests carry a SigV4-shaped Authorization
header and X-Amz-Date but not the signature, so any credentials work; the
boto3 clients made here use the same test credentials as harness.LocalAWS.

Not supported by dynalite (so not here either): UpdateTimeToLive,
TransactWriteItems.  Test the TTL attribute's value, not expiry.
"""

import os
import shutil
import signal
import socket
import time
import urllib.error
import urllib.request

from service_process import ServiceProcess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(REPO, 'node_modules', 'dynalite', 'cli.js')

ACCESS_KEY = 'AKIDEXAMPLE'
SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
REGION = 'us-east-1'


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _key_attr(spec):
    """'pk' -> ('pk', 'S'); ('n', 'N') stays."""
    if isinstance(spec, str):
        return spec, 'S'
    name, typ = spec
    if typ not in ('S', 'N', 'B'):
        raise ValueError(f'key type must be S, N or B, not {typ!r}')
    return name, typ


def _key_schema(hash_key, range_key, attrs):
    schema = []
    for spec, role in ((hash_key, 'HASH'), (range_key, 'RANGE')):
        if spec is None:
            continue
        name, typ = _key_attr(spec)
        if attrs.get(name, typ) != typ:
            raise ValueError(f'attribute {name} has two types')
        attrs[name] = typ
        schema.append({'AttributeName': name, 'KeyType': role})
    return schema


class Dynalite(ServiceProcess):
    """A dynalite process as a context manager."""

    name = 'dynalite'
    dir_prefix = 'dynalite-'
    log_name = 'dynalite.log'
    keep_env = 'DYNALITE_KEEP'

    def __init__(self, start_timeout=10.0, node=None):
        super().__init__()
        self.start_timeout = start_timeout
        self.node = node or shutil.which('node') or '/usr/bin/node'
        self._client = None

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        if not os.path.exists(CLI):
            raise RuntimeError(f'{CLI} is missing: run `npm ci` in {REPO}')
        self._open_dir()
        last = None
        for _ in range(3):
            try:
                self._start_on(_free_port())
                return self
            except RuntimeError as e:   # port taken meanwhile, or slow start
                last = e
                self._kill()
        self.stop()
        raise last

    def _start_on(self, port):
        cmd = [self.node, CLI, '--host', '127.0.0.1', '--port', str(port),
               '--createTableMs', '0', '--deleteTableMs', '0',
               '--updateTableMs', '0']
        self._spawn(cmd, cwd=REPO)
        self.port = port
        deadline = time.monotonic() + self.start_timeout
        while True:
            self._check_alive()
            try:
                with urllib.request.urlopen(self.url + '/', timeout=1):
                    pass
                return
            except urllib.error.HTTPError:
                return          # it answered (any status means listening)
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('dynalite did not start:\n' + self.log())
            time.sleep(0.05)

    def _kill(self):
        self._terminate()
        self.proc = None

    def stop(self, timeout=5):
        self._kill()
        super().stop(timeout)

    def env(self, **extra):
        """Environment that points healer's DynamoDB calls here."""
        e = {'AWS_ENDPOINT_URL_DYNAMODB': self.url}
        e.update(extra)
        return e

    # -- data ----------------------------------------------------------------

    def client(self):
        """A boto3 DynamoDB client for this instance (cached)."""
        if self._client is None:
            import boto3
            from botocore.config import Config
            self._client = boto3.session.Session().client(
                'dynamodb', endpoint_url=self.url, region_name=REGION,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                config=Config(retries={'total_max_attempts': 1},
                              connect_timeout=5, read_timeout=30))
        return self._client

    def create_table(self, name, hash_key, range_key=None, gsis=()):
        """Creates an on-demand table.  gsis: [{'name', 'hash_key',
        'range_key' (optional), 'projection' ('ALL' default |
        'KEYS_ONLY')}].  Returns the TableDescription."""
        attrs = {}
        req = {'TableName': name, 'BillingMode': 'PAY_PER_REQUEST',
               'KeySchema': _key_schema(hash_key, range_key, attrs)}
        indexes = []
        for g in gsis:
            indexes.append({
                'IndexName': g['name'],
                'KeySchema': _key_schema(g['hash_key'], g.get('range_key'),
                                         attrs),
                'Projection': {'ProjectionType': g.get('projection', 'ALL')},
            })
        if indexes:
            req['GlobalSecondaryIndexes'] = indexes
        req['AttributeDefinitions'] = [
            {'AttributeName': n, 'AttributeType': t}
            for n, t in sorted(attrs.items())]
        desc = self.client().create_table(**req)['TableDescription']
        waiter_deadline = time.monotonic() + 5
        while desc.get('TableStatus') != 'ACTIVE':
            if time.monotonic() > waiter_deadline:
                raise RuntimeError(f'table {name} not ACTIVE: {desc}')
            time.sleep(0.02)
            desc = self.client().describe_table(TableName=name)['Table']
        return desc

    def delete_table(self, name):
        self.client().delete_table(TableName=name)

    def get_item(self, table, key):
        """The item (wire form, {'attr': {'S': ...}}) or None."""
        out = self.client().get_item(TableName=table, Key=key,
                                     ConsistentRead=True)
        return out.get('Item')

    def put_item(self, table, item):
        self.client().put_item(TableName=table, Item=item)

    def scan(self, table):
        """Every item of the table (wire form)."""
        items, kwargs = [], {'TableName': table}
        while True:
            out = self.client().scan(**kwargs)
            items.extend(out.get('Items', []))
            if 'LastEvaluatedKey' not in out:
                return items
            kwargs['ExclusiveStartKey'] = out['LastEvaluatedKey']


if __name__ == '__main__':
    # Manual use: start dynalite and print its URL until interrupted.
    with Dynalite() as d:
        print(d.url, 'pid', d.pid, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
