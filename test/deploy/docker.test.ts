// docker-compose.yml, the LocalStack init script and the fauxqs init file must
// create exactly the bucket and queues serverless.yml's `localstack` stage
// expects, and `npm run deploy:localstack` must send every AWS call to
// LocalStack. No Docker here: the compose file is parsed, the init script runs
// against a stand-in `awslocal` that records its calls, and the deploy runs
// against a stand-in endpoint.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { PROJECT_ROOT, RESOURCES } from '../../local/resources.ts';
import { fauxqsInit, fauxqsInitText, FAUXQS_INIT_FILE } from '../../localstack/fauxqs-init.ts';
import { createWorkspace, readJson, run, serverless, testEnv } from './support/serverless-workspace.ts';
import type { Workspace } from './support/serverless-workspace.ts';

type Json = Record<string, unknown>;

function record(value: unknown, what: string): Json {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is not an object: ${JSON.stringify(value)}`);
  return value as Json;
}

function strings(value: unknown, what: string): string[] {
  assert.ok(Array.isArray(value) && value.every((item) => typeof item === 'string'), `${what} is not a list of strings`);
  return value as string[];
}

interface Service {
  image: string;
  profiles?: string[];
  ports: string[];
  environment: Record<string, string>;
  volumes: string[];
}

interface ExpectedResources {
  bucket: string;
  queue: string;
  deadLetterQueue: string;
  endpointPort: number;
  visibilityTimeout: number;
  queueRetention: number;
  deadLetterRetention: number;
  maxReceiveCount: number;
}

let workspace: Workspace;
let compose: { services: Record<string, Service>; networks: Json };
let expected: ExpectedResources;
let localEnvironment: Json;

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no ${name} service`);
  return found;
}

/** host:container mounts of a service, with the host side resolved from the project folder. */
function mounts(svc: Service): Array<{ host: string; container: string }> {
  return svc.volumes
    .filter((volume) => volume.startsWith('./') || volume.startsWith('/'))
    .map((volume) => {
      const [host = '', container = ''] = volume.split(':');
      return { host: host.startsWith('./') ? resolve(PROJECT_ROOT, host) : host, container };
    });
}

function hostPath(svc: Service, containerPath: string): string {
  for (const mount of mounts(svc)) {
    if (containerPath === mount.container) return mount.host;
    if (containerPath.startsWith(`${mount.container}/`)) return join(mount.host, containerPath.slice(mount.container.length + 1));
  }
  throw new Error(`${containerPath} is not mounted from the project`);
}

/** '127.0.0.1:4566:4566' -> host port and container port. */
function published(svc: Service): Array<{ host: number; container: number }> {
  return svc.ports.map((port) => {
    const parts = port.split(':');
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

before(async () => {
  compose = parse(readFileSync(resolve(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as typeof compose;
  workspace = createWorkspace('docker-stage');
  const printed = await serverless(workspace, ['print', '--stage', 'localstack', '--format', 'json'], testEnv({}), 60_000);
  assert.equal(printed.code, 0, `serverless print --stage localstack failed:\n${printed.output}`);
  const config = record(JSON.parse(printed.stdout), 'serverless print');
  localEnvironment = record(record(config.provider, 'provider').environment, 'environment');
  const resources = record(record(config.resources, 'resources').Resources, 'Resources');
  const queue = record(record(resources.JobsQueue, 'JobsQueue').Properties, 'JobsQueue');
  const dlq = record(record(resources.JobsDeadLetterQueue, 'JobsDeadLetterQueue').Properties, 'JobsDeadLetterQueue');
  const queueUrl = new URL(String(localEnvironment.QUEUE_URL));
  expected = {
    bucket: String(localEnvironment.BUCKET_NAME),
    queue: queueUrl.pathname.split('/').at(-1) ?? '',
    deadLetterQueue: String(dlq.QueueName),
    endpointPort: Number(new URL(String(localEnvironment.AWS_ENDPOINT_URL)).port),
    visibilityTimeout: Number(queue.VisibilityTimeout),
    queueRetention: Number(queue.MessageRetentionPeriod),
    deadLetterRetention: Number(dlq.MessageRetentionPeriod),
    maxReceiveCount: Number(record(queue.RedrivePolicy, 'RedrivePolicy').maxReceiveCount),
  };
  assert.equal(queue.QueueName, expected.queue, 'QUEUE_URL names another queue than the template');
  assert.equal(record(record(resources.ImagesBucket, 'ImagesBucket').Properties, 'ImagesBucket').BucketName, expected.bucket);
});

after(() => workspace?.remove());

describe('docker-compose.yml', () => {
  test('every image pinned to a version (or a digest), none to latest; fauxqs to the version npm installs', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const image = svc.image.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
      const pinned = /@sha256:[0-9a-f]{64}$/.test(image) || /:(v?\d+\.\d+\.\d+)$/.test(image);
      assert.ok(pinned, `${name}: ${svc.image} is not pinned to a version`);
      assert.ok(!/:latest\b/.test(svc.image), `${name}: ${svc.image}`);
    }
    const fauxqs = readJson<{ version: string }>(resolve(PROJECT_ROOT, 'node_modules/fauxqs/package.json')).version;
    assert.equal(service('fauxqs').image, `kibertoad/fauxqs:${fauxqs}`);
  });

  test('LocalStack: auth token passed through, init scripts and resources.json mounted, on the emulator port', () => {
    const localstack = service('localstack');
    assert.deepEqual(localstack.profiles, ['localstack']);
    assert.match(localstack.environment.LOCALSTACK_AUTH_TOKEN ?? '', /^\$\{LOCALSTACK_AUTH_TOKEN(:?-[^}]*)?\}$/, 'the token is written in the file');
    assert.ok(mounts(localstack).some((m) => m.container === '/etc/localstack/init/ready.d' && m.host === resolve(PROJECT_ROOT, 'localstack/ready.d')));
    assert.equal(hostPath(localstack, localstack.environment.RESOURCES_FILE ?? ''), resolve(PROJECT_ROOT, 'resources.json'));
    assert.equal(localstack.environment.STAGE, 'localstack');
    assert.deepEqual(published(localstack), [{ host: expected.endpointPort, container: 4566 }]);
    assert.equal(expected.endpointPort, RESOURCES.emulatorPort);
    for (const mount of mounts(localstack)) if (mount.host !== '/var/run/docker.sock') assert.ok(existsSync(mount.host), `${mount.host} missing`);
  });

  test('fauxqs behind its own profile, with the generated init file, on the same port', () => {
    const fauxqs = service('fauxqs');
    assert.deepEqual(fauxqs.profiles, ['fauxqs']);
    assert.equal(hostPath(fauxqs, fauxqs.environment.FAUXQS_INIT ?? ''), FAUXQS_INIT_FILE);
    assert.deepEqual(published(fauxqs), [{ host: expected.endpointPort, container: 4566 }]);
  });

  test('libSQL server on the port serverless.yml uses; Lambda containers join its network', () => {
    const libsql = service('libsql');
    assert.equal(libsql.profiles, undefined, 'the database runs with either emulator');
    assert.deepEqual(published(libsql), [{ host: RESOURCES.libsqlPort, container: 8080 }]);
    assert.equal(new URL(String(localEnvironment.LIBSQL_URL)).port, String(RESOURCES.libsqlPort));
    assert.equal(record(record(compose.networks, 'networks').default, 'default network').name, service('localstack').environment.LAMBDA_DOCKER_NETWORK);
  });
});

describe('the emulators create what the localstack stage expects', () => {
  test('localstack/ready.d/create-resources.sh: that bucket (private, encrypted) and those two queues, nothing else', async () => {
    const localstack = service('localstack');
    const dir = mkdtempSync(join(tmpdir(), 'awslocal-'));
    try {
      const log = join(dir, 'calls.jsonl');
      // Stands in for LocalStack's awslocal: records the call, answers what the script reads back.
      writeFileSync(
        join(dir, 'awslocal'),
        `#!${process.execPath}
const args = process.argv.slice(2);
require('node:fs').appendFileSync(process.env.AWSLOCAL_LOG, JSON.stringify(args) + '\\n');
const value = (name) => args[args.indexOf(name) + 1];
if (args[1] === 'head-bucket') process.exit(254);
if (args[1] === 'create-queue') console.log('http://localhost.localstack.cloud:4566/000000000000/' + value('--queue-name'));
if (args[1] === 'get-queue-attributes') console.log('arn:aws:sqs:us-east-1:000000000000:' + value('--queue-url').split('/').pop());
`,
      );
      chmodSync(join(dir, 'awslocal'), 0o755);
      const scripts = ['create-resources.sh'];
      for (const script of scripts) {
        const result = await run('sh', [resolve(PROJECT_ROOT, 'localstack/ready.d', script)], {
          cwd: dir,
          env: {
            PATH: `${dir}:${process.env.PATH ?? ''}`,
            AWSLOCAL_LOG: log,
            STAGE: localstack.environment.STAGE ?? '',
            RESOURCES_FILE: hostPath(localstack, localstack.environment.RESOURCES_FILE ?? ''),
          },
          timeoutMs: 30_000,
        });
        assert.equal(result.code, 0, result.output);
      }
      const calls = readFileSync(log, 'utf8').trim().split('\n').map((line) => strings(JSON.parse(line), 'call'));
      const value = (call: string[], name: string): string => call[call.indexOf(name) + 1] ?? '';
      const buckets = calls.filter((c) => c[1] === 'create-bucket').map((c) => value(c, '--bucket'));
      assert.deepEqual(buckets, [expected.bucket]);
      const configured = calls.filter((c) => c[0] === 's3api' && c[1] !== 'head-bucket' && c[1] !== 'create-bucket');
      assert.deepEqual(configured.map((c) => [c[1], value(c, '--bucket')]).sort(), [
        ['put-bucket-encryption', expected.bucket],
        ['put-public-access-block', expected.bucket],
      ]);
      assert.match(value(configured.find((c) => c[1] === 'put-public-access-block') ?? [], '--public-access-block-configuration'), /^(\w+=true,){3}\w+=true$/);
      const queues = calls.filter((c) => c[1] === 'create-queue');
      assert.deepEqual(queues.map((c) => value(c, '--queue-name')), [expected.deadLetterQueue, expected.queue]);
      const [dlqCall, queueCall] = queues;
      assert.equal(value(dlqCall ?? [], '--attributes'), `MessageRetentionPeriod=${expected.deadLetterRetention}`);
      const attributes = record(JSON.parse(value(queueCall ?? [], '--attributes')), 'queue attributes');
      assert.equal(attributes.VisibilityTimeout, String(expected.visibilityTimeout));
      assert.equal(attributes.MessageRetentionPeriod, String(expected.queueRetention));
      assert.deepEqual(JSON.parse(String(attributes.RedrivePolicy)), {
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${expected.deadLetterQueue}`,
        maxReceiveCount: String(expected.maxReceiveCount),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('localstack/fauxqs-init.json is up to date (npm run localstack:init) and creates the same', () => {
    assert.equal(readFileSync(FAUXQS_INIT_FILE, 'utf8'), fauxqsInitText(), 'run npm run localstack:init');
    const init = fauxqsInit();
    assert.deepEqual(init.buckets, [expected.bucket]);
    assert.deepEqual(
      init.queues.map((q) => q.name),
      [expected.deadLetterQueue, expected.queue],
    );
    const [dlq, queue] = init.queues;
    assert.equal(dlq?.attributes.MessageRetentionPeriod, String(expected.deadLetterRetention));
    assert.equal(queue?.attributes.VisibilityTimeout, String(expected.visibilityTimeout));
    assert.equal(queue?.attributes.MessageRetentionPeriod, String(expected.queueRetention));
    assert.deepEqual(JSON.parse(queue?.attributes.RedrivePolicy ?? '{}'), {
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${expected.deadLetterQueue}`,
      maxReceiveCount: String(expected.maxReceiveCount),
    });
  });
});

test('npm run deploy:localstack packages the stack and sends every AWS call to the LocalStack endpoint', async () => {
  const requests: Array<{ host: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ host: req.headers.host ?? '', body });
      // Every call is refused: the deploy stops after its first CloudFormation calls.
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>refused by the test</Message></Error><RequestId>1</RequestId></ErrorResponse>');
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  try {
    const result = await run('npm', ['run', 'deploy:localstack'], {
      cwd: workspace.dir,
      env: testEnv({ LOCALSTACK_ENDPOINT: `http://127.0.0.1:${port}` }),
      timeoutMs: 150_000,
    });
    assert.ok(!result.timedOut, result.output);
    assert.notEqual(result.code, 0, 'a refused deploy reported success');
    assert.match(result.output, /refused by the test/, result.output);
    assert.ok(requests.length > 0);
    for (const request of requests) assert.equal(request.host, `127.0.0.1:${port}`);
    assert.ok(requests.some((r) => r.body.includes('Action=DescribeStacks') && r.body.includes('StackName=imageprocessingapi-localstack-deploy')));
  } finally {
    server.close();
  }
  // What it would have deployed: the AWS template, with the compose network's database.
  const template = readJson<{ Resources: Record<string, { Type: string; Properties?: Json }> }>(
    join(workspace.dir, '.serverless/cloudformation-template-update-stack.json'),
  );
  const fn = record(template.Resources.ProcessImagesLambdaFunction?.Properties, 'processor');
  const env = record(record(fn.Environment, 'Environment').Variables, 'Variables');
  assert.deepEqual(env.AWS_ENDPOINT_URL, { Ref: 'AWS::NoValue' }, 'LocalStack sets the endpoint inside its Lambda containers');
  const libsql = new URL(String(env.LIBSQL_URL));
  assert.ok(libsql.hostname in compose.services, `${libsql.hostname} is not a compose service`);
  assert.ok(published(service(libsql.hostname)).some((p) => String(p.container) === libsql.port));
  assert.equal(template.Resources.JobsQueue?.Type, 'AWS::SQS::Queue');
});
