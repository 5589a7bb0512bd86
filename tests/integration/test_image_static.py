"""The worker image and the ECS task definition agree: user, entrypoint,
health check, stop signal and environment names.

scripts/image/imagespec.py reads the Dockerfile and terraform/ecs.tf (through
scripts/image/taskdef.js) and lists where they disagree; `make image-check`
uses the same reader to build and run the image, so what is checked here is
what the image check runs. Each kind of disagreement is also made on a
broken copy of the files, which must be rejected with a known message.

What test_infra.py already checks stays there (the Dockerfile's stages and
runtime package list, the container's stopTimeout / awslogs / read-only root
/ FARGATE, the settings' names against the C code and docs/ACTIVITIES.md).

No container engine, no network, no root: `make image-check` does the rest.
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IMAGE = os.path.join(REPO, 'scripts', 'image')
sys.path.insert(0, IMAGE)

import imagespec  # noqa: E402

HEALER_BIN = os.environ.get('HEALER_BIN') or os.path.join(REPO, 'build', 'healer')
PYTHON = '/usr/bin/python3'


@pytest.fixture(scope='module')
def spec():
    return imagespec.spec(REPO, HEALER_BIN)


def copy_inputs(tmp_path):
    """What imagespec reads: Dockerfile, terraform/, worker/main.c."""
    root = tmp_path / 'repo'
    root.mkdir()
    shutil.copy(os.path.join(REPO, 'Dockerfile'), root / 'Dockerfile')
    shutil.copytree(os.path.join(REPO, 'terraform'), root / 'terraform',
                    ignore=shutil.ignore_patterns('.terraform*', '*.tfstate*', 'examples'))
    (root / 'worker').mkdir()
    shutil.copy(os.path.join(REPO, 'worker', 'main.c'), root / 'worker' / 'main.c')
    return root


# ---- what the reader sees ----------------------------------------------------

def test_reader_sees_the_image(spec):
    d = spec['dockerfile']
    assert d['image'] == 'debian:bookworm-slim'
    assert (d['debian_suite'], d['debian_slim']) == ('bookworm', True)
    assert d['user'] == '10001:10001'
    assert d['entrypoint'] == {'exec': True, 'argv': ['/usr/local/bin/healer'],
                               'shell': ['/bin/bash', '-o', 'pipefail', '-c']}
    assert d['cmd']['argv'] == ['run']
    assert d['healthcheck'] == {'interval': 30.0, 'timeout': 5.0, 'start_period': 30.0,
                                'retries': 3, 'test': ['CMD', '/usr/local/bin/healer', 'health']}
    assert d['stopsignal'] == 'SIGTERM'
    assert imagespec.healer_binary_path(spec) == '/usr/local/bin/healer'
    ops = [(s['op'], s.get('dest')) for s in d['steps']]
    assert ops == [('COPY', '/tmp/runtime-packages.txt'), ('RUN', None),
                   ('COPY', '/usr/local/bin/healer')]
    copy_bin = d['steps'][-1]
    assert copy_bin['from'] == 'build' and copy_bin['context_src'] == ['build/healer']
    run = d['steps'][1]['argv']
    assert run[:4] == ['/bin/bash', '-o', 'pipefail', '-c'] and 'runtime-packages.txt' in run[4]
    assert [u['options'].get('uid') for u in d['users']] == ['10001']
    assert [g['options'].get('gid') for g in d['groups']] == ['10001']


def test_reader_sees_the_task_definition(spec):
    e = spec['ecs']
    assert e['file'] == 'terraform/ecs.tf'
    c = e['container']
    assert c['user'] == '10001:10001'
    assert c['healthCheck']['command'] == ['CMD', '/usr/local/bin/healer', 'health']
    assert c['stopTimeout'] == 120 and c['readonlyRootFilesystem'] is True
    assert 'entryPoint' not in c and 'command' not in c
    assert e['environment']['HEALER_HEALTH_FILE'] == '/tmp/healer-health.json'
    assert e['environment']['HEALER_DRAIN_DEADLINE_S'] == '100'
    assert e['environment']['HEALER_ACTIVITIES'] is None      # an expression
    assert {'AWS_REGION', 'HEALER_ACTIVITIES', 'HEALER_ACTIVITY_ARN_PREFIX'} <= set(e['environment'])
    assert {'HEALER_JIRA_API_TOKEN', 'HEALER_SLACK_TOKEN'} <= set(e['secrets'])
    assert 'tmp' in e['volumes'] and '/tmp' in imagespec.writable_paths(spec)
    assert spec['worker_signals'] == ['SIGINT', 'SIGTERM']
    # What ECS runs and what its health check runs.
    assert imagespec.container_argv(spec) == ['/usr/local/bin/healer', 'run']
    assert imagespec.health_argv(spec) == ['/usr/local/bin/healer', 'health']


def test_image_and_task_definition_agree(spec):
    assert imagespec.disagreements(spec) == []


def test_check_cli_agrees():
    p = subprocess.run([PYTHON, os.path.join(IMAGE, 'imagespec.py'), '--check',
                        '--healer', HEALER_BIN], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, ''), p.stdout + p.stderr


# ---- each disagreement on a broken copy -----------------------------------------

# (file, regex, replacement, expected message fragment)
MUTATIONS = [
    ('Dockerfile', r'^USER 10001:10001$', 'USER 10002:10002',
     'user: Dockerfile USER 10002:10002, task definition user 10001:10001'),
    ('Dockerfile', r'^USER 10001:10001$', 'USER healer',
     'user: Dockerfile USER healer must be numeric uid:gid'),
    ('Dockerfile', r'--uid 10001', '--uid 10005',
     'user: no useradd --uid 10001 --gid 10001 in the runtime stage'),
    ('terraform/ecs.tf', r'(worker_user\s*=) "10001:10001"', r'\1 "0:0"',
     'user: Dockerfile USER 10001:10001, task definition user 0:0'),
    ('Dockerfile', r'^ENTRYPOINT \["/usr/local/bin/healer"\]$', 'ENTRYPOINT /usr/local/bin/healer',
     'entrypoint: ENTRYPOINT /usr/local/bin/healer is in shell form'),
    ('Dockerfile', r'^ENTRYPOINT \["/usr/local/bin/healer"\]$', 'ENTRYPOINT ["/usr/bin/healer"]',
     "entrypoint: ENTRYPOINT ['/usr/bin/healer'] does not run the binary the image copies"),
    ('terraform/ecs.tf', r'(\n\s*essential\s*=\s*true)', r'\1\n    command = ["serve"]',
     "entrypoint: the task definition overrides command with ['serve']"),
    ('Dockerfile', r'--interval=30s', '--interval=60s',
     'health check interval: Dockerfile 60, task definition 30'),
    ('terraform/ecs.tf', r'(healthCheck = \{\n(?:.*\n)*?\s*timeout\s*=) 5', r'\1 10',
     'health check timeout: Dockerfile 5, task definition 10'),
    ('terraform/ecs.tf', r'(command\s*=) \["CMD", "/usr/local/bin/healer", "health"\]',
     r'\1 ["CMD-SHELL", "/usr/local/bin/healer health || exit 1"]',
     "health check: Dockerfile ['CMD', '/usr/local/bin/healer', 'health'], task definition "
     "['CMD-SHELL'"),
    ('Dockerfile', r'^STOPSIGNAL SIGTERM$', 'STOPSIGNAL SIGQUIT',
     'stop signal: STOPSIGNAL SIGQUIT, but the worker drains on SIGINT, SIGTERM'),
    ('worker/main.c', r'\n\s*sigaddset\(&signals, SIGTERM\);', '',
     'stop signal: STOPSIGNAL SIGTERM, but the worker drains on SIGINT (worker/main.c)'),
    ('terraform/ecs.tf', r'(stopTimeout\s*=) 120\b', r'\1 90',
     'stop signal: HEALER_DRAIN_DEADLINE_S 100 does not end before ECS sends SIGKILL '
     '(stopTimeout 90)'),
    ('Dockerfile', r'^(USER 10001:10001)$', r'ENV HEALER_HEALTH_FILE=/var/run/healer.json\n\1',
     "environment: HEALER_HEALTH_FILE is '/var/run/healer.json' in the Dockerfile but "
     "'/tmp/healer-health.json' in the task definition"),
    ('Dockerfile', r'^(USER 10001:10001)$', r'ENV HEALER_HEALTHFILE=/tmp/h.json\n\1',
     'environment: Dockerfile ENV HEALER_HEALTHFILE is not a setting healer --help lists'),
    ('Dockerfile', r'^(USER 10001:10001)$', r'ENV HEALER_SLACK_TOKEN=xoxb-in-the-image\n\1',
     'environment: HEALER_SLACK_TOKEN is an ENV in the image and an ECS secret'),
    ('terraform/ecs.tf', r'HEALER_HEALTH_FILE(\s*)= "/tmp/healer-health.json"',
     r'HEALER_HEALTH_FILE\1= "/var/lib/healer/health.json"',
     'environment: HEALER_HEALTH_FILE /var/lib/healer/health.json is on the read-only root '
     '(writable mounts: /tmp)'),
    ('terraform/ecs.tf', r'(containerPath\s*=) "/tmp"', r'\1 "/scratch"',
     'environment: HEALER_HEALTH_FILE /tmp/healer-health.json is on the read-only root '
     '(writable mounts: /scratch)'),
    ('Dockerfile', r'CMD \["/usr/local/bin/healer", "health"\]$',
     'CMD ["/usr/local/bin/healer", "health", "--health-file", "/tmp/other.json"]',
     'environment: the health check reads /tmp/other.json, the worker writes '
     '/tmp/healer-health.json'),
]


def mutate(root, path, pattern, repl):
    target = root / path
    new, n = re.subn(pattern, repl, target.read_text(), count=1, flags=re.M)
    assert n == 1, f'mutation pattern {pattern!r} not found in {path}'
    target.write_text(new)


@pytest.fixture(scope='module')
def mutated(spec, tmp_path_factory):
    """{mutation index: disagreements()} for every mutation, plus 'unmodified'
    for a faithful copy. Only what a mutation changed is read again, and all
    task definitions in one Node process."""
    roots, results = {}, {}
    for i, (path, pattern, repl, _) in enumerate(MUTATIONS):
        roots[i] = copy_inputs(tmp_path_factory.mktemp(f'mutation{i}'))
        mutate(roots[i], path, pattern, repl)
    roots['unmodified'] = copy_inputs(tmp_path_factory.mktemp('unmodified'))
    tf = [k for k in roots if k == 'unmodified' or MUTATIONS[k][0].startswith('terraform/')]
    ecs = dict(zip(tf, imagespec.taskdef_specs([str(roots[k]) for k in tf])))
    for k, root in roots.items():
        sp = dict(spec)
        sp['dockerfile'] = imagespec.dockerfile_spec(str(root))
        sp['worker_signals'] = imagespec.worker_signals(str(root))
        if k in ecs:
            sp['ecs'] = ecs[k]
        results[k] = imagespec.disagreements(sp)
    return results


@pytest.mark.parametrize('index', range(len(MUTATIONS)),
                         ids=[f'{m[0]}:{m[3][:48]}' for m in MUTATIONS])
def test_disagreement_is_found(spec, mutated, index):
    expected = MUTATIONS[index][3]
    if 'healer --help' in expected and spec['healer_help'] is None:
        pytest.fail(f'{HEALER_BIN} is needed to check names against healer --help')
    errors = mutated[index]
    assert any(expected in e for e in errors), f'expected {expected!r} in {errors}'


def test_unmodified_copy_agrees(mutated):
    """The copies the mutations use are faithful: unmodified, they agree."""
    assert mutated['unmodified'] == []


def test_taskdef_reader_rejects_a_module_without_the_task_definition(tmp_path):
    (tmp_path / 'main.tf').write_text('locals {\n  x = 1\n}\n')
    p = subprocess.run(['node', os.path.join(IMAGE, 'taskdef.js'), str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert 'no aws_ecs_task_definition.worker' in p.stderr


# ---- the Dockerfile reader's corners -------------------------------------------

def test_dockerfile_reader_follows_docker_rules(tmp_path):
    (tmp_path / 'Dockerfile').write_text(
        'ARG REL=bookworm\n'
        'FROM debian:${REL} AS build\n'
        'WORKDIR /src\n'
        'FROM debian:${REL}-slim\n'
        '# a comment\n'
        'ENV A=1 B="two words"\n'
        'ENV LEGACY value with spaces\n'
        'RUN echo one \\\n'
        '# a comment inside a continuation is dropped\n'
        '    && echo two\n'
        'COPY --from=build /src/build/healer /usr/local/bin/\n'
        'HEALTHCHECK CMD healer health\n'
        'ENTRYPOINT ["/usr/local/bin/healer"]\n')
    d = imagespec.dockerfile_spec(str(tmp_path))
    assert d['image'] == 'debian:bookworm-slim'
    assert d['env'] == {'A': '1', 'B': 'two words', 'LEGACY': 'value with spaces'}
    run = [s for s in d['steps'] if s['op'] == 'RUN'][0]
    assert run['argv'] == ['/bin/sh', '-c', 'echo one      && echo two']
    copy = [s for s in d['steps'] if s['op'] == 'COPY'][0]
    assert copy['context_src'] == ['build/healer'] and copy['dest'] == '/usr/local/bin/'
    # Docker's defaults for a HEALTHCHECK without options; shell form.
    assert d['healthcheck'] == {'interval': 30.0, 'timeout': 30.0, 'start_period': 0.0,
                                'retries': 3, 'test': ['CMD-SHELL', 'healer health']}
    assert d['stopsignal'] is None and d['user'] is None


def test_durations_and_signals():
    assert imagespec.parse_duration('1m30s') == 90
    assert imagespec.parse_duration('500ms') == 0.5
    with pytest.raises(imagespec.SpecError):
        imagespec.parse_duration('30')
    assert [imagespec.signal_name(s) for s in ('SIGTERM', 'TERM', '15', 'sigquit')] == \
        ['SIGTERM', 'SIGTERM', 'SIGTERM', 'SIGQUIT']


# ---- image-check's own pieces ------------------------------------------------------

@pytest.mark.skipif(shutil.which('shellcheck') is None, reason='shellcheck not installed')
def test_image_check_script_passes_shellcheck():
    p = subprocess.run(['shellcheck', os.path.join(REPO, 'scripts', 'image-check.sh')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout


def test_image_check_is_its_own_make_target():
    test = subprocess.run(['make', '-n', '-C', REPO, 'test'], capture_output=True, text=True,
                          timeout=60)
    assert test.returncode == 0, test.stderr
    assert 'image-check' not in test.stdout
    ic = subprocess.run(['make', '-n', '-C', REPO, 'image-check'], capture_output=True,
                        text=True, timeout=60)
    assert ic.returncode == 0 and 'scripts/image-check.sh' in ic.stdout, ic.stderr


def test_imagecheck_usage():
    p = subprocess.run([PYTHON, os.path.join(IMAGE, 'imagecheck.py')], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and 'imagecheck.py checks ROOT' in p.stderr


def test_tls_proxy_needs_the_test_ca(tmp_path):
    """The TLS front image-check puts before the endpoint: a client with the
    test CA gets through to the upstream, one without it is refused."""
    import imagecheck
    imagecheck.make_test_ca(str(tmp_path))
    up = socket.socket()
    up.bind(('127.0.0.1', 0))
    up.listen(4)

    def upstream():
        for _ in range(2):
            try:
                c, _ = up.accept()
            except OSError:
                return
            with c:
                data = c.recv(100)
                if data:
                    c.sendall(b'upstream got ' + data)
    threading.Thread(target=upstream, daemon=True).start()
    port_file, stats = tmp_path / 'port', tmp_path / 'stats.json'
    proxy = subprocess.Popen([PYTHON, os.path.join(IMAGE, 'tls_proxy.py'),
                              '--cert', str(tmp_path / 'server.crt'),
                              '--key', str(tmp_path / 'server.key'),
                              '--upstream', str(up.getsockname()[1]),
                              '--port-file', str(port_file), '--stats', str(stats)],
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(500):
            if port_file.exists() or proxy.poll() is not None:
                break
            threading.Event().wait(0.01)
        port = int(port_file.read_text())
        trusting = ssl.create_default_context(cafile=str(tmp_path / 'ca.crt'))
        with socket.create_connection(('127.0.0.1', port), timeout=10) as s, \
                trusting.wrap_socket(s, server_hostname='127.0.0.1') as t:
            t.sendall(b'hello')
            assert t.recv(100) == b'upstream got hello'
        default = ssl.create_default_context()       # the system CAs only
        with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
            with pytest.raises(ssl.SSLCertVerificationError):
                default.wrap_socket(s, server_hostname='127.0.0.1')
        for _ in range(500):
            st = json.loads(stats.read_text())
            if st['handshakes_failed'] >= 1:
                break
            threading.Event().wait(0.01)
        assert st['handshakes_ok'] == 1 and st['handshakes_failed'] == 1, st
        assert 'unknown ca' in st['last_error'].lower()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        up.close()


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
