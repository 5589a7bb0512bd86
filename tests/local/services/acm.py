"""ACM stand-in: certificates of every kind, DescribeCertificate and
RenewCertificate.

Operations (CertificateManager, JSON 1.1): DescribeCertificate,
RenewCertificate.

Certificates are created through the admin API in ACM's own shape (the
CertificateDetail members: Type, Status, RenewalEligibility, NotAfter,
DomainValidationOptions, RenewalSummary, InUseBy, Options, ManagedBy, ...),
so a test states exactly what DescribeCertificate will answer.  Missing
members get defaults (AMAZON_ISSUED, ISSUED, ELIGIBLE, expires in 30 days).

RenewCertificate follows ACM's rules as aws-api-notes section 4 records them:
only PRIVATE certificates, or AMAZON_ISSUED ones with Options.Export
ENABLED, that are RenewalEligibility ELIGIBLE can be renewed (others:
ValidationException); a renewal already running is
RequestInProgressException.  What the renewal then does is the
certificate's ``sim`` setting:
  {"renewOutcome": "success" | "failed" | "pending", "renewDelayReads": 1,
   "renewError": null | [code, message] (RenewCertificate answers it)}
after renewDelayReads DescribeCertificate calls, success moves NotAfter
395 days on (RenewalSummary SUCCESS); failed leaves NotAfter and sets
RenewalSummary FAILED (PCA_ACCESS_DENIED); pending stays
PENDING_AUTO_RENEWAL.

Admin:
  POST /_admin/acm/certificates   {CertificateDetail members..., "sim"?}
  GET  /_admin/acm/certificates   every certificate (as described now)
  GET  /_admin/acm/renewals       every RenewCertificate call
"""

import copy
import threading
import time
import uuid

from localaws.errors import AwsError
from localaws.service import HttpError, Service, operation

DAY = 86400


def _err(code, message):
    return AwsError(code, message, 400)


class ACM(Service):
    name = 'acm'
    target_prefix = 'CertificateManager'
    botocore_name = 'acm'

    def __init__(self, endpoint):
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.certs = {}
        self.renewals = []

    def reset(self):
        with self.lock:
            self.certs = {}
            self.renewals = []

    def summary(self):
        with self.lock:
            return {'acm_certificates': len(self.certs),
                    'acm_renewals': len(self.renewals)}

    # -- AWS operations -----------------------------------------------------

    def _get(self, arn):
        c = self.certs.get(arn)
        if c is None:
            raise _err('ResourceNotFoundException',
                       f'Could not find certificate {arn}.')
        return c

    @operation('DescribeCertificate')
    def describe_certificate(self, req):
        with self.lock:
            c = self._get(req.params['CertificateArn'])
            r = c['renewal']
            if r is not None and not r['done']:
                r['reads'] += 1
                if r['reads'] >= c['sim'].get('renewDelayReads', 1):
                    self._complete(c)
            return {'Certificate': copy.deepcopy(c['detail'])}

    def _complete(self, c):
        d, r = c['detail'], c['renewal']
        outcome = c['sim'].get('renewOutcome', 'success')
        now = time.time()
        if outcome == 'pending':
            return
        r['done'] = True
        summary = d.setdefault('RenewalSummary', {})
        summary['UpdatedAt'] = now
        if outcome == 'success':
            d['NotBefore'] = now
            d['NotAfter'] = max(d.get('NotAfter', now), now) + 395 * DAY
            summary['RenewalStatus'] = 'SUCCESS'
            summary.pop('RenewalStatusReason', None)
        else:
            summary['RenewalStatus'] = 'FAILED'
            summary['RenewalStatusReason'] = 'PCA_ACCESS_DENIED'

    @operation('RenewCertificate')
    def renew_certificate(self, req):
        arn = req.params['CertificateArn']
        with self.lock:
            self.renewals.append({'arn': arn, 'at': time.time()})
            c = self._get(arn)
            d = c['detail']
            forced = c['sim'].get('renewError')
            if forced:
                raise _err(forced[0], forced[1])
            exportable = d.get('Options', {}).get('Export') == 'ENABLED'
            if d.get('Type') == 'IMPORTED' or (
                    d.get('Type') == 'AMAZON_ISSUED' and not exportable):
                raise _err('ValidationException',
                           f'Certificate {arn} cannot be renewed with '
                           'RenewCertificate: only private or exported '
                           'certificates can be renewed.')
            if d.get('RenewalEligibility') != 'ELIGIBLE':
                raise _err('ValidationException',
                           f'Certificate {arn} is not eligible for renewal.')
            if c['renewal'] is not None and not c['renewal']['done']:
                raise _err('RequestInProgressException',
                           f'Certificate {arn} renewal is in progress.')
            c['renewal'] = {'reads': 0, 'done': False}
            d['RenewalSummary'] = {
                'RenewalStatus': 'PENDING_AUTO_RENEWAL',
                'DomainValidationOptions': copy.deepcopy(
                    d.get('DomainValidationOptions', [])),
                'UpdatedAt': time.time()}
            return {}

    # -- admin ----------------------------------------------------------------

    def routes(self):
        return [
            ('POST', r'/_admin/acm/certificates', self._admin_put),
            ('GET', r'/_admin/acm/certificates', self._admin_list),
            ('GET', r'/_admin/acm/renewals', self._admin_renewals),
        ]

    def _admin_put(self, req):
        body = req.json()
        sim = body.pop('sim', {}) or {}
        if not isinstance(sim, dict):
            raise HttpError(400, 'sim must be an object')
        if sim.get('renewOutcome', 'success') not in ('success', 'failed',
                                                      'pending'):
            raise HttpError(400, 'sim.renewOutcome must be success, failed '
                            'or pending')
        now = time.time()
        ep = self.endpoint
        arn = body.get('CertificateArn') or (
            f'arn:aws:acm:{ep.region}:{ep.account}:certificate/{uuid.uuid4()}')
        detail = {'CertificateArn': arn, 'DomainName': 'www.example.com',
                  'SubjectAlternativeNames': ['www.example.com'],
                  'Type': 'AMAZON_ISSUED', 'Status': 'ISSUED',
                  'RenewalEligibility': 'ELIGIBLE', 'InUseBy': [],
                  'CreatedAt': now - 335 * DAY, 'IssuedAt': now - 335 * DAY,
                  'NotBefore': now - 335 * DAY, 'NotAfter': now + 30 * DAY,
                  'KeyAlgorithm': 'RSA-2048',
                  'SignatureAlgorithm': 'SHA256WITHRSA',
                  'Serial': '0a:1b:2c:3d', 'Subject': 'CN=www.example.com',
                  'Issuer': 'Amazon', 'Options': {
                      'CertificateTransparencyLoggingPreference': 'ENABLED'}}
        detail.update(body)
        with self.lock:
            self.certs[arn] = {'detail': detail, 'sim': sim, 'renewal': None}
        return {'CertificateArn': arn}

    def _admin_list(self, req):
        with self.lock:
            return {'certificates': [copy.deepcopy(c['detail'])
                                     for c in self.certs.values()]}

    def _admin_renewals(self, req):
        with self.lock:
            return {'renewals': list(self.renewals)}


SERVICES = [ACM]
