// The admission webhook's conformance suite, read in place from ../shared/conformance:
// 1. every `*.pod.yaml` under DIR (default pod-identity-webhook/testdata) in the reference harness's
//    format (webhooks.md §B): the test configuration travels in `testing.eks.amazonaws.com/*` annotations
//    (unknown ones fail loudly), the harness defaults of §B.2 apply (namespace and ServiceAccount
//    `default`, RNG 0), and the patch is compared semantically after the §B.3 normalisation. Each case is
//    also re-admitted after applying its patch: the resulting pod must not change (idempotency).
// 2. the Azure webhook's table vectors (azure-workload-identity/unit_vectors.json) that exercise mutation:
//    each runs through `mutate()` (or the exported constant / authority-host table it names).
// With an explicit DIR, only the fixtures under DIR run (pod files, and any unit_vectors.json there).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { parse as parseYaml } from 'yaml'
import {
  applyJsonPatch,
  AZURE_LAYOUTS,
  AZURE_POD_ANNOTATIONS,
  AZURE_PROXY,
  AZURE_SA_ANNOTATIONS,
  AZURE_TOKEN_EXPIRATION,
  AZURE_USE_LABEL,
  AZURE_USE_LABEL_VALUE,
  AZURE_VOLUME_NAME_PREFIX,
  AZURE_DEFAULT_AUDIENCE,
  azureAuthorityHost,
  azureVolumeName,
  defaultWebhookConfig,
  mutate,
  type Container,
  type JsonPatchOperation,
  type MutationRequest,
  type MutationResult,
  type Pod,
  type ServiceAccount,
  type WebhookConfig,
} from '../../src/mutation/index.ts'
import { conformanceRoot, summarize, type SetResult, type SuiteResult } from './suite.ts'

const TESTING = 'testing.eks.amazonaws.com/'
/** Every harness annotation of webhooks.md §B.1; anything else under the testing prefix is a fixture error. */
const HARNESS_KEYS = new Set([
  'skip',
  'expectedPatch',
  'serviceAccount/roleArn',
  'serviceAccount/audience',
  'serviceAccount/sts-regional-endpoints',
  'serviceAccount/token-expiration',
  'handler/injectSTS',
  'handler/expiration',
  'handler/region',
  'handler/mountPath',
  'containercredentials/uri',
  'containercredentials/audience',
  'containercredentials/mountPath',
  'containercredentials/volumeName',
  'containercredentials/tokenPath',
])

export class FixtureError extends Error {}

export interface PodFixture {
  file: string
  pod: Pod
  /** The harness annotations, without the `testing.eks.amazonaws.com/` prefix. */
  harness: Record<string, string>
  expectedPatch: JsonPatchOperation[]
  skip: boolean
}

/** Parses one fixture strictly: one Pod, string annotations, known harness keys, a JSON expected patch. */
export function parsePodFixture(text: string, file: string): PodFixture {
  // sigs.k8s.io/yaml accepts duplicate keys (last wins); rawPodWithInitContainer repeats serviceAccountName.
  const pod: unknown = parseYaml(text, { uniqueKeys: false })
  if (typeof pod !== 'object' || pod === null || Array.isArray(pod))
    throw new FixtureError(`${file}: not a YAML mapping`)
  const metadata = (pod as Pod).metadata
  const annotations: unknown = metadata?.annotations
  if (typeof annotations !== 'object' || annotations === null)
    throw new FixtureError(`${file}: no metadata.annotations`)
  const harness: Record<string, string> = {}
  for (const [key, value] of Object.entries(annotations)) {
    if (typeof value !== 'string')
      throw new FixtureError(`${file}: annotation ${key} is not a string`)
    if (!key.startsWith(TESTING)) continue
    const name = key.slice(TESTING.length)
    if (!HARNESS_KEYS.has(name))
      throw new FixtureError(`${file}: unknown harness annotation ${key}`)
    harness[name] = value
  }
  const skip = harness['skip'] === 'true'
  if (harness['skip'] !== undefined && harness['skip'] !== 'true' && harness['skip'] !== 'false') {
    throw new FixtureError(`${file}: ${TESTING}skip must be "true" or "false"`)
  }
  const expected = harness['expectedPatch']
  if (expected === undefined) throw new FixtureError(`${file}: no ${TESTING}expectedPatch`)
  let expectedPatch: unknown
  try {
    expectedPatch = JSON.parse(expected)
  } catch (error) {
    throw new FixtureError(`${file}: expectedPatch is not JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(expectedPatch))
    throw new FixtureError(`${file}: expectedPatch is not a JSON array`)
  return {
    file,
    pod: pod as Pod,
    harness,
    expectedPatch: expectedPatch as JsonPatchOperation[],
    skip,
  }
}

/** The request the reference harness builds for a fixture (webhooks.md §B.1–B.2). */
export function harnessRequest(fixture: PodFixture): MutationRequest {
  const h = fixture.harness
  const config = defaultWebhookConfig()
  config.aws.region = h['handler/region'] ?? ''
  if (h['handler/mountPath'] !== undefined) config.aws.tokenMountPath = h['handler/mountPath']
  const uri = h['containercredentials/uri'] ?? ''
  if (uri !== '') {
    config.aws.containerCredentials = {
      audience: h['containercredentials/audience'] ?? '',
      mountPath: h['containercredentials/mountPath'] ?? '',
      volumeName: h['containercredentials/volumeName'] ?? '',
      tokenPath: h['containercredentials/tokenPath'] ?? '',
      fullUri: uri,
    }
  }
  // The fake SA cache: the `handler/*` flags are applied as SA annotations, which win when both are given.
  const saAnnotations: Record<string, string> = {}
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) saAnnotations[`eks.amazonaws.com/${name}`] = value
  }
  set('role-arn', h['serviceAccount/roleArn'])
  set('audience', h['serviceAccount/audience'])
  set(
    'sts-regional-endpoints',
    h['serviceAccount/sts-regional-endpoints'] ?? h['handler/injectSTS'],
  )
  set('token-expiration', h['serviceAccount/token-expiration'] ?? h['handler/expiration'])
  const pod = structuredClone(fixture.pod)
  pod.metadata = { ...pod.metadata, namespace: 'default' }
  pod.spec = { ...pod.spec, serviceAccountName: 'default' }
  const serviceAccount: ServiceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default', namespace: 'default', annotations: saAnnotations },
  }
  return {
    endpoint: 'aws',
    pod,
    namespace: 'default',
    serviceAccount,
    podIdentity: uri !== '',
    config,
    random: () => 0,
  }
}

const VOLUME_MOUNT_FIELDS = new Set([
  'name',
  'readOnly',
  'recursiveReadOnly',
  'mountPath',
  'subPath',
  'mountPropagation',
  'subPathExpr',
])

/**
 * webhooks.md §B.3 on one side of the comparison: drop `null`-valued keys and `"resources":{}` (Go emits
 * them), and in `volumeMounts` drop unknown keys and default a missing `mountPath` to "".
 */
export function normalizeB3(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (
        key === 'volumeMounts' &&
        typeof item === 'object' &&
        item !== null &&
        !Array.isArray(item)
      ) {
        const mount = Object.fromEntries(
          Object.entries(item as Record<string, unknown>).filter(([k]) =>
            VOLUME_MOUNT_FIELDS.has(k),
          ),
        )
        if (!('mountPath' in mount)) mount['mountPath'] = ''
        return normalizeB3(mount)
      }
      return normalizeB3(item)
    })
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null) continue
      if (
        k === 'resources' &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.keys(v).length === 0
      )
        continue
      out[k] = normalizeB3(v, k)
    }
    return out
  }
  return value
}

/** Same op sequence and paths, values deep-equal after §B.3; undefined when equal, else what differs. */
export function comparePatches(
  actual: JsonPatchOperation[],
  expected: JsonPatchOperation[],
): string | undefined {
  const shape = (p: JsonPatchOperation[]): string => p.map((o) => `${o.op} ${o.path}`).join(', ')
  if (shape(actual) !== shape(expected))
    return `ops [${shape(actual)}], expected [${shape(expected)}]`
  for (let i = 0; i < expected.length; i++) {
    const a = normalizeB3((actual[i] as JsonPatchOperation).value)
    const e = normalizeB3((expected[i] as JsonPatchOperation).value)
    if (!isDeepStrictEqual(a, e)) {
      return `op ${i} (${(expected[i] as JsonPatchOperation).path}) value ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`
    }
  }
  return undefined
}

/** Failures of one fixture (empty when it passes). */
export function runPodFixture(
  fixture: PodFixture,
  options: { podIdentityFolder: boolean },
): string[] {
  const request = harnessRequest(fixture)
  if (options.podIdentityFolder && !request.podIdentity) {
    return ['fixture under containercredentials/ has no containercredentials/uri']
  }
  const result = mutate(request)
  if (result.kind !== 'patch') return [`expected a patch, got ${result.kind}: ${describe(result)}`]
  const failures: string[] = []
  const difference = comparePatches(result.patch, fixture.expectedPatch)
  if (difference !== undefined) failures.push(difference)
  // Re-admission of the mutated pod must leave it as it is.
  try {
    const once = applyJsonPatch(request.pod, result.patch)
    const again = mutate({ ...request, pod: once })
    const twice = again.kind === 'patch' ? applyJsonPatch(once, again.patch) : once
    if (!isDeepStrictEqual(twice, once)) failures.push('re-admitting the mutated pod changed it')
  } catch (error) {
    failures.push(`patch does not apply: ${(error as Error).message}`)
  }
  return failures
}

function describe(result: MutationResult): string {
  return result.kind === 'deny' ? result.message : result.kind === 'allow' ? result.reason : 'patch'
}

function walk(dir: string, match: (name: string) => boolean): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) out.push(...walk(full, match))
    else if (match(name)) out.push(full)
  }
  return out
}

/** Runs the pod fixtures under `dir`, one set per folder. */
export function runPodFixtures(dir: string): SetResult[] {
  const byFolder = new Map<string, string[]>()
  for (const file of walk(dir, (n) => n.endsWith('.pod.yaml'))) {
    const folder = dirname(file)
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file])
  }
  const sets: SetResult[] = []
  for (const [folder, files] of [...byFolder].sort(([a], [b]) => a.localeCompare(b))) {
    const set: SetResult = {
      name: join(basename(dir), relative(dir, folder)),
      passed: 0,
      total: 0,
      failures: [],
    }
    for (const file of files) {
      const name = relative(dir, file)
      let fixture: PodFixture
      try {
        fixture = parsePodFixture(readFileSync(file, 'utf8'), name)
      } catch (error) {
        set.total++
        set.failures.push((error as Error).message)
        continue
      }
      if (fixture.skip) continue
      set.total++
      const failures = runPodFixture(fixture, {
        podIdentityFolder: basename(folder) === 'containercredentials',
      })
      if (failures.length === 0) set.passed++
      else set.failures.push(`${name}: ${failures.join('; ')}`)
    }
    sets.push(set)
  }
  return sets
}

// ---- Azure vectors -----------------------------------------------------------------------------------

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function strictKeys(value: unknown, allowed: string[], where: string): Json {
  if (!isObject(value)) throw new FixtureError(`${where}: not an object`)
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k))
  if (unknown.length > 0) throw new FixtureError(`${where}: unknown keys ${unknown.join(', ')}`)
  return value
}

const optionalString = (v: unknown, where: string): string | undefined => {
  if (v === null || v === undefined) return undefined
  if (typeof v !== 'string') throw new FixtureError(`${where}: expected a string or null`)
  return v
}

interface AzureCase {
  pod?: Partial<{ name: string; generateName: string; annotations: Record<string, string> }>
  containers?: Container[]
  initContainers?: Container[]
  saAnnotations?: Record<string, string> | undefined
  noServiceAccount?: boolean
  config?: (c: WebhookConfig) => void
  rawPod?: unknown
}

function azureMutation(c: AzureCase): {
  request: MutationRequest
  result: MutationResult
  mutated?: Pod
} {
  const config = defaultWebhookConfig()
  config.azure.tenantId = 'webhook-tenant'
  c.config?.(config)
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(c.pod?.generateName === undefined
        ? { name: c.pod?.name ?? 'pod' }
        : { generateName: c.pod.generateName }),
      namespace: 'ns',
      labels: { [AZURE_USE_LABEL]: AZURE_USE_LABEL_VALUE },
      ...(c.pod?.annotations === undefined ? {} : { annotations: c.pod.annotations }),
    },
    spec: {
      serviceAccountName: 'sa',
      ...(c.initContainers === undefined ? {} : { initContainers: c.initContainers }),
      containers: c.containers ?? [{ name: 'cont1', image: 'image' }],
    },
  }
  const request: MutationRequest = {
    endpoint: 'azure',
    pod: (c.rawPod ?? pod) as Pod,
    namespace: 'ns',
    serviceAccount: c.noServiceAccount
      ? undefined
      : { metadata: { name: 'sa', namespace: 'ns', annotations: c.saAnnotations ?? {} } },
    podIdentity: false,
    config,
    random: () => 0,
  }
  const result = mutate(request)
  return result.kind === 'patch'
    ? { request, result, mutated: applyJsonPatch(request.pod, result.patch) }
    : { request, result }
}

function mutatedPod(c: AzureCase): Pod {
  const { result, mutated } = azureMutation(c)
  if (mutated === undefined)
    throw new Error(`expected a patch, got ${result.kind}: ${describe(result)}`)
  return mutated
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`)
  }
}

function expectDeny(c: AzureCase, contains?: string): void {
  const { result } = azureMutation(c)
  if (result.kind !== 'deny') throw new Error(`expected deny, got ${result.kind}`)
  if (contains !== undefined && !result.message.includes(contains)) {
    throw new Error(
      `deny message ${JSON.stringify(result.message)} lacks ${JSON.stringify(contains)}`,
    )
  }
}

const firstContainer = (pod: Pod): Container => pod.spec?.containers?.[0] as Container
const tokenVolume = (pod: Pod): Json => {
  const volume = pod.spec?.volumes?.find(
    (v) => v.name.startsWith(AZURE_VOLUME_NAME_PREFIX) || v.name === 'azure-identity-token',
  )
  if (volume === undefined) throw new Error('no token volume')
  const sources = (volume['projected'] as { sources: Json[] }).sources
  return { name: volume.name, ...(sources[0]?.['serviceAccountToken'] as Json) }
}
const envValue = (container: Container, name: string): string | undefined =>
  container.env?.find((e) => e.name === name)?.value

/** One vector group's cases as [name, check]; a check throws to fail. */
type Cases = [string, () => void][]

function constantCases(constants: Json): Cases {
  const checks: Record<string, (v: unknown) => void> = {
    label: (v) => {
      expectEqual(AZURE_USE_LABEL, v, 'label')
      const { result } = azureMutation({
        rawPod: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } },
      })
      expectEqual(result.kind, 'allow', 'unlabelled pod')
    },
    labelValue: (v) => {
      expectEqual(AZURE_USE_LABEL_VALUE, v, 'labelValue')
      const raw = {
        metadata: { name: 'p', labels: { [AZURE_USE_LABEL]: 'false' } },
        spec: { containers: [{ name: 'c' }] },
      }
      expectEqual(azureMutation({ rawPod: raw }).result.kind, 'allow', 'pod labelled "false"')
    },
    saAnnotations: (v) => {
      expectEqual(AZURE_SA_ANNOTATIONS, v, 'saAnnotations')
      const [client, tenant, expiry] = v as string[]
      const pod = mutatedPod({
        saAnnotations: {
          [client as string]: 'cid',
          [tenant as string]: 'tid',
          [expiry as string]: '7200',
        },
      })
      expectEqual(
        envValue(firstContainer(pod), 'AZURE_CLIENT_ID'),
        'cid',
        'client-id read from the SA',
      )
      expectEqual(
        envValue(firstContainer(pod), 'AZURE_TENANT_ID'),
        'tid',
        'tenant-id read from the SA',
      )
      expectEqual(tokenVolume(pod)['expirationSeconds'], 7200, 'expiration read from the SA')
    },
    podAnnotations: (v) => {
      expectEqual(AZURE_POD_ANNOTATIONS, v, 'podAnnotations')
      const [expiry, skip, inject] = v as string[]
      const { result, mutated } = azureMutation({
        pod: {
          annotations: {
            [expiry as string]: '5000',
            [skip as string]: 'cont2',
            [inject as string]: 'true',
          },
        },
        containers: [{ name: 'cont1' }, { name: 'cont2' }],
      })
      if (mutated === undefined) throw new Error('expected a patch')
      expectEqual(tokenVolume(mutated)['expirationSeconds'], 5000, 'expiration read from the pod')
      expectEqual(
        mutated.spec?.containers?.[1],
        { name: 'cont2' },
        'skip-containers read from the pod',
      )
      if (!result.warnings.some((w) => w.includes(inject as string)))
        throw new Error('no warning for inject-proxy-sidecar')
    },
    defaultAudience: (v) => {
      expectEqual(AZURE_DEFAULT_AUDIENCE, v, 'defaultAudience')
      expectEqual(tokenVolume(mutatedPod({}))['audience'], v, 'volume audience')
    },
    volumeNamePrefix: (v) => {
      expectEqual(AZURE_VOLUME_NAME_PREFIX, v, 'volumeNamePrefix')
      const name = tokenVolume(mutatedPod({}))['name'] as string
      if (!name.startsWith(v as string) || name.length !== 63)
        throw new Error(`volume name ${name}`)
    },
    volumeMountPath: (v) => {
      expectEqual(AZURE_LAYOUTS['v1.6'].mountPath, v, 'volumeMountPath')
      expectEqual(firstContainer(mutatedPod({})).volumeMounts?.[0]?.mountPath, v, 'mount path')
    },
    tokenPath: (v) => {
      expectEqual(AZURE_LAYOUTS['v1.6'].tokenPath, v, 'tokenPath')
      expectEqual(tokenVolume(mutatedPod({}))['path'], v, 'volume token path')
    },
    AZURE_FEDERATED_TOKEN_FILE: (v) =>
      expectEqual(
        envValue(firstContainer(mutatedPod({})), 'AZURE_FEDERATED_TOKEN_FILE'),
        v,
        'AZURE_FEDERATED_TOKEN_FILE',
      ),
    expiration: (v) => {
      expectEqual(AZURE_TOKEN_EXPIRATION, v, 'expiration')
      const { default: def, min, max } = v as { default: number; min: number; max: number }
      const key = AZURE_POD_ANNOTATIONS[0] as string
      const at = (s: number): AzureCase => ({ pod: { annotations: { [key]: String(s) } } })
      expectEqual(tokenVolume(mutatedPod({}))['expirationSeconds'], def, 'default expiration')
      expectEqual(tokenVolume(mutatedPod(at(min)))['expirationSeconds'], min, 'min accepted')
      expectEqual(tokenVolume(mutatedPod(at(max)))['expirationSeconds'], max, 'max accepted')
      expectDeny(at(min - 1))
      expectDeny(at(max + 1))
    },
    proxy: (v) => {
      expectEqual(AZURE_PROXY, v, 'proxy')
      const { sidecarName, initContainerName } = v as {
        sidecarName: string
        initContainerName: string
      }
      const pod = mutatedPod({
        pod: { annotations: { [AZURE_POD_ANNOTATIONS[2] as string]: 'true' } },
      })
      const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
        (c) => c.name,
      )
      if (names.includes(sidecarName) || names.includes(initContainerName))
        throw new Error('proxy injected')
    },
  }
  return Object.entries(constants).map(([key, value]) => [
    `constants_v1_6_0.${key}`,
    () => {
      const check = checks[key]
      if (check === undefined) throw new FixtureError(`unknown constant ${key}`)
      check(value)
    },
  ])
}

function preV16Cases(constants: Json): Cases {
  const v15 = (): Pod => mutatedPod({ config: (c) => (c.azure.tokenLayout = 'v1.5') })
  const checks: Record<string, (v: unknown) => void> = {
    volumeName: (v) => expectEqual(tokenVolume(v15())['name'], v, 'v1.5 volume name'),
    volumeMountPath: (v) =>
      expectEqual(firstContainer(v15()).volumeMounts?.[0]?.mountPath, v, 'v1.5 mount path'),
    tokenPath: (v) => expectEqual(tokenVolume(v15())['path'], v, 'v1.5 token path'),
    AZURE_FEDERATED_TOKEN_FILE: (v) =>
      expectEqual(
        envValue(firstContainer(v15()), 'AZURE_FEDERATED_TOKEN_FILE'),
        v,
        'v1.5 token file',
      ),
  }
  return Object.entries(constants).map(([key, value]) => [
    `constants_pre_v1_6_0.${key}`,
    () => {
      const check = checks[key]
      if (check === undefined) throw new FixtureError(`unknown constant ${key}`)
      check(value)
    },
  ])
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new FixtureError(`${where}: not a list`)
  return value
}

function authorityHostCases(cases: unknown[]): Cases {
  return cases.map((raw, i) => {
    const c = strictKeys(raw, ['AZURE_ENVIRONMENT', 'want', 'wantError'], `authorityHost[${i}]`)
    const environment = c['AZURE_ENVIRONMENT'] as string
    return [
      `authorityHost ${JSON.stringify(environment)}`,
      () => {
        if (c['wantError'] === true) {
          try {
            azureAuthorityHost(environment)
          } catch (error) {
            if (error instanceof TypeError) return
            throw error
          }
          throw new Error('expected a TypeError')
        }
        const host = azureAuthorityHost(environment)
        expectEqual(host, c['want'], 'authority host')
        const pod = mutatedPod({ config: (config) => (config.azure.authorityHost = host) })
        expectEqual(
          envValue(firstContainer(pod), 'AZURE_AUTHORITY_HOST'),
          c['want'],
          'AZURE_AUTHORITY_HOST',
        )
      },
    ]
  })
}

function expirationCases(cases: unknown[]): Cases {
  const key = 'azure.workload.identity/service-account-token-expiration'
  return cases.map((raw, i) => {
    const c = strictKeys(
      raw,
      ['podAnnotation', 'saAnnotation', 'want', 'wantError'],
      `tokenExpiration[${i}]`,
    )
    const podValue = optionalString(c['podAnnotation'], `tokenExpiration[${i}].podAnnotation`)
    const saValue = optionalString(c['saAnnotation'], `tokenExpiration[${i}].saAnnotation`)
    const input: AzureCase = {
      ...(podValue === undefined ? {} : { pod: { annotations: { [key]: podValue } } }),
      ...(saValue === undefined ? {} : { saAnnotations: { [key]: saValue } }),
    }
    return [
      `tokenExpiration pod=${String(podValue)} sa=${String(saValue)}`,
      () => {
        if (c['wantError'] === true) {
          const { result } = azureMutation(input)
          if (result.kind !== 'deny') throw new Error(`expected deny, got ${result.kind}`)
          if (
            !/^(strconv\.ParseInt: parsing ".*": invalid syntax|token expiration -?\d+ not valid\. Expected value to be between 3600 and 86400)$/.test(
              result.message,
            )
          ) {
            throw new Error(`deny message ${JSON.stringify(result.message)}`)
          }
          return
        }
        expectEqual(
          tokenVolume(mutatedPod(input))['expirationSeconds'],
          c['want'],
          'expirationSeconds',
        )
      },
    ]
  })
}

function skipCases(cases: unknown[]): Cases {
  const containers = [
    { name: 'container1', image: 'i' },
    { name: 'container2', image: 'i' },
    { name: 'container3', image: 'i' },
  ]
  return cases.map((raw, i) => {
    const c = strictKeys(raw, ['annotation', 'want'], `skipContainers[${i}]`)
    const annotation = optionalString(c['annotation'], `skipContainers[${i}].annotation`)
    const want =
      c['want'] === null ? [] : (list(c['want'], `skipContainers[${i}].want`) as string[])
    return [
      `skipContainers ${JSON.stringify(annotation ?? null)}`,
      () => {
        const pod = mutatedPod({
          containers,
          initContainers: [{ name: 'container1', image: 'i' }],
          ...(annotation === undefined
            ? {}
            : { pod: { annotations: { 'azure.workload.identity/skip-containers': annotation } } }),
        })
        const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
        const skipped = all
          .filter((x) => x.env === undefined && x.volumeMounts === undefined)
          .map((x) => x.name)
        expectEqual([...new Set(skipped)].sort(), [...want].sort(), 'unmutated containers')
      },
    ]
  })
}

function tenantCases(cases: unknown[]): Cases {
  return cases.map((raw, i) => {
    const c = strictKeys(raw, ['saAnnotation', 'configTenant', 'want'], `tenantId[${i}]`)
    const sa = optionalString(c['saAnnotation'], `tenantId[${i}].saAnnotation`)
    return [
      `tenantId sa=${String(sa)} config=${JSON.stringify(c['configTenant'])}`,
      () => {
        const pod = mutatedPod({
          ...(sa === undefined
            ? {}
            : { saAnnotations: { 'azure.workload.identity/tenant-id': sa } }),
          config: (config) => (config.azure.tenantId = c['configTenant'] as string),
        })
        expectEqual(envValue(firstContainer(pod), 'AZURE_TENANT_ID'), c['want'], 'AZURE_TENANT_ID')
      },
    ]
  })
}

function envCases(group: Json): Cases {
  strictKeys(group, ['args', 'cases'], 'addEnvironmentVariables')
  const base = strictKeys(
    group['args'],
    ['clientID', 'tenantID', 'authorityHost', 'customTokenEndpoint'],
    'addEnvironmentVariables.args',
  )
  return list(group['cases'], 'addEnvironmentVariables.cases').map((raw, i) => {
    const c = strictKeys(raw, ['name', 'args', 'in', 'want'], `addEnvironmentVariables.cases[${i}]`)
    const args = {
      ...base,
      ...(c['args'] === undefined
        ? {}
        : strictKeys(c['args'], Object.keys(base), `cases[${i}].args`)),
    }
    return [
      `addEnvironmentVariables: ${String(c['name'])}`,
      () => {
        if (args['customTokenEndpoint'] === true)
          throw new Error('custom token endpoints are not supported')
        const pod = mutatedPod({
          containers: [c['in'] as Container],
          saAnnotations: {
            'azure.workload.identity/client-id': args['clientID'] as string,
            'azure.workload.identity/tenant-id': args['tenantID'] as string,
          },
          config: (config) => (config.azure.authorityHost = args['authorityHost'] as string),
        })
        const container = { ...firstContainer(pod) }
        delete container.volumeMounts
        expectEqual(container, c['want'], 'container')
      },
    ]
  })
}

function mountCases(group: Json): Cases {
  strictKeys(group, ['note', 'cases'], 'volumeMount')
  return list(group['cases'], 'volumeMount.cases').map((raw, i) => {
    const c = strictKeys(raw, ['in', 'want'], `volumeMount.cases[${i}]`)
    return [
      `volumeMount case ${i}`,
      () => {
        const pod = mutatedPod({ containers: [c['in'] as Container] })
        const name = azureVolumeName('pod')
        const want = JSON.parse(
          JSON.stringify(c['want']).replaceAll('<volumeName>', name),
        ) as Container
        const container = { ...firstContainer(pod) }
        delete container.env
        expectEqual(container, want, 'container')
      },
    ]
  })
}

function volumeNameCases(group: Json): Cases {
  strictKeys(group, ['formula', 'vectors'], 'volumeNameFormula')
  return list(group['vectors'], 'volumeNameFormula.vectors').map((raw, i) => {
    const c = strictKeys(raw, ['podName', 'volumeName'], `volumeNameFormula.vectors[${i}]`)
    const podName = c['podName'] as string
    return [
      `volumeName ${JSON.stringify(podName)}`,
      () => {
        expectEqual(azureVolumeName(podName), c['volumeName'], 'azureVolumeName')
        const suffix = ' (prefix)'
        const pod = mutatedPod({
          pod: podName.endsWith(suffix)
            ? { generateName: podName.slice(0, -suffix.length) }
            : { name: podName },
        })
        expectEqual(tokenVolume(pod)['name'], c['volumeName'], 'injected volume name')
        expectEqual(firstContainer(pod).volumeMounts?.[0]?.name, c['volumeName'], 'mount name')
      },
    ]
  })
}

/** handleErrors cases by name; the proxy-sidecar ones are not applicable (podtrust does not inject it). */
const HANDLE_ERRORS: Record<string, ((contains: string) => void) | 'proxy'> = {
  'failed to decode pod': (contains) => expectDeny({ rawPod: 'invalid' }, contains),
  'service account not found (cache and direct GET)': (contains) =>
    expectDeny({ noServiceAccount: true }, contains),
  'pod has host network + inject-proxy-sidecar': 'proxy',
  'invalid proxy port': 'proxy',
  "invalid sa token expiry (pod annotation 'invalid')": (contains) =>
    expectDeny(
      {
        pod: {
          annotations: { 'azure.workload.identity/service-account-token-expiration': 'invalid' },
        },
      },
      contains,
    ),
  'out of range expiry (message from webhook.go, not a test case)': (contains) =>
    expectDeny(
      {
        pod: {
          annotations: { 'azure.workload.identity/service-account-token-expiration': '3599' },
        },
      },
      contains,
    ),
}

function errorCases(group: Json, skipped: string[]): Cases {
  strictKeys(group, ['note', 'cases'], 'handleErrors')
  const out: Cases = []
  for (const [i, raw] of list(group['cases'], 'handleErrors.cases').entries()) {
    const c = strictKeys(raw, ['name', 'object', 'messageContains'], `handleErrors.cases[${i}]`)
    const name = c['name'] as string
    const check = HANDLE_ERRORS[name]
    if (check === 'proxy') {
      skipped.push(`handleErrors: ${name}`)
      continue
    }
    out.push([
      `handleErrors: ${name}`,
      () => {
        if (check === undefined)
          throw new FixtureError(`no scenario for handleErrors case ${JSON.stringify(name)}`)
        check(c['messageContains'] as string)
      },
    ])
  }
  return out
}

const VECTOR_GROUPS = [
  '_source',
  'constants_v1_6_0',
  'constants_pre_v1_6_0',
  'authorityHost',
  'tokenExpiration',
  'skipContainers',
  'tenantId',
  'proxyPort',
  'addEnvironmentVariables',
  'volumeMount',
  'volumeNameFormula',
  'handleErrors',
  'jwks',
]

/** The Azure vectors of one unit_vectors.json: a set of mutation cases, and a 0/0 set naming the skipped ones. */
export function runAzureVectors(file: string, name: string): SetResult[] {
  const set: SetResult = { name, passed: 0, total: 0, failures: [] }
  let vectors: Json
  try {
    vectors = strictKeys(JSON.parse(readFileSync(file, 'utf8')), VECTOR_GROUPS, name)
  } catch (error) {
    return [{ ...set, total: 1, failures: [`${name}: ${(error as Error).message}`] }]
  }
  const skipped: string[] = []
  const groups: (() => Cases)[] = [
    () =>
      constantCases(
        strictKeys(
          vectors['constants_v1_6_0'],
          Object.keys(vectors['constants_v1_6_0'] ?? {}),
          'constants',
        ),
      ),
    () =>
      preV16Cases(
        strictKeys(
          vectors['constants_pre_v1_6_0'],
          Object.keys(vectors['constants_pre_v1_6_0'] ?? {}),
          'constants',
        ),
      ),
    () => authorityHostCases(list(vectors['authorityHost'], 'authorityHost')),
    () => expirationCases(list(vectors['tokenExpiration'], 'tokenExpiration')),
    () => skipCases(list(vectors['skipContainers'], 'skipContainers')),
    () => tenantCases(list(vectors['tenantId'], 'tenantId')),
    () => envCases(vectors['addEnvironmentVariables'] as Json),
    () => mountCases(vectors['volumeMount'] as Json),
    () => volumeNameCases(vectors['volumeNameFormula'] as Json),
    () => errorCases(vectors['handleErrors'] as Json, skipped),
  ]
  for (const group of groups) {
    let cases: Cases
    try {
      cases = group()
    } catch (error) {
      set.total++
      set.failures.push(`fixture: ${(error as Error).message}`)
      continue
    }
    for (const [caseName, check] of cases) {
      set.total++
      try {
        check()
        set.passed++
      } catch (error) {
        set.failures.push(`${caseName}: ${(error as Error).message}`)
      }
    }
  }
  if (Array.isArray(vectors['proxyPort'])) {
    for (const raw of vectors['proxyPort'])
      skipped.push(`proxyPort ${JSON.stringify((raw as Json)['annotations'] ?? null)}`)
  }
  const sets = [set]
  if (skipped.length > 0) {
    sets.push({
      name: `${name}, not applicable (podtrust injects no proxy sidecar): ${skipped.length} skipped`,
      passed: 0,
      total: 0,
      failures: [],
    })
  }
  return sets
}

/**
 * `npm run conformance -- webhook [DIR]`. Without DIR: pod-identity-webhook/testdata and the Azure
 * vectors. With DIR: the `*.pod.yaml` files and `unit_vectors.json` files under DIR.
 */
export function run(dir?: string): Promise<SuiteResult> {
  const root = conformanceRoot()
  const podDir = dir ?? join(root, 'pod-identity-webhook', 'testdata')
  if (!existsSync(podDir)) {
    return Promise.resolve(
      summarize([{ name: podDir, passed: 0, total: 1, failures: [`${podDir} does not exist`] }]),
    )
  }
  const sets = runPodFixtures(podDir)
  const vectorFiles =
    dir === undefined
      ? [join(root, 'azure-workload-identity', 'unit_vectors.json')].filter((f) => existsSync(f))
      : walk(podDir, (n) => n === 'unit_vectors.json')
  for (const file of vectorFiles) {
    sets.push(
      ...runAzureVectors(
        file,
        `azure-workload-identity vectors (${relative(dirname(podDir), file)})`,
      ),
    )
  }
  if (sets.every((s) => s.total === 0)) {
    sets.push({
      name: podDir,
      passed: 0,
      total: 1,
      failures: [`no *.pod.yaml fixtures under ${podDir}`],
    })
  }
  return Promise.resolve(summarize(sets))
}
