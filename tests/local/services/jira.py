"""Jira Cloud REST v3 stand-in: search, issues, comments, transitions.

Point a worker at it with HEALER_JIRA_URL=<endpoint>/_jira.  Every request
is recorded (method, path, query, whether the credentials were right, the
parsed body, the status); credentials are never stored in a record.

Routes (under /_jira):
  POST /rest/api/3/search/jql  {"jql", "fields", "maxResults",
       "nextPageToken"} -> {"issues": [{"id", "key", "fields"}], "isLast"}.
       JQL understood: project = "KEY" [AND labels = "label"]
       [ORDER BY created ASC|DESC] (quotes optional); anything else -> 400
       with Jira's errorMessages.  Eventually consistent like Jira Cloud
       when "search_lag_s" > 0: an issue is invisible to search for that
       long after it was created.
  GET|POST /rest/api/3/search  -> 410 Gone (removed from Jira Cloud).
  POST /rest/api/3/issue  {"fields": {"project": {"key"}, "issuetype":
       {"name"}, "summary", "description" (ADF, validated), "labels"}}
       -> 201 {"id", "key", "self"}; bad fields -> 400 {"errorMessages",
       "errors": {field: message}}.
  GET  /rest/api/3/issue/{key}  -> the issue, 404 when unknown.
  GET  /rest/api/3/issue/{key}/comment (orderBy=-created, maxResults)
  POST /rest/api/3/issue/{key}/comment {"body": ADF} -> 201
  GET  /rest/api/3/issue/{key}/transitions -> {"transitions": [...]} from
       the issue's status; POST {"transition": {"id"}} -> 204, an id not
       offered from the current status -> 400.
  Workflow "default": To Do (new) -11-> In Progress (indeterminate),
  To Do / In Progress -31-> Done (done), Done -41-> To Do.  Workflow
  "no_done": no transition reaches a done status.
Auth: HTTP Basic base64(email:token); missing or wrong -> 401.

Admin:
  POST /_admin/jira {"email", "token", "projects": [...], "issue_types":
                     [...], "search_lag_s", "workflow"}  (partial update)
  POST /_admin/jira/fail {"route": "search"|"create"|"get"|"comments"|
                     "comment"|"transitions"|"transition"|"*", "count": 1,
                     "status": 4xx|5xx|429, "retry_after": s (optional),
                     "after_effect": bool (do the work, then answer the
                     failure: an ambiguous failure)}
  GET  /_admin/jira  -> {"issues": [...full issues with comments...],
                     "requests": [...], "config": {... no token}}
Reset (POST /_admin/reset) restores the defaults and forgets everything.
"""

import base64
import json
import re
import time

from localaws.service import HttpError, Response
from localaws.webfake import WebApiFake

DEFAULT_EMAIL = 'healer-bot@example.com'
DEFAULT_TOKEN = 'jira-test-token-0000'
PREFIX = '/_jira'

STATUSES = {
    'To Do': 'new',
    'In Progress': 'indeterminate',
    'Done': 'done',
}
WORKFLOWS = {
    'default': {
        'To Do': [('11', 'Start work', 'In Progress'), ('31', 'Done', 'Done')],
        'In Progress': [('31', 'Done', 'Done')],
        'Done': [('41', 'Reopen', 'To Do')],
    },
    'no_done': {
        'To Do': [('11', 'Start work', 'In Progress')],
        'In Progress': [('21', 'Stop work', 'To Do')],
        'Done': [],
    },
}

_JQL = re.compile(
    r'\s*project\s*=\s*"?(?P<project>[A-Z][A-Z0-9_]+)"?'
    r'(?:\s+AND\s+labels\s*=\s*"(?P<label>[^"\\]+)")?'
    r'(?:\s+ORDER\s+BY\s+created\s+(?P<order>ASC|DESC))?\s*',
    re.IGNORECASE)

_INLINE_MARKS = {'strong', 'em', 'code', 'link', 'strike', 'underline'}
_BLOCKS = {'paragraph', 'codeBlock', 'heading', 'bulletList', 'orderedList',
           'blockquote', 'rule'}


def _adf_error(doc):
    """None if doc is an ADF document we accept, else what is wrong."""
    if not isinstance(doc, dict) or doc.get('type') != 'doc' or \
            doc.get('version') != 1 or not isinstance(doc.get('content'), list):
        return 'must be an Atlassian Document ({"type": "doc", "version": 1, ' \
            '"content": [...]})'
    for block in doc['content']:
        if not isinstance(block, dict) or block.get('type') not in _BLOCKS:
            return f'unsupported block node {block!r:.80}'
        for node in block.get('content', []):
            err = _inline_error(node, block['type'])
            if err:
                return err
    return None


def _inline_error(node, parent):
    if not isinstance(node, dict):
        return 'node must be an object'
    t = node.get('type')
    if t == 'hardBreak' and parent == 'paragraph':
        return None
    if t != 'text':
        return f'unsupported inline node {t!r}'
    text = node.get('text')
    if not isinstance(text, str) or not text:
        return 'text nodes must have non-empty text'
    marks = node.get('marks', [])
    if parent == 'codeBlock' and marks:
        return 'code block text cannot have marks'
    for m in marks:
        if not isinstance(m, dict) or m.get('type') not in _INLINE_MARKS:
            return f'unsupported mark {m!r:.80}'
        if m['type'] == 'link':
            href = (m.get('attrs') or {}).get('href')
            if not isinstance(href, str) or not re.match(r'https?://', href):
                return 'link marks need attrs.href'
    return None


def adf_text(doc):
    """All text of an ADF document, blocks separated by newlines."""
    out = []
    for block in (doc or {}).get('content', []):
        parts = []
        for node in block.get('content', []):
            parts.append(node.get('text', '\n') if node.get('type') == 'text'
                         else '\n')
        out.append(''.join(parts))
    return '\n'.join(out)


def _err(status, messages=(), errors=None, headers=None):
    return Response(status, json.dumps({'errorMessages': list(messages),
                                        'errors': errors or {}}),
                    headers=headers or {})


class Jira(WebApiFake):
    name = 'jira'
    failure_key = 'route'

    def defaults(self):
        return {'email': DEFAULT_EMAIL, 'token': DEFAULT_TOKEN,
                'projects': ['OPS'], 'issue_types': ['Task', 'Bug'],
                'search_lag_s': 0, 'workflow': 'default'}

    def reset_state(self):
        self.issues = {}            # key -> issue dict
        self.next_id = 10000
        self.counters = {}          # project -> last number

    def summary(self):
        with self.lock:
            return {'jira_requests': len(self.requests),
                    'jira_issues': len(self.issues)}

    def routes(self):
        p = PREFIX + '/rest/api/3'
        key = r'(?P<key>[A-Z][A-Z0-9_]+-[0-9]+)'
        return [
            ('POST', p + r'/search/jql', self._wrap('search', self._search)),
            ('GET', p + r'/search', self._gone),
            ('POST', p + r'/search', self._gone),
            ('POST', p + r'/issue', self._wrap('create', self._create)),
            ('GET', p + r'/issue/' + key, self._wrap('get', self._get)),
            ('GET', p + r'/issue/' + key + r'/comment',
             self._wrap('comments', self._comments)),
            ('POST', p + r'/issue/' + key + r'/comment',
             self._wrap('comment', self._add_comment)),
            ('GET', p + r'/issue/' + key + r'/transitions',
             self._wrap('transitions', self._transitions)),
            ('POST', p + r'/issue/' + key + r'/transitions',
             self._wrap('transition', self._transition)),
            ('POST', r'/_admin/jira', self._admin_config),
            ('POST', r'/_admin/jira/fail', self._admin_fail),
            ('GET', r'/_admin/jira', self._admin_get),
        ]

    # -- admin ---------------------------------------------------------------

    def _admin_config(self, req):
        def check(k, v):
            if k == 'workflow' and v not in WORKFLOWS:
                raise HttpError(400, f'workflow must be one of '
                                f'{sorted(WORKFLOWS)}')
        return self.set_config(req.json(), check)

    def _admin_fail(self, req):
        f = req.json()
        if not isinstance(f, dict) or not isinstance(f.get('route'), str) \
                or not isinstance(f.get('status'), int):
            raise HttpError(400, 'fail: {"route", "status", "count", '
                            '"retry_after", "after_effect"}')
        self.queue_failure(f)
        return {'ok': True}

    def _admin_get(self, req):
        with self.lock:
            return {'issues': [dict(i) for i in self.issues.values()],
                    'requests': list(self.requests),
                    'config': self.public_config(),
                    'failures': list(self.failures)}

    # -- plumbing ------------------------------------------------------------

    def _auth(self, req):
        h = req.headers.get('Authorization')
        if h is None:
            return 'missing'
        want = base64.b64encode(f"{self.config['email']}:"
                                f"{self.config['token']}".encode()).decode()
        return 'valid' if h == 'Basic ' + want else 'invalid'

    def _wrap(self, route, handler):
        def run(req):
            with self.lock:
                auth = self._auth(req)
                try:
                    body = req.json() if req.body else None
                except HttpError:
                    body = {'_invalid_json': True}
                record = {'route': route, 'method': req.method,
                          'path': req.path, 'query': dict(req.query),
                          'auth': auth, 'body': body,
                          'accept': req.headers.get('Accept'),
                          'contentType': req.headers.get('Content-Type'),
                          'at': time.time()}
                self.requests.append(record)
                resp = self._dispatch(route, handler, req, auth, body)
                record['status'] = resp.status
                return resp
        return run

    def _dispatch(self, route, handler, req, auth, body):
        f = self.take_failure(route)
        if f is not None and not f.get('after_effect'):
            return self._failure(f)
        if auth != 'valid':
            return Response(401, json.dumps({
                'errorMessages': ['You are not authenticated. '
                                  'Authentication required to perform '
                                  'this operation.'], 'errors': {}}))
        if isinstance(body, dict) and body.get('_invalid_json'):
            return _err(400, ['Unexpected character in the request body.'])
        resp = handler(req, body)
        if f is not None:          # after_effect: the work is done
            return self._failure(f)
        return resp

    @staticmethod
    def _failure(f):
        headers = {}
        if f.get('retry_after') is not None:
            headers['Retry-After'] = str(f['retry_after'])
        status = f['status']
        if status == 429:
            return _err(429, ['Rate limit exceeded.'], headers=headers)
        if status >= 500:
            return _err(status, ['Internal server error.'], headers=headers)
        return _err(status, [f.get('message', 'Injected failure.')],
                    f.get('errors'), headers)

    def _gone(self, req):
        with self.lock:
            self.requests.append({'route': 'legacy-search',
                                  'method': req.method, 'path': req.path,
                                  'status': 410, 'at': time.time()})
        return _err(410, ['The requested API has been removed. Please '
                          'migrate to the /rest/api/3/search/jql API. A '
                          'full migration guideline is available at '
                          'https://developer.atlassian.com/changelog/'
                          '#CHANGE-2046'])

    def _view(self, issue, fields=None):
        st = issue['status']
        all_fields = {
            'summary': issue['summary'],
            'labels': list(issue['labels']),
            'status': {'name': st, 'statusCategory': {
                'key': STATUSES[st], 'name': st}},
            'issuetype': {'name': issue['issuetype']},
            'project': {'key': issue['project']},
            'description': issue['description'],
        }
        if fields is not None:
            all_fields = {k: v for k, v in all_fields.items() if k in fields}
        return {'id': issue['id'], 'key': issue['key'],
                'self': f'{PREFIX}/rest/api/3/issue/{issue["id"]}',
                'fields': all_fields}

    # -- handlers (called with the lock held) ----------------------------------

    def _search(self, req, body):
        if not isinstance(body, dict) or not isinstance(body.get('jql'), str):
            return _err(400, ['The JQL query is required.'])
        m = _JQL.fullmatch(body['jql'])
        if not m:
            return _err(400, ["Error in the JQL Query: the query "
                              f"{body['jql']!r} is not supported here."])
        project, label = m.group('project'), m.group('label')
        if project not in self.config['projects']:
            return _err(400, [f"The value '{project}' does not exist for "
                              "the field 'project'."])
        lag = self.config['search_lag_s']
        now = time.time()
        hits = [i for i in self.issues.values()
                if i['project'] == project and
                (label is None or label in i['labels']) and
                now - i['created_at'] >= lag]
        hits.sort(key=lambda i: i['created_at'],
                  reverse=(m.group('order') or 'ASC').upper() == 'DESC')
        limit = body.get('maxResults', 50)
        if not isinstance(limit, int) or limit < 0:
            return _err(400, ['maxResults must be a non-negative integer.'])
        fields = body.get('fields')
        fields = fields if isinstance(fields, list) else []
        issues = [self._view(i, fields) for i in hits[:limit]]
        return Response(200, json.dumps({'issues': issues,
                                         'isLast': len(hits) <= limit}))

    def _create(self, req, body):
        fields = body.get('fields') if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _err(400, ['fields is required.'])
        errors = {}
        project = (fields.get('project') or {}).get('key')
        if project not in self.config['projects']:
            errors['project'] = 'valid project is required'
        itype = (fields.get('issuetype') or {}).get('name')
        if itype not in self.config['issue_types']:
            errors['issuetype'] = 'The issue type selected is invalid.'
        summary = fields.get('summary')
        if not isinstance(summary, str) or not summary.strip():
            errors['summary'] = 'You must specify a summary of the issue.'
        elif len(summary) > 255:
            errors['summary'] = 'Summary must be less than 255 characters.'
        elif '\n' in summary or '\r' in summary:
            errors['summary'] = 'The summary is invalid because it ' \
                'contains newline characters.'
        labels = fields.get('labels', [])
        if not isinstance(labels, list) or not all(
                isinstance(x, str) and x and ' ' not in x and len(x) <= 255
                for x in labels):
            errors['labels'] = 'Labels cannot contain spaces.'
        desc = fields.get('description')
        if desc is not None:
            if isinstance(desc, str):
                errors['description'] = 'Operation value must be an ' \
                    'Atlassian Document (see the Atlassian Document Format)'
            else:
                problem = _adf_error(desc)
                if problem:
                    errors['description'] = problem
        unknown = set(fields) - {'project', 'issuetype', 'summary', 'labels',
                                 'description', 'priority'}
        for k in unknown:
            errors[k] = f"Field '{k}' cannot be set. It is not on the " \
                "appropriate screen, or unknown."
        if errors:
            return _err(400, [], errors)
        n = self.counters.get(project, 0) + 1
        self.counters[project] = n
        self.next_id += 1
        key = f'{project}-{n}'
        issue = {'id': str(self.next_id), 'key': key, 'project': project,
                 'issuetype': itype, 'summary': summary,
                 'labels': list(labels), 'description': desc,
                 'status': 'To Do', 'comments': [], 'transitions': [],
                 'created_at': time.time()}
        self.issues[key] = issue
        return Response(201, json.dumps({
            'id': issue['id'], 'key': key,
            'self': f'{PREFIX}/rest/api/3/issue/{issue["id"]}'}))

    def _issue(self, req):
        return self.issues.get(req.match.group('key'))

    @staticmethod
    def _not_found():
        return _err(404, ['Issue does not exist or you do not have '
                          'permission to see it.'])

    def _get(self, req, body):
        issue = self._issue(req)
        if issue is None:
            return self._not_found()
        fields = req.query.get('fields')
        return Response(200, json.dumps(self._view(
            issue, fields.split(',') if fields else None)))

    def _comments(self, req, body):
        issue = self._issue(req)
        if issue is None:
            return self._not_found()
        comments = list(issue['comments'])
        if req.query.get('orderBy') == '-created':
            comments.reverse()
        try:
            limit = int(req.query.get('maxResults', '50'))
        except ValueError:
            return _err(400, ['maxResults must be an integer.'])
        return Response(200, json.dumps({
            'comments': comments[:limit], 'startAt': 0,
            'maxResults': limit, 'total': len(comments)}))

    def _add_comment(self, req, body):
        issue = self._issue(req)
        if issue is None:
            return self._not_found()
        doc = body.get('body') if isinstance(body, dict) else None
        problem = _adf_error(doc)
        if problem:
            return _err(400, [], {'comment': problem})
        self.next_id += 1
        c = {'id': str(self.next_id), 'body': doc,
             'created': time.strftime('%Y-%m-%dT%H:%M:%S.000+0000',
                                      time.gmtime())}
        issue['comments'].append(c)
        return Response(201, json.dumps(c))

    def _offered(self, issue):
        wf = WORKFLOWS[self.config['workflow']]
        return wf.get(issue['status'], [])

    def _transitions(self, req, body):
        issue = self._issue(req)
        if issue is None:
            return self._not_found()
        out = [{'id': tid, 'name': name, 'to': {
            'name': to, 'statusCategory': {'key': STATUSES[to],
                                           'name': to}}}
               for tid, name, to in self._offered(issue)]
        return Response(200, json.dumps({'transitions': out}))

    def _transition(self, req, body):
        issue = self._issue(req)
        if issue is None:
            return self._not_found()
        tid = ((body or {}).get('transition') or {}).get('id') \
            if isinstance(body, dict) else None
        for t, name, to in self._offered(issue):
            if t == tid:
                issue['status'] = to
                issue['transitions'].append({'id': t, 'name': name,
                                             'to': to, 'at': time.time()})
                return Response(204, b'')
        return _err(400, [f"Transition id '{tid}' is not valid for this "
                          "issue."])


SERVICES = [Jira]
