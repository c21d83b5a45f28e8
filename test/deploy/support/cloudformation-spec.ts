// Checks a CloudFormation template against AWS's published resource
// specification, as shipped in @aws-cdk/aws-service-spec (the database the
// AWS CDK generates its L1 classes from): every resource type exists, every
// property name is known and its value has the right shape, required
// properties are present, and every Ref, Fn::GetAtt, ${...} in Fn::Sub,
// condition and DependsOn names something that exists. Hand-written because
// the linters that do this (cfn-lint) are not npm packages; it is the nearest
// to "CloudFormation accepts it" that runs without an AWS account. Values
// given by an intrinsic function are not type-checked: they are only known
// at deploy time.
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import { RichProperty } from '@aws-cdk/service-spec-types';
import type { PropertyType, Resource, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';

type Json = Record<string, unknown>;

export interface TemplateShape {
  Resources: Record<string, { Type: string; Properties?: Json; DependsOn?: string | string[]; Condition?: string }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

let database: Promise<SpecDatabase> | undefined;

/** Every problem found, each naming where it is; empty when the template conforms. */
export async function validateAgainstSpec(template: TemplateShape): Promise<string[]> {
  database ??= loadAwsServiceSpec();
  const db = await database;
  const problems: string[] = [];
  const specs = new Map<string, Resource>();

  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource') continue;
    const [spec] = db.lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    if (!spec) {
      problems.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    specs.set(id, spec);
    checkObject(db, spec.properties, resource.Properties ?? {}, `${id}.Properties`, problems);
    for (const target of [resource.DependsOn ?? []].flat()) {
      if (!(target in template.Resources)) problems.push(`${id}.DependsOn: no resource ${target}`);
    }
    if (resource.Condition !== undefined && !(resource.Condition in (template.Conditions ?? {}))) {
      problems.push(`${id}.Condition: no condition ${resource.Condition}`);
    }
  }
  checkReferences(template, specs, template, 'template', problems);
  return problems;
}

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || String(keys[0]).startsWith('Fn::'));
}

function isNoValue(value: unknown): boolean {
  return isIntrinsic(value) && (value as Json).Ref === 'AWS::NoValue';
}

function checkObject(db: SpecDatabase, properties: Record<string, { required?: boolean }>, value: unknown, where: string, problems: string[]): void {
  if (isIntrinsic(value)) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where}: expected an object, got ${JSON.stringify(value)}`);
    return;
  }
  const given = value as Json;
  for (const [name, propertyValue] of Object.entries(given)) {
    const property = properties[name] as Parameters<typeof propertyTypes>[0] | undefined;
    if (!property) {
      problems.push(`${where}: unknown property ${name}`);
      continue;
    }
    if (isNoValue(propertyValue)) continue;
    const types = propertyTypes(property);
    const attempts = types.map((type) => {
      const found: string[] = [];
      checkValue(db, type, propertyValue, `${where}.${name}`, found);
      return found;
    });
    if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts[0] ?? []));
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && (!(name in given) || isNoValue(given[name]))) problems.push(`${where}: required property ${name} missing`);
  }
}

function propertyTypes(property: { type: PropertyType; previousTypes?: PropertyType[] }): PropertyType[] {
  return new RichProperty(property as ConstructorParameters<typeof RichProperty>[0]).types();
}

function checkValue(db: SpecDatabase, type: PropertyType, value: unknown, where: string, problems: string[]): void {
  if (isIntrinsic(value)) return;
  const wrong = (): void => void problems.push(`${where}: expected ${type.type}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  switch (type.type) {
    case 'string':
    case 'date-time':
      // CloudFormation turns numbers and booleans into strings where a string is expected.
      if (!['string', 'number', 'boolean'].includes(typeof value)) wrong();
      return;
    case 'number':
    case 'integer':
      if (!(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))))) wrong();
      else if (type.type === 'integer' && !Number.isInteger(Number(value))) wrong();
      return;
    case 'boolean':
      if (!(typeof value === 'boolean' || value === 'true' || value === 'false')) wrong();
      return;
    case 'json':
    case 'null':
      return;
    case 'tag':
      checkObject(db, { Key: { required: true, type: { type: 'string' } }, Value: { required: true, type: { type: 'string' } } } as never, value, where, problems);
      return;
    case 'array':
      if (!Array.isArray(value)) return wrong();
      value.forEach((item, i) => checkValue(db, type.element, item, `${where}[${i}]`, problems));
      return;
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong();
      for (const [key, item] of Object.entries(value)) checkValue(db, type.element, item, `${where}.${key}`, problems);
      return;
    case 'union': {
      const attempts = type.types.map((member) => {
        const found: string[] = [];
        checkValue(db, member, value, where, found);
        return found;
      });
      if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts[0] ?? []));
      return;
    }
    case 'ref': {
      const definition = db.get('typeDefinition', type.reference.$ref) as TypeDefinition;
      checkObject(db, definition.properties, value, where, problems);
      return;
    }
  }
}

const PSEUDO = new Set(['AWS::AccountId', 'AWS::NoValue', 'AWS::NotificationARNs', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);

function checkReferences(template: TemplateShape, specs: Map<string, Resource>, node: unknown, where: string, problems: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => checkReferences(template, specs, item, `${where}[${i}]`, problems));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const refTarget = (name: string, label: string): void => {
    if (!PSEUDO.has(name) && !(name in template.Resources) && !(name in (template.Parameters ?? {}))) problems.push(`${where}: ${label} names nothing: ${name}`);
  };
  const getAtt = (id: string, attribute: string): void => {
    const resource = template.Resources[id];
    if (!resource) return void problems.push(`${where}: Fn::GetAtt of a missing resource ${id}`);
    const spec = specs.get(id);
    if (spec && !(attribute in spec.attributes)) problems.push(`${where}: ${resource.Type} has no attribute ${attribute} (Fn::GetAtt ${id}.${attribute})`);
  };
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === 'Ref' && typeof value === 'string') refTarget(value, 'Ref');
    else if (key === 'Fn::GetAtt') {
      const [id, attribute] = typeof value === 'string' ? value.split(/\.(.*)/s) : (value as unknown[]);
      if (typeof id === 'string' && typeof attribute === 'string') getAtt(id, attribute);
    } else if (key === 'Fn::Sub') {
      const [text, variables] = typeof value === 'string' ? [value, {}] : ((value as unknown[]) as [string, Json]);
      for (const match of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const name = String(match[1]);
        if (name in (variables ?? {})) continue;
        const dot = name.indexOf('.');
        if (dot === -1) refTarget(name, 'Fn::Sub');
        else getAtt(name.slice(0, dot), name.slice(dot + 1));
      }
    } else if ((key === 'Condition' || key === 'Fn::If') && where !== 'template') {
      const name = key === 'Fn::If' ? (value as unknown[])[0] : value;
      if (typeof name === 'string' && !(name in (template.Conditions ?? {}))) problems.push(`${where}: no condition ${name}`);
    }
    checkReferences(template, specs, value, `${where}.${key}`, problems);
  }
}
