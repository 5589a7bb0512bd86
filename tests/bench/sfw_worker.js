'use strict';
// The Node peer in `make bench`: step-function-worker 2.1.0 (npm, on
// aws-sdk v2), the activity worker Node users reach for, doing the same
// echo activity as healer, with `concurrency` pollers. The driver runs it
// twice: as shipped ("node-default": aws-sdk v2's agent without keep-alive,
// a new connection per request) and tuned ("node": keep-alive on with
// AWS_NODEJS_CONNECTION_REUSE_ENABLED=1, set by the driver).
//
// Environment: AWS_ENDPOINT_URL, AWS_REGION (must match the ARN's region:
// the library checks it), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN (optional), BENCH_ACTIVITY_ARN, BENCH_THREADS (pollers).
// SIGTERM exits at once: the bench stops a worker only when its activity
// has no task left, so no task is lost.

const StepFunctionWorker = require('step-function-worker');

const env = process.env;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let errors = 0;

const worker = new StepFunctionWorker({
	activityArn: env.BENCH_ACTIVITY_ARN,
	workerName: 'node',
	concurrency: Number(env.BENCH_THREADS || '8'),
	logger: quiet,
	fn: (input, cb) => cb(null, { echo: input, worker: 'node' }),
	awsConfig: {
		endpoint: env.AWS_ENDPOINT_URL,
		region: env.AWS_REGION,
		accessKeyId: env.AWS_ACCESS_KEY_ID,
		secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
		sessionToken: env.AWS_SESSION_TOKEN || undefined,
		maxRetries: 3,
	},
});

// Without a listener an 'error' event would throw; count and report them.
worker.on('error', (e) => {
	errors++;
	if (errors <= 5)
		process.stderr.write('sfw_worker: ' + String((e && e.err) || e) + '\n');
});

process.on('SIGTERM', () => process.exit(errors ? 1 : 0));
