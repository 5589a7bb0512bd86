#!/usr/bin/python3
"""make bench: healer against the activity workers people would otherwise
use, in one run on one local endpoint (SigV4 verified on every request).

Prints a table and writes build/bench.json. Figures per worker:
  cpu_s_per_1000   CPU seconds (user+sys of the worker process) per 1,000 echo tasks
  tasks_per_s      throughput at the given slots/threads
  vmhwm_mb         peak RSS of the worker process (/proc/PID/status VmHWM)
  rss_anon_mb      private memory at the end of the run (RssAnon)
  first_poll_ms    time from process start to its first GetActivityTask
  idle_cpu_pct     CPU % of one core with 64 open long polls, no tasks
  rss_at_polls     RSS (VmRSS, MB) with 1 / 64 / 256 open polls
Ratios are peer / healer (>1 means healer is better). BENCH_QUICK=1 runs a
shorter version. Absolute numbers move with the machine; compare ratios.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'local'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from harness import LocalAWS  # noqa: E402
from workers import (ARN_PREFIX, HEALER_BIN, REGION, TEST_AKID,  # noqa: E402
                     TEST_SECRET)

QUICK = os.environ.get('BENCH_QUICK') == '1'
TASKS = 1000 if QUICK else 3000
IDLE_S = 5 if QUICK else 30
CLK = os.sysconf('SC_CLK_TCK')


def proc_cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_status(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def base_env(url):
    return {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': '/tmp',
            'AWS_REGION': REGION, 'AWS_ENDPOINT_URL': url,
            'AWS_ACCESS_KEY_ID': TEST_AKID, 'AWS_SECRET_ACCESS_KEY': TEST_SECRET,
            'AWS_EC2_METADATA_DISABLED': 'true'}


def start_worker(kind, url, activity, slots):
    env = base_env(url)
    if kind == 'healer':
        env.update({'HEALER_ACTIVITIES': '%s=echo:%d' % (activity, slots),
                    'HEALER_ACTIVITY_ARN_PREFIX': ARN_PREFIX,
                    'HEALER_LOG_LEVEL': 'warn', 'HEALER_METRICS_INTERVAL_S': '0',
                    'HEALER_HEALTH_FILE': '/tmp/healer-bench-health.json'})
        argv = [HEALER_BIN]
    else:
        env.update({'BENCH_ACTIVITY_ARN': ARN_PREFIX + activity,
                    'BENCH_THREADS': str(slots)})
        argv = ['/usr/bin/python3', os.path.join(HERE, 'boto3_worker.py')]
    t0 = time.time()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, t0


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def first_poll_at(ep, since):
    """Time of the first GetActivityTask received after `since` (workers
    run one at a time, so it is the new worker's)."""
    times = [r['at'] for r in ep.requests(limit=2000)
             if r.get('op') == 'GetActivityTask' and r['at'] >= since]
    return min(times) if times else None


def throughput(ep, kind, slots, n):
    activity = 'bench-%s-%d' % (kind, slots)
    ep.enqueue(ARN_PREFIX + activity, [{'n': i, 'payload': 'x' * 64} for i in range(n)])
    before = ep.summary()['succeeded']
    proc, t0 = start_worker(kind, ep.url, activity, slots)
    first = None
    while True:
        s = ep.summary()
        if first is None:
            first = first_poll_at(ep, t0)
        if s['succeeded'] - before >= n:
            break
        if proc.poll() is not None:
            raise SystemExit('%s worker exited early' % kind)
        time.sleep(0.05)
    wall = time.time() - t0
    cpu = proc_cpu_s(proc.pid)
    hwm = proc_status(proc.pid, 'VmHWM')
    anon = proc_status(proc.pid, 'RssAnon')
    stop(proc)
    return {'slots': slots, 'tasks': n, 'wall_s': round(wall, 2),
            'tasks_per_s': round(n / wall, 1), 'cpu_s': round(cpu, 3),
            'cpu_s_per_1000': round(cpu * 1000 / n, 3),
            'vmhwm_mb': round(hwm, 1), 'rss_anon_mb': round(anon, 1),
            'first_poll_ms': round((first - t0) * 1000, 1) if first else None}


def idle(ep, kind, polls_list):
    out = {}
    for polls in polls_list:
        activity = 'idle-%s-%d' % (kind, polls)
        before = ep.summary()['open_polls']
        proc, _ = start_worker(kind, ep.url, activity, polls)
        deadline = time.time() + 30
        while ep.summary()['open_polls'] - before < polls and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        rss = proc_status(proc.pid, 'VmRSS')
        entry = {'open_polls': ep.summary()['open_polls'] - before, 'rss_mb': round(rss, 1),
                 'rss_anon_mb': round(proc_status(proc.pid, 'RssAnon'), 1)}
        if polls == 64:
            c0, t0 = proc_cpu_s(proc.pid), time.time()
            time.sleep(IDLE_S)
            entry['idle_cpu_pct'] = round(100 * (proc_cpu_s(proc.pid) - c0) / (time.time() - t0), 3)
        out[polls] = entry
        proc.kill()   # idle polls only: nothing to drain
        proc.wait()
    return out


def main():
    if not os.path.exists(HEALER_BIN):
        raise SystemExit('build healer first (make)')
    results = {'quick': QUICK, 'tasks': TASKS, 'workers': {}}
    with LocalAWS(poll_timeout=60) as ep:
        for kind in ('healer', 'boto3'):
            print('bench: %s throughput (%d tasks at 8 and 16 slots)...' % (kind, TASKS), flush=True)
            r = {'throughput': [throughput(ep, kind, s, TASKS) for s in (8, 16)]}
            print('bench: %s idle polls...' % kind, flush=True)
            r['idle'] = idle(ep, kind, (1, 64, 256))
            results['workers'][kind] = r
    h, b = results['workers']['healer'], results['workers']['boto3']

    def ratio(x, y):
        return round(x / y, 1) if y else None
    rows = []
    for i, slots in enumerate((8, 16)):
        ht, bt = h['throughput'][i], b['throughput'][i]
        rows.append(('CPU s / 1000 tasks @%d' % slots, ht['cpu_s_per_1000'], bt['cpu_s_per_1000'],
                     ratio(bt['cpu_s_per_1000'], ht['cpu_s_per_1000'])))
        rows.append(('tasks/s @%d' % slots, ht['tasks_per_s'], bt['tasks_per_s'],
                     ratio(ht['tasks_per_s'], bt['tasks_per_s'])))
        rows.append(('peak RSS MB @%d' % slots, ht['vmhwm_mb'], bt['vmhwm_mb'],
                     ratio(bt['vmhwm_mb'], ht['vmhwm_mb'])))
    rows.append(('start to first poll ms', h['throughput'][0]['first_poll_ms'],
                 b['throughput'][0]['first_poll_ms'],
                 ratio(b['throughput'][0]['first_poll_ms'] or 0, h['throughput'][0]['first_poll_ms'] or 0)))
    rows.append(('idle CPU %% (64 polls, %ds)' % IDLE_S, h['idle'][64]['idle_cpu_pct'],
                 b['idle'][64]['idle_cpu_pct'], None))
    for p in (1, 64, 256):
        rows.append(('RSS MB @%d open polls' % p, h['idle'][p]['rss_mb'], b['idle'][p]['rss_mb'],
                     ratio(b['idle'][p]['rss_mb'], h['idle'][p]['rss_mb'])))
    print()
    print('%-30s %12s %12s %10s' % ('figure', 'healer', 'boto3', 'ratio'))
    for name, hv, bv, rv in rows:
        print('%-30s %12s %12s %10s' % (name, hv, bv, '' if rv is None else '%sx' % rv))
    results['table'] = [{'figure': n, 'healer': hv, 'boto3': bv, 'ratio': rv} for n, hv, bv, rv in rows]
    os.makedirs(os.path.join(ROOT, 'build'), exist_ok=True)
    with open(os.path.join(ROOT, 'build', 'bench.json'), 'w') as f:
        json.dump(results, f, indent=1)
    print('\nwrote build/bench.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
