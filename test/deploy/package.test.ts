// `serverless package --stage dev` as a deploy would run it, offline and with
// dummy credentials; the CloudFormation template and the zips it writes are
// what `serverless deploy` would upload, so they are checked here.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import JSZip from 'jszip';
import { PROJECT_ROOT, RESOURCES } from '../../local/resources.ts';
import { DATABASE_BUSY_TIMEOUT_MS } from '../../lib/db/client.ts';
import { SDK_CALL_BUDGET_MS } from '../../lib/deps.ts';
import { originalKey, thumbnailKey, UPLOAD_PREFIX, uploadKey } from '../../lib/storage.ts';
import { validateAgainstSpec } from './support/cloudformation-spec.ts';
import type { TemplateShape } from './support/cloudformation-spec.ts';
import { createWorkspace, readJson, run, serverless, testEnv } from './support/serverless-workspace.ts';
import type { Workspace } from './support/serverless-workspace.ts';

const STAGE = 'dev';
const LIBSQL_URL = 'libsql://example.turso.io';
// Secrets in the deployer's shell while packaging: none may reach the template, an environment or a zip.
const SHELL_SECRETS = {
  LIBSQL_AUTH_TOKEN: 'eyJhbGciOiJFZERTQSJ9.eyJhIjoicnciLCJpYXQiOjE3MDB9.libsql-token-signature-0123456789',
  HF_TOKEN: 'hf_abcdefghijklmnopqrstuvwxyz0123456789',
  THUMBNAIL_URL_SECRET: 'thumbnail-url-secret-from-the-shell-0123456789',
};
const SERVICE = RESOURCES.service;

/** Function -> its handler file, as serverless.yml declares it. */
const FUNCTIONS = {
  uploadImage: 'upload-image',
  createUpload: 'create-upload',
  listImages: 'list-images',
  getImage: 'get-image',
  getThumbnail: 'get-thumbnail',
  getStats: 'get-stats',
  reprocessImage: 'reprocess-image',
  processImages: 'process-images',
  handleDeadLetters: 'handle-dead-letters',
  sweepImages: 'sweep-images',
  deleteImage: 'delete-image',
  getOpenapi: 'get-openapi',
  getGallery: 'get-gallery',
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

// Least privilege, exactly: action@resource for each function. A change in
// what a function calls must show up here.
// Every function reads the database token from SSM; those handing out or checking thumbnail links, their secret.
const LOGS = (fn: FunctionName): string[] => [`logs:CreateLogStream@logs:${fn}`, `logs:PutLogEvents@logs:${fn}`, 'ssm:GetParameter@libsql-auth-token'];
const LINK_SECRET = 'ssm:GetParameter@thumbnail-url-secret';
const SIGNERS: FunctionName[] = ['uploadImage', 'createUpload', 'listImages', 'getImage', 'getThumbnail', 'reprocessImage'];
const EXPECTED_PERMISSIONS: Record<FunctionName, string[]> = {
  uploadImage: [...LOGS('uploadImage'), LINK_SECRET, 's3:PutObject@originals', 's3:DeleteObject@originals', 'sqs:SendMessage@queue'],
  // A presigned POST stores with the signer's permission.
  createUpload: [...LOGS('createUpload'), LINK_SECRET, 's3:PutObject@uploads'],
  listImages: [...LOGS('listImages'), LINK_SECRET],
  getImage: [...LOGS('getImage'), LINK_SECRET],
  getThumbnail: [...LOGS('getThumbnail'), LINK_SECRET, 's3:GetObject@thumbnails'],
  getStats: LOGS('getStats'),
  reprocessImage: [...LOGS('reprocessImage'), LINK_SECRET, 'sqs:SendMessage@queue'],
  processImages: [
    ...LOGS('processImages'),
    's3:GetObject@originals',
    's3:GetObject@uploads',
    's3:DeleteObject@uploads',
    's3:PutObject@thumbnails',
    's3:GetObject@thumbnails',
    'sqs:ReceiveMessage@queue',
    'sqs:DeleteMessage@queue',
    'sqs:GetQueueAttributes@queue',
    'sqs:ChangeMessageVisibility@queue',
    'sqs:SendMessage@queue',
    'ssm:GetParameter@hf-token-parameter',
  ],
  handleDeadLetters: [
    ...LOGS('handleDeadLetters'),
    'sqs:ReceiveMessage@dlq',
    'sqs:DeleteMessage@dlq',
    'sqs:GetQueueAttributes@dlq',
    'sqs:ChangeMessageVisibility@dlq',
  ],
  sweepImages: [...LOGS('sweepImages'), 'sqs:SendMessage@queue', 's3:GetObject@uploads'],
  deleteImage: [...LOGS('deleteImage'), 's3:DeleteObject@originals', 's3:DeleteObject@uploads', 's3:DeleteObject@thumbnails'],
  // The OpenAPI document and the gallery page open no database: their logs only.
  getOpenapi: ['logs:CreateLogStream@logs:getOpenapi', 'logs:PutLogEvents@logs:getOpenapi'],
  getGallery: ['logs:CreateLogStream@logs:getGallery', 'logs:PutLogEvents@logs:getGallery'],
};

/** The AWS SDK v3 clients the Lambda runtime ships that the functions use: serverless.yml's esbuild `exclude`. */
const RUNTIME_SDK = ['@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@aws-sdk/client-ssm'];

type Json = Record<string, unknown>;
interface CfnResource {
  Type: string;
  Properties?: Json;
  DependsOn?: string | string[];
}
interface Template {
  Resources: Record<string, CfnResource>;
  Conditions?: Record<string, unknown>;
}

function record(value: unknown, what: string): Json {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is not an object: ${JSON.stringify(value)}`);
  return value as Json;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function logicalId(fn: FunctionName): string {
  return `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;
}

let workspace: Workspace;
let template: Template;
const zips = new Map<FunctionName, { path: string; bytes: number; entries: string[] }>();
const npmCpu = RESOURCES.lambdaArchitecture === 'arm64' ? 'arm64' : 'x64';

function resource(id: string): CfnResource {
  const found = template.Resources[id];
  assert.ok(found, `resource ${id} missing from the template`);
  return found;
}

function props(id: string): Json {
  return record(resource(id).Properties, `${id}.Properties`);
}

function functionProps(fn: FunctionName): Json {
  return props(logicalId(fn));
}

function environment(fn: FunctionName): Json {
  return record(record(functionProps(fn).Environment, 'Environment').Variables, 'Variables');
}

/** Only what CloudFormation would keep: `Ref: AWS::NoValue` removes the key. */
function isNoValue(value: unknown): boolean {
  return value !== null && typeof value === 'object' && (value as Json).Ref === 'AWS::NoValue';
}

function evaluateCondition(expression: unknown): boolean {
  const expr = record(expression, 'condition');
  if ('Fn::Not' in expr) return !evaluateCondition(list(expr['Fn::Not'])[0]);
  if ('Fn::Equals' in expr) {
    const [a, b] = list(expr['Fn::Equals']);
    assert.ok(typeof a === 'string' && typeof b === 'string', `condition compares non-literals: ${JSON.stringify(expr)}`);
    return a === b;
  }
  if ('Condition' in expr) return evaluateCondition(template.Conditions?.[String(expr.Condition)]);
  throw new Error(`condition not understood by the test: ${JSON.stringify(expr)}`);
}

/** Statements as deployed: Fn::If resolved with the template's conditions, AWS::NoValue dropped. */
function statements(document: unknown): Json[] {
  const result: Json[] = [];
  for (const item of list(record(document, 'policy document').Statement)) {
    let statement: unknown = item;
    const wrapped = record(statement, 'statement');
    if ('Fn::If' in wrapped) {
      const [name, whenTrue, whenFalse] = list(wrapped['Fn::If']);
      statement = evaluateCondition(template.Conditions?.[String(name)]) ? whenTrue : whenFalse;
    }
    if (isNoValue(statement)) continue;
    result.push(record(statement, 'statement'));
  }
  return result;
}

/** A readable name for a statement's resource, or a failure when it is not one specific resource. */
function resourceKind(value: unknown): string {
  if (typeof value === 'string') {
    assert.notEqual(value, '*', 'a statement grants on every resource');
    throw new Error(`literal resource ${value}: expected one built from the stack`);
  }
  const obj = record(value, 'resource');
  if ('Fn::GetAtt' in obj) {
    const [id, attribute] = list(obj['Fn::GetAtt']);
    assert.equal(attribute, 'Arn');
    if (id === 'JobsQueue') return 'queue';
    if (id === 'JobsDeadLetterQueue') return 'dlq';
    throw new Error(`unexpected resource ${String(id)}`);
  }
  const sub = obj['Fn::Sub'];
  assert.equal(typeof sub, 'string', `resource is neither GetAtt nor Sub: ${JSON.stringify(obj)}`);
  const arn = String(sub);
  assert.ok(arn.startsWith('arn:${AWS::Partition}:'), `${arn} is not an ARN`);
  // A wildcard only as the last path segment of a named resource (objects
  // under a prefix, streams of a log group), never for a service, account or region.
  const star = arn.indexOf('*');
  if (star !== -1) assert.ok(star === arn.length - 1 && /[/:]\*$/.test(arn), `${arn}: wildcard other than a trailing path segment`);
  const bucketPrefix = /^arn:\$\{AWS::Partition\}:s3:::\$\{ImagesBucket\}\/([a-z]+)\/\*$/.exec(arn);
  if (bucketPrefix) return String(bucketPrefix[1]);
  const logGroup = new RegExp(`^arn:\\$\\{AWS::Partition\\}:logs:\\$\\{AWS::Region\\}:\\$\\{AWS::AccountId\\}:log-group:/aws/lambda/${SERVICE}-${STAGE}-(\\w+):\\*$`).exec(arn);
  if (logGroup) return `logs:${logGroup[1]}`;
  const parameter = /^arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}:parameter(\/.+)$/.exec(arn);
  if (parameter) {
    // Each granted parameter is one a function reads, by the same name.
    const readers: Array<[string, unknown]> = [
      ['hf-token-parameter', environment('processImages').HF_TOKEN_PARAMETER],
      ['libsql-auth-token', environment('getStats').LIBSQL_AUTH_TOKEN_PARAMETER],
      ['thumbnail-url-secret', environment('getThumbnail').THUMBNAIL_URL_SECRET_PARAMETER],
    ];
    const reader = readers.find(([, name]) => name === parameter[1]);
    assert.ok(reader, `the policy names a parameter no function reads: ${parameter[1]}`);
    return reader[0];
  }
  throw new Error(`unexpected resource ${arn}`);
}

function permissions(roleId: string): string[] {
  const policies = list(props(roleId).Policies);
  const granted: string[] = [];
  for (const policy of policies) {
    for (const statement of statements(record(policy, 'policy').PolicyDocument)) {
      assert.equal(statement.Effect, 'Allow');
      for (const action of list(statement.Action)) {
        assert.equal(typeof action, 'string');
        assert.ok(!String(action).includes('*'), `wildcard action ${String(action)} in ${roleId}`);
        for (const res of list(statement.Resource)) granted.push(`${String(action)}@${resourceKind(res)}`);
      }
    }
  }
  return granted.sort();
}

async function listZip(path: string): Promise<string[]> {
  const zip = await JSZip.loadAsync(readFileSync(path));
  return Object.values(zip.files)
    .filter((entry) => !entry.dir)
    .map((entry) => entry.name);
}

async function extractZip(path: string, into: string): Promise<void> {
  const zip = await JSZip.loadAsync(readFileSync(path));
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    const target = join(into, entry.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await entry.async('nodebuffer'));
  }
}

before(async () => {
  workspace = createWorkspace('package-dev');
  const result = await serverless(workspace, ['package', '--stage', STAGE], testEnv({ LIBSQL_URL, AWS_REGION: 'us-east-1', ...SHELL_SECRETS }));
  assert.ok(!result.timedOut, `serverless package did not finish:\n${result.output}`);
  assert.equal(result.code, 0, `serverless package failed:\n${result.output}`);
  const out = join(workspace.dir, '.serverless');
  template = readJson<Template>(join(out, 'cloudformation-template-update-stack.json'));
  for (const fn of FUNCTION_NAMES) {
    const path = join(out, `${fn}.zip`);
    zips.set(fn, { path, bytes: statSync(path).size, entries: await listZip(path) });
  }
});

after(() => workspace?.remove());

describe('serverless package --stage dev: the CloudFormation template', () => {
  test('every function, its role and log group; the bucket, both queues and the HTTP API; no shared role', () => {
    for (const fn of FUNCTION_NAMES) {
      const fnResource = resource(logicalId(fn));
      assert.equal(fnResource.Type, 'AWS::Lambda::Function');
      assert.equal(resource(`${logicalId(fn).replace('LambdaFunction', 'LogGroup')}`).Type, 'AWS::Logs::LogGroup');
    }
    assert.equal(resource('ImagesBucket').Type, 'AWS::S3::Bucket');
    assert.equal(resource('JobsQueue').Type, 'AWS::SQS::Queue');
    assert.equal(resource('JobsDeadLetterQueue').Type, 'AWS::SQS::Queue');
    assert.equal(resource('HttpApi').Type, 'AWS::ApiGatewayV2::Api');
    assert.equal(template.Resources.IamRoleLambdaExecution, undefined, 'the shared default role is created');
    const roles = FUNCTION_NAMES.map((fn) => list(record(functionProps(fn).Role, 'Role')['Fn::GetAtt'])[0]);
    assert.equal(new Set(roles).size, FUNCTION_NAMES.length, `functions share a role: ${roles.join(', ')}`);
    const roleIds = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id);
    assert.deepEqual(roleIds.sort(), roles.map(String).sort(), 'a role is used by no function');
  });

  test('runtime nodejs22.x on the architecture of resources.json, memory and timeout set per function', () => {
    for (const fn of FUNCTION_NAMES) {
      const p = functionProps(fn);
      assert.equal(p.Runtime, 'nodejs22.x', fn);
      assert.deepEqual(p.Architectures, [RESOURCES.lambdaArchitecture], fn);
      assert.equal(p.Handler, `functions/${FUNCTIONS[fn]}.handler`);
      assert.equal(typeof p.MemorySize, 'number');
      assert.equal(typeof p.Timeout, 'number');
      // API Gateway gives an HTTP integration 30 s at most.
      if (!['processImages', 'handleDeadLetters', 'sweepImages'].includes(fn)) assert.ok(Number(p.Timeout) <= 30, fn);
    }
    assert.equal(functionProps('processImages').Timeout, RESOURCES.processorTimeoutSeconds);
  });

  test('upload timeout outlasts its slowest path: store and send each through every SDK attempt, insert and rollback each waiting for a locked database', () => {
    const slowest = 2 * SDK_CALL_BUDGET_MS + 2 * DATABASE_BUSY_TIMEOUT_MS;
    const timeoutMs = Number(functionProps('uploadImage').Timeout) * 1000;
    assert.ok(slowest < timeoutMs, `slowest upload path ${slowest} ms >= the function's ${timeoutMs} ms`);
  });

  test('leases last the queue visibility timeout: the processor, dead-letter handler and sweeper read the value of the queue itself', () => {
    const visibility = String(props('JobsQueue').VisibilityTimeout);
    for (const fn of ['processImages', 'handleDeadLetters', 'sweepImages'] as const) {
      assert.equal(String(environment(fn).QUEUE_VISIBILITY_TIMEOUT_SECONDS), visibility, fn);
    }
    assert.ok(Number(environment('processImages').MAX_IMAGE_SECONDS) < RESOURCES.processorTimeoutSeconds, 'the processor could never start a record');
  });

  test('queue: redrive to the dead-letter queue, visibility >= 6x the processor timeout, dead letters kept longer, encrypted', () => {
    const queue = props('JobsQueue');
    const dlq = props('JobsDeadLetterQueue');
    assert.equal(queue.QueueName, `${SERVICE}-${STAGE}-${RESOURCES.queueSuffix}`);
    assert.equal(dlq.QueueName, `${SERVICE}-${STAGE}-${RESOURCES.deadLetterQueueSuffix}`);
    const redrive = record(queue.RedrivePolicy, 'RedrivePolicy');
    assert.deepEqual(redrive.deadLetterTargetArn, { 'Fn::GetAtt': ['JobsDeadLetterQueue', 'Arn'] });
    assert.equal(redrive.maxReceiveCount, RESOURCES.maxReceiveCount);
    const processorTimeout = Number(functionProps('processImages').Timeout);
    assert.ok(Number(queue.VisibilityTimeout) >= 6 * processorTimeout, `visibility ${String(queue.VisibilityTimeout)} < 6 x ${processorTimeout}`);
    assert.ok(Number(dlq.MessageRetentionPeriod) > Number(queue.MessageRetentionPeriod));
    assert.equal(queue.SqsManagedSseEnabled, true);
    assert.equal(dlq.SqsManagedSseEnabled, true);
  });

  test('SQS event sources: partial batch responses, batch size and window as chosen', () => {
    const mappings = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    assert.equal(mappings.length, 2);
    const byQueue = new Map(mappings.map((m) => [list(record(record(m.Properties, 'mapping').EventSourceArn, 'arn')['Fn::GetAtt'])[0], record(m.Properties, 'mapping')]));
    const jobs = byQueue.get('JobsQueue');
    const dead = byQueue.get('JobsDeadLetterQueue');
    assert.ok(jobs && dead);
    assert.deepEqual(jobs.FunctionName, { 'Fn::GetAtt': ['ProcessImagesLambdaFunction', 'Arn'] });
    assert.deepEqual(jobs.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(jobs.BatchSize, 10);
    assert.equal(jobs.MaximumBatchingWindowInSeconds, 1);
    assert.ok(Number(record(jobs.ScalingConfig, 'ScalingConfig').MaximumConcurrency) >= 2);
    assert.deepEqual(dead.FunctionName, { 'Fn::GetAtt': ['HandleDeadLettersLambdaFunction', 'Arn'] });
    assert.deepEqual(dead.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(dead.BatchSize, 10);
    // Visibility must also cover the batching window.
    const visibility = Number(props('JobsQueue').VisibilityTimeout);
    assert.ok(visibility >= 6 * Number(functionProps('processImages').Timeout) + Number(jobs.MaximumBatchingWindowInSeconds));
  });

  test('IAM: each function gets exactly what it calls, on named resources only (no `*` resource anywhere)', () => {
    assert.ok(originalKey('id', 'jpg').startsWith('originals/'), 'lib/storage.ts no longer keeps originals under originals/');
    assert.ok(thumbnailKey('id', 'small').startsWith('thumbnails/'), 'lib/storage.ts no longer keeps thumbnails under thumbnails/');
    assert.ok(uploadKey('id').startsWith('uploads/'), 'lib/storage.ts no longer keeps direct uploads under uploads/');
    for (const fn of FUNCTION_NAMES) {
      const roleId = String(list(record(functionProps(fn).Role, 'Role')['Fn::GetAtt'])[0]);
      assert.deepEqual(permissions(roleId), [...EXPECTED_PERMISSIONS[fn]].sort(), `permissions of ${fn}`);
      const trust = statements(props(roleId).AssumeRolePolicyDocument);
      assert.deepEqual(trust, [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    }
    // Anything else in the template that carries a policy: only Deny may be
    // broad; the one Allow is S3's to send this bucket's notifications.
    for (const [id, r] of Object.entries(template.Resources)) {
      if (!['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy'].includes(r.Type)) continue;
      for (const statement of statements(record(r.Properties, id).PolicyDocument)) {
        for (const res of list(statement.Resource)) assert.notEqual(res, '*', `${id} has a * resource`);
        if (r.Type.startsWith('AWS::IAM')) assert.fail(`${id}: permissions belong in the function roles`);
        if (id === 'JobsQueuePolicy' && statement.Sid === 'BucketNotifications') continue;
        assert.equal(statement.Effect, 'Deny', `${id} allows something`);
      }
    }
  });

  test('environment on AWS: no emulator endpoint, no log file, no token in plain text, no file: database, no local host', () => {
    for (const fn of FUNCTION_NAMES) {
      const env = environment(fn);
      for (const name of ['AWS_ENDPOINT_URL', 'LOG_FILE', 'HF_TOKEN', 'LIBSQL_AUTH_TOKEN', 'THUMBNAIL_URL_SECRET']) {
        assert.ok(!(name in env) || isNoValue(env[name]), `${fn} sets ${name}: ${JSON.stringify(env[name])}`);
      }
      assert.equal(env.LIBSQL_URL, LIBSQL_URL);
      assert.deepEqual(env.QUEUE_URL, { Ref: 'JobsQueue' });
      assert.deepEqual(env.BUCKET_NAME, props('ImagesBucket').BucketName);
      assert.equal(env.STAGE, STAGE);
      if (fn === 'processImages') assert.equal(env.HF_TOKEN_PARAMETER, `/${SERVICE}/${STAGE}/hf-token`);
      else assert.equal(env.HF_TOKEN_PARAMETER, undefined, `${fn} has no use for the token`);
      assert.equal(env.LIBSQL_AUTH_TOKEN_PARAMETER, `/${SERVICE}/${STAGE}/libsql-auth-token`, fn);
      if (SIGNERS.includes(fn)) assert.equal(env.THUMBNAIL_URL_SECRET_PARAMETER, `/${SERVICE}/${STAGE}/thumbnail-url-secret`, fn);
      else assert.equal(env.THUMBNAIL_URL_SECRET_PARAMETER, undefined, `${fn} makes no thumbnail links`);
      assert.equal(env.AUTH_MODE, 'api-key', `${fn}: AWS stages need a key by default`);
    }
    const text = JSON.stringify(template);
    for (const local of ['127.0.0.1', 'localhost', 'file:', '.data/']) assert.ok(!text.includes(local), `the template mentions ${local}`);
  });

  test('HTTP API: no CORS unless origins are listed, payload format 2.0 (base64 bodies decoded: the thumbnail route returns JPEG bytes), every route', async () => {
    const api = props('HttpApi');
    assert.equal(api.ProtocolType, 'HTTP');
    assert.equal(api.CorsConfiguration, undefined, 'no browser origin is allowed by default on AWS');
    const routes = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => String(record(r.Properties, 'route').RouteKey))
      .sort();
    assert.deepEqual(routes, [
      'DELETE /api/images/{id}',
      'GET /',
      'GET /api/images',
      'GET /api/images/{id}',
      'GET /api/images/{id}/thumbnails/{size}',
      'GET /api/openapi.json',
      'GET /api/stats',
      'GET /gallery/{asset}',
      'POST /api/images',
      'POST /api/images/{id}/reprocess',
      'POST /api/uploads',
    ]);
    // One per function: the gallery's two routes share one.
    const integrations = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Integration');
    assert.equal(integrations.length, 10);
    for (const [id, r] of integrations) {
      const p = record(r.Properties, id);
      assert.equal(p.IntegrationType, 'AWS_PROXY');
      assert.equal(p.PayloadFormatVersion, '2.0', `${id}: isBase64Encoded responses need format 2.0`);
    }
    assert.ok(template.Resources.HttpApiIntegrationGetThumbnail, 'the thumbnail route has its integration');
    // The handler marks its JPEG body base64, which API Gateway decodes.
    const zip = await JSZip.loadAsync(readFileSync(zips.get('getThumbnail')?.path ?? ''));
    const bundle = await zip.file('functions/get-thumbnail.mjs')?.async('string');
    assert.match(bundle ?? '', /isBase64Encoded: true/);
  });

  test('bucket: public access blocked, encrypted, owner-enforced, TLS only, named per account and region', () => {
    const bucket = props('ImagesBucket');
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const rules = list(record(bucket.BucketEncryption, 'BucketEncryption').ServerSideEncryptionConfiguration);
    assert.equal(record(record(rules[0], 'rule').ServerSideEncryptionByDefault, 'default').SSEAlgorithm, 'AES256');
    assert.deepEqual(bucket.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const name = String(record(bucket.BucketName, 'BucketName')['Fn::Sub']);
    assert.ok(name.includes('${AWS::AccountId}') && name.includes('${AWS::Region}'), name);
    const policy = statements(props('ImagesBucketPolicy').PolicyDocument);
    assert.ok(policy.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}'));
  });
});

describe('serverless package --stage dev: direct uploads (POST /api/uploads)', () => {
  test('bucket notification: every ObjectCreated under uploads/ (and nothing else) into the job queue', () => {
    const notification = record(props('ImagesBucket').NotificationConfiguration, 'NotificationConfiguration');
    assert.deepEqual(Object.keys(notification), ['QueueConfigurations'], 'no other notification targets');
    assert.deepEqual(notification.QueueConfigurations, [
      {
        Event: 's3:ObjectCreated:*',
        Queue: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: UPLOAD_PREFIX }] } },
      },
    ]);
  });

  test('queue policy: S3 may send to the job queue for exactly this bucket of this account; the bucket waits for the policy (no cycle)', () => {
    const policy = props('JobsQueuePolicy');
    assert.equal(resource('JobsQueuePolicy').Type, 'AWS::SQS::QueuePolicy');
    assert.deepEqual(policy.Queues, [{ Ref: 'JobsQueue' }]);
    const allowed = statements(policy.PolicyDocument);
    assert.equal(allowed.length, 1);
    const [grant] = allowed;
    assert.deepEqual(grant?.Principal, { Service: 's3.amazonaws.com' });
    assert.equal(grant?.Effect, 'Allow');
    assert.deepEqual(list(grant?.Action), ['sqs:SendMessage']);
    assert.deepEqual(grant?.Resource, { 'Fn::GetAtt': ['JobsQueue', 'Arn'] });
    const condition = record(grant?.Condition, 'Condition');
    // The ARN is built from the bucket's own name (the same Fn::Sub), not from the bucket resource.
    assert.deepEqual(record(condition.ArnEquals, 'ArnEquals')['aws:SourceArn'], {
      'Fn::Sub': ['arn:${AWS::Partition}:s3:::${BucketName}', { BucketName: props('ImagesBucket').BucketName }],
    });
    assert.deepEqual(record(condition.StringEquals, 'StringEquals')['aws:SourceAccount'], { Ref: 'AWS::AccountId' });
    assert.ok(list(resource('ImagesBucket').DependsOn).includes('JobsQueuePolicy'), 'S3 checks the queue policy when the notification is set');
    assert.ok(!JSON.stringify(policy).includes('ImagesBucket'), 'the policy names the bucket resource: a dependency cycle');
  });

  test('bucket lifecycle: incomplete multipart uploads aborted after a day', () => {
    const rules = list(record(props('ImagesBucket').LifecycleConfiguration, 'LifecycleConfiguration').Rules).map((rule) => record(rule, 'rule'));
    const abort = rules.find((rule) => rule.AbortIncompleteMultipartUpload !== undefined);
    assert.ok(abort, 'no rule aborts incomplete multipart uploads');
    assert.equal(abort.Status, 'Enabled');
    assert.deepEqual(abort.AbortIncompleteMultipartUpload, { DaysAfterInitiation: 1 });
    assert.equal(abort.Prefix ?? abort.Filter, undefined, 'for the whole bucket');
  });

  test('bucket CORS: none unless origins are listed (as for the API)', () => {
    const cors = props('ImagesBucket').CorsConfiguration;
    assert.ok(cors === undefined || isNoValue(cors), JSON.stringify(cors));
  });

  test('the function: its route, protected like POST /api/images, its environment (no upload endpoint on AWS, the limits), a timeout for its slowest path', () => {
    const env = environment('createUpload');
    assert.ok(!('S3_UPLOAD_ENDPOINT' in env) || isNoValue(env.S3_UPLOAD_ENDPOINT), 'presigned POSTs go to S3 itself');
    for (const fn of ['createUpload', 'processImages'] as const) assert.equal(environment(fn).MAX_DIRECT_UPLOAD_BYTES, '52428800', fn);
    assert.equal(env.UPLOAD_URL_TTL_SECONDS, '900');
    for (const fn of ['processImages', 'sweepImages'] as const) assert.equal(environment(fn).UPLOAD_EXPIRY_GRACE_SECONDS, '3600', fn);
    assert.equal(env.AUTH_MODE, 'api-key');
    // The insert and, when signing fails, the rollback's delete may each wait for a locked database.
    assert.ok(2 * DATABASE_BUSY_TIMEOUT_MS < Number(functionProps('createUpload').Timeout) * 1000);
  });
});

// What a credential looks like: Hugging Face tokens, our API keys, AWS access keys, JWTs (libSQL tokens), private keys.
const SECRET_SHAPES = [/hf_[A-Za-z0-9]{20,}/, /ipk_[\w-]{43}/, /AKIA[0-9A-Z]{16}/, /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./, /-----BEGIN [A-Z ]*PRIVATE KEY-----/];
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PRIVATE|CREDENTIAL|API_?KEY/i;

function secretsIn(text: string): string[] {
  const found = Object.entries(SHELL_SECRETS).filter(([, value]) => text.includes(value)).map(([name]) => `the value of ${name}`);
  for (const shape of SECRET_SHAPES) {
    const match = shape.exec(text);
    if (match) found.push(`${shape.source}: ${match[0].slice(0, 12)}...`);
  }
  return found;
}

describe('serverless package --stage dev: secrets, throttling, the resource specification', () => {
  test('no secret in the template: the token values of the shell are nowhere, nothing shaped like a credential', () => {
    assert.deepEqual(secretsIn(JSON.stringify(template)), []);
  });

  test('no secret in the environment of any function: variables named like secrets are unset, only *_PARAMETER names point at SSM', () => {
    for (const fn of FUNCTION_NAMES) {
      const env = environment(fn);
      assert.deepEqual(secretsIn(JSON.stringify(env)), [], fn);
      for (const [name, value] of Object.entries(env)) {
        // A switch (CAPTION_ENDPOINT_SEND_TOKEN=false) or a number is a setting, not a secret.
        if (!SECRET_NAME.test(name) || name.endsWith('_PARAMETER') || /^(true|false|\d+)$/.test(String(value))) continue;
        assert.ok(isNoValue(value) || value === '', `${fn}: ${name} is set in the template (${JSON.stringify(value).slice(0, 20)}...)`);
      }
    }
  });

  test('no secret in any zip: no entry of any zip holds the token values of the shell', async () => {
    for (const fn of FUNCTION_NAMES) {
      const zip = await JSZip.loadAsync(readFileSync(zips.get(fn)?.path ?? ''));
      for (const entry of Object.values(zip.files)) {
        if (entry.dir) continue;
        const text = (await entry.async('nodebuffer')).toString('latin1');
        const leaked = Object.entries(SHELL_SECRETS).filter(([, value]) => text.includes(value));
        assert.deepEqual(leaked, [], `${fn}: ${entry.name}`);
        if (entry.name.startsWith('functions/')) assert.deepEqual(secretsIn(text), [], `${fn}: ${entry.name}`);
      }
    }
  });

  test('HTTP API stage throttling from resources.json: the whole API, uploads tighter', () => {
    const stage = resource('HttpApiStage');
    const p = props('HttpApiStage');
    const limits = RESOURCES.httpApiThrottling;
    const defaults = record(p.DefaultRouteSettings, 'DefaultRouteSettings');
    assert.equal(defaults.ThrottlingRateLimit, limits.rateLimit);
    assert.equal(defaults.ThrottlingBurstLimit, limits.burstLimit);
    const upload = record(record(p.RouteSettings, 'RouteSettings')['POST /api/images'], 'upload route');
    assert.equal(upload.ThrottlingRateLimit, limits.uploadRateLimit);
    assert.equal(upload.ThrottlingBurstLimit, limits.uploadBurstLimit);
    assert.ok(limits.uploadRateLimit < limits.rateLimit);
    assert.ok(list(stage.DependsOn).includes('HttpApiRoutePostApiImages'), 'the stage names a route that must exist first');
    const direct = record(record(p.RouteSettings, 'RouteSettings')['POST /api/uploads'], 'direct upload route');
    assert.equal(direct.ThrottlingRateLimit, limits.uploadRateLimit);
    assert.equal(direct.ThrottlingBurstLimit, limits.uploadBurstLimit);
    assert.ok(list(stage.DependsOn).includes('HttpApiRoutePostApiUploads'));
    assert.equal(template.Resources.HttpApiAuthorizerOidc, undefined, 'no JWT authorizer in api-key mode');
  });

  test('the template conforms to the CloudFormation resource specification (@aws-cdk/aws-service-spec)', async () => {
    assert.deepEqual(await validateAgainstSpec(template as unknown as TemplateShape), []);
  });

  test('the specification check itself: a misspelt type, property or attribute, a wrong type and a missing required property are each found', async () => {
    const broken = JSON.parse(JSON.stringify(template)) as Template & TemplateShape;
    broken.Resources.Extra = { Type: 'AWS::S3::Buckets' };
    record(broken.Resources.ImagesBucket?.Properties, 'bucket').BucketNmae = 'x';
    record(broken.Resources.JobsQueue?.Properties, 'queue').VisibilityTimeout = 'soon';
    record(record(broken.Resources.JobsQueue?.Properties, 'queue').RedrivePolicy, 'redrive').deadLetterTargetArn = { 'Fn::GetAtt': ['JobsDeadLetterQueue', 'Url'] };
    delete record(broken.Resources.GetStatsLambdaFunction?.Properties, 'fn').Role;
    const problems = (await validateAgainstSpec(broken)).join('\n');
    for (const expected of ['unknown resource type AWS::S3::Buckets', 'unknown property BucketNmae', 'VisibilityTimeout: expected integer', 'no attribute Url', 'required property Role missing']) {
      assert.ok(problems.includes(expected), `${expected} not found in:\n${problems}`);
    }
  });
});

describe('serverless package --stage dev: the bundles', () => {
  test('one zip per function with its ESM bundle; sizes', (t) => {
    const sizes: string[] = [];
    for (const fn of FUNCTION_NAMES) {
      const zip = zips.get(fn);
      assert.ok(zip);
      const bundles = zip.entries.filter((entry) => entry.startsWith('functions/') && entry.endsWith('.mjs'));
      assert.deepEqual(bundles, [`functions/${FUNCTIONS[fn]}.mjs`], `${fn} carries other bundles`);
      assert.ok(!zip.entries.some((entry) => entry.startsWith('node_modules/@aws-sdk/')), `${fn}: the AWS SDK comes with the runtime`);
      assert.ok(!zip.entries.some((entry) => /\.(ts|map)$/.test(entry) && !entry.endsWith('.d.ts') && !entry.startsWith('node_modules/')), `${fn}: sources or maps`);
      sizes.push(`${fn}: ${(zip.bytes / 1048576).toFixed(1)} MB zipped`);
    }
    t.diagnostic(sizes.join('; '));
  });

  test(`native binaries for linux-${npmCpu}: sharp only in the processor, and nothing else`, () => {
    for (const fn of FUNCTION_NAMES) {
      const entries = zips.get(fn)?.entries ?? [];
      const hasSharp = entries.some((entry) => entry.startsWith('node_modules/sharp/') || entry.startsWith('node_modules/@img/sharp-'));
      // esbuild keeps an external import even when nothing of it is used: a
      // function gets sharp as soon as it imports any module that imports sharp.
      assert.equal(hasSharp, fn === 'processImages', `${fn}: sharp ${hasSharp ? 'packed: its bundle imports a module that imports sharp' : 'missing'}`);
      if (fn === 'processImages') {
        assert.ok(entries.some((entry) => entry.startsWith(`node_modules/@img/sharp-linux-${npmCpu}/`) && entry.endsWith('.node')));
        assert.ok(entries.some((entry) => entry.startsWith(`node_modules/@img/sharp-libvips-linux-${npmCpu}/`)));
      }
      const allowed = new Set([`@img/sharp-linux-${npmCpu}`, `@img/sharp-libvips-linux-${npmCpu}`, '@img/colour']);
      const scoped = new Set(entries.map((entry) => /^node_modules\/(@(?:libsql|img)\/[^/]+)\//.exec(entry)?.[1]).filter((name) => name !== undefined));
      assert.deepEqual([...scoped].filter((name) => !allowed.has(name)), [], `${fn}: binaries for another platform`);
    }
  });

  test('the only @aws-sdk packages a bundle imports are the runtime clients; s3-presigned-post is bundled into createUpload', async () => {
    for (const fn of FUNCTION_NAMES) {
      const zip = await JSZip.loadAsync(readFileSync(zips.get(fn)?.path ?? ''));
      const bundle = (await zip.file(`functions/${FUNCTIONS[fn]}.mjs`)?.async('string')) ?? '';
      // Import statements and import() calls only: the bundled S3 client names
      // optional SDK packages in its error messages ([import "@aws-sdk/...";]).
      const statements = /^(?:import|export)\s[^;]*?from\s*["'](@aws-sdk\/[^"'/]+)|\bimport\(\s*["'](@aws-sdk\/[^"'/]+)/gm;
      const imported = new Set([...bundle.matchAll(statements)].map((m) => String(m[1] ?? m[2])));
      assert.deepEqual([...imported].filter((name) => !RUNTIME_SDK.includes(name)), [], `${fn} imports an SDK package the runtime may not ship`);
      if (fn === 'createUpload') assert.match(bundle, /content-length-range|createPresignedPost/, 'the presigned POST code is in the bundle');
    }
  });

  // On AWS the database is a libSQL server, reached with the HTTP client
  // (lib/db/client.ts); serverless.yml swaps the native driver out of the
  // bundles. A cold start loads what the zip carries: bench/cold-start.ts
  // measures how long that takes.
  test('no zip carries libsql or imports it; list, detail, stats, thumbnail and upload are at most 1 MB zipped', async (t) => {
    const lean: FunctionName[] = ['listImages', 'getImage', 'getStats', 'getThumbnail', 'uploadImage'];
    const sizes: string[] = [];
    for (const fn of FUNCTION_NAMES) {
      const zip = zips.get(fn);
      assert.ok(zip);
      assert.deepEqual(zip.entries.filter((entry) => /^node_modules\/(?:libsql|@libsql)\//.test(entry)), [], `${fn} carries libsql`);
      const bundle = (await (await JSZip.loadAsync(readFileSync(zip.path))).file(`functions/${FUNCTIONS[fn]}.mjs`)?.async('string')) ?? '';
      assert.doesNotMatch(bundle, /(?:from\s*|import\s*\(\s*|require\(\s*)["']libsql["']/, `${fn} imports the native driver`);
      // The WebSocket library that the database client imports for nothing (lib/db/no-websocket.ts).
      assert.doesNotMatch(bundle, /node_modules\/ws\//, `${fn} bundles the ws package`);
      assert.match(bundle, /reaches the database over HTTP only/, `${fn}: the stub of the native driver (lib/db/no-local-database.ts) is not in the bundle`);
      if (lean.includes(fn)) {
        assert.ok(zip.bytes <= 1_000_000, `${fn}: ${zip.bytes} bytes zipped`);
        sizes.push(`${fn} ${(zip.bytes / 1e6).toFixed(2)} MB`);
      }
    }
    t.diagnostic(sizes.join('; '));
  });

  test('the .node binaries are ELF for the chosen CPU', async () => {
    // e_machine in the ELF header: 0x3e x86-64, 0xb7 AArch64.
    const expected = npmCpu === 'x64' ? 0x3e : 0xb7;
    const zip = await JSZip.loadAsync(readFileSync(zips.get('processImages')?.path ?? ''));
    // sharp's addon and libvips.
    const natives = Object.values(zip.files).filter((entry) => /\.node$|\.so(?:\.\d+)*$/.test(entry.name));
    assert.ok(natives.length >= 2);
    for (const entry of natives) {
      const header = await entry.async('nodebuffer');
      assert.equal(header.subarray(0, 4).toString('latin1'), '\x7fELF', entry.name);
      assert.equal(header.readUInt16LE(18), expected, `${entry.name} is not built for ${npmCpu}`);
    }
  });

  test('each bundle loads in a fresh Node process with only the runtime SDK beside it, and exports handler; file: refused', async (t) => {
    const root = join(workspace.dir, 'unzipped');
    // The Lambda Node.js runtime provides the AWS SDK v3 clients outside the
    // zip: only those are beside the bundles, so a bundle that left another
    // @aws-sdk package out (s3-presigned-post is not in the runtime) fails here.
    mkdirSync(join(root, 'node_modules', '@aws-sdk'), { recursive: true });
    for (const name of RUNTIME_SDK) symlinkSync(resolve(PROJECT_ROOT, 'node_modules', name), join(root, 'node_modules', name), 'dir');
    const loader = resolve(import.meta.dirname, 'support/load-bundle.ts');
    const canLoadNative = (npmCpu === 'x64' ? 'x64' : 'arm64') === arch();
    const lambdaEnv = (fn: FunctionName, libsqlUrl: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      ...Object.fromEntries(
        Object.entries(environment(fn)).filter(([, value]) => typeof value === 'string') as Array<[string, string]>,
      ),
      BUCKET_NAME: `${SERVICE}-${STAGE}-123456789012-us-east-1-images`,
      QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${SERVICE}-${STAGE}-jobs`,
      LIBSQL_URL: libsqlUrl,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: `${SERVICE}-${STAGE}-${fn}`,
    });
    const load = async (fn: FunctionName, libsqlUrl: string): Promise<Json> => {
      const bundle = join(root, fn, 'functions', `${FUNCTIONS[fn]}.mjs`);
      const result = await run(process.execPath, [loader, bundle], { cwd: join(root, fn), env: lambdaEnv(fn, libsqlUrl), timeoutMs: 30_000 });
      const line = result.output.split('\n').find((l) => l.startsWith('@@report '));
      assert.ok(line, `${fn}: no report from the loader:\n${result.output}`);
      return JSON.parse(line.slice('@@report '.length)) as Json;
    };
    const timings: string[] = [];
    for (const fn of FUNCTION_NAMES) {
      await extractZip(zips.get(fn)?.path ?? '', join(root, fn));
      if (fn === 'processImages' && !canLoadNative) {
        t.diagnostic(`processImages not loaded: its sharp is built for ${npmCpu}, this machine is ${arch()}`);
        const source = readFileSync(join(root, fn, 'functions', `${FUNCTIONS[fn]}.mjs`), 'utf8');
        assert.match(source, /export\s*\{[^}]*\bhandler\b/);
        continue;
      }
      const report = await load(fn, LIBSQL_URL);
      assert.equal(report.ok, true, `${fn}: ${JSON.stringify(report.error)}`);
      assert.equal(report.handler, 'function', fn);
      assert.deepEqual(report.exports, ['handler'], fn);
      timings.push(`${fn}: ${String(report.importMs)} ms, ${String(report.rssMb)} MB RSS`);
    }
    t.diagnostic(`cold import here: ${timings.join('; ')}`);
    // The guard travels in the bundle: a file database stops the cold start.
    const refused = await load('getStats', 'file:/tmp/images.db');
    assert.equal(refused.ok, false);
    assert.equal(record(refused.error, 'error').name, 'ConfigError');
    assert.match(String(record(refused.error, 'error').message), /LIBSQL_URL/);
  });
});

test('serverless package --stage dev without LIBSQL_URL stops at variable resolution', async () => {
  const result = await serverless(workspace, ['package', '--stage', STAGE], testEnv({ AWS_REGION: 'us-east-1' }), 60_000);
  assert.ok(!result.timedOut);
  assert.notEqual(result.code, 0, 'resolved without LIBSQL_URL');
  assert.match(result.output, /Cannot resolve variable at "params\.dev\.libsqlUrl": Value not found at "env" source/);
});

describe('serverless package --stage dev with AUTH_MODE=jwt and CORS_ALLOWED_ORIGINS', () => {
  const ORIGINS = ['https://app.example.com', 'https://admin.example.com'];
  let jwtTemplate: Template;

  before(async () => {
    const env = testEnv({
      LIBSQL_URL,
      AWS_REGION: 'us-east-1',
      AUTH_MODE: 'jwt',
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'images-api',
      CORS_ALLOWED_ORIGINS: ORIGINS.join(', '),
    });
    const result = await serverless(workspace, ['package', '--stage', STAGE], env);
    assert.equal(result.code, 0, `serverless package failed:\n${result.output}`);
    jwtTemplate = readJson<Template>(join(workspace.dir, '.serverless', 'cloudformation-template-update-stack.json'));
  });

  test('API Gateway JWT authorizer with the issuer and audience, on every route but the thumbnail one (signed links carry no token) and the open ones (gallery, OpenAPI document)', () => {
    const authorizer = record(jwtTemplate.Resources.HttpApiAuthorizerOidc?.Properties, 'authorizer');
    assert.equal(authorizer.AuthorizerType, 'JWT');
    assert.deepEqual(authorizer.IdentitySource, ['$request.header.Authorization']);
    assert.deepEqual(authorizer.JwtConfiguration, { Audience: ['images-api'], Issuer: 'https://id.example.com/' });
    const routes = Object.values(jwtTemplate.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => record(r.Properties, 'route'));
    assert.equal(routes.length, 11);
    const open = new Set(['GET /api/images/{id}/thumbnails/{size}', 'GET /api/openapi.json', 'GET /', 'GET /gallery/{asset}']);
    for (const route of routes) {
      const isOpen = open.has(String(route.RouteKey));
      assert.equal(route.AuthorizationType, isOpen ? undefined : 'JWT', String(route.RouteKey));
      if (!isOpen) assert.deepEqual(route.AuthorizerId, { Ref: 'HttpApiAuthorizerOidc' });
    }
    for (const fn of FUNCTION_NAMES) assert.equal(environmentOf(jwtTemplate, fn).AUTH_MODE, 'jwt', fn);
  });

  test('CORS: exactly the listed origins; the headers a browser client sends (Authorization, X-Api-Key, Idempotency-Key)', () => {
    const cors = record(record(jwtTemplate.Resources.HttpApi?.Properties, 'api').CorsConfiguration, 'CorsConfiguration');
    assert.deepEqual(cors.AllowOrigins, ORIGINS);
    assert.deepEqual(cors.AllowMethods, ['GET', 'POST', 'DELETE', 'OPTIONS']);
    for (const header of ['Content-Type', 'Authorization', 'X-Api-Key', 'Idempotency-Key']) assert.ok(list(cors.AllowHeaders).includes(header), header);
  });

  test('bucket CORS: browsers at exactly the listed origins may POST direct uploads', () => {
    const cors = record(record(jwtTemplate.Resources.ImagesBucket?.Properties, 'bucket').CorsConfiguration, 'CorsConfiguration');
    const rules = list(cors.CorsRules).map((rule) => record(rule, 'rule'));
    assert.equal(rules.length, 1);
    assert.deepEqual(rules[0]?.AllowedOrigins, ORIGINS);
    assert.deepEqual(rules[0]?.AllowedMethods, ['POST']);
    assert.ok(list(rules[0]?.ExposedHeaders).includes('ETag'));
  });

  test('this template conforms to the resource specification too', async () => {
    assert.deepEqual(await validateAgainstSpec(jwtTemplate as unknown as TemplateShape), []);
  });

  test('CORS_ALLOWED_ORIGINS=* with authenticated reads: packaging refuses, naming the variable', async () => {
    const result = await serverless(workspace, ['print', '--stage', STAGE], testEnv({ LIBSQL_URL, AWS_REGION: 'us-east-1', CORS_ALLOWED_ORIGINS: '*' }), 60_000);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /CORS_ALLOWED_ORIGINS=\* is refused while reads need a credential/);
  });
});

function environmentOf(t: Template, fn: FunctionName): Json {
  return record(record(record(t.Resources[logicalId(fn)]?.Properties, fn).Environment, 'Environment').Variables, 'Variables');
}
