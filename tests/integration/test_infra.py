"""The infrastructure checks: state machine, Terraform, EventBridge
patterns, Dockerfile.

tests/infra/run.js runs every Node check once (one process: the HCL
parser's WASM loads once) and reports JSON; each check is one test here.
Each check is also run on a mutated copy of the repository that it must
reject with a known message, so none of them passes vacuously. The
Dockerfile and the runtime package list are checked here directly.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RUN_JS = os.path.join(REPO, 'tests', 'infra', 'run.js')
NODE = shutil.which('node') or '/usr/bin/node'
TERRAFORM = next((p for p in (os.environ.get('TERRAFORM'), '/usr/local/bin/terraform',
                              '/usr/bin/terraform') if p and os.path.exists(p)), None)
HEALER_BIN = os.environ.get('HEALER_BIN') or os.path.join(REPO, 'build', 'healer')

CHECKS = [
    'asl_files_render_and_validate',
    'asl_engine_semantics',
    'asl_engine_semantics_at_setting_limits',
    'asl_semantic_checker_catches_mistakes',
    'asl_template_syntax',
    'event_matcher_rules',
    'event_rules_match_fixtures',
    'event_rules_reject_near_misses',
    'terraform_parses',
    'terraform_references_exist',
    'terraform_module_calls',
    'terraform_variables_described',
    'terraform_files_exist',
    'terraform_templatefile_fills_placeholders',
    'terraform_task_role_matches_c_code',
    'terraform_no_wildcard_where_narrower',
    'terraform_event_targets',
    'terraform_worker_settings',
    'terraform_worker_container',
    'terraform_dynamodb_tables',
    'terraform_fmt',
    'terraform_console_renders_like_tests',
    'terraform_schema_checker_catches_mistakes',
    'terraform_schema_covers_types',
    'terraform_schema_arguments',
    'terraform_schema_references',
    'terraform_provider_version',
    'terraform_console_renders_event_patterns',
    'terraform_dashboard_metrics',
    'terraform_event_dry_run',
    'terraform_console_renders_dry_run',
    'c_action_scanner_rules',
]


def run_checks(only=None, root=None, timeout=240):
    cmd = [NODE, RUN_JS]
    if only:
        cmd += ['--only'] + list(only)
    env = dict(os.environ)
    if root:
        env['HEALER_INFRA_ROOT'] = root
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode in (0, 1), f'run.js crashed ({p.returncode}):\n{p.stderr}'
    return p.returncode, {c['name']: c for c in json.loads(p.stdout)['checks']}


@pytest.fixture(scope='module')
def report():
    return run_checks()[1]


def test_every_check_is_listed():
    p = subprocess.run([NODE, RUN_JS, '--list'], capture_output=True, text=True,
                       timeout=60, check=True)
    names = [line.split('\t')[0] for line in p.stdout.splitlines() if line]
    assert names == CHECKS


@pytest.mark.parametrize('name', CHECKS)
def test_infra(report, name):
    c = report[name]
    if c['skipped']:
        pytest.skip(c['skipped'])
    assert c['ok'], f"{name}: {c['doc']}\n  - " + '\n  - '.join(c['errors'])


# ---- each check rejects a broken copy ----------------------------------------

def make_copy(tmp_path):
    """A copy of what the checks read (the event fixtures included)."""
    root = tmp_path / 'repo'
    root.mkdir()
    for d in ('terraform', 'statemachines', 'docs', 'docker'):
        shutil.copytree(os.path.join(REPO, d), root / d,
                        ignore=shutil.ignore_patterns('.terraform*', '*.tfstate*'))
    for d in ('worker', 'activities'):
        os.makedirs(root / d)
        for f in os.listdir(os.path.join(REPO, d)):
            if f.endswith(('.c', '.json')):
                shutil.copy(os.path.join(REPO, d, f), root / d / f)
    shutil.copy(os.path.join(REPO, 'Dockerfile'), root / 'Dockerfile')
    shutil.copytree(os.path.join(REPO, 'tests', 'fixtures'), root / 'tests' / 'fixtures')
    return root


# (check, file, regex, replacement, expected error fragment)
MUTATIONS = [
    ('terraform_task_role_matches_c_code', 'terraform/iam.tf',
     r'"states:SendTaskFailure", "states:SendTaskHeartbeat"', '"states:SendTaskFailure"',
     'the C code calls states:SendTaskHeartbeat (worker/heartbeat.c'),
    ('terraform_task_role_matches_c_code', 'terraform/iam.tf',
     r'actions   = \["ssm:SendCommand"\]', 'actions   = ["ssm:SendCommand", "ssm:DeleteDocument"]',
     'the task role grants ssm:DeleteDocument but the C code never calls it'),
    ('terraform_task_role_matches_c_code', 'activities/zz_new_call.c', r'\A\Z',
     'int zz(void) { return hl_aws_call(c, &hl_svc_acm, "DeleteCertificate", in, &o, NULL, &e); }\n',
     'the C code calls acm:DeleteCertificate (activities/zz_new_call.c:1)'),
    ('terraform_no_wildcard_where_narrower', 'terraform/iam.tf',
     r'resources = \[aws_ssm_parameter\.kill_switch\.arn\]', 'resources = ["*"]',
     'ssm:GetParameter on "*", but IAM supports a narrower resource for it'),
    ('terraform_no_wildcard_where_narrower', 'terraform/events.tf',
     r'actions   = \["states:StartExecution"\]', 'actions   = ["states:*"]',
     'wildcard action states:*'),
    ('terraform_event_targets', 'terraform/events.tf',
     r'(input_template = .*)<aws\.events\.event\.json>', r'\1<aws.events.event>',
     'input_template must send <aws.events.event.json>'),
    ('terraform_references_exist', 'terraform/outputs.tf',
     r'aws_ecs_cluster\.this\.name', 'aws_ecs_cluster.that.name',
     'aws_ecs_cluster.that is not declared'),
    ('terraform_references_exist', 'terraform/examples/complete/outputs.tf',
     r'module\.healer\.state_machine_arn', 'module.healer.state_machine_name',
     'module.healer has no output state_machine_name'),
    ('terraform_templatefile_fills_placeholders', 'terraform/stepfunctions.tf',
     r'\n\s*retry_max_attempts\s*=\s*var\.retry_max_attempts', '',
     'uses ${retry_max_attempts}, the templatefile vars do not set it'),
    ('terraform_module_calls', 'terraform/examples/complete/main.tf',
     r'\n\s*subnet_ids = var\.subnet_ids', '',
     'module.healer: required variable subnet_ids is not set'),
    ('terraform_files_exist', 'terraform/ssm.tf',
     r'disk-cleanup-document\.json', 'disk-cleanup.json',
     'file(activities/disk-cleanup.json): no such file'),
    ('terraform_worker_settings', 'terraform/ecs.tf',
     r'\n\s*HEALER_SG_AUTOMATION_ROLE_ARN\s*=.*', '',
     'HEALER_SG_AUTOMATION_ROLE_ARN (docs/ACTIVITIES.md, no default) is not set for the workers'),
    ('terraform_worker_settings', 'terraform/ecs.tf',
     r'HEALER_LOG_LEVEL(\s*)=', r'HEALER_LOGLEVEL\1=',
     'HEALER_LOGLEVEL: no C source reads this setting'),
    ('terraform_worker_container', 'Dockerfile',
     r'USER 10001:10001', 'USER 0:0',
     "Dockerfile USER 0:0 differs from the task definition's 10001:10001"),
    ('terraform_dynamodb_tables', 'terraform/dynamodb.tf',
     r'attribute_name = "expires_at"', 'attribute_name = "ttl"',
     'breaker: TTL on expires_at must be enabled'),
    ('event_rules_match_fixtures', 'terraform/events.tf',
     r'state\s+= \{ value = \["ALARM"\] \}', 'state = { value = ["ALARM", "OK"] }',
     'cloudwatch-alarm-disk-used-percent-ok.json: should start disk_ok, starts disk, disk_ok'),
    ('event_rules_match_fixtures', 'terraform/events.tf',
     r'\n\s*muteDetail\s+= .*', '',
     'cloudwatch-alarm-disk-used-percent-muted.json: should start nothing, starts disk'),
    ('asl_engine_semantics', 'statemachines/engine.asl.json',
     r'"HeartbeatSeconds": \$\{heartbeat_seconds\}', '"HeartbeatSeconds": ${task_timeout_seconds}',
     'Guard: HeartbeatSeconds 300 must be below TimeoutSeconds 300'),
    ('asl_engine_semantics', 'docs/ACTIVITIES.md',
     r'RemediationChoice', 'RemediationCheck',
     'flow: state RemediationCheck (docs/ACTIVITIES.md) is missing'),
    ('asl_files_render_and_validate', 'statemachines/engine.asl.json',
     r'"Next": "GuardChoice"', '"Next": "NoSuchState"',
     'MISSING_TRANSITION_TARGET'),
    # The AWS provider schema (terraform/.schema/aws-provider-schema.json).
    ('terraform_schema_arguments', 'terraform/dynamodb.tf',
     r'hash_key     = "pk"', 'hash_kye     = "pk"',
     'aws_dynamodb_table.breaker: unknown argument hash_kye (did you mean "hash_key"?)'),
    ('terraform_schema_arguments', 'terraform/ecs.tf',
     r'\n  family\s*=.*', '',
     'aws_ecs_task_definition.worker: missing required argument family'),
    ('terraform_schema_arguments', 'terraform/stepfunctions.tf',
     r'logging_configuration \{', 'logging_configuration = {',
     'aws_sfn_state_machine.engine: logging_configuration is a block, not an argument'),
    ('terraform_schema_arguments', 'terraform/ecr.tf',
     r'scan_on_push = true', 'scan_on_push {}',
     'aws_ecr_repository.worker: image_scanning_configuration.scan_on_push is an argument, not a block'),
    ('terraform_schema_arguments', 'terraform/iam.tf',
     r'variable = "iam:PassedToService"', 'varaible = "iam:PassedToService"',
     'data.aws_iam_policy_document.task: unknown argument statement.condition.varaible (did you mean "variable"?)'),
    ('terraform_schema_covers_types', 'terraform/ecr.tf', r'\A',
     'resource "aws_ecr_repository_policy" "worker" {\n  repository = "x"\n  policy     = "{}"\n}\n',
     'terraform/ecr.tf:1: aws_ecr_repository_policy.worker: resource type aws_ecr_repository_policy is not in the committed schema: run `make tf-schema`'),
    ('terraform_schema_references', 'terraform/ecs.tf',
     r'repository_url\}:', 'repository_uri}:',
     'aws_ecr_repository.worker: has no attribute "repository_uri" (did you mean "repository_url"?)'),
    ('terraform_schema_references', 'terraform/stepfunctions.tf',
     r'aws_sfn_activity\.this\["guard"\]\.id', 'aws_sfn_activity.this.id',
     'aws_sfn_activity.this: uses for_each, so aws_sfn_activity.this.id needs an instance key'),
    ('terraform_provider_version', 'terraform/versions.tf',
     r'version = "~> 6\.0"', 'version = ">= 5.30.0, < 7.0.0"',
     'version ">= 5.30.0, < 7.0.0" admits versions outside 6.x'),
    ('terraform_provider_version', 'terraform/examples/complete/versions.tf',
     r'version = "~> 6\.0"', 'version = "~> 6.30"',
     'version "~> 6.30" excludes 6.'),
    # The dashboard (tests/infra/check_dashboard.js).
    ('terraform_dashboard_metrics', 'terraform/dashboard.tf',
     r'"Healer", "TasksFailed"', '"Healer", "TaskFailed"',
     'Healer metric "TaskFailed" is not emitted by the worker'),
    ('terraform_dashboard_metrics', 'activities/outcome_metrics.c',
     r'hl_outcome_metric\("BreakerTrips"', 'hl_outcome_metric("BreakerTripped"',
     'Healer metric "BreakerTrips" is not emitted by the worker'),
    ('terraform_dashboard_metrics', 'terraform/dashboard.tf',
     r'"AWS/States", "ActivityScheduleTime"', '"AWS/States", "ActivityScheduledTime"',
     'AWS/States has no metric "ActivityScheduledTime"'),
    ('terraform_dashboard_metrics', 'terraform/dashboard.tf',
     r'\n\s*\["Healer", "BlastRadiusStopped".*', '',
     'no widget shows Healer BlastRadiusStopped'),
    ('terraform_dashboard_metrics', 'terraform/dashboard.tf',
     r'"StateMachineArn", aws_sfn_state_machine\.engine\.arn\]',
     '"StateMachineArn", "arn:aws:states:us-east-1:123456789012:stateMachine:healer-engine"]',
     'StateMachineArn is a literal; take it from the resource'),
    ('terraform_dashboard_metrics', 'terraform/ecs.tf',
     r'value = "enabled"', 'value = "disabled"',
     'but terraform/ecs.tf does not enable Container Insights on the cluster'),
    # dryRun per class (tests/infra/check_dry_run.js).
    ('terraform_event_dry_run', 'terraform/events.tf',
     r'ssh_ok  = "public_ssh"', 'ssh_ok  = "disk_pressure"',
     'dry_run true, disk_pressure trusted: rule ssh_ok (public_ssh) sends dryRun false, should send true'),
    ('terraform_event_dry_run', 'terraform/events.tf',
     r'\$\{local\.event_dry_run\[each\.key\]\}', '${var.dry_run}',
     'dry_run true, disk_pressure trusted: rule disk (disk_pressure) sends dryRun true, should send false'),
    ('terraform_event_dry_run', 'terraform/events.tf',
     r'lookup\(var\.dry_run_by_class, class, var\.dry_run\)', 'lookup(var.dry_run_by_class, class, true)',
     'dry_run false, no map: rule cert (cert_expiry) sends dryRun true, should send false'),
    ('terraform_event_dry_run', 'terraform/events.tf',
     r'\n\s*cert    = "cert_expiry"', '',
     'rule cert: cannot evaluate input_template'),
    ('terraform_event_dry_run', 'terraform/variables.tf',
     r'contains\(\["disk_pressure", "public_ssh", "cert_expiry"\], k\) && ', '',
     'var.dry_run_by_class validation accepts an unknown class ({"disk":false})'),
    ('terraform_event_dry_run', 'terraform/variables.tf',
     r'"public_ssh", "cert_expiry"\], k\)', '"public_ssh"], k)',
     'var.dry_run_by_class validation rejects {"disk_pressure":false,"public_ssh":false,"cert_expiry":false}'),
    ('terraform_event_dry_run', 'terraform/examples/complete/main.tf',
     r'\n\s*dry_run_by_class\s*=.*', '',
     'module.healer must set dry_run_by_class = var.dry_run_by_class'),
]


@pytest.mark.parametrize('check,path,pattern,repl,expected', MUTATIONS,
                         ids=[f'{m[0]}:{m[4][:40]}' for m in MUTATIONS])
def test_check_rejects_broken_copy(tmp_path, check, path, pattern, repl, expected):
    root = make_copy(tmp_path)
    target = root / path
    text = target.read_text() if target.exists() else ''
    new, n = re.subn(pattern, repl, text, count=1)
    assert n == 1, f'mutation pattern {pattern!r} not found in {path}'
    target.write_text(new)
    rc, checks = run_checks([check], root=str(root))
    errors = checks[check]['errors']
    assert rc == 1 and not checks[check]['ok'], f'{check} passed a broken copy'
    assert any(expected in e for e in errors), f'expected {expected!r} in {errors}'


@pytest.mark.skipif(TERRAFORM is None, reason='no terraform binary installed')
def test_fmt_check_rejects_misformatted_copy(tmp_path):
    root = make_copy(tmp_path)
    f = root / 'terraform' / 'ecr.tf'
    f.write_text(f.read_text().replace('  name                 = var.name', '  name = var.name', 1))
    rc, checks = run_checks(['terraform_fmt'], root=str(root))
    assert rc == 1 and any('ecr.tf' in e for e in checks['terraform_fmt']['errors'])


@pytest.mark.skipif(TERRAFORM is None, reason='no terraform binary installed')
def test_console_patterns_reject_what_only_terraform_evaluates(tmp_path):
    """upper("aws.acm") is an expression hcl2json leaves alone; Terraform
    renders it as "AWS.ACM", which no ACM event matches."""
    root = make_copy(tmp_path)
    f = root / 'terraform' / 'events.tf'
    text = f.read_text()
    assert text.count('source = ["aws.acm"]') == 1
    f.write_text(text.replace('source = ["aws.acm"]', 'source = [upper("aws.acm")]'))
    rc, checks = run_checks(['terraform_console_renders_event_patterns'], root=str(root))
    errors = checks['terraform_console_renders_event_patterns']['errors']
    assert rc == 1
    assert 'rule cert: terraform renders {"detail-type":' in errors[0] and '"source":["AWS.ACM"]' in errors[0]
    assert ('acm-certificate-expired.json: as Terraform renders the patterns, should start cert, '
            'starts nothing') in errors


@pytest.mark.skipif(TERRAFORM is None, reason='no terraform binary installed')
@pytest.mark.parametrize('old,new,expected', [
    # A rule on the wrong class: Terraform renders the wrong dryRun.
    ('ssh_ok  = "public_ssh"', 'ssh_ok  = "disk_pressure"',
     'dry_run true, disk_pressure trusted (terraform): rule ssh_ok (public_ssh) sends dryRun false, '
     'should send true'),
    # A validation that lets anything through: Terraform accepts the bad map.
    ('contains(["disk_pressure", "public_ssh", "cert_expiry"], k) && ', '',
     'terraform accepts dry_run_by_class = {"disk":false} (an unknown class)'),
], ids=['wrong-class', 'no-validation'])
def test_console_dry_run_rejects_broken_copy(tmp_path, old, new, expected):
    """Terraform itself, not lib/hcl_expr.js, renders the broken copy."""
    root = make_copy(tmp_path)
    for path in ('terraform/events.tf', 'terraform/variables.tf'):
        f = root / path
        text = f.read_text()
        if old in text:
            assert text.count(old) == 1
            f.write_text(text.replace(old, new))
            break
    else:
        raise AssertionError(f'{old!r} not found')
    rc, checks = run_checks(['terraform_console_renders_dry_run'], root=str(root))
    errors = checks['terraform_console_renders_dry_run']['errors']
    assert rc == 1 and any(expected in e for e in errors), errors


def test_schema_errors_name_file_line_and_resource(tmp_path):
    """A misspelt argument, a missing required one and a block written as an
    argument, each reported as `file:line: address: what is wrong` and
    nothing else."""
    root = make_copy(tmp_path)
    # (file, old, new, line of, message)
    cases = [
        ('terraform/dynamodb.tf', '  hash_key     = "pk"', '  hash_kye     = "pk"', 'hash_kye',
         'aws_dynamodb_table.breaker: unknown argument hash_kye (did you mean "hash_key"?)'),
        ('terraform/ecs.tf', '  family                   = "${var.name}-worker"\n', '',
         'resource "aws_ecs_task_definition" "worker"',
         'aws_ecs_task_definition.worker: missing required argument family'),
        ('terraform/stepfunctions.tf', '  logging_configuration {', '  logging_configuration = {',
         'logging_configuration =',
         'aws_sfn_state_machine.engine: logging_configuration is a block, not an argument: '
         'write `logging_configuration { ... }` (or dynamic "logging_configuration")'),
    ]
    want = []
    for path, old, new, anchor, msg in cases:
        f = root / path
        text = f.read_text()
        assert text.count(old) == 1, f'{old!r} not (once) in {path}'
        text = text.replace(old, new)
        f.write_text(text)
        line = text[:text.index(anchor)].count('\n') + 1
        want.append(f'{path}:{line}: {msg}')
    rc, checks = run_checks(['terraform_schema_arguments'], root=str(root))
    assert rc == 1
    assert sorted(checks['terraform_schema_arguments']['errors']) == sorted(want)


def test_unmodified_copy_passes(tmp_path):
    """The copy the mutation tests use is faithful: unmodified, it passes."""
    root = make_copy(tmp_path)
    names = sorted({m[0] for m in MUTATIONS})
    rc, checks = run_checks(names, root=str(root))
    assert rc == 0, {n: c['errors'] for n, c in checks.items() if not c['ok']}


# ---- Dockerfile ---------------------------------------------------------------

def dockerfile_instructions():
    """[(INSTRUCTION, argument text)] with continuation lines joined."""
    out, cur = [], ''
    with open(os.path.join(REPO, 'Dockerfile')) as f:
        for line in f:
            line = line.rstrip('\n')
            if not cur and (not line.strip() or line.lstrip().startswith('#')):
                continue
            cur += line[:-1] + ' ' if line.endswith('\\') else line
            if not line.endswith('\\'):
                word, _, rest = cur.strip().partition(' ')
                out.append((word.upper(), rest.strip()))
                cur = ''
    return out


def stages():
    out = []
    for ins, arg in dockerfile_instructions():
        if ins == 'FROM':
            out.append({'from': arg, 'ins': []})
        elif out:
            out[-1]['ins'].append((ins, arg))
    return out


def test_dockerfile_is_multi_stage_debian():
    st = stages()
    assert len(st) == 2
    assert st[0]['from'] == 'debian:${DEBIAN_RELEASE} AS build'
    assert st[1]['from'] == 'debian:${DEBIAN_RELEASE}-slim'
    args = [a for i, a in dockerfile_instructions() if i == 'ARG']
    assert 'DEBIAN_RELEASE=bookworm' in args
    build = ' '.join(a for i, a in st[0]['ins'] if i == 'RUN')
    for pkg in ('build-essential', 'libcurl4-openssl-dev', 'libjson-c-dev', 'libssl-dev'):
        assert pkg in build
    assert re.search(r'\bmake\b.*build/healer', build)


def test_dockerfile_runtime_stage():
    final = dict()
    for ins, arg in stages()[1]['ins']:
        final.setdefault(ins, []).append(arg)
    run = ' '.join(final['RUN'])
    # Only the listed runtime libraries (and CA certificates for TLS).
    assert 'docker/runtime-packages.txt' in ' '.join(final['COPY'])
    assert '/tmp/runtime-packages.txt' in run and '--no-install-recommends ca-certificates' in run
    assert '-dev' not in run and 'build-essential' not in run
    assert 'rm -rf /var/lib/apt/lists/*' in run
    assert 'COPY --from=build /src/build/healer /usr/local/bin/healer' in ['COPY ' + c for c in final['COPY']]
    # Non-root, healer as PID 1, health check, SIGTERM.
    user = final['USER'][-1]
    assert re.fullmatch(r'[1-9][0-9]*:[1-9][0-9]*', user), user
    assert f'--uid {user.split(":")[0]}' in run and f'--gid {user.split(":")[1]}' in run
    assert final['ENTRYPOINT'] == ['["/usr/local/bin/healer"]']
    assert final['CMD'] == ['["run"]']
    assert final['STOPSIGNAL'] == ['SIGTERM']
    assert final['HEALTHCHECK'][0].endswith('CMD ["/usr/local/bin/healer", "health"]')
    assert 'tini' not in run and 'dumb-init' not in run


def test_dockerfile_says_why_no_init():
    with open(os.path.join(REPO, 'Dockerfile')) as f:
        text = f.read()
    assert 'sigtimedwait' in text and 'PID 1' in text and 'no init' in text


def test_dockerignore_admits_only_the_build_inputs():
    with open(os.path.join(REPO, '.dockerignore')) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith('#')]
    assert lines[0] == '*'
    assert sorted(lines[1:]) == sorted(['!Makefile', '!include/', '!worker/', '!activities/',
                                        '!docker/runtime-packages.txt'])
    copied = [a.split()[0] for i, a in dockerfile_instructions()
              if i == 'COPY' and not a.startswith('--from')]
    for src in copied:
        assert any(('!' + src).rstrip('/') == p.rstrip('/') for p in lines[1:]), src


def listed_packages():
    with open(os.path.join(REPO, 'docker', 'runtime-packages.txt')) as f:
        return [re.sub(r'#.*', '', line).strip() for line in f
                if re.sub(r'#.*', '', line).strip()]


def test_runtime_packages_are_what_ldd_says():
    binary = os.path.join(REPO, 'build', 'healer')   # not a sanitizer build
    if not os.path.exists(binary) or not shutil.which('dpkg'):
        pytest.skip('needs build/healer and dpkg')
    p = subprocess.run([os.path.join(REPO, 'scripts', 'runtime-packages.sh'), binary],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == listed_packages(), (
        'docker/runtime-packages.txt is stale: run scripts/runtime-packages.sh --write')
    for must in ('libcurl4', 'libjson-c5', 'libssl3'):
        assert must in p.stdout.split()


def test_runtime_packages_script_rejects_a_missing_binary(tmp_path):
    p = subprocess.run([os.path.join(REPO, 'scripts', 'runtime-packages.sh'),
                        str(tmp_path / 'nope')], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert 'no such executable' in p.stderr


@pytest.mark.skipif(shutil.which('shellcheck') is None, reason='shellcheck not installed')
def test_runtime_packages_script_passes_shellcheck():
    p = subprocess.run(['shellcheck', os.path.join(REPO, 'scripts', 'runtime-packages.sh')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout


# ---- the image's command lines, run directly (no container engine here) -------

@pytest.fixture
def healer():
    if not os.path.exists(HEALER_BIN):
        pytest.skip('healer binary not built')
    return HEALER_BIN


def test_healthcheck_command_fails_without_a_fresh_health_file(healer, tmp_path):
    env = {'PATH': '/usr/bin:/bin', 'HEALER_HEALTH_FILE': str(tmp_path / 'missing.json')}
    p = subprocess.run([healer, 'health'], env=env, capture_output=True, text=True, timeout=10)
    assert p.returncode != 0


def test_default_command_run_starts_and_rejects_missing_configuration(healer):
    # CMD ["run"] with no settings: a configuration error naming the setting.
    env = {'PATH': '/usr/bin:/bin', 'AWS_REGION': 'us-east-1'}
    p = subprocess.run([healer, 'run'], env=env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert 'HEALER_ACTIVITIES' in p.stdout + p.stderr


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
