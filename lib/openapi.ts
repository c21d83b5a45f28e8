// GET /api/openapi.json: the OpenAPI 3.1 document of every route, built from
// the code's own schemas (lib/api-schemas.ts, checked against the presenters'
// types) and limits, and from the access settings of the stage that serves it
// (which routes want a credential, and which kind). test/unit/openapi.test.ts
// checks it against serverless.yml's routes and the OpenAPI 3.1 schema.
import { Type } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import type { AccessConfig } from './config.ts';
import {
  DeletedSchema,
  DirectUploadSchema,
  ErrorEnvelopeSchema,
  ImageDetailSchema,
  ImageMetadataSchema,
  ImageStatusSchema,
  ImageSummarySchema,
  QueuedImageSchema,
  StatsSchema,
  successEnvelope,
  ThumbnailSizeSchema,
  ThumbnailUrlsSchema,
} from './api-schemas.ts';
import { IMAGE_STATUSES, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, SEARCH_MAX_LENGTH, SEARCH_MAX_TERMS } from './image-queries.ts';
import { EXPIRES_PARAM, SIGNATURE_PARAM } from './thumbnail-links.ts';

export interface OpenApiOptions {
  /** scheme://host[/stage] the API answers at. */
  baseUrl: string;
  access: Pick<AccessConfig, 'mode' | 'readAccess'>;
  maxUploadBytes: number;
  maxDirectUploadBytes: number;
}

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json | TSchema): Json => ({ 'application/json': { schema } });

const COMPONENT_SCHEMAS = {
  ImageStatus: ImageStatusSchema,
  ThumbnailSize: ThumbnailSizeSchema,
  ThumbnailUrls: ThumbnailUrlsSchema,
  ImageMetadata: ImageMetadataSchema,
  ImageSummary: ImageSummarySchema,
  ImageDetail: ImageDetailSchema,
  QueuedImage: QueuedImageSchema,
  DirectUpload: DirectUploadSchema,
  Stats: StatsSchema,
  Deleted: DeletedSchema,
  ErrorEnvelope: ErrorEnvelopeSchema,
} satisfies Record<string, TSchema>;

type ComponentName = keyof typeof COMPONENT_SCHEMAS;

function envelope(name: ComponentName | 'ImageSummaryList', status: 'success' | 'queued' = 'success'): Json {
  const data = name === 'ImageSummaryList' ? Type.Array(Type.Unsafe(ref('ImageSummary'))) : Type.Unsafe(ref(name));
  return json(successEnvelope(data, status));
}

function errors(codes: Record<number, string>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [code, description] of Object.entries(codes)) out[code] = { description, content: json(ref('ErrorEnvelope')) };
  out['500'] = { description: '`Internal server error`: the details go to the log only.', content: json(ref('ErrorEnvelope')) };
  return out;
}

const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'An image_id.' };

/** The document for this stage's settings. */
export function openApiDocument(options: OpenApiOptions): Json {
  const { mode, readAccess } = options.access;
  const authOn = mode !== 'none';
  const readsNeedCredential = authOn && readAccess === 'authenticated';
  const credentialSchemes = mode === 'jwt' ? [{ bearerAuth: [] }] : [{ bearerAuth: [] }, { apiKeyHeader: [] }];
  const unauthorized = mode === 'jwt' ? '`Missing or invalid bearer token`' : '`Missing or invalid API key`';
  const write = authOn ? { security: credentialSchemes } : { security: [] };
  const read = readsNeedCredential ? { security: credentialSchemes } : { security: [] };
  const writeErrors = (codes: Record<number, string>): Record<string, Json> => errors(authOn ? { 401: unauthorized, ...codes } : codes);
  const readErrors = (codes: Record<number, string>): Record<string, Json> => errors(readsNeedCredential ? { 401: unauthorized, ...codes } : codes);
  const unavailable = 'A service (storage, database or queue) is unavailable; nothing was left half-done. Retry later.';
  const mb = (bytes: number): string => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  const thumbnailErrors: Record<number, string> = { 400: 'A size other than small or medium.', 404: '`Image not found`, or `Thumbnail not ready or missing`.' };
  if (readsNeedCredential) thumbnailErrors[401] = `${unauthorized}, or \`Thumbnail link invalid or expired\``;

  const paths: Json = {
    '/api/images': {
      post: {
        operationId: 'uploadImage',
        summary: 'Upload a JPEG or PNG',
        description: `Stores the original and queues it for processing; the answer comes before processing starts. At most ${mb(options.maxUploadBytes)} (larger files: POST /api/uploads). The type is decided by the file's bytes, not its name.`,
        ...write,
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
            description: 'A retried request with the same key and file answers the image the first one created (for 24 h).',
          },
        ],
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } } },
            },
          },
        },
        responses: {
          '202': {
            description: 'Accepted and queued.',
            headers: { 'Idempotent-Replayed': { schema: { type: 'string', const: 'true' }, description: 'An earlier request with this Idempotency-Key created the image.' } },
            content: envelope('QueuedImage', 'queued'),
          },
          ...writeErrors({
            400: 'No `file` field, an empty file, not multipart, or a malformed Idempotency-Key.',
            409: 'A request with this Idempotency-Key is still in progress, or did not complete.',
            413: 'Over the size limit.',
            415: '`Unsupported file type. Use JPG or PNG.`',
            422: 'This Idempotency-Key was already used for a different upload.',
            503: unavailable,
          }),
        },
      },
      get: {
        operationId: 'listImages',
        summary: 'List images, newest first',
        description: 'One page; the next page is in the `X-Next-Cursor` and `Link` headers (absent on the last page), for the same filter and search.',
        ...read,
        parameters: [
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_MAX_LIMIT, default: LIST_DEFAULT_LIMIT } },
          { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'The `X-Next-Cursor` of the previous page.' },
          {
            name: 'status',
            in: 'query',
            required: false,
            schema: ref('ImageStatus'),
            description: 'Only this status. Without it, every image but those awaiting their direct upload.',
          },
          {
            name: 'q',
            in: 'query',
            required: false,
            schema: { type: 'string', maxLength: SEARCH_MAX_LENGTH },
            description: `Full-text search: every word (at most ${SEARCH_MAX_TERMS}) must be in the file name, the caption or the camera make and model; the last letters of a word may be missing ("cano" finds Canon).`,
          },
        ],
        responses: {
          '200': {
            description: 'A page of images.',
            headers: {
              'X-Next-Cursor': { schema: { type: 'string' }, description: 'Pass as `cursor` for the next page.' },
              Link: { schema: { type: 'string' }, description: '`<url>; rel="next"`' },
            },
            content: envelope('ImageSummaryList'),
          },
          ...readErrors({ 400: `Bad \`limit\`, \`cursor\`, \`status\` (one of ${IMAGE_STATUSES.join(', ')}) or \`q\`.` }),
        },
      },
    },
    '/api/images/{id}': {
      parameters: [ID_PARAMETER],
      get: {
        operationId: 'getImage',
        summary: 'An image with its metadata, EXIF and caption',
        ...read,
        responses: { '200': { description: 'The image.', content: envelope('ImageDetail') }, ...readErrors({ 404: '`Image not found`' }) },
      },
      delete: {
        operationId: 'deleteImage',
        summary: 'Delete an image: its original, both thumbnails and its row',
        description: 'The stats no longer count it and search no longer finds it.',
        ...write,
        responses: {
          '200': { description: 'Deleted.', content: envelope('Deleted') },
          ...writeErrors({ 404: '`Image not found`', 409: 'The image is being processed; try again in a few seconds.', 503: unavailable }),
        },
      },
    },
    '/api/images/{id}/thumbnails/{size}': {
      parameters: [ID_PARAMETER, { name: 'size', in: 'path', required: true, schema: ref('ThumbnailSize') }],
      get: {
        operationId: 'getThumbnail',
        summary: 'A thumbnail (JPEG)',
        description: readsNeedCredential
          ? `Needs a credential, or the signed link (\`${EXPIRES_PARAM}\`, \`${SIGNATURE_PARAM}\`) the list, detail and upload answers hand out.`
          : 'Open.',
        security: readsNeedCredential ? [...credentialSchemes, {}] : [],
        parameters: [
          { name: EXPIRES_PARAM, in: 'query', required: false, schema: { type: 'string' }, description: 'Of a signed link.' },
          { name: SIGNATURE_PARAM, in: 'query', required: false, schema: { type: 'string' }, description: 'Of a signed link.' },
          { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'The ETag of a copy already held.' },
        ],
        responses: {
          '200': {
            description: 'The thumbnail. It never changes for an id: cached for a year.',
            headers: {
              ETag: { schema: { type: 'string' }, description: 'Strong, from the bytes.' },
              'Cache-Control': { schema: { type: 'string' }, description: '`public, max-age=31536000, immutable` (`private` when reads need a credential).' },
            },
            content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } } },
          },
          '304': { description: 'Not modified: the If-None-Match named this ETag.', headers: { ETag: { schema: { type: 'string' } } } },
          ...errors(thumbnailErrors),
        },
      },
    },
    '/api/images/{id}/reprocess': {
      parameters: [ID_PARAMETER],
      post: {
        operationId: 'reprocessImage',
        summary: 'Run a failed image again',
        ...write,
        responses: {
          '202': { description: 'Queued again.', content: envelope('QueuedImage', 'queued') },
          ...writeErrors({ 404: '`Image not found`', 409: 'Not failed: being processed, already processed, or not uploaded yet.', 503: unavailable }),
        },
      },
    },
    '/api/uploads': {
      post: {
        operationId: 'createUpload',
        summary: 'Start a direct upload (large files go straight to storage)',
        description: `Answers a form to POST the file to; the image is processed when the file lands. Up to ${mb(options.maxDirectUploadBytes)}.`,
        ...write,
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['filename', 'size_bytes', 'content_type'],
            properties: {
              filename: { type: 'string', minLength: 1 },
              size_bytes: { type: 'integer', minimum: 1, maximum: options.maxDirectUploadBytes },
              content_type: { type: 'string', enum: ['image/jpeg', 'image/png'] },
            },
          }),
        },
        responses: {
          '201': { description: 'The image, awaiting its file, and the form to send it with.', content: envelope('DirectUpload') },
          ...writeErrors({ 400: 'Not JSON, or a field missing or malformed.', 413: 'The declared size is over the limit.', 415: '`Unsupported file type. Use JPG or PNG.`', 503: unavailable }),
        },
      },
    },
    '/api/stats': {
      get: {
        operationId: 'getStats',
        summary: 'Totals, rates and average processing time',
        ...read,
        responses: { '200': { description: 'The statistics.', content: envelope('Stats') }, ...readErrors({}) },
      },
    },
    '/api/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description: 'Not in the envelope: the bare document, as OpenAPI tools read it.',
        security: [],
        responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/': {
      get: {
        operationId: 'getGallery',
        summary: 'The gallery: upload, browse, search',
        security: [],
        responses: { '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/gallery/{asset}': {
      get: {
        operationId: 'getGalleryAsset',
        summary: "The gallery's script and style sheet",
        security: [],
        parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The file; its name changes with its content, so it is cached for a year.', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } },
          '404': { description: 'No such file.', content: json(ref('ErrorEnvelope')) },
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'imageprocessingapi',
      version: '1.0.0',
      description:
        'Upload a JPEG or PNG; get thumbnails (128 and 512 px), metadata, EXIF and an AI caption. Every JSON answer is the envelope `{"status", "data", "error"}`.',
    },
    servers: [{ url: options.baseUrl }],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      securitySchemes:
        mode === 'jwt'
          ? { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
          : {
              bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key of `npm run api-key -- create`.' },
              apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
            },
    },
  };
}
