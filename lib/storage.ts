// S3 layout of originals and thumbnails; the key scheme lives only here.
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ImageFormat } from './images/sniff.ts';
import { THUMBNAIL_SIZES } from './images/thumbnail-sizes.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';

export interface ImageStorage {
  putOriginal(imageId: string, format: ImageFormat, body: Uint8Array, contentType: string): Promise<string>;
  getOriginal(key: string): Promise<Buffer | null>;
  deleteOriginal(key: string): Promise<void>;
  putThumbnail(imageId: string, size: ThumbnailSize, body: Uint8Array): Promise<string>;
  getThumbnail(imageId: string, size: ThumbnailSize): Promise<Buffer | null>;
  /** Both thumbnails of an image; done when they are gone, whether or not they existed. */
  deleteThumbnails(imageId: string): Promise<void>;
  /** Size and type of a stored object without reading it; null when there is none. */
  statObject(key: string): Promise<ObjectStat | null>;
}

export interface ObjectStat {
  sizeBytes: number;
  contentType: string | undefined;
}

/** Direct uploads (presigned POSTs) land under their own prefix: the bucket notifies the pipeline for this prefix only. */
export const UPLOAD_PREFIX = 'uploads/';

export function originalKey(imageId: string, format: ImageFormat): string {
  return `originals/${imageId}.${format}`;
}

export function thumbnailKey(imageId: string, size: ThumbnailSize): string {
  return `thumbnails/${imageId}/${size}.jpg`;
}

export function uploadKey(imageId: string): string {
  return `${UPLOAD_PREFIX}${imageId}`;
}

/** What follows the prefix of a direct upload's key (the image id, if the key is one of ours); null outside the prefix. */
export function uploadedImageId(key: string): string | null {
  return key.startsWith(UPLOAD_PREFIX) ? key.slice(UPLOAD_PREFIX.length) : null;
}

export function createImageStorage(s3: S3Client, bucket: string): ImageStorage {
  async function get(key: string): Promise<Buffer | null> {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!res.Body) return null;
      return Buffer.from(await res.Body.transformToByteArray());
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }
  async function put(key: string, body: Uint8Array, contentType: string): Promise<string> {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    return key;
  }
  return {
    putOriginal: (imageId, format, body, contentType) => put(originalKey(imageId, format), body, contentType),
    getOriginal: get,
    async deleteOriginal(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    putThumbnail: (imageId, size, body) => put(thumbnailKey(imageId, size), body, 'image/jpeg'),
    getThumbnail: (imageId, size) => get(thumbnailKey(imageId, size)),
    async deleteThumbnails(imageId) {
      // S3 answers a DELETE of a missing key with success: a retry after a partial failure finishes the job.
      const sizes = Object.keys(THUMBNAIL_SIZES) as ThumbnailSize[];
      await Promise.all(sizes.map((size) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: thumbnailKey(imageId, size) }))));
    },
    async statObject(key) {
      try {
        const res = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { sizeBytes: res.ContentLength ?? 0, contentType: res.ContentType };
      } catch (error) {
        // HEAD has no body, so a missing object is a bare 404 (NotFound), not NoSuchKey.
        if (error instanceof NotFound || error instanceof NoSuchKey || ['NotFound', 'NoSuchKey'].includes((error as { name?: string }).name ?? '')) return null;
        throw error;
      }
    },
  };
}
