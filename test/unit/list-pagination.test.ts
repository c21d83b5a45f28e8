// Parsing of the list's limit and cursor, and the next-page headers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImagesRepository, ListPageRequest } from '../../lib/db/images-repository.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { decodeCursor, encodeCursor, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, listImages } from '../../lib/image-queries.ts';
import { nextPageHeaders } from '../../lib/presenters.ts';

/** Records what the query asked of the repository; answers one page with a next position. */
function recordingRepository(): { images: ImagesRepository; requests: ListPageRequest[] } {
  const requests: ListPageRequest[] = [];
  const images = {
    async list(request: ListPageRequest) {
      requests.push(request);
      return { items: [], next: { createdAt: '2026-01-01T00:00:00.000Z', id: 'b2c3' } };
    },
  } as Partial<ImagesRepository> as ImagesRepository;
  return { images, requests };
}

describe('listImages', () => {
  test('defaults to the first page of 100', async () => {
    const { images, requests } = recordingRepository();
    const result = await listImages(images);
    assert.deepEqual(requests, [{ limit: LIST_DEFAULT_LIMIT, after: null }]);
    assert.equal(result.limit, LIST_DEFAULT_LIMIT);
    assert.deepEqual(decodeCursor(result.nextCursor ?? ''), { createdAt: '2026-01-01T00:00:00.000Z', id: 'b2c3' });
  });

  test('passes a valid limit and cursor through', async () => {
    const { images, requests } = recordingRepository();
    const cursor = encodeCursor({ createdAt: '2026-02-03T04:05:06.789Z', id: 'a1' });
    await listImages(images, { limit: String(LIST_MAX_LIMIT), cursor });
    await listImages(images, { limit: '1' });
    assert.deepEqual(requests, [
      { limit: LIST_MAX_LIMIT, after: { createdAt: '2026-02-03T04:05:06.789Z', id: 'a1' } },
      { limit: 1, after: null },
    ]);
  });

  for (const limit of ['0', '-1', '1001', '99999', '1.5', 'ten', '', ' 5', '0x10', '1e2']) {
    test(`limit ${JSON.stringify(limit)} is a bad request`, async () => {
      const { images, requests } = recordingRepository();
      await assert.rejects(listImages(images, { limit }), (error: unknown) => error instanceof BadRequestError && /limit/.test(error.message));
      assert.equal(requests.length, 0, 'no query for a bad request');
    });
  }

  const notCursors = [
    '',
    'not base64!',
    Buffer.from('not json').toString('base64url'),
    Buffer.from('{"createdAt":"x","id":"y"}').toString('base64url'),
    Buffer.from('["only one"]').toString('base64url'),
    Buffer.from('["a", 5]').toString('base64url'),
    Buffer.from('["", "id"]').toString('base64url'),
    'A'.repeat(1000),
  ];
  for (const cursor of notCursors) {
    test(`cursor ${JSON.stringify(cursor.slice(0, 30))} is a bad request`, async () => {
      const { images } = recordingRepository();
      await assert.rejects(listImages(images, { cursor }), (error: unknown) => error instanceof BadRequestError && /cursor/.test(error.message));
    });
  }
});

describe('nextPageHeaders', () => {
  test('point at the next page with an absolute URL', () => {
    const headers = nextPageHeaders('http://localhost:8000', 25, 'abc_-');
    assert.deepEqual(headers, {
      'x-next-cursor': 'abc_-',
      link: '<http://localhost:8000/api/images?limit=25&cursor=abc_->; rel="next"',
    });
  });

  test('are absent on the last page', () => {
    assert.deepEqual(nextPageHeaders('http://localhost:8000', 25, null), {});
  });
});
