#!/usr/bin/python3
"""make bench: healer against the activity workers people would otherwise
use, in one run, each against a fresh local endpoint (SigV4 verified on
every request, session credentials as on ECS).

Workers (all doing the same echo activity):
  healer   build/healer with its production defaults (info logging to a
           file, EMF metrics every 60 s)
  boto3    tests/bench/boto3_worker.py (Debian python3-boto3, one shared
           client, a thread per slot)
  node     tests/bench/sfw_worker.js (step-function-worker 2.1.0 on aws-sdk
           v2 from package-lock.json) tuned: keep-alive on with
           AWS_NODEJS_CONNECTION_REUSE_ENABLED=1, which users must know to set
  node-default  the same worker exactly as shipped, without that variable:
           aws-sdk v2's agent then has keepAlive false (lib/http/node.js), so
           Node closes the connection after every request (a new TCP
           connection per API call here; a new TLS one against AWS). To keep
           `make bench` short it runs only the figures connection reuse
           changes: the backlog at 16 and 64 slots and the steady trickle
           (NODE_DEFAULT_SLOTS). Its start to first poll, idle polls and
           signer are node's (the first poll opens a connection either way;
           an idle poll reconnects once a minute; the signer is the same code).

Figures per worker (build/bench.json holds them all, plus the table):
  cpu_s_per_1000     CPU seconds (user+sys of the worker process) per 1,000
                     tasks with a backlog, steady state (from 10 % done to the
                     last answer), at 1/4/16/64 slots
  cpu_s_per_1000_whole_run   the same over the whole process life, start-up
                     included (PERF-NOTES.md's method; flatters no one: it
                     adds the peers' interpreter start to their cost)
  steady             a trickle as in production (50 tasks/s, 64 slots, one
                     task at a time): CPU per task and peak RSS
  tasks_per_s        throughput at 1/4/16/64 slots
  endpoint_cpu_pct   the local endpoint's own CPU during that run (% of one
                     core): near 100 % means the endpoint (Python) is the limit
  vmhwm_mb, rss_anon_mb   peak RSS and private memory of the worker process
                     (/proc/PID/status), at the end of the 64-slot run
  first_poll_ms      process start (fork) to its first GetActivityTask
                     reaching the endpoint (median of several starts)
  idle_cpu_pct       CPU % of one core with 64 / 256 open long polls, no tasks
  rss_mb @ polls     VmRSS with 1 / 64 / 256 / 512 open polls (and RssAnon)
  sigv4_sigs_per_s   SigV4 signatures per CPU-second of the worker's own
                     signer (healer: build/bench/sigv4_bench; boto3:
                     botocore SigV4Auth; node: aws-sdk v2 Signers.V4)
Ratios are peer / healer for costs and healer / peer for rates, so > 1
always means healer is better.

Environment: BENCH_QUICK=1 (fewer tasks, 5 s idle windows, ~3 min);
BENCH_WORKERS=healer,node (a subset); HEALER_BIN. Then plots:
tests/bench/plot_bench.py writes docs/bench/*.png (needs gnuplot).
Absolute numbers move with the machine and its load; compare ratios.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'local'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from harness import LocalAWS  # noqa: E402
from workers import ARN_PREFIX, HEALER_BIN, REGION  # noqa: E402

QUICK = os.environ.get('BENCH_QUICK') == '1'
TASKS = 1000 if QUICK else 5000
SLOTS = (1, 4, 16, 64)
IDLE_POLLS = (1, 64, 256, 512)
IDLE_CPU_POLLS = (64, 256)
IDLE_S = 5 if QUICK else 30
FIRST_POLL_REPS = 3 if QUICK else 7
STEADY = (64, 50, 4 if QUICK else 10)     # slots, tasks/s, seconds
SIGV4_S = 1 if QUICK else 2
ALL_WORKERS = ('healer', 'boto3', 'node', 'node-default')
# How each worker is named in the table and the plots: `node` is tuned.
LABELS = {'healer': 'healer', 'boto3': 'boto3', 'node': 'node-keepalive',
          'node-default': 'node-default'}
# node-default runs only the figures keep-alive changes (see the docstring).
NODE_DEFAULT_SLOTS = (16, 64)
PARTIAL = ('node-default',)
WORKERS = tuple(w for w in os.environ.get('BENCH_WORKERS', ','.join(ALL_WORKERS)).split(',')
                if w) or ALL_WORKERS
SIGV4_BENCH = os.environ.get('SIGV4_BENCH', os.path.join(os.path.dirname(HEALER_BIN), 'bench',
                                                         'sigv4_bench'))
RUN_LIMIT_S = 600          # any one measurement; a hang fails the bench
CLK = os.sysconf('SC_CLK_TCK')

# Session credentials as a worker on ECS has them (ASIA key, ~900-char token).
AKID = 'ASIABENCHBENCH000001'
SECRET = 'benchSecretKeyForTheLocalEndpoint0000001'
TOKEN = 'IQoJb3JpZ2luX2VjEBench' + 'A' * 880

_scratch = tempfile.mkdtemp(prefix='healer-bench-')
workers_started = []    # killed on the way out, whatever happens
LOAD_BEFORE = []


def progress(msg):
    print('bench: ' + msg, flush=True)


def proc_cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_status(pid, key):
    """A number from /proc/PID/status (kB for memory fields)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def proc_status_mb(pid, key):
    return proc_status(pid, key) / 1024.0


def endpoint(akid=AKID):
    ep = LocalAWS(poll_timeout=60).start()
    ep.add_credentials(akid, SECRET, TOKEN, time.time() + 6 * 3600)
    return ep


def start_worker(kind, ep, activity, slots, akid=AKID):
    """Starts one worker on ARN_PREFIX + activity; returns (Popen, t_fork)."""
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': _scratch,
           'AWS_REGION': REGION, 'AWS_ENDPOINT_URL': ep.url,
           'AWS_ACCESS_KEY_ID': akid, 'AWS_SECRET_ACCESS_KEY': SECRET,
           'AWS_SESSION_TOKEN': TOKEN, 'AWS_EC2_METADATA_DISABLED': 'true'}
    if kind == 'healer':
        env.update({'HEALER_ACTIVITIES': '%s=echo:%d' % (activity, slots),
                    'HEALER_ACTIVITY_ARN_PREFIX': ARN_PREFIX,
                    'HEALER_WORKER_NAME': 'bench',
                    'HEALER_HEALTH_FILE': os.path.join(_scratch, 'health.json')})
        argv = [HEALER_BIN]
    else:
        env.update({'BENCH_ACTIVITY_ARN': ARN_PREFIX + activity,
                    'BENCH_THREADS': str(slots)})
        if kind == 'boto3':
            argv = ['/usr/bin/python3', os.path.join(HERE, 'boto3_worker.py')]
        else:
            env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] = '1'
            if kind == 'node':
                env['AWS_NODEJS_CONNECTION_REUSE_ENABLED'] = '1'
            argv = ['node', os.path.join(HERE, 'sfw_worker.js')]
    # Output to a file: the kernel work of writing log lines is the
    # worker's, and nothing can block on a full pipe.
    log = open(os.path.join(_scratch, '%s.log' % kind), 'ab')
    t0 = time.time()
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    return proc, t0


def kill(proc):
    """Stops a worker whose activity has nothing left to hand out: its open
    polls are idle, so killing it loses no task (and a drain would wait out
    the 60 s polls)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def check_alive(proc, kind):
    if proc.poll() is not None:
        with open(os.path.join(_scratch, '%s.log' % kind), 'rb') as f:
            tail = f.read()[-2000:].decode('utf-8', 'replace')
        raise SystemExit('bench: %s worker exited early (%s):\n%s' % (kind, proc.returncode, tail))


# ---- measurements ----------------------------------------------------------

def throughput(kind, slots, n):
    """n echo tasks queued up front; the steady state is measured from the
    first sample after 10 % are done to the last SendTaskSuccess."""
    ep = endpoint()
    try:
        activity = 'tp-%s-%d' % (kind, slots)
        ep.admin('POST', '/_admin/tasks', {'activityArn': ARN_PREFIX + activity, 'count': n,
                                           'input': {'n': 1, 'payload': 'x' * 64}})
        proc, t_start = start_worker(kind, ep, activity, slots)
        workers_started.append(proc)
        deadline = time.time() + RUN_LIMIT_S
        mark = None
        rate = None
        while True:
            now = time.time()
            s = ep.summary()
            done = s['succeeded'] + s['failed']
            if mark is None and done >= n // 10 and done < n:
                mark = (now, done, proc_cpu_s(proc.pid), proc_cpu_s(ep.pid))
            if done >= n:
                break
            check_alive(proc, kind)
            if now > deadline:
                raise SystemExit('bench: %s at %d slots: %d of %d tasks after %d s'
                                 % (kind, slots, done, n, RUN_LIMIT_S))
            # Sample the endpoint sparingly (a summary costs it CPU), more
            # often near the end so the finish is seen promptly.
            if mark and done > mark[1]:
                rate = (done - mark[1]) / max(now - mark[0], 1e-3)
            wait = (n - done) / rate / 3 if rate else 0.05
            time.sleep(min(max(wait, 0.01), 0.5))
        cpu_w, cpu_ep = proc_cpu_s(proc.pid), proc_cpu_s(ep.pid)
        t_done = time.time()
        hwm, anon = proc_status_mb(proc.pid, 'VmHWM'), proc_status_mb(proc.pid, 'RssAnon')
        s = ep.summary()
        sends = [r['at'] for r in ep.requests(limit=200) if r['op'] == 'SendTaskSuccess']
        kill(proc)
    finally:
        ep.stop()
    if s['failed'] or s['duplicate_results'] or s['lost']:
        raise SystemExit('bench: %s at %d slots: %d failed, %d duplicate, %d lost tasks'
                         % (kind, slots, s['failed'], s['duplicate_results'], s['lost']))
    if mark is None:     # finished between two samples: use the whole run
        mark = (t_start, 0, 0.0, 0.0)
    t_end = max(sends) if sends else time.time()
    tasks = n - mark[1]
    wall = max(t_end - mark[0], 1e-3)
    return {'slots': slots, 'tasks': n, 'tasks_measured': tasks,
            'wall_s': round(wall, 3), 'tasks_per_s': round(tasks / wall, 1),
            'cpu_s_per_1000': round((cpu_w - mark[2]) * 1000 / tasks, 3),
            # PERF-NOTES' method: the whole process, start-up included.
            'cpu_s_per_1000_whole_run': round(cpu_w * 1000 / n, 3),
            'whole_run_wall_s': round(t_done - t_start, 2),
            'endpoint_cpu_s_per_1000': round((cpu_ep - mark[3]) * 1000 / tasks, 3),
            'endpoint_cpu_pct': round(100 * (cpu_ep - mark[3]) / wall, 1),
            'vmhwm_mb': round(hwm, 1), 'rss_anon_mb': round(anon, 1)}


def steady(kind, slots, rate, seconds):
    """A steady trickle, as events arrive in production: `rate` tasks/s for
    `seconds`, one at a time, with `slots` slots. CPU per task here includes
    what the worker spends between tasks (its idle polls, timers)."""
    ep = endpoint()
    try:
        activity = 'steady-%s' % kind
        arn = ARN_PREFIX + activity
        ep.admin('POST', '/_admin/tasks', {'activityArn': arn, 'inputs': []})
        proc, _ = start_worker(kind, ep, activity, slots)
        workers_started.append(proc)
        deadline = time.time() + 120
        while ep.summary()['open_polls'] < slots:
            check_alive(proc, kind)
            if time.time() > deadline:
                raise SystemExit('bench: %s opened too few polls for the steady run' % kind)
            time.sleep(0.1)
        time.sleep(1)
        c0, t0 = proc_cpu_s(proc.pid), time.time()
        n = 0
        while time.time() - t0 < seconds:
            ep.admin('POST', '/_admin/tasks', {'activityArn': arn, 'inputs': [{'n': n}]})
            n += 1
            time.sleep(max(0.0, t0 + n / rate - time.time()))
        deadline = time.time() + 60
        while ep.summary()['succeeded'] < n:
            check_alive(proc, kind)
            if time.time() > deadline:
                raise SystemExit('bench: %s did not finish the steady run' % kind)
            time.sleep(0.05)
        cpu = proc_cpu_s(proc.pid) - c0
        out = {'slots': slots, 'rate': rate, 'tasks': n,
               'cpu_s_per_1000': round(cpu * 1000 / n, 3),
               'cpu_pct': round(100 * cpu / (time.time() - t0), 2),
               'vmhwm_mb': round(proc_status_mb(proc.pid, 'VmHWM'), 1),
               'rss_anon_mb': round(proc_status_mb(proc.pid, 'RssAnon'), 1)}
        kill(proc)
    finally:
        ep.stop()
    return out


def first_poll(kind, reps):
    """Fork of the worker to the arrival of its first GetActivityTask at the
    endpoint (arrival = completion time - server-side duration). Each start
    uses its own access key so its requests are told apart."""
    ep = endpoint()
    samples = []
    try:
        for i in range(reps):
            akid = 'ASIAFIRSTPOLL%07d' % i
            ep.add_credentials(akid, SECRET, TOKEN, time.time() + 3600)
            activity = 'first-%s-%d' % (kind, i)
            ep.admin('POST', '/_admin/tasks', {'activityArn': ARN_PREFIX + activity,
                                               'inputs': [{'n': i}]})
            proc, t0 = start_worker(kind, ep, activity, 16, akid=akid)
            workers_started.append(proc)
            deadline = time.time() + 60
            arrivals = []
            while not arrivals:
                check_alive(proc, kind)
                if time.time() > deadline:
                    raise SystemExit('bench: %s sent no GetActivityTask within 60 s' % kind)
                time.sleep(0.05)
                arrivals = [r['at'] - (r.get('durationMs') or 0) / 1000.0
                            for r in ep.requests(limit=500)
                            if r['op'] == 'GetActivityTask' and r['accessKeyId'] == akid]
            samples.append(round((min(arrivals) - t0) * 1000, 1))
            kill(proc)
    finally:
        ep.stop()
    return {'median_ms': statistics.median(samples), 'min_ms': min(samples), 'samples_ms': samples}


def idle(kind, polls):
    ep = endpoint()
    try:
        activity = 'idle-%s-%d' % (kind, polls)
        ep.admin('POST', '/_admin/tasks', {'activityArn': ARN_PREFIX + activity, 'inputs': []})
        proc, _ = start_worker(kind, ep, activity, polls)
        workers_started.append(proc)
        deadline = time.time() + 120
        while ep.summary()['open_polls'] < polls:
            check_alive(proc, kind)
            if time.time() > deadline:
                raise SystemExit('bench: %s opened %d of %d polls in 120 s'
                                 % (kind, ep.summary()['open_polls'], polls))
            time.sleep(0.1)
        time.sleep(2)   # let start-up work settle
        entry = {'open_polls': ep.summary()['open_polls'],
                 'rss_mb': round(proc_status_mb(proc.pid, 'VmRSS'), 2),
                 'rss_anon_mb': round(proc_status_mb(proc.pid, 'RssAnon'), 2),
                 'threads': proc_status(proc.pid, 'Threads')}
        if polls in IDLE_CPU_POLLS:
            c0, t0 = proc_cpu_s(proc.pid), time.time()
            time.sleep(IDLE_S)
            check_alive(proc, kind)
            entry['idle_cpu_pct'] = round(100 * (proc_cpu_s(proc.pid) - c0) / (time.time() - t0), 3)
            entry['idle_s'] = IDLE_S
        kill(proc)
    finally:
        ep.stop()
    return entry


def sigv4(kind):
    if kind == 'healer':
        argv = [SIGV4_BENCH, str(SIGV4_S)]
    elif kind == 'boto3':
        argv = ['/usr/bin/python3', os.path.join(HERE, 'sigv4_peer.py'), str(SIGV4_S)]
    else:
        argv = ['node', os.path.join(HERE, 'sigv4_peer.js'), str(SIGV4_S)]
    env = dict(os.environ, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE='1')
    out = subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120).stdout
    last = out.decode().strip().splitlines()[-1]
    return json.loads(last)['sigv4_sigs_per_s']


# ---- report ------------------------------------------------------------------

def ratio(peer, healer, higher_is_better=False):
    if peer is None or healer is None:
        return None
    if higher_is_better:
        return round(healer / peer, 1) if peer else None
    return round(peer / healer, 1) if healer else None


def build_table(res):
    rows = []   # (figure, {kind: value}, higher_is_better)

    def tp(kind, slots, key):
        for r in res[kind]['throughput']:
            if r['slots'] == slots:
                return r[key]
        return None

    def idle_fig(kind, polls, key):
        e = res[kind].get('idle', {}).get(str(polls))
        return e.get(key) if e else None

    for slots in (16, 64):
        rows.append(('CPU s / 1000 tasks @%d slots' % slots,
                     {k: tp(k, slots, 'cpu_s_per_1000') for k in res}, False))
    rows.append(('  whole run, start-up incl. @16', {k: tp(k, 16, 'cpu_s_per_1000_whole_run') for k in res},
                 False))
    rows.append(('CPU s / 1000 tasks, %d/s @%d slots' % (STEADY[1], STEADY[0]),
                 {k: res[k]['steady']['cpu_s_per_1000'] for k in res}, False))
    for slots in (16, 64):
        rows.append(('tasks/s @%d slots' % slots, {k: tp(k, slots, 'tasks_per_s') for k in res}, True))
    for slots in (16, 64):
        rows.append(('  endpoint CPU %% @%d slots' % slots,
                     {k: tp(k, slots, 'endpoint_cpu_pct') for k in res}, None))
    rows.append(('peak RSS MB (VmHWM) @64 slots', {k: tp(k, 64, 'vmhwm_mb') for k in res}, False))
    rows.append(('RssAnon MB @64 slots', {k: tp(k, 64, 'rss_anon_mb') for k in res}, False))
    rows.append(('peak RSS MB, %d/s @%d slots' % (STEADY[1], STEADY[0]),
                 {k: res[k]['steady']['vmhwm_mb'] for k in res}, False))
    rows.append(('start to first poll ms',
                 {k: res[k]['first_poll']['median_ms'] if 'first_poll' in res[k] else None for k in res},
                 False))
    for p in IDLE_CPU_POLLS:
        rows.append(('idle CPU %% @%d polls (%d s)' % (p, IDLE_S),
                     {k: idle_fig(k, p, 'idle_cpu_pct') for k in res}, None))
    for p in IDLE_POLLS:
        rows.append(('RSS MB @%d open polls' % p, {k: idle_fig(k, p, 'rss_mb') for k in res}, False))
    rows.append(('RSS KB per extra poll (1->512)', {k: res[k].get('rss_kb_per_poll') for k in res}, False))
    rows.append(('SigV4 signatures/s/core', {k: res[k].get('sigv4_sigs_per_s') for k in res}, True))
    table = []
    for name, vals, hib in rows:
        entry = {'figure': name, 'values': vals, 'ratios': {}}
        if hib is not None and 'healer' in vals:
            for k in vals:
                if k != 'healer':
                    entry['ratios'][k] = ratio(vals[k], vals['healer'], hib)
        table.append(entry)
    return table


def print_table(table, kinds):
    peers = [k for k in kinds if k != 'healer']
    head = '%-34s' % 'figure' + ''.join('%15s' % LABELS[k] for k in kinds) + \
        ''.join('%18s' % ('%s/healer' % LABELS[k]) for k in peers)
    print(head)
    print('-' * len(head))
    for e in table:
        line = '%-34s' % e['figure'] + ''.join('%15s' % fmt(e['values'].get(k)) for k in kinds)
        for k in peers:
            r = e['ratios'].get(k)
            line += '%18s' % ('' if r is None else '%sx' % r)
        print(line)


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, float) and v >= 1000:
        return '%.0f' % v
    return str(v)


def targets(res):
    """The issue's targets, checked against this run's figures."""
    h = res.get('healer')
    if not h:
        return []
    out = []

    def cpu(kind):
        return next(r['cpu_s_per_1000'] for r in res[kind]['throughput'] if r['slots'] == 16)
    def whole(kind):
        return next(r['cpu_s_per_1000_whole_run'] for r in res[kind]['throughput'] if r['slots'] == 16)
    for peer, goal in (('boto3', 10), ('node', 5), ('node-default', 5)):
        if peer in res:
            r = cpu(peer) / cpu('healer')
            w = whole(peer) / whole('healer')
            st = res[peer]['steady']['cpu_s_per_1000'] / h['steady']['cpu_s_per_1000']
            out.append(('CPU per task >= %dx lower than %s (16 slots)' % (goal, LABELS[peer]),
                        '%.1fx (whole run %.1fx, trickle %.1fx)' % (r, w, st), r >= goal))
    i64 = h['idle']['64']
    out.append(('RSS at 64 polls <= ~15 MB (minimal worker + 4 MB)', '%.1f MB' % i64['rss_mb'],
                i64['rss_mb'] <= 15.0))
    out.append(('RssAnon at 64 polls a few MB (<= 5)', '%.1f MB' % i64['rss_anon_mb'],
                i64['rss_anon_mb'] <= 5.0))
    out.append(('RSS growth < 40 KB per extra open poll', '%.1f KB' % h['rss_kb_per_poll'],
                h['rss_kb_per_poll'] < 40))
    ic = h['idle']['256']['idle_cpu_pct']
    out.append(('idle CPU < 0.5 % of a core at 256 polls', '%.3f %%' % ic, ic < 0.5))
    fp = h['first_poll']['median_ms']
    out.append(('start to first poll <= 20 ms', '%.1f ms' % fp, fp <= 20))
    return out


def main():
    if 'healer' in WORKERS and not os.path.exists(HEALER_BIN):
        raise SystemExit('build healer first (make)')
    unknown = set(WORKERS) - set(ALL_WORKERS)
    if unknown:
        raise SystemExit('BENCH_WORKERS: unknown %s' % sorted(unknown))
    steps = sum(1 + len(NODE_DEFAULT_SLOTS) if k in PARTIAL else 1 + len(SLOTS) + 2 + len(IDLE_POLLS)
                for k in WORKERS)
    step = [0]

    def say(msg):
        step[0] += 1
        progress('[%d/%d] %s' % (step[0], steps, msg))

    progress('%s run: %d tasks per throughput run, %d s idle windows, workers %s'
             % ('quick' if QUICK else 'full', TASKS, IDLE_S, ', '.join(WORKERS)))
    t_begin = time.time()
    global LOAD_BEFORE
    with open('/proc/loadavg') as f:
        LOAD_BEFORE = f.read().split()[:3]
    progress('load average before: %s' % ' '.join(LOAD_BEFORE))
    res = {}
    for kind in WORKERS:
        r = {}
        partial = kind in PARTIAL
        if not partial:
            r['sigv4_sigs_per_s'] = sigv4(kind)
            say('%s SigV4: %.0f signatures/s/core' % (kind, r['sigv4_sigs_per_s']))
        r['throughput'] = []
        for slots in (NODE_DEFAULT_SLOTS if partial else SLOTS):
            t = throughput(kind, slots, TASKS)
            r['throughput'].append(t)
            say('%s throughput @%d slots: %.0f tasks/s, %.3f CPU s/1000 tasks, endpoint %.0f %% CPU'
                % (kind, slots, t['tasks_per_s'], t['cpu_s_per_1000'], t['endpoint_cpu_pct']))
        r['steady'] = steady(kind, *STEADY)
        say('%s steady %d tasks/s @%d slots: %.3f CPU s/1000 tasks, peak RSS %.1f MB'
            % (kind, STEADY[1], STEADY[0], r['steady']['cpu_s_per_1000'], r['steady']['vmhwm_mb']))
        if partial:
            res[kind] = r
            continue
        r['first_poll'] = first_poll(kind, FIRST_POLL_REPS)
        say('%s start to first poll: %.1f ms (median of %d)'
            % (kind, r['first_poll']['median_ms'], FIRST_POLL_REPS))
        r['idle'] = {}
        for polls in IDLE_POLLS:
            e = idle(kind, polls)
            r['idle'][str(polls)] = e
            say('%s %d open polls: RSS %.1f MB%s' % (kind, polls, e['rss_mb'],
                ', idle CPU %.3f %%' % e['idle_cpu_pct'] if 'idle_cpu_pct' in e else ''))
        lo, hi = r['idle'][str(IDLE_POLLS[0])], r['idle'][str(IDLE_POLLS[-1])]
        r['rss_kb_per_poll'] = round((hi['rss_mb'] - lo['rss_mb']) * 1024 /
                                     (IDLE_POLLS[-1] - IDLE_POLLS[0]), 1)
        res[kind] = r

    table = build_table(res)
    print()
    print_table(table, list(res))
    tg = targets(res)
    if tg:
        print()
        for name, value, ok in tg:
            print('%-4s %-52s %s' % ('ok' if ok else 'MISS', name, value))
    with open('/proc/loadavg') as f:
        load = f.read().split()[:3]
    out = {'quick': QUICK, 'tasks': TASKS, 'slots': list(SLOTS), 'idle_polls': list(IDLE_POLLS),
           'idle_s': IDLE_S, 'cpus': os.cpu_count(), 'loadavg_before': LOAD_BEFORE,
           'loadavg_after': load, 'labels': {k: LABELS[k] for k in res},
           'duration_s': round(time.time() - t_begin, 1),
           'workers': res, 'table': table,
           'targets': [{'target': n, 'value': v, 'ok': ok} for n, v, ok in tg]}
    os.makedirs(os.path.join(ROOT, 'build'), exist_ok=True)
    path = os.path.join(ROOT, 'build', 'bench.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1)
    print('\nwrote build/bench.json (%.0f s)' % out['duration_s'])
    return 0


def run():
    try:
        return main()
    finally:
        for proc in workers_started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == '__main__':
    sys.exit(run())
