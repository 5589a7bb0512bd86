#!/usr/bin/python3
"""Local AWS endpoint for healer's tests (see README.md).

  /usr/bin/python3 tests/local/server.py --port 0 --port-file PATH \
      [--poll-timeout SECONDS] [--region us-east-1] [--account 123456789012] \
      [--verbose]

Binds 127.0.0.1 only.  Writes the bound port to PATH (tmp file + rename) once
listening.  Exits promptly on SIGTERM / SIGINT.
"""

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from localaws.endpoint import (DEFAULT_ACCOUNT, DEFAULT_POLL_TIMEOUT_S,  # noqa
                               DEFAULT_REGION, Endpoint)
from localaws.httpd import Server  # noqa: E402


def write_port_file(path, port):
    tmp = f'{path}.tmp.{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(f'{port}\n')
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    ap.add_argument('--poll-timeout', type=float,
                    default=DEFAULT_POLL_TIMEOUT_S,
                    help='GetActivityTask long-poll seconds (default 60)')
    ap.add_argument('--region', default=DEFAULT_REGION)
    ap.add_argument('--account', default=DEFAULT_ACCOUNT)
    ap.add_argument('--verbose', action='store_true',
                    help='log one line per request to stderr')
    args = ap.parse_args(argv)

    threading.stack_size(1024 * 1024)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    endpoint = Endpoint(region=args.region, account=args.account,
                        poll_timeout_s=args.poll_timeout,
                        verbose=args.verbose)
    endpoint.load_services('services')
    server = Server(('127.0.0.1', args.port), endpoint)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, kwargs={
        'poll_interval': 0.1}, name='accept', daemon=True)
    t.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    if args.verbose:
        sys.stderr.write(f'localaws listening on 127.0.0.1:{port}\n')
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    sys.stderr.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
