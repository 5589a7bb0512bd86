#!/usr/bin/python3
"""imagespec.py - what the worker image is, read from the Dockerfile and
from the ECS task definition in terraform/, and where the two disagree.

One reader for both consumers: `make image-check` (scripts/image-check.sh)
builds and runs the image from this description, and
tests/integration/test_image_static.py asserts that disagreements() finds
nothing (and finds each kind of mistake in a broken copy).

The Dockerfile is parsed as Docker does for the instructions used here
(line continuations, comment lines, exec and shell forms, global ARGs in
FROM, HEALTHCHECK options with Docker's defaults). The task definition
comes from scripts/image/taskdef.js (hcl2json; Node).

    imagespec.py [--repo DIR] [--healer BIN]           the spec as JSON
    imagespec.py --check [--repo DIR] [--healer BIN]   disagreements, exit 1 if any

--healer: the healer binary whose `--help` gives setting defaults and
names (default build/healer when it exists).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TASKDEF_JS = os.path.join(REPO, 'scripts', 'image', 'taskdef.js')

DOCKER_DEFAULT_SHELL = ['/bin/sh', '-c']
# Docker's HEALTHCHECK defaults (seconds / count).
HEALTH_DEFAULTS = {'interval': 30.0, 'timeout': 30.0, 'start_period': 0.0, 'retries': 3}
# ECS's healthCheck defaults and its stopTimeout default on Fargate.
ECS_HEALTH_DEFAULTS = {'interval': 30.0, 'timeout': 5.0, 'start_period': 0.0, 'retries': 3}
ECS_DEFAULT_STOP_TIMEOUT_S = 30
SIGNALS = {'SIGHUP': 1, 'SIGINT': 2, 'SIGQUIT': 3, 'SIGKILL': 9, 'SIGUSR1': 10,
           'SIGUSR2': 12, 'SIGTERM': 15}


class SpecError(Exception):
    """The Dockerfile or the task definition cannot be read."""


# ---- Dockerfile --------------------------------------------------------------

def dockerfile_instructions(text):
    """[(line number, INSTRUCTION, argument text)]: continuation lines joined,
    comment lines dropped (also inside a continuation, as Docker does)."""
    out, cur, start = [], None, 0
    for n, line in enumerate(text.split('\n'), 1):
        stripped = line.strip()
        if stripped.startswith('#'):
            continue
        if cur is None:
            if not stripped:
                continue
            cur, start = '', n
        if line.rstrip().endswith('\\'):
            cur += line.rstrip()[:-1] + ' '
            continue
        cur += line
        word, _, rest = cur.strip().partition(' ')
        out.append((start, word.upper(), rest.strip()))
        cur = None
    if cur is not None:
        raise SpecError(f'Dockerfile:{start}: continuation at end of file')
    return out


def substitute(s, variables):
    """${VAR}, ${VAR:-default} and $VAR with known values; others kept."""
    def repl(m):
        name = m.group(1) or m.group(3)
        if name in variables:
            return variables[name]
        if m.group(2) is not None:
            return m.group(2)
        return m.group(0)
    return re.sub(r'\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)',
                  repl, s)


def exec_or_shell(arg):
    """An ENTRYPOINT/CMD/RUN/SHELL argument: {'exec': True, 'argv': [...]} for
    the JSON (exec) form, {'exec': False, 'command': str} for the shell form."""
    if arg.startswith('['):
        try:
            v = json.loads(arg)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return {'exec': True, 'argv': v}
    return {'exec': False, 'command': arg}


def parse_duration(s):
    """Docker duration ("30s", "1m30s", "500ms") in seconds."""
    total, pos = 0.0, 0
    for m in re.finditer(r'([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)', s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise SpecError(f'bad duration {s!r}')
    return total


def parse_healthcheck(arg):
    if arg.strip().upper() == 'NONE':
        return {'test': ['NONE']}
    hc = dict(HEALTH_DEFAULTS)
    rest = arg
    while rest.startswith('--'):
        opt, _, rest = rest.partition(' ')
        rest = rest.strip()
        name, _, value = opt[2:].partition('=')
        name = name.replace('-', '_')
        if name in ('interval', 'timeout', 'start_period', 'start_interval'):
            hc[name] = parse_duration(value)
        elif name == 'retries':
            hc[name] = int(value)
        else:
            raise SpecError(f'HEALTHCHECK: unknown option --{name}')
    word, _, cmd = rest.partition(' ')
    if word.upper() != 'CMD':
        raise SpecError('HEALTHCHECK: expected CMD')
    form = exec_or_shell(cmd.strip())
    hc['test'] = ['CMD'] + form['argv'] if form['exec'] else ['CMD-SHELL', form['command']]
    return hc


def parse_copy(arg):
    form = exec_or_shell(arg)
    words = form['argv'] if form['exec'] else shlex.split(arg)
    flags = {}
    while words and words[0].startswith('--'):
        k, _, v = words.pop(0)[2:].partition('=')
        flags[k] = v
    if len(words) < 2:
        raise SpecError(f'COPY needs a source and a destination: {arg}')
    return {'from': flags.get('from'), 'chown': flags.get('chown'),
            'chmod': flags.get('chmod'), 'src': words[:-1], 'dest': words[-1]}


def parse_env(arg):
    """ENV K=V [K2=V2...] or the legacy ENV K V."""
    words = shlex.split(arg)
    if words and '=' not in words[0]:
        return {words[0]: arg.partition(' ')[2].strip()}
    out = {}
    for w in words:
        k, _, v = w.partition('=')
        out[k] = v
    return out


def parse_accounts(run_text):
    """useradd / groupadd calls in a RUN command: their options and names."""
    users, groups = [], []
    try:
        words = shlex.split(run_text)
    except ValueError:
        return users, groups
    separators = {'&&', '||', ';', '|', '\\'}
    i = 0
    while i < len(words):
        w = words[i]
        if w in ('useradd', 'groupadd'):
            opts, name = {}, None
            i += 1
            while i < len(words) and words[i] not in separators:
                a = words[i]
                if a.startswith('--') and '=' in a:
                    k, _, v = a[2:].partition('=')
                    opts[k] = v
                elif a in ('--uid', '-u', '--gid', '-g', '--home-dir', '-d', '--shell', '-s',
                           '--groups', '-G', '--comment', '-c') and i + 1 < len(words):
                    key = {'-u': 'uid', '-g': 'gid', '-d': 'home-dir', '-s': 'shell',
                           '-G': 'groups', '-c': 'comment'}.get(a, a[2:])
                    opts[key] = words[i + 1]
                    i += 1
                elif a.startswith('-'):
                    opts[a.lstrip('-')] = True
                else:
                    name = a
                i += 1
            (users if w == 'useradd' else groups).append({'name': name, 'options': opts})
            continue
        i += 1
    return users, groups


def read_dockerfile(path):
    with open(path) as f:
        text = f.read()
    global_args, stages = {}, []
    for line, ins, arg in dockerfile_instructions(text):
        if ins == 'FROM':
            words = substitute(arg, global_args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == 'AS' else None
            stages.append({'line': line, 'image': words[0], 'name': name,
                           'instructions': [], 'vars': {}})
            continue
        if not stages:
            if ins == 'ARG':
                k, _, v = arg.partition('=')
                global_args[k.strip()] = v.strip()
            continue
        stages[-1]['instructions'].append((line, ins, arg))
    if not stages:
        raise SpecError(f'{path}: no FROM')
    return global_args, stages


def stage_facts(stage, stages_by_name):
    """What the final stage does and declares, in order."""
    shell = list(DOCKER_DEFAULT_SHELL)
    variables, env, steps = {}, {}, []
    facts = {'image': stage['image'], 'name': stage['name'], 'user': None,
             'healthcheck': None, 'stopsignal': None, 'entrypoint': None, 'cmd': None,
             'workdir': '/', 'env': env, 'steps': steps, 'users': [], 'groups': []}
    for line, ins, arg in stage['instructions']:
        if ins == 'ARG':
            k, _, v = arg.partition('=')
            variables[k.strip()] = v.strip()
        elif ins == 'ENV':
            for k, v in parse_env(substitute(arg, {**variables, **env})).items():
                env[k] = v
                steps.append({'op': 'ENV', 'line': line, 'name': k, 'value': v})
        elif ins == 'SHELL':
            form = exec_or_shell(arg)
            if not form['exec']:
                raise SpecError(f'Dockerfile:{line}: SHELL must be a JSON array')
            shell = form['argv']
        elif ins == 'RUN':
            form = exec_or_shell(arg)
            argv = form['argv'] if form['exec'] else shell + [form['command']]
            steps.append({'op': 'RUN', 'line': line, 'argv': argv})
            if not form['exec']:
                u, g = parse_accounts(form['command'])
                facts['users'] += u
                facts['groups'] += g
        elif ins == 'COPY' or ins == 'ADD':
            c = parse_copy(substitute(arg, {**variables, **env}))
            c.update(op=ins, line=line)
            if c['from']:
                src_stage = stages_by_name.get(c['from'])
                c['context_src'] = None
                if src_stage is not None:
                    # The build stage's files are the repository's (it COPYs
                    # them into its WORKDIR and runs make there).
                    wd = src_stage['workdir'].rstrip('/') + '/'
                    if all(s.startswith(wd) for s in c['src']):
                        c['context_src'] = [s[len(wd):] for s in c['src']]
            else:
                c['context_src'] = list(c['src'])
            steps.append(c)
        elif ins == 'WORKDIR':
            facts['workdir'] = substitute(arg, {**variables, **env})
            steps.append({'op': 'WORKDIR', 'line': line, 'path': facts['workdir']})
        elif ins == 'USER':
            facts['user'] = substitute(arg, {**variables, **env})
        elif ins == 'HEALTHCHECK':
            facts['healthcheck'] = parse_healthcheck(arg)
        elif ins == 'STOPSIGNAL':
            facts['stopsignal'] = arg.strip()
        elif ins == 'ENTRYPOINT':
            facts['entrypoint'] = exec_or_shell(arg)
            facts['entrypoint']['shell'] = shell
        elif ins == 'CMD':
            facts['cmd'] = exec_or_shell(arg)
            facts['cmd']['shell'] = shell
    return facts


def dockerfile_spec(root):
    path = os.path.join(root, 'Dockerfile')
    global_args, stages = read_dockerfile(path)
    by_name = {}
    for st in stages:
        wd = '/'
        for _, ins, arg in st['instructions']:
            if ins == 'WORKDIR':
                wd = arg.strip()
        st['workdir'] = wd
        if st['name']:
            by_name[st['name']] = st
    final = stage_facts(stages[-1], by_name)
    m = re.fullmatch(r'debian:([a-z]+)(-slim)?', final['image'])
    final['debian_suite'] = m.group(1) if m else None
    final['debian_slim'] = bool(m and m.group(2))
    final['global_args'] = global_args
    final['stages'] = [s['name'] or s['image'] for s in stages]
    return final


# ---- the ECS task definition ---------------------------------------------------

def taskdef_spec(root):
    return taskdef_specs([root])[0]


def taskdef_specs(roots):
    """taskdef_spec() of several repository roots in one Node process."""
    node = shutil.which('node') or '/usr/bin/node'
    dirs = [os.path.join(r, 'terraform') for r in roots]
    p = subprocess.run([node, TASKDEF_JS, '--many'] + dirs,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SpecError(p.stderr.strip() or f'taskdef.js exited {p.returncode}')
    out = json.loads(p.stdout)
    for d in dirs:
        if 'error' in out[d]:
            raise SpecError(f'{d}: {out[d]["error"]}')
    return [out[d] for d in dirs]


# ---- healer itself ---------------------------------------------------------------

def healer_help(binary):
    """{setting: default or None} and the set of environment names listed by
    `healer --help`, or None without a binary."""
    if not binary or not os.access(binary, os.X_OK):
        return None
    p = subprocess.run([binary, '--help'], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise SpecError(f'{binary} --help exited {p.returncode}')
    defaults = {}
    for m in re.finditer(r'^\s+([A-Z][A-Z0-9_]+)(?:, else [A-Z0-9_]+)?\s+\(default: ([^)]*)\)\s*$',
                         p.stdout, re.M):
        defaults[m.group(1)] = m.group(2)
    names = set(re.findall(r'\b((?:HEALER|AWS)_[A-Z0-9_]+)\b', p.stdout))
    return {'defaults': defaults, 'names': sorted(names)}


def worker_signals(root):
    """The signals the serving worker takes (sigaddset in worker/main.c)."""
    path = os.path.join(root, 'worker', 'main.c')
    with open(path) as f:
        return sorted(set(re.findall(r'sigaddset\(\s*&\w+\s*,\s*(SIG[A-Z0-9]+)\s*\)', f.read())))


def spec(root=REPO, healer=None):
    if healer is None:
        cand = os.path.join(root, 'build', 'healer')
        healer = cand if os.path.exists(cand) else os.path.join(REPO, 'build', 'healer')
    return {'root': root, 'dockerfile': dockerfile_spec(root), 'ecs': taskdef_spec(root),
            'worker_signals': worker_signals(root), 'healer_help': healer_help(healer)}


# ---- derived facts -------------------------------------------------------------

def signal_name(s):
    s = (s or '').strip().upper()
    if s.isdigit():
        for k, v in SIGNALS.items():
            if v == int(s):
                return k
        return s
    return s if s.startswith('SIG') else 'SIG' + s


def container_argv(sp):
    """What ECS runs: the task definition's entryPoint/command when set, else
    the image's ENTRYPOINT + CMD (exec form)."""
    d, c = sp['dockerfile'], sp['ecs']['container']
    ep = c.get('entryPoint')
    if ep is None:
        ep = (d['entrypoint'] or {}).get('argv', [])
    cmd = c.get('command')
    if cmd is None:
        cmd = (d['cmd'] or {}).get('argv', []) if 'entryPoint' not in c else []
    return list(ep) + list(cmd)


def health_argv(sp):
    """The ECS health check command as argv (its "CMD" dropped)."""
    test = sp['ecs']['container'].get('healthCheck', {}).get('command', [])
    if test[:1] == ['CMD']:
        return test[1:]
    if test[:1] == ['CMD-SHELL']:
        return ['/bin/sh', '-c'] + test[1:]
    return list(test)


def user_ids(user):
    m = re.fullmatch(r'([0-9]+):([0-9]+)', user or '')
    return (int(m.group(1)), int(m.group(2))) if m else None


def setting(sp, name):
    """A setting's value in the running container: the task definition's
    literal, else the Dockerfile's ENV, else healer's default; None when the
    task definition sets it to an expression only Terraform can evaluate."""
    env = sp['ecs']['environment']
    if name in env:
        return env[name]
    if name in sp['dockerfile']['env']:
        return sp['dockerfile']['env'][name]
    h = sp['healer_help']
    return h['defaults'].get(name) if h else None


def writable_paths(sp):
    """containerPath of every writable mount of a declared volume."""
    c = sp['ecs']['container']
    return [m['containerPath'] for m in c.get('mountPoints', [])
            if not m.get('readOnly', False) and m.get('sourceVolume') in sp['ecs']['volumes']]


def healer_binary_path(sp):
    """Where the image puts the healer binary (a COPY destination ending in
    /healer or a COPY of build/healer)."""
    for s in sp['dockerfile']['steps']:
        if s['op'] in ('COPY', 'ADD') and any((c or '').endswith('build/healer')
                                              for c in (s.get('context_src') or [])):
            return s['dest']
    return None


# ---- disagreements --------------------------------------------------------------

def disagreements(sp):
    """Where the image and the ECS task definition disagree, one message each
    ("user: ...", "entrypoint: ...", "health check: ...", "stop signal: ...",
    "environment: ..."). Empty when they agree."""
    d, ecs = sp['dockerfile'], sp['ecs']
    c = ecs['container']
    errs = []

    # user: the task runs as the image's non-root user, which the image creates.
    duser, euser = d['user'], c.get('user')
    if duser is None:
        errs.append('user: the Dockerfile has no USER (the image would run as root)')
    elif euser != duser:
        errs.append(f'user: Dockerfile USER {duser}, task definition user {euser}')
    ids = user_ids(duser)
    if duser is not None and ids is None:
        errs.append(f'user: Dockerfile USER {duser} must be numeric uid:gid '
                    '(ECS and Kubernetes can only prove a numeric user non-root)')
    elif ids is not None:
        uid, gid = ids
        if uid == 0 or gid == 0:
            errs.append(f'user: {duser} is root')
        if not any(u['options'].get('uid') == str(uid) and u['options'].get('gid') == str(gid)
                   for u in d['users']):
            errs.append(f'user: no useradd --uid {uid} --gid {gid} in the runtime stage')
        if not any(g['options'].get('gid') == str(gid) for g in d['groups']):
            errs.append(f'user: no groupadd --gid {gid} in the runtime stage')

    # entrypoint: exec form (healer, not a shell, is PID 1) and not overridden.
    ep, cmd = d['entrypoint'], d['cmd']
    binary = healer_binary_path(sp)
    if ep is None:
        errs.append('entrypoint: the Dockerfile has no ENTRYPOINT')
    elif not ep['exec']:
        errs.append(f'entrypoint: ENTRYPOINT {ep["command"]} is in shell form: '
                    f'{" ".join(ep["shell"])} would be PID 1 and swallow SIGTERM; use ["..."]')
    elif binary is None or ep['argv'][:1] != [binary]:
        errs.append(f'entrypoint: ENTRYPOINT {ep["argv"]} does not run the binary the image '
                    f'copies ({binary})')
    if cmd is not None and not cmd['exec']:
        errs.append(f'entrypoint: CMD {cmd["command"]} is in shell form; use ["..."]')
    for key, mine in (('entryPoint', ep), ('command', cmd)):
        if key in c and (mine is None or not mine['exec'] or c[key] != mine['argv']):
            errs.append(f'entrypoint: the task definition overrides {key} with {c[key]}, the '
                        f'image has {mine and mine.get("argv", mine.get("command"))}')
    if c.get('workingDirectory') not in (None, d['workdir']):
        errs.append(f'entrypoint: workingDirectory {c["workingDirectory"]} differs from the '
                    f'image\'s WORKDIR {d["workdir"]}')

    # health check: the same command, timing and binary as the entrypoint.
    hc, ehc = d['healthcheck'], c.get('healthCheck')
    if hc is None or hc['test'] == ['NONE']:
        errs.append('health check: the Dockerfile has no HEALTHCHECK')
    if ehc is None:
        errs.append('health check: the task definition has no healthCheck')
    if hc and ehc and hc['test'] != ['NONE']:
        if ehc.get('command') != hc['test']:
            errs.append(f'health check: Dockerfile {hc["test"]}, task definition '
                        f'{ehc.get("command")}')
        for key, ekey in (('interval', 'interval'), ('timeout', 'timeout'),
                          ('retries', 'retries'), ('start_period', 'startPeriod')):
            ev = ehc.get(ekey, ECS_HEALTH_DEFAULTS[key])
            if float(ev) != float(hc[key]):
                errs.append(f'health check {ekey}: Dockerfile {hc[key]:g}, task definition {ev}')
        if hc['test'][:1] == ['CMD'] and binary and hc['test'][1:2] != [binary]:
            errs.append(f'health check: runs {hc["test"][1:2]}, not the image\'s {binary}')
        if float(hc['timeout']) >= float(hc['interval']):
            errs.append('health check: timeout must be below the interval')

    # stop signal: what the image's STOPSIGNAL sends is what the worker drains
    # on, and the drain fits in stopTimeout before SIGKILL.
    stop = signal_name(d['stopsignal'] or 'SIGTERM')
    if stop not in sp['worker_signals']:
        errs.append(f'stop signal: STOPSIGNAL {stop}, but the worker drains on '
                    f'{", ".join(sp["worker_signals"]) or "no signal"} (worker/main.c)')
    stop_timeout = c.get('stopTimeout', ECS_DEFAULT_STOP_TIMEOUT_S)
    drain = setting(sp, 'HEALER_DRAIN_DEADLINE_S')
    if not isinstance(stop_timeout, (int, float)):
        errs.append(f'stop signal: stopTimeout {stop_timeout} is not a number')
    elif drain is not None and re.fullmatch(r'[0-9]+', str(drain)) and int(drain) >= stop_timeout:
        errs.append(f'stop signal: HEALER_DRAIN_DEADLINE_S {drain} does not end before ECS '
                    f'sends SIGKILL (stopTimeout {stop_timeout})')

    # environment: names the image and the task both set must agree; the
    # health file must be writable under a read-only root, at the same path
    # for the worker and the health check (which runs with the same env).
    for name, value in d['env'].items():
        if name in ecs['environment'] and ecs['environment'][name] not in (None, value):
            errs.append(f'environment: {name} is {value!r} in the Dockerfile but '
                        f'{ecs["environment"][name]!r} in the task definition (ECS wins)')
        if name in ecs['secrets']:
            errs.append(f'environment: {name} is an ENV in the image and an ECS secret')
        h = sp['healer_help']
        if (name.startswith('HEALER_') or name.startswith('AWS_')) and h and name not in h['names']:
            errs.append(f'environment: Dockerfile ENV {name} is not a setting healer --help lists')
    for name in sorted(set(ecs['environment']) & set(ecs['secrets'])):
        errs.append(f'environment: {name} is both an environment variable and a secret')
    hf = setting(sp, 'HEALER_HEALTH_FILE')
    if hf is None:
        errs.append('environment: HEALER_HEALTH_FILE is not known (set it to a literal path in '
                    'the task definition, or give a healer binary for its default)')
    else:
        if not hf.startswith('/'):
            errs.append(f'environment: HEALER_HEALTH_FILE {hf} must be absolute')
        writable = writable_paths(sp)
        if c.get('readonlyRootFilesystem') and not any(
                hf.startswith(p.rstrip('/') + '/') for p in writable):
            errs.append(f'environment: HEALER_HEALTH_FILE {hf} is on the read-only root '
                        f'(writable mounts: {", ".join(writable) or "none"})')
        for cmdline in (hc['test'] if hc else [], ehc.get('command', []) if ehc else []):
            for i, w in enumerate(cmdline):
                v = cmdline[i + 1] if w == '--health-file' and i + 1 < len(cmdline) else \
                    w.partition('=')[2] if w.startswith('--health-file=') else None
                if v is not None and v != hf:
                    errs.append(f'environment: the health check reads {v}, the worker writes {hf}')
    return errs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--repo', default=REPO)
    ap.add_argument('--healer', default=None)
    ap.add_argument('--check', action='store_true')
    a = ap.parse_args(argv)
    try:
        sp = spec(os.path.abspath(a.repo), a.healer)
    except (SpecError, OSError, ValueError) as e:
        print(f'imagespec: {e}', file=sys.stderr)
        return 2
    if a.check:
        errs = disagreements(sp)
        for e in errs:
            print(e)
        return 1 if errs else 0
    json.dump(sp, sys.stdout, indent=1)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
