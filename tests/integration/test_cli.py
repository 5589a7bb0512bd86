"""The healer command line: configuration errors, --help/--version, the
health check, and the kill-switch commands against the local endpoint."""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import (ARN_PREFIX, TEST_AKID, TEST_SECRET, Worker,  # noqa: E402
                     run_cli, wait_until)

BASE = {'AWS_REGION': 'us-east-1', 'HEALER_ACTIVITIES': 'echo:2',
        'HEALER_ACTIVITY_ARN_PREFIX': ARN_PREFIX}


@pytest.mark.parametrize('env,fragment', [
    ({'HEALER_ACTIVITIES': 'diagnoze:2'}, 'unknown activity "diagnoze"'),
    ({'HEALER_ACTIVITIES': 'echo:0'}, 'slots for "echo" must be 1..1000, got 0'),
    ({'HEALER_ACTIVITY_ARN_PREFIX': 'arn:aws:states:us-east-1:12345:activity:'},
     'account must be 12 digits'),
    ({'AWS_REGION': ''}, 'AWS_REGION (--region) is not set'),
    ({'HEALER_DRAIN_DEADLINE_S': '10x'}, 'HEALER_DRAIN_DEADLINE_S'),
])
def test_bad_config_exits_2_naming_the_setting(env, fragment):
    full = dict(BASE)
    full.update(env)
    r = run_cli([], env=full)
    assert r.returncode == 2, r
    assert fragment in r.stderr.decode(), r.stderr


def test_help_and_version():
    r = run_cli(['--help'])
    assert r.returncode == 0
    out = r.stdout.decode()
    for name in ('HEALER_ACTIVITIES', '--activities', 'HEALER_DRAIN_DEADLINE_S',
                 'run-activity', 'health'):
        assert name in out, name
    r = run_cli(['--version'])
    assert r.returncode == 0 and r.stdout.decode().startswith('healer ')


def test_run_activity_echo(tmp_path):
    p = tmp_path / 'in.json'
    p.write_text('{"hello": "world"}')
    r = run_cli(['run-activity', 'echo', '--input', str(p)])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['echo'] == {'hello': 'world'}
    p.write_text('{"hello": ')
    r = run_cli(['run-activity', 'echo', '--input', str(p)])
    assert r.returncode == 1
    assert json.loads(r.stderr)['error'] == 'Healer.InvalidInput'
    r = run_cli(['run-activity', 'nope', '--input', str(p)])
    assert r.returncode == 2 and b'unknown activity' in r.stderr


def test_health_follows_the_worker(tmp_path):
    missing = str(tmp_path / 'none.json')
    r = run_cli(['health', '--health-file', missing])
    assert r.returncode == 1 and b'no health file' in r.stderr
    with LocalAWS(poll_timeout=2) as ep:
        with Worker(ep.url, 'echo:2') as w:
            wait_until(lambda: os.path.exists(w.health_path), 10, what='health file')
            r = run_cli(['health', '--health-file', w.health_path])
            assert r.returncode == 0, r.stderr
            w.signal()
            assert w.wait(20) == 0
        r = run_cli(['health', '--health-file', w.health_path])
        assert r.returncode == 1


def test_disable_and_enable_flip_the_parameter():
    # DynamoDB too: both record who and why in the audit table, and enable
    # clears a blast-radius stop (tests/integration/test_ops_cli.py).
    with LocalAWS() as ep, Dynalite() as ddb:
        ddb.create_table('healer-breaker', 'pk')
        ddb.create_table('healer-audit', 'execution', 'at')
        env = {'AWS_REGION': 'us-east-1', 'AWS_ENDPOINT_URL': ep.url,
               'AWS_ACCESS_KEY_ID': TEST_AKID, 'AWS_SECRET_ACCESS_KEY': TEST_SECRET,
               'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': '/nonexistent', **ddb.env()}
        r = run_cli(['disable'], env=env)
        assert r.returncode == 2 and b'--reason' in r.stderr
        r = run_cli(['disable', '--reason', 'incident INC-42: storage outage'], env=env)
        assert r.returncode == 0, r.stderr
        ssm = ep.boto3_client('ssm')
        assert ssm.get_parameter(Name='/healer/enabled')['Parameter']['Value'] == 'false'
        r = run_cli(['enable'], env=env)
        assert r.returncode == 0, r.stderr
        assert ssm.get_parameter(Name='/healer/enabled')['Parameter']['Value'] == 'true'
