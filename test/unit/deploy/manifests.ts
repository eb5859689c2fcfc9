/**
 * Test helpers for the kustomize trees under deploy/: render with `kubectl kustomize` (no cluster needed)
 * and check every rendered object offline against the Kubernetes OpenAPI schemas (kubernetes-models'
 * validators) and against the API's field names (@kubernetes/client-node's model metadata), which the
 * schemas alone do not do: they let unknown fields through, so a typo such as `readOnlyRootFileSystem`
 * would validate and silently drop a security setting.
 */
import { execFileSync } from 'node:child_process'
import * as kubeModels from '@kubernetes/client-node'
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import { parseAllDocuments } from 'yaml'

export type KubeObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; [field: string]: unknown }
  [field: string]: unknown
}

/** Thrown when kubectl cannot be run at all: the deploy tests must fail then, never skip. */
export const KUBECTL_MISSING =
  'kubectl is required to render deploy/ (kubectl kustomize); install kubectl >= 1.27 (CI has it)'

/** `kubectl version --client`, or an Error with {@link KUBECTL_MISSING}. */
export function kubectlVersion(): string {
  try {
    return execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
  } catch (e) {
    throw new Error(`${KUBECTL_MISSING} (${(e as Error).message})`, { cause: e })
  }
}

/** Renders a kustomization directory and parses the multi-document YAML output. */
export function render(dir: string): KubeObject[] {
  let out: string
  try {
    out = execFileSync('kubectl', ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    })
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string }
    if (err.code === 'ENOENT') throw new Error(KUBECTL_MISSING, { cause: e })
    throw new Error(`kubectl kustomize ${dir} failed: ${err.stderr ?? err.message}`, { cause: e })
  }
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message ?? ''}`)
    return doc.toJS() as KubeObject
  })
}

type Validatable = { validate(): void }
type ModelClass = new (data: never) => Validatable

/** The kinds deploy/ may contain, keyed `apiVersion/kind`, with their schema validators. */
const SCHEMAS: Readonly<Record<string, { model: ModelClass; fields: string }>> = {
  'v1/Namespace': { model: Namespace, fields: 'V1Namespace' },
  'v1/ServiceAccount': { model: ServiceAccount, fields: 'V1ServiceAccount' },
  'v1/ConfigMap': { model: ConfigMap, fields: 'V1ConfigMap' },
  'v1/Secret': { model: Secret, fields: 'V1Secret' },
  'v1/Service': { model: Service, fields: 'V1Service' },
  'apps/v1/Deployment': { model: Deployment, fields: 'V1Deployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, fields: 'V1PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, fields: 'V1NetworkPolicy' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, fields: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: ClusterRoleBinding,
    fields: 'V1ClusterRoleBinding',
  },
  'rbac.authorization.k8s.io/v1/Role': { model: Role, fields: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, fields: 'V1RoleBinding' },
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': {
    model: MutatingWebhookConfiguration,
    fields: 'V1MutatingWebhookConfiguration',
  },
}

type Attribute = { baseName: string; type: string }
type FieldModel = { getAttributeTypeMap(): Attribute[] }

function fieldModel(type: string): FieldModel | undefined {
  const candidate = (kubeModels as unknown as Record<string, unknown>)[type]
  if (typeof candidate === 'function' && 'getAttributeTypeMap' in candidate)
    return candidate as unknown as FieldModel
  return undefined
}

/** Leaf types of the client's model metadata (`any` is a free-form object, e.g. a raw extension). */
const SCALARS = new Set(['string', 'number', 'boolean', 'Date', 'IntOrString', 'any'])

/** Fields of `value` that type `type` does not have, as JSON paths (empty when all are known). */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return []
  const array = /^Array<(.+)>$/.exec(type)
  if (array) {
    if (!Array.isArray(value)) return [`${path}: expected a list`]
    return value.flatMap((item, i) => unknownFields(item, array[1] ?? '', `${path}[${i}]`))
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected a map`]
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] ?? '', `${path}.${k}`))
  }
  if (SCALARS.has(type)) return []
  const model = fieldModel(type)
  if (model === undefined) return [`${path}: no field list for type ${type}`]
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`]
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]))
  return Object.entries(value).flatMap(([k, v]) => {
    const fieldType = attributes.get(k)
    if (fieldType === undefined) return [`${path}.${k}`]
    return unknownFields(v, fieldType, `${path}.${k}`)
  })
}

/** Problems with one rendered object: unknown kind, schema errors, unknown fields. Empty when valid. */
export function problems(object: KubeObject): string[] {
  const id = `${object.kind}/${object.metadata?.name ?? '?'}`
  const schema = SCHEMAS[`${object.apiVersion}/${object.kind}`]
  if (schema === undefined) return [`${id}: no schema for ${object.apiVersion} ${object.kind}`]
  const found: string[] = []
  try {
    new schema.model(object as never).validate()
  } catch (e) {
    found.push(`${id}: ${(e as Error).message}`)
  }
  for (const field of unknownFields(object, schema.fields)) found.push(`${id}: unknown field ${field}`)
  return found
}
