/**
 * @module kube/admission
 * The AdmissionReview wire format (`admission.k8s.io/v1` and `v1beta1`, identical in JSON), read and
 * written the way each reference does it, so kube-apiserver and existing tooling see the same bytes:
 * - `aws` (`/mutate`, aws/amazon-eks-pod-identity-webhook's Go handler): a content type other than
 *   `application/json` is HTTP 415; a body that does not decode, a missing request or pod is 200 with
 *   `allowed:false` and the error in `status.message`; the response echoes the request's `kind` and
 *   `apiVersion` and omits them when the request had none.
 * - `azure` (`/mutate-v1-pod`, controller-runtime): every failure is 200 with `allowed:false` and
 *   `status.code` 400 (413 for a body over the limit); `kind`/`apiVersion` default to v1 when absent.
 * Error messages follow Go's wording where a case file pins it (`handler_http_cases.json`) and its shape
 * elsewhere. Field order is Go's struct order; `<`, `>`, `&` are escaped as Go's encoder does.
 */
import type { JsonPatchOperation, Pod } from '../mutation/types.ts'
import type { AdmissionEndpoint, MalformedReason } from './metrics.ts'

/** kube-apiserver refuses request bodies over 3 MiB, so a larger AdmissionReview is not from it. */
export const MAX_ADMISSION_BODY_BYTES = 3 * 1024 * 1024

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const

export interface TypeMeta {
  kind?: string
  apiVersion?: string
}

/** The parts of an AdmissionRequest the webhook uses. */
export interface AdmissionRequestView {
  uid: string
  /** The request's namespace (wins over the pod's). */
  namespace: string
  operation: string | undefined
  dryRun: boolean
  pod: Pod
}

export type DecodedReview =
  | { ok: true; typeMeta: TypeMeta; request: AdmissionRequestView }
  | { ok: false; typeMeta: TypeMeta; uid: string; reason: MalformedReason; message: string }

/** What the response says, before encoding. */
export interface AdmissionAnswer {
  uid: string
  allowed: boolean
  status?: { message?: string; code?: number }
  patch?: readonly JsonPatchOperation[]
  warnings?: readonly string[]
}

/** One HTTP answer: status, headers, body. */
export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

const JSON_HEADERS = { 'content-type': 'application/json' }

/** Go's http.Error: the message and a newline as text/plain, nosniff. */
export function goHttpError(status: number, message: string): HttpAnswer {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    body: `${message}\n`,
  }
}

/** Go's encoding/json type names in unmarshal errors. */
function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'bool'
  return typeof v === 'object' ? 'object' : typeof v
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Node's JSON.parse message in Go's words where they have the same meaning. */
function goParseError(err: unknown, text: string): string {
  const m = err instanceof Error ? err.message : String(err)
  const at = /at position (\d+)/.exec(m)
  // Input that stops mid-value is Go's "unexpected end", whatever token V8 expected next.
  if (
    /^Unexpected end of JSON input/.test(m) ||
    (at !== null && Number(at[1]) >= text.trimEnd().length)
  ) {
    return 'unexpected end of JSON input'
  }
  return m.charAt(0).toLowerCase() + m.slice(1)
}

const TYPE_META_STRUCT =
  'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'

/**
 * Checks the pod fields the mutation reads have the types Go's decoder would require (so a hostile or
 * broken pod is an error answer, not an exception), and drops those that are `null` (Go's zero value).
 * Returns Go's unmarshal message for the first mismatch.
 */
function wrong(v: unknown, struct: string, path: string, goType: string): string {
  return `json: cannot unmarshal ${goJsonType(v)} into Go struct field ${struct}.${path} of type ${goType}`
}

/** One field's type check (see checkPod); module-level so no closure is built per request. */
function field(
  obj: Record<string, unknown>,
  key: string,
  want: 'string' | 'object' | 'array' | 'stringMap',
  struct: string,
  path: string,
  goType: string,
): string | undefined {
  const v = obj[key]
  if (v === undefined) return undefined
  if (v === null) {
    delete obj[key]
    return undefined
  }
  if (want === 'string') return typeof v === 'string' ? undefined : wrong(v, struct, path, goType)
  if (want === 'array') return Array.isArray(v) ? undefined : wrong(v, struct, path, goType)
  if (!isObject(v)) return wrong(v, struct, path, goType)
  if (want === 'stringMap') {
    for (const key in v) {
      const item = v[key]
      if (typeof item !== 'string') return wrong(item, struct, path, 'string')
    }
  }
  return undefined
}

function checkPod(pod: Record<string, unknown>): string | undefined {
  const meta = pod['metadata']
  let err = field(pod, 'metadata', 'object', 'Pod', 'metadata', 'v1.ObjectMeta')
  if (err !== undefined) return err
  if (isObject(meta)) {
    for (const k of ['name', 'generateName', 'namespace']) {
      err = field(meta, k, 'string', 'ObjectMeta', `metadata.${k}`, 'string')
      if (err !== undefined) return err
    }
    for (const k of ['labels', 'annotations']) {
      err = field(meta, k, 'stringMap', 'ObjectMeta', `metadata.${k}`, 'map[string]string')
      if (err !== undefined) return err
    }
  }
  err = field(pod, 'spec', 'object', 'Pod', 'spec', 'v1.PodSpec')
  if (err !== undefined) return err
  const spec = pod['spec']
  if (!isObject(spec)) return undefined
  err =
    field(spec, 'serviceAccountName', 'string', 'PodSpec', 'spec.serviceAccountName', 'string') ??
    field(spec, 'nodeSelector', 'stringMap', 'PodSpec', 'spec.nodeSelector', 'map[string]string') ??
    field(spec, 'volumes', 'array', 'PodSpec', 'spec.volumes', '[]v1.Volume')
  if (err !== undefined) return err
  for (const volume of (spec['volumes'] as unknown[] | undefined) ?? []) {
    if (!isObject(volume)) return wrong(volume, 'PodSpec', 'spec.volumes', 'v1.Volume')
    err = field(volume, 'name', 'string', 'Volume', 'spec.volumes.name', 'string')
    if (err !== undefined) return err
  }
  for (const list of ['containers', 'initContainers']) {
    err = field(spec, list, 'array', 'PodSpec', `spec.${list}`, '[]v1.Container')
    if (err !== undefined) return err
    for (const c of (spec[list] as unknown[] | undefined) ?? []) {
      const path = `spec.${list}`
      if (!isObject(c)) return wrong(c, 'PodSpec', path, 'v1.Container')
      err =
        field(c, 'name', 'string', 'Container', `${path}.name`, 'string') ??
        field(c, 'env', 'array', 'Container', `${path}.env`, '[]v1.EnvVar') ??
        field(c, 'volumeMounts', 'array', 'Container', `${path}.volumeMounts`, '[]v1.VolumeMount')
      if (err !== undefined) return err
      for (const e of (c['env'] as unknown[] | undefined) ?? []) {
        if (!isObject(e)) return wrong(e, 'Container', `${path}.env`, 'v1.EnvVar')
        err =
          field(e, 'name', 'string', 'EnvVar', `${path}.env.name`, 'string') ??
          field(e, 'value', 'string', 'EnvVar', `${path}.env.value`, 'string')
        if (err !== undefined) return err
      }
      for (const m of (c['volumeMounts'] as unknown[] | undefined) ?? []) {
        if (!isObject(m)) return wrong(m, 'Container', `${path}.volumeMounts`, 'v1.VolumeMount')
        err =
          field(m, 'name', 'string', 'VolumeMount', `${path}.volumeMounts.name`, 'string') ??
          field(m, 'mountPath', 'string', 'VolumeMount', `${path}.volumeMounts.mountPath`, 'string')
        if (err !== undefined) return err
      }
    }
  }
  return undefined
}

/**
 * Decodes a request body. `dialect` picks the reference's messages for the cases where they differ.
 *
 * @example decodeAdmissionReview(Buffer.from('{"request":null}'), 'aws') // { ok: false, message: 'bad content', … }
 */
function fail(
  reason: MalformedReason,
  message: string,
  typeMeta: TypeMeta = {},
  uid = '',
): DecodedReview {
  return { ok: false, typeMeta, uid, reason, message }
}

export function decodeAdmissionReview(body: Buffer, dialect: AdmissionEndpoint): DecodedReview {
  if (body.length === 0) {
    return dialect === 'aws' ? fail('empty', 'bad content') : fail('empty', 'request body is empty')
  }
  let json: unknown
  const text = body.toString('utf8')
  try {
    json = JSON.parse(text)
  } catch (err) {
    return fail('decode', `couldn't get version/kind; json parse error: ${goParseError(err, text)}`)
  }
  if (!isObject(json)) {
    return fail(
      'decode',
      `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(json)} into Go value of type ${TYPE_META_STRUCT}`,
    )
  }
  const { kind, apiVersion } = json
  for (const [name, v] of [
    ['kind', kind],
    ['apiVersion', apiVersion],
  ] as const) {
    if (v !== undefined && v !== null && typeof v !== 'string') {
      return fail(
        'decode',
        `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(v)} into Go struct field .${name} of type string`,
      )
    }
  }
  const typeMeta: TypeMeta = {
    ...(typeof kind === 'string' && kind !== '' ? { kind } : {}),
    ...(typeof apiVersion === 'string' && apiVersion !== '' ? { apiVersion } : {}),
  }
  if (
    (typeMeta.kind !== undefined && typeMeta.kind !== 'AdmissionReview') ||
    (typeMeta.apiVersion !== undefined &&
      !(ADMISSION_API_VERSIONS as readonly string[]).includes(typeMeta.apiVersion))
  ) {
    return fail(
      'decode',
      `no kind "${typeMeta.kind ?? ''}" is registered for version "${typeMeta.apiVersion ?? ''}"`,
    )
  }
  const request = json['request']
  if (request === undefined || request === null) {
    return dialect === 'aws'
      ? fail('no_request', 'bad content', typeMeta)
      : fail('no_request', 'there is no content to decode', typeMeta)
  }
  if (!isObject(request)) {
    return fail(
      'decode',
      `json: cannot unmarshal ${goJsonType(request)} into Go struct field AdmissionReview.request of type v1.AdmissionRequest`,
      typeMeta,
    )
  }
  for (const name of ['uid', 'namespace', 'operation'] as const) {
    const v = request[name]
    if (v !== undefined && v !== null && typeof v !== 'string') {
      return fail(
        'decode',
        `json: cannot unmarshal ${goJsonType(v)} into Go struct field AdmissionRequest.request.${name} of type string`,
        typeMeta,
      )
    }
  }
  const uid = typeof request['uid'] === 'string' ? request['uid'] : ''
  const object = request['object']
  if (object === undefined || object === null) {
    // Go's json.Unmarshal of an empty RawExtension; controller-runtime's decoder says it its own way.
    return fail(
      'pod',
      dialect === 'aws' ? 'unexpected end of JSON input' : 'there is no content to decode',
      typeMeta,
      uid,
    )
  }
  if (!isObject(object)) {
    return fail(
      'pod',
      `json: cannot unmarshal ${goJsonType(object)} into Go value of type v1.Pod`,
      typeMeta,
      uid,
    )
  }
  const podError = checkPod(object)
  if (podError !== undefined) return fail('pod', podError, typeMeta, uid)
  const pod = object as Pod
  const namespace =
    typeof request['namespace'] === 'string' && request['namespace'] !== ''
      ? request['namespace']
      : (pod.metadata?.namespace ?? '')
  return {
    ok: true,
    typeMeta,
    request: {
      uid,
      namespace,
      operation: typeof request['operation'] === 'string' ? request['operation'] : undefined,
      dryRun: request['dryRun'] === true,
      pod,
    },
  }
}

/** Go's encoding/json escapes these in strings (HTML safety); kube-apiserver reads either form. */
const GO_ESCAPED = /[<>&\u2028\u2029]/g
const goEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
function goJson(value: unknown): string {
  const json = JSON.stringify(value)
  GO_ESCAPED.lastIndex = 0
  return GO_ESCAPED.test(json) ? json.replace(GO_ESCAPED, goEscape) : json
}

/** The response's kind/apiVersion: echoed (aws, omitted when absent) or defaulted to v1 (azure). */
export function responseTypeMeta(dialect: AdmissionEndpoint, request: TypeMeta): TypeMeta {
  if (dialect === 'aws') return request
  return {
    kind: request.kind ?? 'AdmissionReview',
    apiVersion: request.apiVersion ?? 'admission.k8s.io/v1',
  }
}

/**
 * The AdmissionReview response body, in Go's field order. Built by concatenation: it runs once per
 * admission and only `message` and `warnings` are free text (encoded with goJson).
 */
export function encodeAdmissionReview(typeMeta: TypeMeta, answer: AdmissionAnswer): string {
  let out = '{'
  if (typeMeta.kind !== undefined) out += `"kind":${goJson(typeMeta.kind)},`
  if (typeMeta.apiVersion !== undefined) out += `"apiVersion":${goJson(typeMeta.apiVersion)},`
  out += `"response":{"uid":${goJson(answer.uid)},"allowed":${answer.allowed ? 'true' : 'false'}`
  const status = answer.status
  if (status !== undefined) {
    out += ',"status":{"metadata":{}'
    if (status.message !== undefined && status.message !== '')
      out += `,"message":${goJson(status.message)}`
    if (status.code !== undefined) out += `,"code":${String(status.code)}`
    out += '}'
  }
  if (answer.patch !== undefined && answer.patch.length > 0) {
    out += `,"patch":"${Buffer.from(goJson(answer.patch)).toString('base64')}","patchType":"JSONPatch"`
  }
  if (answer.warnings !== undefined && answer.warnings.length > 0) {
    out += `,"warnings":${goJson(answer.warnings)}`
  }
  return `${out}}}`
}

/** A 200 answer carrying an AdmissionReview. */
export function reviewAnswer(typeMeta: TypeMeta, answer: AdmissionAnswer): HttpAnswer {
  return { status: 200, headers: JSON_HEADERS, body: encodeAdmissionReview(typeMeta, answer) }
}
