// S3 layout of originals and thumbnails; the key scheme lives only here.
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ImageFormat } from './images/sniff.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';

export interface ImageStorage {
  putOriginal(imageId: string, format: ImageFormat, body: Uint8Array, contentType: string): Promise<string>;
  getOriginal(key: string): Promise<Buffer | null>;
  deleteOriginal(key: string): Promise<void>;
  putThumbnail(imageId: string, size: ThumbnailSize, body: Uint8Array): Promise<string>;
  getThumbnail(imageId: string, size: ThumbnailSize): Promise<Buffer | null>;
}

export function originalKey(imageId: string, format: ImageFormat): string {
  return `originals/${imageId}.${format}`;
}

export function thumbnailKey(imageId: string, size: ThumbnailSize): string {
  return `thumbnails/${imageId}/${size}.jpg`;
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
  };
}
