#!/usr/bin/python3
"""A boto3 activity worker doing the same echo activity as healer: the peer
in `make bench`. N threads, each long-polls GetActivityTask and answers with
SendTaskSuccess (input echoed with the worker name).

Configured as boto3's documentation recommends: one client shared by the
threads (clients are thread-safe) with a connection pool as large as the
thread count. BENCH_BOTO3_CLIENTS=per-thread gives each thread its own
client instead (more memory, about the same CPU per task).

Environment: AWS_ENDPOINT_URL, AWS_REGION, the AWS_* credentials,
BENCH_ACTIVITY_ARN, BENCH_THREADS. SIGTERM exits at once: the bench stops a
worker only when its activity has no task left.
"""

import json
import os
import signal
import sys
import threading

import boto3
from botocore.config import Config


def main():
    arn = os.environ['BENCH_ACTIVITY_ARN']
    threads = int(os.environ.get('BENCH_THREADS', '8'))
    per_thread = os.environ.get('BENCH_BOTO3_CLIENTS') == 'per-thread'
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    session = boto3.session.Session()

    def make_client(pool):
        return session.client(
            'stepfunctions', endpoint_url=os.environ['AWS_ENDPOINT_URL'],
            region_name=os.environ['AWS_REGION'],
            config=Config(read_timeout=70, retries={'mode': 'standard'},
                          max_pool_connections=pool))

    shared = None if per_thread else make_client(threads + 2)

    def run():
        client = make_client(2) if per_thread else shared
        while not stop.is_set():
            task = client.get_activity_task(activityArn=arn, workerName='boto3')
            token = task.get('taskToken')
            if not token:
                continue
            out = {'echo': json.loads(task['input']), 'worker': 'boto3'}
            client.send_task_success(taskToken=token, output=json.dumps(out))

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    stop.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main())
