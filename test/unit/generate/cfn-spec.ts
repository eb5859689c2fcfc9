/**
 * Validates a CloudFormation template against the published resource specification, as shipped by
 * @aws-cdk/aws-service-spec (Apache-2.0; its db.json.gz is built from the CloudFormation registry schemas):
 * every resource type exists, every property name exists, required properties are present, and every value
 * has the property's type (intrinsic functions stand for any scalar).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of external formats, read field by field
type Obj = Record<string, any>
type PropType = {
  type: string
  element?: PropType
  types?: PropType[]
  reference?: { $ref: string }
}
type Prop = { type: PropType; required?: boolean }

let db: { resources: Map<string, Obj>; types: Map<string, Obj> } | undefined

function load(): NonNullable<typeof db> {
  if (db !== undefined) return db
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve('@aws-cdk/aws-service-spec/package.json'))
  const raw = JSON.parse(gunzipSync(readFileSync(join(dir, 'db.json.gz'))).toString('utf8')) as Obj
  const resources = new Map<string, Obj>()
  for (const r of raw['schema']['resource']['entities'] as Obj[])
    resources.set(r['cloudFormationType'], r)
  const types = new Map<string, Obj>()
  for (const t of raw['schema']['typeDefinition']['entities'] as Obj[]) types.set(t['$id'], t)
  db = { resources, types }
  return db
}

const isIntrinsic = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  /^(Ref|Fn::[A-Za-z]+|Condition)$/.test(Object.keys(v)[0]!)

function checkValue(value: unknown, type: PropType, path: string, out: string[]): void {
  if (isIntrinsic(value)) return
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string') out.push(`${path}: expected a string`)
      return
    case 'number':
    case 'integer':
      if (typeof value !== 'number') out.push(`${path}: expected a number`)
      return
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: expected a boolean`)
      return
    case 'json':
      if (typeof value !== 'object' || value === null) out.push(`${path}: expected a JSON object`)
      return
    case 'tag': {
      checkObject(
        value,
        {
          Key: { type: { type: 'string' }, required: true },
          Value: { type: { type: 'string' }, required: true },
        },
        path,
        out,
      )
      return
    }
    case 'array':
      if (!Array.isArray(value)) out.push(`${path}: expected a list`)
      else value.forEach((v, i) => checkValue(v, type.element!, `${path}[${i}]`, out))
      return
    case 'map':
      if (typeof value !== 'object' || value === null) out.push(`${path}: expected a map`)
      else
        for (const [k, v] of Object.entries(value))
          checkValue(v, type.element!, `${path}.${k}`, out)
      return
    case 'union': {
      const attempts = type.types!.map((t) => {
        const o: string[] = []
        checkValue(value, t, path, o)
        return o
      })
      if (!attempts.some((a) => a.length === 0)) out.push(...attempts[0]!)
      return
    }
    case 'ref': {
      const def = load().types.get(type.reference!.$ref)
      if (def === undefined) out.push(`${path}: unknown type ${type.reference!.$ref}`)
      else checkObject(value, def['properties'] as Record<string, Prop>, path, out)
      return
    }
    default:
      out.push(`${path}: no check for type ${type.type}`)
  }
}

function checkObject(
  value: unknown,
  props: Record<string, Prop>,
  path: string,
  out: string[],
): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push(`${path}: expected an object`)
    return
  }
  for (const [k, v] of Object.entries(value)) {
    const prop = props[k]
    if (prop === undefined) out.push(`${path}.${k}: unknown property`)
    else checkValue(v, prop.type, `${path}.${k}`, out)
  }
  for (const [k, p] of Object.entries(props))
    if (p.required === true && !(k in value)) out.push(`${path}.${k}: required`)
}

/** Problems of a template against the specification; empty when valid. */
export function templateProblems(template: Obj): string[] {
  const out: string[] = []
  const resources = template['Resources'] as Obj
  for (const [id, r] of Object.entries(resources)) {
    if (!/^[A-Za-z0-9]+$/.test(id)) out.push(`${id}: logical ids are alphanumeric`)
    const spec = load().resources.get(r['Type'])
    if (spec === undefined) {
      out.push(`${id}: unknown resource type ${r['Type']}`)
      continue
    }
    checkObject(
      r['Properties'] ?? {},
      spec['properties'] as Record<string, Prop>,
      `${id}.Properties`,
      out,
    )
    for (const dep of r['DependsOn'] ?? [])
      if (!(dep in resources)) out.push(`${id}.DependsOn: no resource ${dep}`)
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk)
      else if (typeof v === 'object' && v !== null) {
        const o = v as Obj
        if (
          typeof o['Ref'] === 'string' &&
          !(o['Ref'] in resources) &&
          !o['Ref'].startsWith('AWS::')
        )
          out.push(`${id}: Ref to unknown ${o['Ref']}`)
        const ga = o['Fn::GetAtt']
        if (Array.isArray(ga)) {
          const target = resources[ga[0]]
          const attrs =
            target === undefined
              ? undefined
              : (load().resources.get(target['Type'])?.['attributes'] as Obj | undefined)
          if (attrs === undefined || !(ga[1] in attrs))
            out.push(`${id}: Fn::GetAtt ${ga.join('.')} does not exist`)
        }
        Object.values(o).forEach(walk)
      }
    }
    walk(r['Properties'])
  }
  return out
}
