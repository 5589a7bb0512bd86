"""Slack Web API stand-in: chat.postMessage and users.lookupByEmail.

Point a worker at it with HEALER_SLACK_API_URL=<endpoint>/_slack/api.
Every request is recorded (method, content type, whether the bot token was
right, the parsed body, the answer); the token itself is never stored in a
record.  Behaviour follows Slack's documented shapes:
  - auth: `Authorization: Bearer <token>`; missing -> {"ok": false,
    "error": "not_authed"}, wrong -> "invalid_auth" (HTTP 200, as Slack);
  - chat.postMessage (JSON body, `application/json`): `channel` and `text`
    (or `blocks`) required; the channel must be a known id, a known name
    ("#name" or "name"), or a known user id (a DM: the answer's channel is
    "D" + the user id's tail); unknown -> "channel_not_found", a channel the
    bot is not in -> "not_in_channel", archived -> "is_archived";
    success -> {"ok": true, "channel", "ts", "message": {"text", ...}};
  - users.lookupByEmail (form body or query, `email`): known ->
    {"ok": true, "user": {"id", "profile": {"email"}}}, else
    "users_not_found";
  - any other method -> "unknown_method".

Admin:
  POST /_admin/slack {"token", "channels": {id: name}, "not_member": [id],
                      "archived": [id], "users": {email: user id}}
                      replaces those settings (others keep their values)
  POST /_admin/slack/fail {"method", "count": 1, and one of
                      "status": 429 (+ "retry_after": s) | 5xx,
                      "error": "<slack error code>"}   queues failures: the
                      next `count` calls of `method` ("*" = any) get them
  GET  /_admin/slack  -> {"config": {... without the token}, "messages":
                      [...], "requests": [...]}
Reset (POST /_admin/reset) restores the defaults and forgets everything.
"""

import json
import time
import urllib.parse

from localaws.service import HttpError, Response
from localaws.webfake import WebApiFake

DEFAULT_TOKEN = 'xoxb-test-0000-healer-token'
PREFIX = '/_slack/api/'


class Slack(WebApiFake):
    name = 'slack'
    failure_key = 'method'      # failures: [{"method", "count", ...}]

    def defaults(self):
        return {'token': DEFAULT_TOKEN,
                'channels': {'C0HEALER01': 'healer-alerts'},
                'not_member': [],
                'archived': [],
                'users': {'owner@example.com': 'U0OWNER001'}}

    def reset_state(self):
        self.messages = []
        self.last_ts = 0.0

    def summary(self):
        with self.lock:
            return {'slack_requests': len(self.requests),
                    'slack_messages': len(self.messages)}

    def routes(self):
        return [('POST', r'/_slack/api/[A-Za-z0-9_.]+', self._api),
                ('GET', r'/_slack/api/[A-Za-z0-9_.]+', self._api),
                ('POST', r'/_admin/slack', self._admin_config),
                ('POST', r'/_admin/slack/fail', self._admin_fail),
                ('GET', r'/_admin/slack', self._admin_get)]

    # -- admin ---------------------------------------------------------------

    def _admin_config(self, req):
        return self.set_config(req.json())

    def _admin_fail(self, req):
        f = req.json()
        if not isinstance(f, dict) or not isinstance(f.get('method'), str):
            raise HttpError(400, 'fail: {"method", "count", "status"|"error"}')
        if ('status' in f) == ('error' in f):
            raise HttpError(400, 'fail: exactly one of "status" and "error"')
        return {'ok': True, 'queued': self.queue_failure(f)}

    def _admin_get(self, req):
        with self.lock:
            return {'config': self.public_config(),
                    'messages': list(self.messages),
                    'requests': list(self.requests),
                    'failures': list(self.failures)}

    # -- the API -------------------------------------------------------------

    def _auth(self, req):
        h = req.headers.get('Authorization')
        if h is None:
            return 'missing'
        return 'valid' if h == 'Bearer ' + self.config['token'] else 'invalid'

    def _params(self, req):
        """Slack takes JSON (write methods) or form bodies, and query
        parameters."""
        ctype = (req.headers.get('Content-Type') or '').split(';')[0].strip()
        params = dict(req.query)
        if req.body:
            if ctype == 'application/json':
                body = req.json()
                if not isinstance(body, dict):
                    raise HttpError(400, 'body must be a JSON object')
                params.update(body)
            elif ctype == 'application/x-www-form-urlencoded':
                params.update({k: v[-1] for k, v in urllib.parse.parse_qs(
                    req.body.decode('utf-8'), keep_blank_values=True).items()})
            else:
                params['_unparsed'] = True
        return ctype, params

    def _api(self, req):
        method = req.path[len(PREFIX):]
        with self.lock:
            auth = self._auth(req)
            ctype, params = self._params(req)
            record = {'method': method, 'http': req.method,
                      'contentType': ctype, 'auth': auth,
                      'body': params, 'at': time.time()}
            self.requests.append(record)
            status, answer, headers = self._answer(method, auth, params)
            record['status'] = status
            record['response'] = answer
        return Response(status, json.dumps(answer), headers=headers)

    def _answer(self, method, auth, params):
        f = self.take_failure(method)
        if f is not None:
            if 'status' in f:
                headers = {}
                if f.get('retry_after') is not None:
                    headers['Retry-After'] = str(f['retry_after'])
                err = 'ratelimited' if f['status'] == 429 else 'fatal_error'
                return f['status'], {'ok': False, 'error': err}, headers
            return 200, {'ok': False, 'error': f['error']}, {}
        if auth == 'missing':
            return 200, {'ok': False, 'error': 'not_authed'}, {}
        if auth == 'invalid':
            return 200, {'ok': False, 'error': 'invalid_auth'}, {}
        if method == 'chat.postMessage':
            return self._post_message(params)
        if method == 'users.lookupByEmail':
            return self._lookup(params)
        return 200, {'ok': False, 'error': 'unknown_method'}, {}

    def _post_message(self, p):
        if p.get('_unparsed'):
            return 200, {'ok': False, 'error': 'invalid_form_data'}, {}
        channel = p.get('channel')
        if not isinstance(channel, str) or not channel:
            return 200, {'ok': False, 'error': 'channel_not_found'}, {}
        text, blocks = p.get('text'), p.get('blocks')
        if not (isinstance(text, str) and text) and not blocks:
            return 200, {'ok': False, 'error': 'no_text'}, {}
        cfg = self.config
        names = {v: k for k, v in cfg['channels'].items()}
        if channel in cfg['channels']:
            cid = channel
        elif channel.lstrip('#') in names:
            cid = names[channel.lstrip('#')]
        elif channel in cfg['users'].values():
            cid = 'D' + channel[1:]
        else:
            return 200, {'ok': False, 'error': 'channel_not_found'}, {}
        if cid in cfg['archived']:
            return 200, {'ok': False, 'error': 'is_archived'}, {}
        if cid in cfg['not_member']:
            return 200, {'ok': False, 'error': 'not_in_channel'}, {}
        ts = max(time.time(), self.last_ts + 0.000001)
        self.last_ts = ts
        ts_s = f'{ts:.6f}'
        msg = {'type': 'message', 'text': text, 'ts': ts_s, 'bot_id': 'B0HEALER'}
        self.messages.append({'channel': cid, 'requested': channel,
                              'text': text, 'ts': ts_s, 'params': p})
        return 200, {'ok': True, 'channel': cid, 'ts': ts_s,
                     'message': msg}, {}

    def _lookup(self, p):
        email = p.get('email')
        uid = self.config['users'].get(email) if isinstance(email, str) \
            else None
        if uid is None:
            return 200, {'ok': False, 'error': 'users_not_found'}, {}
        return 200, {'ok': True, 'user': {'id': uid, 'profile': {
            'email': email}}}, {}


SERVICES = [Slack]
