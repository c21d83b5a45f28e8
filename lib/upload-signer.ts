// Presigned POSTs for direct uploads (lib/direct-upload.ts), with AWS's
// @aws-sdk/s3-presigned-post. A module of its own, imported only by the
// function that hands the forms out: the Lambda runtime does not ship that
// package, so it is bundled, and the other functions need not carry it.
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { Config } from './config.ts';
import { createAwsClients } from './deps.ts';

export interface UploadPolicy {
  contentType: string;
  sizeBytes: number;
  expiresInSeconds: number;
}

/** What a client sends: a multipart/form-data POST to `url` with every field, the file last. */
export interface PresignedUpload {
  url: string;
  fields: Record<string, string>;
}

export interface UploadSigner {
  /** A POST that can store exactly this object: this key, this size, this type, until the expiry. */
  sign(key: string, policy: UploadPolicy): Promise<PresignedUpload>;
}

export interface UploadSignerOptions {
  /**
   * Where clients send the POST when that is not the S3 endpoint itself: the
   * local upload gateway (local/upload-gateway.ts). The signature covers the
   * policy, not the URL, so only the URL changes.
   */
  uploadEndpoint?: string | undefined;
}

export function createUploadSigner(s3: S3Client, bucket: string, options: UploadSignerOptions = {}): UploadSigner {
  return {
    async sign(key, policy) {
      const post = await createPresignedPost(s3, {
        Bucket: bucket,
        Key: key,
        // Every field becomes an exact condition of the policy too: the key and the Content-Type.
        Conditions: [['content-length-range', policy.sizeBytes, policy.sizeBytes]],
        Fields: { 'Content-Type': policy.contentType },
        Expires: policy.expiresInSeconds,
      });
      const url = options.uploadEndpoint ? new URL(new URL(post.url).pathname, `${options.uploadEndpoint}/`).href : post.url;
      return { url, fields: post.fields };
    },
  };
}

/** The signer of a function, with the function's credentials (its role on AWS). */
export function uploadSignerFor(config: Pick<Config, 'region' | 'awsEndpoint' | 'bucketName' | 'directUpload'>): UploadSigner {
  return createUploadSigner(createAwsClients(config).s3, config.bucketName, { uploadEndpoint: config.directUpload.endpoint });
}
