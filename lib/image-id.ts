// Image ids are UUIDs (randomUUID at upload). Kept apart from the job queue
// module, which loads the SQS client: the read functions check ids too.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isImageId(value: string): boolean {
  return UUID.test(value);
}
