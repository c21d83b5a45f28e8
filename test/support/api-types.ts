// The specification's response shapes as the end-to-end tests read them.

export interface Envelope<T> {
  status: string;
  data: T;
  error: string | null;
}

export interface ImageDetail {
  image_id: string;
  original_name: string;
  status: string;
  created_at: string;
  processed_at: string | null;
  metadata: { width: number; height: number; format: string; size_bytes: number } | null;
  caption: string | null;
  caption_status: string;
  exif: string | null;
  processing_time_ms: number | null;
  error: string | null;
  thumbnails: { small: string; medium: string };
}
