// Checks an answer of the API against the OpenAPI document it serves: the
// route and status must be documented, and a JSON body must match the
// documented schema (ajv, JSON Schema 2020-12, formats included). Stricter
// than the document itself: every object is closed (no property the document
// does not name), so a field the code adds without documenting it fails too.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`; under Node's ESM loader the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

export interface ResponseCheck {
  method: string;
  /** The request path, e.g. /api/images/3f.../thumbnails/small (query ignored). */
  path: string;
  status: number;
  contentType: string | null;
  body: unknown;
}

export interface ResponseValidator {
  /** @throws AssertionError-like Error naming the route and what did not match. */
  check(response: ResponseCheck): void;
  /** Fetches, checks and returns the answer, its JSON body parsed when it is JSON. */
  fetch<T = unknown>(url: string, init?: RequestInit): Promise<{ res: Response; status: number; body: T }>;
  /** How many answers were checked, by "METHOD template status". */
  checked: Map<string, number>;
}

function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) out[key] = key === 'properties' ? mapValues(value as Json, closeObjects) : closeObjects(value);
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined && out.patternProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function mapValues(object: Json, fn: (value: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}

function templateRegExp(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export function createResponseValidator(document: Json): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const components = (document.components as { schemas?: Json } | undefined)?.schemas ?? {};
  ajv.addSchema({ $id: 'openapi-components', $defs: mapValues(components, closeObjects) });
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  const templates = Object.keys(paths)
    // Literal paths before templated ones (/api/openapi.json is not an image id).
    .sort((a, b) => (a.includes('{') ? 1 : 0) - (b.includes('{') ? 1 : 0))
    .map((template) => ({ template, pattern: templateRegExp(template) }));
  const compiled = new Map<string, ValidateFunction>();
  const checked = new Map<string, number>();

  function schemaFor(key: string, schema: unknown): ValidateFunction {
    let validate = compiled.get(key);
    if (!validate) {
      const rewritten = JSON.parse(JSON.stringify(closeObjects(schema)).replaceAll('"#/components/schemas/', '"openapi-components#/$defs/')) as Json;
      validate = ajv.compile(rewritten);
      compiled.set(key, validate);
    }
    return validate;
  }

  const validator: ResponseValidator = {
    checked,
    check({ method, path, status, contentType, body }) {
      const pathname = new URL(path, 'http://x').pathname;
      const match = templates.find(({ pattern }) => pattern.test(pathname));
      const where = `${method} ${pathname} ${status}`;
      if (!match) throw new Error(`${where}: no documented path`);
      const operation = paths[match.template]?.[method.toLowerCase()];
      if (!operation) throw new Error(`${where}: method not documented for ${match.template}`);
      const responses = operation.responses as Record<string, Json>;
      const response = responses[String(status)];
      if (!response) throw new Error(`${where}: status not documented for ${method} ${match.template} (documented: ${Object.keys(responses).join(', ')})`);
      const key = `${method.toUpperCase()} ${match.template} ${status}`;
      checked.set(key, (checked.get(key) ?? 0) + 1);
      const content = response.content as Record<string, { schema?: unknown }> | undefined;
      if (!content) {
        if (body !== null && body !== undefined && body !== '') throw new Error(`${where}: a body where the document says none`);
        return;
      }
      const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
      const documented = content[mediaType];
      if (!documented) throw new Error(`${where}: content type ${mediaType} not documented (documented: ${Object.keys(content).join(', ')})`);
      if (mediaType !== 'application/json' || documented.schema === undefined) return;
      const validate = schemaFor(`${key} ${mediaType}`, documented.schema);
      if (!validate(body)) throw new Error(`${where}: body does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
    },
    async fetch<T>(url: string, init?: RequestInit) {
      const res = await fetch(url, init);
      const contentType = res.headers.get('content-type');
      const raw = Buffer.from(await res.arrayBuffer());
      const body = (raw.length === 0 ? null : contentType?.startsWith('application/json') ? JSON.parse(raw.toString('utf8')) : raw) as T;
      validator.check({ method: init?.method ?? 'GET', path: url, status: res.status, contentType, body });
      return { res, status: res.status, body };
    },
  };
  return validator;
}
