"""The credentials chain as operators and workers meet it, with the real
binary: environment -> profile -> ECS -> IMDS (the AWS SDKs' order,
worker/creds.c), ECS and IMDS on the local endpoint's stand-ins
(HEALER_TEST_ECS_HOST / HEALER_TEST_IMDS_ENDPOINT).

- `healer status` on a laptop with a profile uses the profile, even where
  ECS variables are set and something answers at the metadata address; the
  profile comes before IMDS, so IMDS is never asked (not even for a token);
- with no profile either, the 403 is "no credentials found" naming what
  each source said, not an IMDS error;
- a worker that got its credentials from IMDS and is then refused reports
  the 403 as an IMDS failure.
"""

import json
import os
import sys
import urllib.parse

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'local'))
from dynalite import Dynalite  # noqa: E402
from harness import LocalAWS  # noqa: E402

from workers import (TEST_AKID, TEST_SECRET, Worker, create_engine_tables,  # noqa: E402
                     run_cli, wait_until)


@pytest.fixture(scope='module')
def stands():
    # Short long polls: a worker whose credentials expired asks for new
    # ones at its next poll.
    with LocalAWS(poll_timeout=2) as ep, Dynalite() as ddb:
        create_engine_tables(ddb)
        yield ep, ddb


@pytest.fixture
def ep(stands):
    ep = stands[0]
    ep.reset()
    ep.admin('POST', '/_admin/ssm/parameters', {'name': '/healer/enabled', 'value': 'true'})
    return ep


def base_env(stands, home):
    """No keys in the environment; ECS and IMDS point at the stand-ins."""
    ep, ddb = stands
    e = {'AWS_REGION': 'us-east-1', 'AWS_ENDPOINT_URL': ep.url, 'HOME': str(home),
         'HEALER_TEST_ECS_HOST': urllib.parse.urlsplit(ep.url).netloc,
         'HEALER_TEST_IMDS_ENDPOINT': ep.url}
    e.update(ddb.env())
    return e


def write_profile(home):
    aws = home / '.aws'
    aws.mkdir()
    (aws / 'credentials').write_text(
        '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
        % (TEST_AKID, TEST_SECRET))


def status(env):
    r = run_cli(['status', '--json'], env=env)
    r.out, r.err = r.stdout.decode(), r.stderr.decode()
    return r


def signers(ep):
    """The access key ids that signed the AWS calls the endpoint saw."""
    return {r['accessKeyId'] for r in ep.requests() if r.get('op')}


def test_profile_beats_ecs_and_imds(stands, ep, tmp_path):
    write_profile(tmp_path)
    env = base_env(stands, tmp_path)
    env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] = '/_ecs/credentials'
    r = status(env)
    assert r.returncode == 0, r.err
    assert json.loads(r.out)['killSwitch']['state'] == 'enabled'
    assert signers(ep) == {TEST_AKID}
    s = ep.summary()
    assert s['ecs_fetches'] == 0 and s['imds_fetches'] == 0, s


def test_chain_asks_the_profile_before_imds(stands, ep, tmp_path):
    """Pins the chain order (profile before IMDS), on the case that made it
    matter: an operator's laptop on a network whose metadata address
    refuses the IMDSv2 token with 403, where `healer status` used to stop
    at "credentials source imds". With a profile, IMDS is never asked - not
    even for a token - so this says nothing about how a 403 is handled
    (test_imds_refusing_the_token_is_no_credentials_found does)."""
    write_profile(tmp_path)
    ep.imds(token_status=403)
    r = status(base_env(stands, tmp_path))
    assert r.returncode == 0, r.err
    assert signers(ep) == {TEST_AKID}
    s = ep.summary()
    assert s['imds_token_requests'] == 0 and s['imds_fetches'] == 0, s


@pytest.mark.parametrize('code', [403, 404, 405])
def test_imds_refusing_the_token_is_no_credentials_found(stands, ep, tmp_path, code):
    ep.imds(token_status=code)
    r = status(base_env(stands, tmp_path))
    assert r.returncode == 1, (r.out, r.err)
    assert 'credentials source imds' not in r.err
    assert r.err.startswith(
        'healer status: reading the kill switch failed: no credentials found: set '
        'AWS_ACCESS_KEY_ID, configure a profile, or run with a task or instance role '
        '(tried environment: AWS_ACCESS_KEY_ID is not set; profile: no shared '
        'credentials or config file; ecs: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and '
        '_FULL_URI are not set; imds: instance metadata token request answered HTTP '
        '%d: IMDSv2 is off or refuses this caller (IMDSv1 is never tried))' % code), r.err
    assert signers(ep) == set()
    assert ep.summary()['imds_token_requests'] >= 1


def test_ecs_answers_when_there_is_no_profile(stands, ep, tmp_path):
    """The ECS container: no shared files, ECS variables set."""
    env = base_env(stands, '/nonexistent')
    env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] = '/_ecs/credentials'
    r = status(env)
    assert r.returncode == 0, r.err
    keys = signers(ep)
    assert len(keys) == 1 and next(iter(keys)).startswith('ASIA'), keys
    assert ep.summary()['imds_fetches'] == 0


def test_imds_refusal_after_it_worked_is_an_error(stands, ep):
    """A worker on IMDS credentials that live 6 s: once IMDS refuses new
    tokens (and the cached one stops working), the refresh fails, the
    worker keeps the valid set until it expires, then reports the 403 as
    an IMDS failure instead of moving on."""
    ep.boto3_client('stepfunctions').create_activity(name='echo')
    ep.imds(lifetime_s=6)
    env = {'AWS_EC2_METADATA_DISABLED': 'false',
           'HEALER_TEST_IMDS_ENDPOINT': ep.url,
           'HEALER_TEST_ECS_HOST': '127.0.0.1:1'}
    with Worker(ep.url, 'echo:1', extra_env=env, credentials='none') as w:
        wait_until(lambda: any(k and k.startswith('ASIA') for k in signers(ep)), 30,
                   what='a poll signed with IMDS credentials')
        ep.imds(token_status=403, forget_tokens=True)
        failed = w.wait_for('GetActivityTask failed; backing off', timeout=60)
    detail = failed[0].get('detail', '')
    assert detail == 'credentials source imds: instance metadata token request answered HTTP 403', \
        failed[0]
