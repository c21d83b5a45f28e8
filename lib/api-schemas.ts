// The API's answers as JSON Schema (TypeBox: each schema is plain JSON Schema
// and gives its TypeScript type), for the OpenAPI document (lib/openapi.ts).
// The checks at the end tie each schema to the presenter type it describes:
// a field added to or removed from either side fails the typecheck, and the
// end-to-end tests validate every answer they receive against the document.
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { IMAGE_STATUSES } from './image-queries.ts';
import { THUMBNAIL_SIZES } from './images/thumbnail-sizes.ts';
import type { DeletedView, DirectUploadView, ImageDetail, ImageSummary, StatsView, ThumbnailUrls } from './presenters.ts';
import type { toQueued } from './presenters.ts';

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const ImageStatusSchema = Type.Union(
  IMAGE_STATUSES.map((status) => Type.Literal(status)),
  {
    description:
      'awaiting_upload: a direct upload not made yet; queued: accepted, waiting for the processor; processing; success; failed (the reason in `error`).',
  },
);

export const ThumbnailSizeSchema = Type.Union(
  (Object.keys(THUMBNAIL_SIZES) as Array<keyof typeof THUMBNAIL_SIZES>).map((size) => Type.Literal(size)),
  { description: `Longest edge: ${Object.entries(THUMBNAIL_SIZES).map(([size, px]) => `${size} ${px} px`).join(', ')}.` },
);

export const ThumbnailUrlsSchema = Type.Object(
  {
    small: Type.String({ format: 'uri', description: 'The 128 px thumbnail; signed and expiring when reads need a credential.' }),
    medium: Type.String({ format: 'uri', description: 'The 512 px thumbnail; signed and expiring when reads need a credential.' }),
  },
  { description: 'Absolute URLs of the thumbnails (404 until the image is processed).' },
);

const summaryProperties = {
  image_id: Type.String({ format: 'uuid' }),
  original_name: Type.String({ description: 'The uploaded file name, without path or control characters.' }),
  status: ImageStatusSchema,
  created_at: timestamp('When the upload was accepted.'),
  processed_at: nullable(timestamp('When processing ended (success or failed).')),
  thumbnails: ThumbnailUrlsSchema,
};

export const ImageSummarySchema = Type.Object(summaryProperties, { description: 'An image as the list shows it.' });

export const ImageMetadataSchema = Type.Object({
  width: Type.Integer({ minimum: 1, description: 'As displayed: after the EXIF orientation is applied.' }),
  height: Type.Integer({ minimum: 1, description: 'As displayed: after the EXIF orientation is applied.' }),
  format: Type.Union([Type.Literal('jpg'), Type.Literal('png')]),
  size_bytes: Type.Integer({ minimum: 1 }),
});

export const ImageDetailSchema = Type.Object(
  {
    ...summaryProperties,
    metadata: nullable(ImageMetadataSchema),
    caption: nullable(Type.String({ description: 'The AI caption, once there is one.' })),
    caption_status: Type.Union([Type.Literal('off'), Type.Literal('pending'), Type.Literal('done'), Type.Literal('failed')]),
    exif: nullable(
      Type.String({
        description:
          'A JSON object as a string: an allowlist of camera, lens, exposure, dates, orientation, dimensions, software and colour space (GPS only with EXIF_INCLUDE_GPS=true).',
      }),
    ),
    processing_time_ms: nullable(Type.Number({ minimum: 0 })),
    error: nullable(Type.String({ description: 'Why the image failed, in a sentence for people.' })),
  },
  { description: 'An image with everything processing found.' },
);

export const QueuedImageSchema = Type.Object(
  { ...summaryProperties, metadata: Type.Null() },
  { description: 'The accepted upload: processing has not started, so there is no metadata yet.' },
);

export const DirectUploadSchema = Type.Object(
  {
    ...summaryProperties,
    upload: Type.Object(
      {
        method: Type.Literal('POST'),
        url: Type.String({ format: 'uri' }),
        fields: Type.Record(Type.String(), Type.String(), { description: 'Send each as a form field, then the file last, in the field `file`.' }),
        expires_at: timestamp('The form is refused after this.'),
        max_bytes: Type.Integer({ minimum: 1 }),
      },
      { description: 'A multipart/form-data POST that sends the file straight to storage.' },
    ),
  },
  { description: 'An image awaiting its file, and how to send it.' },
);

export const StatsSchema = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  success: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  success_rate: Type.Number({ minimum: 0, maximum: 1, description: '0 when there are no images.' }),
  failure_rate: Type.Number({ minimum: 0, maximum: 1, description: '0 when there are no images.' }),
  avg_processing_time_ms: Type.Number({ minimum: 0, description: 'Over the successful images; 0 when there are none.' }),
});

export const DeletedSchema = Type.Object({
  image_id: Type.String({ format: 'uuid' }),
  original_name: Type.String(),
  status: Type.Literal('deleted'),
});

/** The envelope of every JSON answer: `status` is `success` (or `queued` for an accepted upload). */
export function successEnvelope(data: TSchema, status: 'success' | 'queued' = 'success'): TSchema {
  return Type.Object({ status: Type.Literal(status), data, error: Type.Null() });
}

export const ErrorEnvelopeSchema = Type.Object(
  { status: Type.Literal('error'), data: Type.Null(), error: Type.String({ description: 'What went wrong, for people.' }) },
  { description: 'Every error, whatever the status code.' },
);

// ---- The schemas describe the presenters' types: checked by the compiler ----

type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
/** True when the schema names exactly the type's fields and every value it allows is one the type allows. */
type Describes<S extends TSchema, T> = SameKeys<Static<S>, T> extends true ? (Static<S> extends T ? true : false) : false;

const described: [
  Describes<typeof ThumbnailUrlsSchema, ThumbnailUrls>,
  Describes<typeof ImageSummarySchema, ImageSummary>,
  Describes<typeof ImageDetailSchema, ImageDetail>,
  Describes<typeof QueuedImageSchema, ReturnType<typeof toQueued>>,
  Describes<typeof DirectUploadSchema, DirectUploadView>,
  Describes<typeof DirectUploadSchema.properties.upload, DirectUploadView['upload']>,
  Describes<typeof ImageMetadataSchema, NonNullable<ImageDetail['metadata']>>,
  Describes<typeof StatsSchema, StatsView>,
  Describes<typeof DeletedSchema, DeletedView>,
] = [true, true, true, true, true, true, true, true, true];
void described;
