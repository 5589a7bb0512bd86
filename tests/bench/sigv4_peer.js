'use strict';
// SigV4 signatures per CPU-second with aws-sdk v2's signer (what
// step-function-worker uses), on the request sigv4_bench.c calls
// "GetActivityTask, short session token": same headers, body, keys and
// token. aws-sdk v2 caches the signing key per credentials/date/region/
// service, as healer does. Prints one JSON line {"sigv4_sigs_per_s": N}.
// argv[2]: seconds to run (default 2).
const AWS = require('aws-sdk');

const seconds = Number(process.argv[2] || '2');
const creds = new AWS.Credentials('ASIAEXAMPLEKEY123456',
	'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
	'FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/=');
const endpoint = new AWS.Endpoint('https://states.us-east-1.amazonaws.com/');
const body = '{"activityArn":"arn:aws:states:us-east-1:123456789012:activity:healer-diagnose",' +
	'"workerName":"healer-1"}';
const date = new Date(1714564800 * 1000);

function cpuSeconds() {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
}

let n = 0;
const start = Date.now();
const cpu0 = cpuSeconds();
while (Date.now() - start < seconds * 1000) {
	for (let i = 0; i < 200; i++, n++) {
		const req = new AWS.HttpRequest(endpoint, 'us-east-1');
		req.method = 'POST';
		req.path = '/';
		req.body = body;
		req.headers['Content-Type'] = 'application/x-amz-json-1.0';
		req.headers['X-Amz-Target'] = 'AWSStepFunctions.GetActivityTask';
		req.headers['Content-Length'] = Buffer.byteLength(body);
		const signer = new AWS.Signers.V4(req, 'states', { signatureCache: true });
		signer.addAuthorization(creds, date);
	}
}
const cpu = cpuSeconds() - cpu0;
process.stdout.write(JSON.stringify({
	sigv4_sigs_per_s: cpu > 0 ? Math.round(n / cpu) : 0,
	signer: 'aws-sdk v2 AWS.Signers.V4',
}) + '\n');
