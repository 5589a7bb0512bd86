#!/usr/bin/python3
"""SigV4 signatures per CPU-second with botocore's signer (what boto3 uses),
on the request sigv4_bench.c calls "GetActivityTask, short session token":
same headers, body, keys and token. Prints one JSON line
{"sigv4_sigs_per_s": N}. argv[1]: seconds to run (default 2).

botocore derives the signing key on every call (it has no key cache), so
this is comparable with sigv4_bench's "cached" column only as what each
client actually does per request.
"""

import json
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = ('{"activityArn":"arn:aws:states:us-east-1:123456789012:activity:healer-diagnose",'
        '"workerName":"healer-1"}')


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    creds = Credentials('ASIAEXAMPLEKEY123456', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                        'FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/=')
    signer = SigV4Auth(creds, 'states', 'us-east-1')
    n = 0
    start, cpu0 = time.monotonic(), time.process_time()
    while time.monotonic() - start < seconds:
        for _ in range(200):
            req = AWSRequest(method='POST', url='https://states.us-east-1.amazonaws.com/',
                             data=BODY, headers={
                                 'Content-Type': 'application/x-amz-json-1.0',
                                 'X-Amz-Target': 'AWSStepFunctions.GetActivityTask'})
            signer.add_auth(req)
            n += 1
    cpu = time.process_time() - cpu0
    print(json.dumps({'sigv4_sigs_per_s': round(n / cpu) if cpu > 0 else 0,
                      'signer': 'botocore.auth.SigV4Auth'}))


if __name__ == '__main__':
    main()
