#!/usr/bin/python3
"""imagecheck.py - the parts of `make image-check` that work inside the
image's root filesystem; scripts/image-check.sh builds that filesystem
with debootstrap and calls this twice.

    imagecheck.py upgrade ROOT          the base's -updates and -security packages
    imagecheck.py stage ROOT            apply the Dockerfile's runtime stage
    imagecheck.py checks ROOT --work DIR

stage: runs the runtime stage's instructions, in order, as `docker build`
would on top of the base image: COPY from the build context (the build
stage's /src/build/healer is the repository's build/healer, made by the
same `make` target), RUN through the stage's SHELL inside the root (chroot,
in private mount and PID namespaces with their own /proc; the host's
resolv.conf for apt, as Docker provides one), ENV and WORKDIR. Every value
comes from scripts/image/imagespec.py, so the check follows the Dockerfile.

checks: each run of the image is a "container" as ECS starts it: a new PID
namespace (`unshare --pid --fork --mount-proc`), so the entrypoint is PID 1
and the kernel's PID-1 signal rule applies; a private mount namespace in
which the root is read-only when the task definition says so, with a tmpfs
on each writable mount point of the task definition; `chroot` as the
Dockerfile's numeric USER; the environment is the task definition's
(literal values as Terraform would give them; test values for the few that
are expressions, and the endpoint and credentials URLs that ECS would
provide). The network namespace is shared, so the local AWS endpoint on
the host's 127.0.0.1 is reachable. The health check runs like ECS runs it:
in the container's namespaces, as its user, with its environment
(nsenter). Checks:

  binary      --version and --help run, ldd finds every library, and the
              health check fails when no worker is running;
  pid1        control: `sleep` as PID 1 of such a container ignores SIGTERM
              (proves the harness has the PID-1 semantics the next checks
              rely on);
  serve       healer as PID 1 (uid/gid, no capabilities) serves echo tasks
              with ECS container credentials; the health check passes, and
              fails for a frozen worker; SIGTERM with two tasks running:
              both finish, the queued one is left for another worker,
              exit 0 within HEALER_DRAIN_DEADLINE_S;
  deadline    SIGTERM with a task longer than the drain deadline: it is
              answered Healer.WorkerShutdown and healer exits 0 on time;
  tls         HTTPS through a TLS front with a test CA: fails (and leaves
              the task queued) without the CA; works once the CA is
              installed the way the image sets up CA certificates
              (ca-certificates + update-ca-certificates).

Prints one line per check with its time. Exit 0 when all pass, 1 on the
first failure (with the container's log tail), 2 on bad usage.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'local'))

import imagespec  # noqa: E402

PYTHON = '/usr/bin/python3'
# The PATH of Debian's base images (their image config); Docker builds and
# runs with it.
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
POLL_TIMEOUT_S = 3          # the endpoint's long poll here (AWS: 60 s)
TEST_CA_NAME = 'healer-image-check-test-ca.crt'
ECS_TASK_ID = '5a1f0c2e9b8d4e7fa3c6b1d0e9f8a7b6-1841927036'   # the v4 metadata URI's last segment


def healer_bin():
    """The binary the build stage makes (build/healer; HEALER_BIN overrides)."""
    return os.environ.get('HEALER_BIN') or os.path.join(REPO, 'build', 'healer')


class CheckFailed(Exception):
    pass


def say(msg):
    print(f'[image-check] {msg}', flush=True)


def need(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def wait_until(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CheckFailed(f'timed out after {timeout} s waiting for {what}')
        time.sleep(interval)


# ---- stage ---------------------------------------------------------------------

def in_root(root, argv, env, timeout, cwd='/', log=None):
    """Run argv inside root as root, as a RUN step: private mount and PID
    namespaces with /proc; output to the file log; returns CompletedProcess."""
    inner = list(argv)
    if cwd != '/':
        inner = ['/usr/bin/env', f'--chdir={cwd}'] + inner
    cmd = ['unshare', '--mount', '--pid', '--fork', '--kill-child',
           f'--mount-proc={root}/proc', 'chroot', root] + inner
    return subprocess.run(cmd, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                          stdout=log, stderr=subprocess.STDOUT if log else None)


def copy_into(root, step):
    need(step.get('context_src') is not None,
         f'Dockerfile:{step["line"]}: cannot map COPY {step["src"]} to the build context')
    dest = step['dest']
    many = len(step['context_src']) > 1 or dest.endswith('/')
    for rel in step['context_src']:
        src = os.path.join(REPO, rel)
        if rel == 'build/healer':
            src = healer_bin()
        need(os.path.exists(src), f'Dockerfile:{step["line"]}: {rel} does not exist (run make)')
        target = root + (os.path.join(dest, os.path.basename(rel.rstrip('/'))) if many else dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)     # Docker keeps the mode bits
        uid = gid = 0
        if step.get('chown'):
            u, _, g = step['chown'].partition(':')
            uid, gid = int(u), int(g or u)
        for dirpath, _, files in os.walk(target) if os.path.isdir(target) else [('', [], [target])]:
            for p in ([dirpath] if dirpath else []) + [os.path.join(dirpath, f) for f in files]:
                os.lchown(p, uid, gid)
                if step.get('chmod'):
                    os.chmod(p, int(step['chmod'], 8))
        say(f'  COPY {" ".join(step["src"])} -> {dest}')


class HostResolver:
    """The host's resolv.conf in the root while apt runs (Docker gives a
    build the same); the root's own file is put back afterwards."""

    def __init__(self, root):
        self.path = os.path.join(root, 'etc', 'resolv.conf')
        self.saved = None

    def __enter__(self):
        if os.path.lexists(self.path):
            self.saved = self.path + '.image-check'
            os.rename(self.path, self.saved)
        shutil.copy('/etc/resolv.conf', self.path)
        return self

    def __exit__(self, *exc):
        os.unlink(self.path)
        if self.saved:
            os.rename(self.saved, self.path)


def run_logged(root, argv, env, log_path, what, cwd='/'):
    """in_root() with the output in log_path; the interesting apt lines are
    echoed, the tail shown on failure."""
    with open(log_path, 'wb') as log:
        p = in_root(root, argv, env, timeout=1800, cwd=cwd, log=log)
    with open(log_path, 'rb') as f:
        out = f.read().decode('utf-8', 'replace').splitlines()
    need(p.returncode == 0, f'{what} exited {p.returncode}; its output ends:\n'
         + '\n'.join(out[-30:]))
    for line in out:
        if line.startswith('Fetched') or ' newly installed, ' in line or ' added, ' in line:
            say(f'    | {line}')


def upgrade(root):
    """The base image's packages as Debian's image has them: the suite's
    point release plus -updates and -security (Debian rebuilds its images
    with them); apt lists removed as the image ships."""
    env = {'PATH': DEFAULT_PATH, 'HOME': '/root', 'DEBIAN_FRONTEND': 'noninteractive'}
    with HostResolver(root):
        run_logged(root, ['/bin/sh', '-c', 'apt-get update && apt-get -y dist-upgrade '
                          '&& rm -rf /var/lib/apt/lists/*'],
                   env, os.path.join(os.path.dirname(root), 'upgrade.log'), 'apt-get dist-upgrade')
    return 0


def stage(root):
    sp = imagespec.spec(healer=healer_bin())
    errs = imagespec.disagreements(sp)
    need(not errs, 'the Dockerfile and the task definition disagree:\n  ' + '\n  '.join(errs))
    d = sp['dockerfile']
    env = {'PATH': DEFAULT_PATH, 'HOME': '/root'}
    env.update(d['env'])
    workdir = '/'
    with HostResolver(root):
        for s in d['steps']:
            t0 = time.monotonic()
            if s['op'] in ('COPY', 'ADD'):
                copy_into(root, s)
            elif s['op'] == 'RUN':
                say(f'  RUN (Dockerfile:{s["line"]}) {" ".join(s["argv"])[:100]}...')
                run_logged(root, s['argv'], env,
                           os.path.join(os.path.dirname(root), f'run-{s["line"]}.log'),
                           f'Dockerfile:{s["line"]}: RUN', cwd=workdir)
            elif s['op'] == 'ENV':
                env[s['name']] = s['value']
            elif s['op'] == 'WORKDIR':
                workdir = s['path']
                os.makedirs(root + workdir, exist_ok=True)
            say(f'  step Dockerfile:{s["line"]} {s["op"]}: {time.monotonic() - t0:.1f} s')
    return 0


def make_test_ca(d):
    """A test CA (d/ca.crt, d/ca.key) and a server certificate it signed for
    127.0.0.1 and localhost (d/server.crt, d/server.key); EC P-256, 2 days."""
    def ossl(*args):
        subprocess.run(['openssl'] + list(args), check=True, capture_output=True, timeout=60)
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    ossl('req', '-x509', *ec, '-days', '2', '-subj', '/CN=healer image-check test CA',
         '-keyout', f'{d}/ca.key', '-out', f'{d}/ca.crt',
         '-addext', 'basicConstraints=critical,CA:TRUE',
         '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    ossl('req', *ec, '-subj', '/CN=127.0.0.1', '-keyout', f'{d}/server.key',
         '-out', f'{d}/server.csr')
    with open(f'{d}/server.ext', 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n'
                'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
    ossl('x509', '-req', '-in', f'{d}/server.csr', '-CA', f'{d}/ca.crt', '-CAkey',
         f'{d}/ca.key', '-CAcreateserial', '-days', '2', '-extfile', f'{d}/server.ext',
         '-out', f'{d}/server.crt')


# ---- a container -------------------------------------------------------------------

def proc_children(pid):
    out = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rpartition(')')[2].split()[1]) == pid:
            out.append(int(name))
    return out


def proc_status(pid):
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()
    return out


class Container:
    """One run of the image (see the module comment)."""

    def __init__(self, root, sp, argv, env, work, name):
        self.root = root
        self.uid, self.gid = imagespec.user_ids(sp['dockerfile']['user'])
        self.argv = list(argv)
        self.env = dict(env)
        self.readonly = bool(sp['ecs']['container'].get('readonlyRootFilesystem'))
        self.writable = imagespec.writable_paths(sp)
        self.log_path = os.path.join(work, f'{name}.log')
        self.name = name
        self.proc = None
        self.pid = None          # PID 1 of the container, as the host sees it
        self.started = None

    def start(self, live=True):
        """Starts the container; with live, waits until the entrypoint runs
        as PID 1 (fails if it exits first)."""
        setup = ['set -e', 'root=$1', 'shift', 'mount --rbind "$root" "$root"']
        if self.readonly:
            setup.append('mount -o remount,bind,ro "$root"')
        for i, _ in enumerate(self.writable):
            setup.append(f'mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m tmpfs "$root$W{i}"')
        setup.append('exec "$@"')
        shell_env = {f'W{i}': p for i, p in enumerate(self.writable)}
        shell_env['PATH'] = DEFAULT_PATH
        argv = (['unshare', '--pid', '--fork', '--kill-child', f'--mount-proc={self.root}/proc',
                 '/bin/sh', '-c', '; '.join(setup), 'container', self.root,
                 '/usr/bin/env', '-i'] + [f'{k}={v}' for k, v in sorted(self.env.items())]
                + ['/usr/sbin/chroot', f'--userspec={self.uid}:{self.gid}',
                   f'--groups={self.gid}', self.root] + self.argv)
        self.log = open(self.log_path, 'wb')
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=shell_env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not live:
            return self
        kids = wait_until(lambda: proc_children(self.proc.pid) or self.proc.poll() is not None,
                          10, f'{self.name}: the container process')
        need(kids is not True and self.proc.poll() is None,
             f'{self.name}: the container exited at once ({self.proc.returncode}):\n{self.text()}')
        self.pid = kids[0]
        comm = os.path.basename(self.argv[0])[:15]

        def exec_done():
            try:
                with open(f'/proc/{self.pid}/comm') as f:
                    return f.read().strip() == comm
            except OSError:
                return self.proc.poll() is not None
        wait_until(exec_done, 10, f'{self.name}: {comm} to start')
        return self

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def run(self, timeout=30):
        """start() and wait(): (exit code, output)."""
        self.start(live=False)
        rc = self.wait(timeout)
        need(rc is not None, f'{self.name}: did not exit within {timeout} s')
        return rc, self.text()

    def signal(self, sig):
        os.kill(self.pid, sig)

    def exec(self, argv, env=None, timeout=30):
        """Run argv in the container (its namespaces, root, user; env: the
        container's, as ECS runs a health check command)."""
        cmd = ['nsenter', f'--target={self.pid}', '--mount', '--pid', '--root', '--wd',
               f'--setuid={self.uid}', f'--setgid={self.gid}', '--'] + list(argv)
        return subprocess.run(cmd, env=env if env is not None else self.env,
                              capture_output=True, text=True, timeout=timeout)

    def path(self, p):
        """A path inside the running container, seen from the host."""
        return f'/proc/{self.pid}/root{p}'

    def text(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def lines(self):
        out = []
        for line in self.text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({'msg': line})
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if self.pid:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc:
            self.log.close()


# ---- checks ---------------------------------------------------------------------------

class Checks:
    def __init__(self, root, work):
        self.root = root
        self.work = work
        self.sp = imagespec.spec(healer=healer_bin())
        errs = imagespec.disagreements(self.sp)
        need(not errs, 'the Dockerfile and the task definition disagree:\n  ' + '\n  '.join(errs))
        self.binary = imagespec.healer_binary_path(self.sp)
        self.cmd = imagespec.container_argv(self.sp)
        self.health = imagespec.health_argv(self.sp)
        self.containers = []
        self.aws = None
        self.proxy = None

    def container(self, name, argv=None, **overrides):
        c = Container(self.root, self.sp, argv or self.cmd, self.env(**overrides), self.work, name)
        self.containers.append(c)
        return c

    def env(self, **overrides):
        """The container's environment as ECS would set it."""
        ecs_env = self.sp['ecs']['environment']
        uid = imagespec.user_ids(self.sp['dockerfile']['user'])[0]
        home = '/'
        with open(os.path.join(self.root, 'etc', 'passwd')) as f:
            for line in f:
                parts = line.rstrip('\n').split(':')
                if len(parts) > 5 and parts[2] == str(uid):
                    home = parts[5]
        # What ECS adds to every container (the metadata URI names the task).
        env = {'PATH': DEFAULT_PATH, 'HOME': home, 'AWS_EXECUTION_ENV': 'AWS_ECS_FARGATE',
               'ECS_CONTAINER_METADATA_URI_V4': 'http://169.254.170.2/v4/' + ECS_TASK_ID}
        env.update(self.sp['dockerfile']['env'])
        env.update({k: v for k, v in ecs_env.items() if v is not None})
        if self.aws is not None:
            # Expressions in the task definition: this deployment's values.
            test_values = {'AWS_REGION': self.aws.region,
                           'HEALER_ACTIVITIES': 'echo:2',
                           'HEALER_ACTIVITY_ARN_PREFIX': self.aws.activity_arn('')}
            for k, v in test_values.items():
                need(k in ecs_env, f'the task definition does not set {k}')
                env[k] = v
            env['AWS_DEFAULT_REGION'] = self.aws.region      # ECS sets both
            # What ECS provides outside the task definition: the AWS endpoint
            # (here the local one) and the container credentials URI (ECS:
            # _RELATIVE_URI on 169.254.170.2; here the stand-in on loopback).
            env['AWS_ENDPOINT_URL'] = self.aws.url
            env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = self.aws.url + '/_ecs/credentials'
        env.update(overrides)
        return env

    def log_tail(self):
        out = []
        for c in self.containers[-2:]:
            out.append(f'--- {c.name} ({c.log_path}), last lines:')
            out += c.text().splitlines()[-25:]
        return '\n'.join(out)

    def close(self):
        for c in self.containers:
            c.stop()
        if self.proxy:
            self.proxy.terminate()
            self.proxy.wait(timeout=10)
        if self.aws:
            self.aws.stop()

    # -- binary --------------------------------------------------------------

    def check_binary(self):
        host = subprocess.run([healer_bin(), '--version'],
                              capture_output=True, text=True, timeout=10).stdout
        rc, out = self.container('version', [self.binary, '--version']).run()
        need(rc == 0 and out == host, f'healer --version in the image: exit {rc}, {out!r} '
             f'(host build: {host!r})')
        rc, out = self.container('help', [self.binary, '--help']).run()
        need(rc == 0 and 'Usage:' in out and 'HEALER_ACTIVITIES' in out,
             f'healer --help in the image: exit {rc}:\n{out[:2000]}')
        rc, out = self.container('ldd', ['/usr/bin/ldd', self.binary]).run()
        need(rc == 0 and 'not found' not in out, f'ldd in the image: exit {rc}:\n{out}')
        libs = [line.split()[0] for line in out.splitlines() if '=>' in line]
        rc, out = self.container('health-alone', self.health).run()
        need(rc != 0 and 'no health file' in out,
             f'the health check passed with no worker running (exit {rc}): {out}')
        say(f'  --version: {host.strip()}; --help ok; ldd: {len(libs)} libraries, none missing; '
            f'health check without a worker: exit {rc}')

    # -- pid 1 control ---------------------------------------------------------

    def check_pid1_control(self):
        c = self.container('pid1-control', ['/bin/sleep', '60']).start()
        st = proc_status(c.pid)
        need(st['NSpid'][-1] == '1', f'sleep is not PID 1 in its namespace: NSpid {st["NSpid"]}')
        c.signal(signal.SIGTERM)
        rc = c.wait(1.5)
        need(rc is None, 'sleep as PID 1 died of SIGTERM: the harness does not give PID-1 '
             'semantics, so the drain checks below would prove nothing')
        c.signal(signal.SIGKILL)
        rc = c.wait(10)
        need(rc is not None, 'sleep as PID 1 survived SIGKILL')
        say('  sleep as PID 1 ignored SIGTERM for 1.5 s (the kernel rule the worker must '
            'handle), died of SIGKILL')

    # -- serve, health, drain ----------------------------------------------------

    def start_endpoint(self):
        from harness import LocalAWS
        self.aws = LocalAWS(poll_timeout=POLL_TIMEOUT_S).start()
        self.create_activity()

    def create_activity(self):
        """The echo activity exists before workers start (Terraform makes
        the activities before the service)."""
        self.aws.boto3_client('stepfunctions').create_activity(name='echo')

    def health_exec(self, c, **env_overrides):
        env = dict(c.env)
        env.update(env_overrides)
        t0 = time.monotonic()
        p = c.exec(self.health, env=env)
        return p.returncode, (p.stdout + p.stderr).strip(), time.monotonic() - t0

    def wait_health_file(self, c):
        hf = c.env['HEALER_HEALTH_FILE']
        wait_until(lambda: os.path.exists(c.path(hf)) or c.proc.poll() is not None, 30,
                   f'{c.name}: the health file {hf}')
        need(c.proc.poll() is None, f'{c.name}: healer exited ({c.proc.returncode}):\n{c.text()}')

    def check_serve(self):
        aws = self.aws
        arn = aws.activity_arn('echo')
        c = self.container('serve').start()
        self.wait_health_file(c)
        st = proc_status(c.pid)
        uid, gid = c.uid, c.gid
        need(st['NSpid'][-1] == '1', f'healer is not PID 1: NSpid {st["NSpid"]}')
        need(st['Uid'] == [str(uid)] * 4 and st['Gid'] == [str(gid)] * 4,
             f'healer runs as Uid {st["Uid"]} Gid {st["Gid"]}, not {uid}:{gid}')
        need(st.get('Groups', []) in ([], [str(gid)]), f'supplementary groups {st.get("Groups")}')
        need(int(st['CapEff'][0], 16) == 0, f'healer has capabilities {st["CapEff"]}')

        n = 20
        inputs = [{'n': i, 'image': 'check'} for i in range(n)]
        t0 = time.monotonic()
        tokens = aws.enqueue(arn, inputs)
        aws.wait_for(lambda s: s['succeeded'] >= n or c.proc.poll() is not None, timeout=60)
        need(c.proc.poll() is None, f'healer exited while serving:\n{c.text()[-3000:]}')
        served_s = time.monotonic() - t0
        by_token = {t['token']: t for t in aws.tasks(activity=arn)}
        for tok, inp in zip(tokens, inputs):
            t = by_token[tok]
            need(t['state'] == 'succeeded', f'task {inp} is {t["state"]}')
            out = json.loads(next(s['output'] for s in t['sends'] if s['accepted']))
            need(out.get('echo') == inp and out.get('worker') == ECS_TASK_ID,
                 f'echo returned {out} for {inp} (worker name: the ECS task id {ECS_TASK_ID})')
        keys = {r['accessKeyId'] for r in aws.requests() if r['op'] == 'SendTaskSuccess'}
        need(keys and all(k.startswith('ASIA') for k in keys),
             f'results were not signed with ECS container credentials: {keys}')

        rc, out, health_s = self.health_exec(c)
        need(rc == 0, f'the health check failed against a serving worker (exit {rc}): {out}')
        # A frozen worker: the file goes stale and the same command fails.
        c.signal(signal.SIGSTOP)
        try:
            time.sleep(2.5)
            rc_stale, out_stale, _ = self.health_exec(c, HEALER_HEALTH_MAX_AGE_S='1')
        finally:
            c.signal(signal.SIGCONT)
        need(rc_stale != 0 and 'old' in out_stale,
             f'the health check passed for a frozen worker (exit {rc_stale}): {out_stale}')
        rc, out, _ = self.health_exec(c)
        need(rc == 0, f'the health check failed after the worker resumed (exit {rc}): {out}')

        # Drain as PID 1: two tasks running, one queued.
        drain_inputs = [{'sleep_ms': 2000, 'drain': i} for i in range(3)]
        drain_tokens = aws.enqueue(arn, drain_inputs)
        wait_until(lambda: len(aws.tasks(state='assigned', activity=arn)) == 2, 30,
                   'two drain tasks to be running')
        deadline_s = int(c.env['HEALER_DRAIN_DEADLINE_S'])
        t0 = time.monotonic()
        c.signal(signal.SIGTERM)
        rc = c.wait(deadline_s + 5)
        drain_s = time.monotonic() - t0
        need(rc is not None, f'healer as PID 1 did not exit within {deadline_s + 5} s of SIGTERM '
             '(a PID 1 without its own SIGTERM handling never gets the default action)')
        need(rc == 0, f'healer exited {rc} after SIGTERM:\n{c.text()[-3000:]}')
        need(drain_s < deadline_s, f'the drain took {drain_s:.1f} s (deadline {deadline_s} s)')
        states = [next(t for t in aws.tasks(activity=arn) if t['token'] == tok)['state']
                  for tok in drain_tokens]
        need(sorted(states) == ['queued', 'succeeded', 'succeeded'],
             f'after the drain the three tasks are {states} (want two succeeded, one left queued)')
        s = aws.summary()
        need(s['lost'] == 0 and s['duplicate_results'] == 0 and s['assigned'] == 0,
             f'after the drain: {s}')
        msgs = [line.get('msg') for line in c.lines()]
        drain_lines = [line for line in c.lines() if str(line.get('msg', '')).startswith('draining')]
        need(drain_lines and drain_lines[0].get('signal') == 'SIGTERM',
             f'no "draining" log line naming SIGTERM: {msgs[-10:]}')
        say(f'  PID 1 as {uid}:{gid}, no capabilities, read-only root: '
            f'{"yes" if c.readonly else "no"}; {n} echo tasks in {served_s:.2f} s with ECS '
            f'container credentials; health check exit 0 in {health_s * 1000:.0f} ms, '
            f'fails for a frozen worker ({out_stale[:70]}...); SIGTERM with 2 tasks running: '
            f'exit 0 in {drain_s:.2f} s (deadline {deadline_s} s), 2 succeeded, 1 left queued')

    def check_deadline(self):
        aws = self.aws
        aws.reset()
        self.create_activity()
        arn = aws.activity_arn('echo')
        deadline_s = 3
        c = self.container('deadline', HEALER_DRAIN_DEADLINE_S=str(deadline_s)).start()
        self.wait_health_file(c)
        tok = aws.enqueue(arn, [{'sleep_ms': 120000}])[0]
        wait_until(lambda: aws.task(tok)['state'] == 'assigned', 30, 'the long task to run')
        t0 = time.monotonic()
        c.signal(signal.SIGTERM)
        limit = deadline_s + POLL_TIMEOUT_S + 10
        rc = c.wait(limit)
        took = time.monotonic() - t0
        need(rc is not None, f'healer did not exit within {limit} s of SIGTERM')
        need(rc == 0, f'healer exited {rc}:\n{c.text()[-3000:]}')
        t = aws.task(tok)
        failures = [s for s in t['sends'] if s['accepted'] and s['op'] == 'SendTaskFailure']
        need(t['state'] == 'failed' and failures and failures[0]['error'] == 'Healer.WorkerShutdown',
             f'the long task is {t["state"]} with {t["sends"]} (want Healer.WorkerShutdown)')
        need(aws.summary()['lost'] == 0, 'a task was lost')
        say(f'  HEALER_DRAIN_DEADLINE_S={deadline_s}: the 120 s task was answered '
            f'Healer.WorkerShutdown, exit 0 in {took:.2f} s')

    # -- TLS -------------------------------------------------------------------------------

    def start_proxy(self, d):
        port_file, self.proxy_stats = f'{d}/proxy.port', f'{d}/proxy.json'
        self.proxy = subprocess.Popen(
            [PYTHON, os.path.join(HERE, 'tls_proxy.py'), '--cert', f'{d}/server.crt',
             '--key', f'{d}/server.key', '--upstream', str(self.aws.port),
             '--port-file', port_file, '--stats', self.proxy_stats],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(f'{d}/proxy.log', 'wb'))
        wait_until(lambda: os.path.exists(port_file) or self.proxy.poll() is not None, 15,
                   'the TLS proxy')
        need(self.proxy.poll() is None, 'the TLS proxy exited')
        with open(port_file) as f:
            return int(f.read())

    def stats(self):
        with open(self.proxy_stats) as f:
            return json.load(f)

    def update_ca_certificates(self, *args):
        env = {'PATH': DEFAULT_PATH, 'HOME': '/root'}
        p = subprocess.run(['chroot', self.root, 'update-ca-certificates'] + list(args),
                           env=env, capture_output=True, text=True, timeout=120)
        need(p.returncode == 0, f'update-ca-certificates: {p.stdout}{p.stderr}')
        return p.stdout.strip().splitlines()

    def check_tls(self):
        aws = self.aws
        aws.reset()
        self.create_activity()
        arn = aws.activity_arn('echo')
        d = os.path.join(self.work, 'tls')
        os.makedirs(d)
        make_test_ca(d)
        port = self.start_proxy(d)
        bundle = os.path.join(self.root, 'etc', 'ssl', 'certs', 'ca-certificates.crt')
        need(os.path.getsize(bundle) > 0, 'the image has no CA bundle')
        with open(f'{d}/ca.crt') as f:
            ca_pem = f.read().strip()
        with open(bundle) as f:
            n_certs = f.read().count('BEGIN CERTIFICATE')
        url = f'https://127.0.0.1:{port}'

        # Without the test CA: every handshake fails, nothing is served.
        tok = aws.enqueue(arn, [{'tls': True}])[0]
        c = self.container('tls-without-ca', AWS_ENDPOINT_URL=url).start()
        wait_until(lambda: self.stats()['handshakes_failed'] >= 2 or c.proc.poll() is not None,
                   30, 'failed TLS handshakes')
        need(c.proc.poll() is None, f'healer exited:\n{c.text()[-3000:]}')
        st = self.stats()
        need(st['handshakes_ok'] == 0, f'a TLS handshake succeeded without the CA: {st}')
        need(aws.task(tok)['state'] == 'queued', 'the task was served without the CA')
        text = c.text()
        need('certificate' in text.lower(),
             f'the worker log does not say why TLS failed:\n{text[-2000:]}')
        c.signal(signal.SIGTERM)
        rc = c.wait(int(c.env['HEALER_DRAIN_DEADLINE_S']) + 5)
        need(rc == 0, f'healer exited {rc} after SIGTERM (TLS failing)')
        failed = st['handshakes_failed']

        # The test CA added as a derived image would add it.
        with open(os.path.join(self.root, 'usr', 'local', 'share', 'ca-certificates',
                               TEST_CA_NAME), 'w') as f:
            f.write(ca_pem + '\n')
        upd = [line for line in self.update_ca_certificates() if 'added' in line]
        with open(bundle) as f:
            need(ca_pem in f.read(), 'update-ca-certificates did not add the test CA')
        try:
            c = self.container('tls-with-ca', AWS_ENDPOINT_URL=url).start()
            wait_until(lambda: aws.task(tok)['state'] != 'queued' or c.proc.poll() is not None,
                       30, 'the task to be served over TLS')
            aws.wait_for(lambda s: s['succeeded'] == 1, timeout=30)
            need(self.stats()['handshakes_ok'] >= 1, 'no TLS handshake succeeded')
            c.signal(signal.SIGTERM)
            rc = c.wait(int(c.env['HEALER_DRAIN_DEADLINE_S']) + 5)
            need(rc == 0, f'healer exited {rc} after SIGTERM (TLS working)')
        finally:
            os.unlink(os.path.join(self.root, 'usr', 'local', 'share', 'ca-certificates',
                                   TEST_CA_NAME))
            self.update_ca_certificates('--fresh')
        say(f'  image CA bundle: {n_certs} certificates; without the test CA: {failed} '
            f'handshakes refused ({(st["last_error"] or "")[:60]}), task left queued; '
            f'with it ({upd[-1] if upd else ""}): served over HTTPS, '
            f'{self.stats()["handshakes_ok"]} handshakes')

    def run(self):
        steps = [('binary', self.check_binary), ('pid1', self.check_pid1_control),
                 ('serve', self.check_serve), ('deadline', self.check_deadline),
                 ('tls', self.check_tls)]
        t_all = time.monotonic()
        self.start_endpoint()
        for name, fn in steps:
            t0 = time.monotonic()
            try:
                try:
                    fn()
                except TimeoutError as e:       # LocalAWS.wait_for
                    raise CheckFailed(str(e)) from None
            except CheckFailed:
                say(f'check {name}: FAILED after {time.monotonic() - t0:.1f} s')
                say(self.log_tail())
                raise
            say(f'check {name}: ok ({time.monotonic() - t0:.1f} s)')
        say(f'checks: all passed ({time.monotonic() - t_all:.1f} s)')


def main(argv):
    # SIGTERM (image-check.sh's cleanup) unwinds, so containers and servers stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(argv) == 2 and argv[0] in ('stage', 'upgrade'):
        root = os.path.abspath(argv[1])
        try:
            return (stage if argv[0] == 'stage' else upgrade)(root)
        except CheckFailed as e:
            say(f'FAIL: {e}')
            return 1
    if len(argv) == 4 and argv[0] == 'checks' and argv[2] == '--work':
        checks = None
        try:
            checks = Checks(os.path.abspath(argv[1]), tempfile.mkdtemp(dir=argv[3]))
            checks.run()
            return 0
        except CheckFailed as e:
            say(f'FAIL: {e}')
            return 1
        finally:
            if checks:
                checks.close()
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
