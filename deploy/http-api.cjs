// The HTTP API's CORS (and the bucket's, for direct uploads) and JWT authorizer settings, resolved when serverless
// reads serverless.yml (`${file(./deploy/http-api.cjs):cors}` etc.): YAML
// alone cannot turn a comma-separated list into an array, leave a setting out
// depending on another, or refuse `*` when reads need a credential.
//   CORS_ALLOWED_ORIGINS  comma-separated origins, e.g. https://app.example.com,https://admin.example.com.
//                         Unset: `*` on the local stages while reads are public, none on AWS stages.
//   AUTH_MODE=jwt         API Gateway's JWT authorizer (JWT_ISSUER, JWT_AUDIENCE) on the upload and
//                         reprocess routes, and on the reads when READ_ACCESS=authenticated. Never on
//                         the thumbnail route: a signed link carries no token. The functions check the
//                         token too (lib/access.ts), which is what runs under serverless offline (it
//                         ignores JWT authorizers unless told to skip the signature check).
'use strict';

module.exports = async ({ resolveVariable }) => {
  const authMode = await resolveVariable('param:authMode');
  const readAccess = (await resolveVariable("env:READ_ACCESS, ''")) || (authMode === 'none' ? 'public' : 'authenticated');
  const openByDefault = String(await resolveVariable('param:openCorsByDefault')) === 'true';
  const listed = await resolveVariable("env:CORS_ALLOWED_ORIGINS, ''");
  const fallback = openByDefault && readAccess === 'public' ? '*' : '';
  const origins = (listed || fallback)
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  if (origins.includes('*') && readAccess === 'authenticated') {
    throw new Error('CORS_ALLOWED_ORIGINS=* is refused while reads need a credential (READ_ACCESS=authenticated): list the origins');
  }
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path)`);
    }
  }
  const cors = {
    allowedMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-Api-Key', 'Idempotency-Key', 'If-None-Match'],
    exposedResponseHeaders: ['Content-Length', 'Link', 'X-Next-Cursor', 'Idempotent-Replayed', 'ETag'],
    maxAge: 3600,
  };
  const jwt = authMode === 'jwt';
  const issuerUrl = await resolveVariable("env:JWT_ISSUER, ''");
  const audience = await resolveVariable("env:JWT_AUDIENCE, ''");
  if (jwt && (!issuerUrl || !audience)) throw new Error('AUTH_MODE=jwt needs JWT_ISSUER and JWT_AUDIENCE');
  // The bucket's CORS for direct uploads (POST /api/uploads): a page at these
  // origins POSTs the file to S3 with the presigned form. No origin, no rule.
  const bucketCors =
    origins.length === 0
      ? { Ref: 'AWS::NoValue' }
      : { CorsRules: [{ Id: 'direct-uploads', AllowedMethods: ['POST'], AllowedOrigins: origins, AllowedHeaders: ['*'], ExposedHeaders: ['ETag', 'Location'], MaxAge: 3600 }] };
  return {
    cors: origins.length === 0 ? false : { allowedOrigins: origins, ...cors },
    bucketCors,
    authorizers: jwt ? { oidc: { type: 'jwt', identitySource: '$request.header.Authorization', issuerUrl, audience: [audience] } } : {},
    // '' leaves the route without an authorizer.
    writeAuthorizer: jwt ? 'oidc' : '',
    readAuthorizer: jwt && readAccess === 'authenticated' ? 'oidc' : '',
  };
};
