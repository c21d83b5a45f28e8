#!/bin/sh
# LocalStack runs this once it is ready (docker-compose.yml mounts this folder
# at /etc/localstack/init/ready.d): the bucket, the job queue and its
# dead-letter queue of the `localstack` stage, with the names and settings of
# resources.json, the file serverless.yml and the embedded emulator read too.
# Safe to run again: existing resources are kept.
set -eu

RESOURCES_FILE=${RESOURCES_FILE:-/etc/localstack/init/resources.json}
STAGE=${STAGE:-localstack}

# python3 is in the LocalStack image; jq is not guaranteed to be.
setting() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$RESOURCES_FILE" "$1"
}

prefix="$(setting service)-$STAGE"
bucket="$prefix-$(setting bucketSuffix)"
queue="$prefix-$(setting queueSuffix)"
dead_letter_queue="$prefix-$(setting deadLetterQueueSuffix)"

# As in serverless.yml: public access blocked, encrypted at rest.
if ! awslocal s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  awslocal s3api create-bucket --bucket "$bucket" >/dev/null
fi
awslocal s3api put-public-access-block --bucket "$bucket" \
  --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
awslocal s3api put-bucket-encryption --bucket "$bucket" \
  --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'

dead_letter_url=$(awslocal sqs create-queue --queue-name "$dead_letter_queue" \
  --attributes "MessageRetentionPeriod=$(setting deadLetterRetentionSeconds)" \
  --query QueueUrl --output text)
dead_letter_arn=$(awslocal sqs get-queue-attributes --queue-url "$dead_letter_url" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)

# RedrivePolicy is JSON inside the attributes map: built with python, not by hand.
queue_attributes=$(python3 - "$RESOURCES_FILE" "$dead_letter_arn" <<'PY'
import json, sys
settings = json.load(open(sys.argv[1]))
print(json.dumps({
    "VisibilityTimeout": str(settings["visibilityTimeoutSeconds"]),
    "MessageRetentionPeriod": str(settings["queueRetentionSeconds"]),
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": sys.argv[2], "maxReceiveCount": str(settings["maxReceiveCount"])}),
}))
PY
)
awslocal sqs create-queue --queue-name "$queue" --attributes "$queue_attributes" >/dev/null

echo "imageprocessingapi: bucket $bucket, queue $queue, dead-letter queue $dead_letter_queue ready"
