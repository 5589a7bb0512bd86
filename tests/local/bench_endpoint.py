#!/usr/bin/python3
"""Throughput of the local endpoint itself with boto3 workers.

  /usr/bin/python3 tests/local/bench_endpoint.py [--tasks 3000] [--threads 8]
      [--no-verify] [--token]

Each worker thread loops GetActivityTask -> SendTaskSuccess with its own boto3
client until the queue is empty.  Prints tasks/s, requests/s and the server's
CPU time per request.  Client and server share the machine's cores, so the
figure is a floor for the server alone.
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LocalAWS  # noqa: E402


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tasks', type=int, default=3000)
    ap.add_argument('--threads', type=int, default=8)
    ap.add_argument('--no-verify', action='store_true')
    ap.add_argument('--token', action='store_true',
                    help='use session credentials (with a long token)')
    args = ap.parse_args()
    with LocalAWS(poll_timeout=0.5) as aws:
        kw = {}
        if args.token:
            tok = 'IQoJb3JpZ2luX2VjE' + 'A' * 1000
            aws.add_credentials('ASIABENCHBENCHBENCH0', 'benchsecret', tok,
                                time.time() + 3600)
            kw = dict(access_key='ASIABENCHBENCHBENCH0',
                      secret_key='benchsecret', session_token=tok)
        if args.no_verify:
            aws.settings(verify_signatures=False)
        arn = aws.activity_arn('bench')
        aws.admin('POST', '/_admin/tasks', {'activityArn': arn,
                                            'count': args.tasks,
                                            'input': {'n': 1}})
        clients = [aws.boto3_client('stepfunctions', **kw)
                   for _ in range(args.threads)]
        for c in clients:       # warm up connections outside the timing
            c.list_activities()
        done = [0]
        lock = threading.Lock()

        def work(c):
            n = 0
            while True:
                r = c.get_activity_task(activityArn=arn, workerName='bench')
                if 'taskToken' not in r:
                    break
                c.send_task_success(taskToken=r['taskToken'], output='{}')
                n += 1
            with lock:
                done[0] += n
        cpu0 = cpu_seconds(aws.pid)
        t0 = time.monotonic()
        threads = [threading.Thread(target=work, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Each thread ends with one empty poll of poll_timeout seconds.
        wall = time.monotonic() - t0 - 0.5
        cpu = cpu_seconds(aws.pid) - cpu0
        s = aws.summary()
        reqs = 2 * done[0]
        print(f'tasks {done[0]} in {wall:.2f} s: {done[0] / wall:.0f} tasks/s,'
              f' {reqs / wall:.0f} requests/s; server CPU '
              f'{cpu * 1e6 / reqs:.0f} us/request; succeeded {s["succeeded"]}'
              f' duplicates {s["duplicate_results"]}')


if __name__ == '__main__':
    main()
