"""Core of the local AWS endpoint used by healer's tests.

The pieces, one module each:
  errors       AWS JSON error envelope (AwsError) and coral namespaces
  sigv4        SigV4 verification (fast hmac path + botocore reference path)
  credentials  the credential store (static keys, session credentials, expiry)
  validator    request-body validation against botocore service models
  faults       fault injection (5xx, throttling, resets, after-effect, latency)
  stats        request counters and the bounded ring of recent requests
  service      base class and decorator for service modules (services/*.py)
  endpoint     the Endpoint object tying the above together + admin API
  httpd        the HTTP server (ThreadingHTTPServer, HTTP/1.1 keep-alive)

Service behaviour lives in tests/local/services/<name>.py; see README.md.
"""
