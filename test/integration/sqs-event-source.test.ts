// The local SQS event source against the real emulator, invoking a small
// server that speaks the Lambda Invoke API the way serverless-offline does.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startSqsEventSource } from '../../local/sqs-event-source.ts';
import type { EventSource } from '../../local/sqs-event-source.ts';
import { startTestDeps, TEST_CREDENTIALS } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';

type Behaviour = (event: SQSEvent) => { payload: SQSBatchResponse | string | null; functionError?: boolean };

interface Invocation {
  at: number;
  functionName: string;
  records: Array<{ messageId: string; body: string; receiveCount: number }>;
}

describe('local SQS event source', () => {
  let t: TestDeps;
  let server: Server;
  let lambda: LambdaClient;
  let source: EventSource | undefined;
  let behaviour: Behaviour;
  const invocations: Invocation[] = [];

  before(async () => {
    t = await startTestDeps({ visibilityTimeoutSeconds: 1 });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SQSEvent;
        invocations.push({
          at: Date.now(),
          functionName: decodeURIComponent(req.url?.split('/')[3] ?? ''),
          records: event.Records.map((r) => ({ messageId: r.messageId, body: r.body, receiveCount: Number(r.attributes.ApproximateReceiveCount) })),
        });
        const { payload, functionError } = behaviour(event);
        res.writeHead(200, { 'content-type': 'application/json', ...(functionError ? { 'x-amz-function-error': 'Unhandled' } : {}) });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    lambda = new LambdaClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${address.port}`, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  });

  after(async () => {
    await source?.stop();
    lambda.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.close();
  });

  beforeEach(async () => {
    if (source) {
      await source.stop();
      // The emulator keeps an aborted long poll open until its wait ends and
      // may hand it messages meanwhile: let it run out.
      await sleep(1_300);
    }
    source = undefined;
    invocations.length = 0;
    for (const url of [t.names.queueUrl, t.names.deadLetterQueueUrl]) await t.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  });

  function start(): void {
    source = startSqsEventSource({
      sqs: t.sqs,
      lambda,
      queueUrl: t.names.queueUrl,
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:test',
      region: 'us-east-1',
      functionName: 'processor',
      pollers: 1,
      waitTimeSeconds: 1,
    });
  }

  async function send(body: string): Promise<void> {
    await t.sqs.send(new SendMessageCommand({ QueueUrl: t.names.queueUrl, MessageBody: body }));
  }

  async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await sleep(25);
    }
  }

  async function queueDepth(url: string): Promise<number> {
    const res = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  test('delivery: a message sent → invoked within a second with a well-formed SQS event', async () => {
    behaviour = () => ({ payload: { batchItemFailures: [] } });
    start();
    await sleep(100);
    const sent = Date.now();
    await send('{"imageId":"x"}');
    await until(() => invocations.length > 0, 5_000);
    const first = invocations[0];
    assert.ok(first);
    assert.ok(first.at - sent < 1_000, `delivered after ${first.at - sent} ms`);
    assert.equal(first.functionName, 'processor');
    assert.equal(first.records[0]?.receiveCount, 1);
    await until(async () => (await queueDepth(t.names.queueUrl)) === 0, 5_000);
  });

  test('partial batch: only the record listed in batchItemFailures comes back, the others are deleted', async () => {
    behaviour = (event) => ({
      payload: { batchItemFailures: event.Records.filter((r) => r.body === 'fail-once' && r.attributes.ApproximateReceiveCount === '1').map((r) => ({ itemIdentifier: r.messageId })) },
    });
    await send('ok-1');
    await send('fail-once');
    await send('ok-2');
    start();
    await until(() => invocations.some((i) => i.records.some((r) => r.body === 'fail-once' && r.receiveCount === 2)), 10_000);
    const deliveries = invocations.flatMap((i) => i.records);
    assert.equal(deliveries.filter((r) => r.body === 'ok-1').length, 1, 'ok-1 delivered once');
    assert.equal(deliveries.filter((r) => r.body === 'ok-2').length, 1, 'ok-2 delivered once');
    await until(async () => (await queueDepth(t.names.queueUrl)) === 0, 5_000);
  });

  test('function error: nothing deleted, retried, and after maxReceiveCount the message is in the dead-letter queue', async () => {
    behaviour = () => ({ payload: '{"errorMessage":"boom"}', functionError: true });
    await send('always-crashes');
    start();
    await until(async () => {
      const res = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: t.names.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(res.Attributes?.ApproximateNumberOfMessages) === 1;
    }, 15_000);
    const receives = invocations.flatMap((i) => i.records).filter((r) => r.body === 'always-crashes').map((r) => r.receiveCount);
    assert.deepEqual(receives, [1, 2, 3]);
    const dead = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.deadLetterQueueUrl, MaxNumberOfMessages: 1 }));
    assert.equal(dead.Messages?.[0]?.Body, 'always-crashes');
  });

  test('an identifier that is not in the batch → the whole batch is retried, as on AWS', async () => {
    behaviour = (event) => ({
      payload: event.Records[0]?.attributes.ApproximateReceiveCount === '1' ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] } : { batchItemFailures: [] },
    });
    await send('a');
    start();
    await until(() => invocations.flatMap((i) => i.records).filter((r) => r.body === 'a').length === 2, 10_000);
    await until(async () => (await queueDepth(t.names.queueUrl)) === 0, 5_000);
  });
});
