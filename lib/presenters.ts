// The specification's response shapes, built from database records.
import type { ImageListItem, ImageRecord, ImageStats } from './db/images-repository.ts';
import type { UploadForm } from './direct-upload.ts';
import type { ImageMetadata } from './images/thumbnails.ts';

export interface ThumbnailUrls {
  small: string;
  medium: string;
}

/** The URLs of an image's thumbnails as handed out (lib/access.ts signs them when reads need a credential). */
export type ThumbnailLinks = (id: string) => ThumbnailUrls;

export interface ImageSummary {
  image_id: string;
  original_name: string;
  status: string;
  created_at: string;
  processed_at: string | null;
  thumbnails: ThumbnailUrls;
}

export interface ImageDetail extends ImageSummary {
  metadata: ImageMetadata | null;
  caption: string | null;
  caption_status: string;
  exif: string | null;
  processing_time_ms: number | null;
  error: string | null;
}

export interface StatsView {
  total: number;
  success: number;
  failed: number;
  success_rate: number;
  failure_rate: number;
  avg_processing_time_ms: number;
}

export function toSummary(record: ImageListItem, links: ThumbnailLinks): ImageSummary {
  return {
    image_id: record.id,
    original_name: record.originalName,
    status: record.status,
    created_at: record.createdAt,
    processed_at: record.processedAt,
    thumbnails: links(record.id),
  };
}

export function toDetail(record: ImageRecord, links: ThumbnailLinks): ImageDetail {
  const metadata =
    record.width !== null && record.height !== null && record.format !== null
      ? { width: record.width, height: record.height, format: record.format, size_bytes: record.sizeBytes }
      : null;
  return {
    ...toSummary(record, links),
    metadata,
    caption: record.caption,
    caption_status: record.captionStatus,
    exif: record.exif,
    processing_time_ms: record.processingTimeMs,
    error: record.error,
  };
}

/** Headers pointing at the next page of the list (of the same filter and search); none on the last page. */
export function nextPageHeaders(baseUrl: string, limit: number, nextCursor: string | null, status?: string, q?: string): Record<string, string> {
  if (nextCursor === null) return {};
  const filter = (status === undefined ? '' : `&status=${encodeURIComponent(status)}`) + (q === undefined ? '' : `&q=${encodeURIComponent(q)}`);
  const url = `${baseUrl}/api/images?limit=${limit}${filter}&cursor=${encodeURIComponent(nextCursor)}`;
  return { 'x-next-cursor': nextCursor, link: `<${url}>; rel="next"` };
}

/** The upload answer: the specification shows the queued image without a status field of its own. */
export function toQueued(record: ImageRecord, links: ThumbnailLinks): Omit<ImageDetail, 'caption' | 'exif' | 'caption_status' | 'processing_time_ms' | 'error'> {
  return { ...toSummary(record, links), metadata: null };
}

export interface DirectUploadView extends ImageSummary {
  upload: { method: 'POST'; url: string; fields: Record<string, string>; expires_at: string; max_bytes: number };
}

/** The answer of POST /api/uploads: the awaited image and how to send its file. */
export function toDirectUpload(record: ImageRecord, upload: UploadForm, links: ThumbnailLinks): DirectUploadView {
  return {
    ...toSummary(record, links),
    upload: { method: upload.method, url: upload.url, fields: upload.fields, expires_at: upload.expiresAt, max_bytes: upload.maxBytes },
  };
}

/** The answer of DELETE /api/images/{id}. */
export interface DeletedView {
  image_id: string;
  original_name: string;
  status: 'deleted';
}

export function toDeleted(record: ImageListItem): DeletedView {
  return { image_id: record.id, original_name: record.originalName, status: 'deleted' };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

export function toStatsView(stats: ImageStats): StatsView {
  const rate = (part: number): number => (stats.total === 0 ? 0 : round(part / stats.total, 4));
  return {
    total: stats.total,
    success: stats.success,
    failed: stats.failed,
    success_rate: rate(stats.success),
    failure_rate: rate(stats.failed),
    avg_processing_time_ms: stats.avgProcessingTimeMs === null ? 0 : round(stats.avgProcessingTimeMs, 1),
  };
}
