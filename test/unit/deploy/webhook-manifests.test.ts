import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { caDir, loadOrCreateCa } from '../../../src/certs/ca.ts'
import { UsageError } from '../../../src/errors.ts'
import { parseServeFlags } from '../../../src/kube/flags.ts'
import { quietLogger } from '../../../src/kube/log.ts'
import { startWebhook } from '../../../src/kube/webhook.ts'
import { IRSA_CONFIG_MAP_NAME } from '../../../src/kube/irsa-config-map.ts'
import type { WebhookServeOptions } from '../../../src/kube/flags.ts'
import { AWS_SKIP_LABEL, AZURE_USE_LABEL } from '../../../src/mutation/constants.ts'
import { KUBECTL_MISSING, kubectlVersion, problems, render } from './manifests.ts'
import type { KubeObject } from './manifests.ts'

const DEPLOY = fileURLToPath(new URL('../../../deploy/webhook/', import.meta.url))
const DOCS = fileURLToPath(new URL('../../../docs/webhook.md', import.meta.url))
const NAMESPACE = 'podtrust-system'
const SERVICE_ACCOUNT = 'podtrust-webhook'
const CA_PLACEHOLDER = 'PodtrustWebhookCaBundlePlaceholder/ReplaceMe'
const REQUIRED_KINDS = [
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Deployment',
  'PodDisruptionBudget',
  'Service',
  'MutatingWebhookConfiguration',
]

// The routes of the admission server, as the reference webhooks have them.
const AWS = { name: 'aws.webhook.podtrust.io', path: '/mutate' }
const AZURE = { name: 'azure.webhook.podtrust.io', path: '/mutate-v1-pod' }

interface Target {
  /** The webhook registrations the render must contain, in order. */
  webhooks: (typeof AWS)[]
  /** Has the caBundle been filled in (components/ca-bundle)? */
  caBundle: boolean
  /** Secrets the operator creates before applying (referenced, never rendered). */
  externalSecrets: string[]
}

const TARGETS: Readonly<Record<string, Target>> = {
  base: { webhooks: [AWS, AZURE], caBundle: false, externalSecrets: ['podtrust-webhook-tls'] },
  'overlays/all': {
    webhooks: [AWS, AZURE],
    caBundle: true,
    externalSecrets: ['podtrust-webhook-tls'],
  },
  'overlays/aws': { webhooks: [AWS], caBundle: true, externalSecrets: ['podtrust-webhook-tls'] },
  'overlays/azure': { webhooks: [AZURE], caBundle: true, externalSecrets: ['podtrust-webhook-tls'] },
  'overlays/self-hosted': {
    webhooks: [AWS, AZURE],
    caBundle: true,
    externalSecrets: ['podtrust-webhook-tls', 'podtrust-webhook-credentials'],
  },
}

const rendered = new Map<string, KubeObject[]>()
function renderTarget(target: string): KubeObject[] {
  let objects = rendered.get(target)
  if (objects === undefined) {
    objects = render(join(DEPLOY, target))
    rendered.set(target, objects)
  }
  return objects
}

const scratch: string[] = []
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/** A kustomization of the operator's own, in a temp dir, on top of deploy/webhook (paths made relative). */
function userOverlay(kustomization: (deploy: string) => string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-kustomize-'))
  scratch.push(dir)
  writeFileSync(join(dir, 'kustomization.yaml'), kustomization(relative(dir, DEPLOY)))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return render(dir)
}

// ---- accessors for the rendered objects ---------------------------------------------------------------

type Json = Record<string, unknown>
type Container = {
  name: string
  image?: string
  args?: string[]
  env?: { name: string; value?: string; valueFrom?: Json }[]
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[]
  ports?: { name?: string; containerPort: number }[]
  securityContext?: Json & { capabilities?: { add?: string[]; drop?: string[] } }
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  readinessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } }
  livenessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } }
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[]
}
type PodSpec = Json & {
  serviceAccountName?: string
  securityContext?: Json & { seccompProfile?: { type: string } }
  containers: Container[]
  initContainers?: Container[]
  volumes?: (Json & { name: string })[]
}
type Webhook = Json & {
  name: string
  clientConfig: { caBundle?: string; service?: { name: string; namespace: string; path: string; port?: number } }
  rules: Json[]
  objectSelector?: { matchLabels?: Record<string, string>; matchExpressions?: Json[] }
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }
  timeoutSeconds?: number
}

function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind)
  assert.equal(found.length, 1, `exactly one ${kind}, got ${found.length}`)
  return found[0] as KubeObject
}
const ofKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind)
const podSpec = (deployment: KubeObject) =>
  (deployment['spec'] as { template: { spec: PodSpec } }).template.spec
const webhookContainer = (spec: PodSpec): Container => {
  const c = spec.containers.find((x) => x.name === 'webhook')
  assert.ok(c, 'container `webhook`')
  return c
}
const webhooksOf = (objects: KubeObject[]) =>
  only(objects, 'MutatingWebhookConfiguration')['webhooks'] as Webhook[]

/**
 * The container's environment as the kubelet builds it (env, envFrom ConfigMaps from the render, envFrom
 * Secrets with stand-in values: their content is the operator's), then `$(VAR)` in args expanded the way
 * the kubelet does. A reference to an undefined variable fails: it would reach the CLI literally.
 */
function containerArgs(objects: KubeObject[], deployment: KubeObject): { args: string[]; env: NodeJS.ProcessEnv } {
  const container = webhookContainer(podSpec(deployment))
  const env: NodeJS.ProcessEnv = {}
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name)
      assert.ok(cm, `envFrom ConfigMap ${from.configMapRef.name} is rendered`)
      Object.assign(env, cm['data'])
    }
    if (from.secretRef) Object.assign(env, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x' })
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value
    else if ((e.valueFrom?.['fieldRef'] as Json | undefined)?.['fieldPath'] === 'metadata.namespace')
      env[e.name] = deployment.metadata.namespace
    else assert.fail(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`)
  }
  const args = (container.args ?? []).map((arg) =>
    arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_whole, name?: string) => {
      if (name === undefined) return '$'
      const value = env[name]
      assert.ok(value !== undefined, `argument ${arg}: $(${name}) is not in the container's environment`)
      return value
    }),
  )
  return { args, env }
}

/** The Deployment's `podtrust webhook serve` flags through the CLI's own parser. */
function serveOptions(objects: KubeObject[]): WebhookServeOptions {
  const { args, env } = containerArgs(objects, only(objects, 'Deployment'))
  assert.deepEqual(args.slice(0, 2), ['webhook', 'serve'])
  return parseServeFlags(args.slice(2), env)
}

function portNumber(container: Container, port: string | number): number {
  if (typeof port === 'number') return port
  const found = container.ports?.find((p) => p.name === port)
  assert.ok(found, `container port named ${port}`)
  return found.containerPort
}

// ---- the checks, shared by every target ---------------------------------------------------------------

function assertValid(objects: KubeObject[]): void {
  assert.deepEqual(objects.flatMap(problems), [])
}

function assertHardened(spec: PodSpec): void {
  for (const forbidden of ['hostNetwork', 'hostPID', 'hostIPC'])
    assert.notEqual(spec[forbidden], true, forbidden)
  assert.equal(spec.securityContext?.['runAsNonRoot'], true)
  assert.notEqual(spec.securityContext?.['runAsUser'], 0)
  assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault')
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    const sc = c.securityContext
    assert.ok(sc, `${c.name}: securityContext`)
    assert.equal(sc['runAsNonRoot'], true, `${c.name}: runAsNonRoot`)
    assert.equal(sc['readOnlyRootFilesystem'], true, `${c.name}: readOnlyRootFilesystem`)
    assert.equal(sc['allowPrivilegeEscalation'], false, `${c.name}: allowPrivilegeEscalation`)
    assert.notEqual(sc['privileged'], true, `${c.name}: privileged`)
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${c.name}: drop ALL`)
    assert.deepEqual(sc.capabilities?.add ?? [], [], `${c.name}: no capability added`)
    assert.equal((sc['seccompProfile'] as Json | undefined)?.['type'], 'RuntimeDefault')
    for (const kind of ['requests', 'limits'] as const)
      for (const resource of ['cpu', 'memory'])
        assert.ok(c.resources?.[kind]?.[resource], `${c.name}: resources.${kind}.${resource}`)
    // The package ships compiled JavaScript: nothing (no transpiler cache) needs a writable mount.
    for (const m of c.volumeMounts ?? [])
      assert.equal(m.readOnly, true, `${c.name}: ${m.mountPath} mounted read-only`)
  }
  for (const v of spec.volumes ?? []) assert.equal(v['emptyDir'], undefined, `${v.name}: no emptyDir`)
}

function assertLeastPrivilege(objects: KubeObject[], options: WebhookServeOptions): void {
  const clusterRoles = ofKind(objects, 'ClusterRole')
  assert.equal(clusterRoles.length, 1)
  assert.deepEqual(clusterRoles[0]?.['rules'], [
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'watch'] },
  ])
  // The ConfigMap Role exists exactly when the flags read the ConfigMap, in the namespace they name.
  const roles = ofKind(objects, 'Role')
  if (options.configMapNamespace === undefined) assert.deepEqual(roles, [])
  else {
    assert.equal(roles.length, 1)
    assert.equal(roles[0]?.metadata.namespace, options.configMapNamespace)
    assert.deepEqual(roles[0]?.['rules'], [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [IRSA_CONFIG_MAP_NAME],
        verbs: ['get', 'list', 'watch'],
      },
    ])
  }
  const bindings = [...ofKind(objects, 'ClusterRoleBinding'), ...ofKind(objects, 'RoleBinding')]
  assert.equal(bindings.length, clusterRoles.length + roles.length, 'one binding per role')
  for (const b of bindings) {
    const ref = b['roleRef'] as { kind: string; name: string }
    const role = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name)
    assert.ok(role, `${b.kind} ${b.metadata.name} binds an existing ${ref.kind}`)
    if (b.kind === 'RoleBinding') assert.equal(b.metadata.namespace, role.metadata.namespace)
    assert.deepEqual(b['subjects'], [
      { kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE },
    ])
  }
  assert.equal(podSpec(only(objects, 'Deployment')).serviceAccountName, SERVICE_ACCOUNT)
  const sa = only(objects, 'ServiceAccount')
  assert.equal(sa.metadata.name, SERVICE_ACCOUNT)
  assert.equal(sa.metadata.namespace, NAMESPACE)
}

function assertServing(objects: KubeObject[], options: WebhookServeOptions): void {
  const deployment = only(objects, 'Deployment')
  const spec = podSpec(deployment)
  const container = webhookContainer(spec)
  assert.equal((deployment['spec'] as Json)['replicas'], 2)
  // The Service's 443 reaches the port the server listens on.
  const service = only(objects, 'Service')
  const ports = (service['spec'] as { ports: { port: number; targetPort: string | number }[] }).ports
  assert.equal(ports.length, 1)
  assert.equal(ports[0]?.port, 443)
  assert.equal(portNumber(container, ports[0]?.targetPort ?? ''), options.port)
  const podLabels = (deployment['spec'] as { template: { metadata: { labels: Json } } }).template
    .metadata.labels
  assert.deepEqual((service['spec'] as Json)['selector'], podLabels)
  assert.equal(portNumber(container, 'metrics'), options.metricsPort)
  const annotations = (deployment['spec'] as { template: { metadata: { annotations?: Json } } })
    .template.metadata.annotations
  assert.equal(annotations?.['prometheus.io/port'], String(options.metricsPort))
  // Probes over HTTPS on the webhook port: ready once ServiceAccounts are synced, alive while it answers.
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz')
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz')
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    assert.equal(probe?.httpGet?.scheme, 'HTTPS')
    assert.equal(portNumber(container, probe.httpGet.port), options.port)
  }
  // The PodDisruptionBudget keeps one of the two replicas and selects exactly the webhook's pods.
  const pdb = only(objects, 'PodDisruptionBudget')
  assert.equal((pdb['spec'] as Json)['minAvailable'], 1)
  assert.deepEqual((pdb['spec'] as { selector: Json }).selector, {
    matchLabels: (deployment['spec'] as { selector: { matchLabels: Json } }).selector.matchLabels,
  })
  // TLS material comes from a mounted Secret (files, or podtrust's CA) at the path the flags name.
  const tlsDir =
    options.tls.kind === 'files'
      ? options.tls.certFile.replace(/\/[^/]+$/, '')
      : `${options.tls.dataDir ?? ''}/ca`
  if (options.tls.kind === 'files')
    assert.equal(options.tls.keyFile.replace(/\/[^/]+$/, ''), tlsDir)
  const mount = container.volumeMounts?.find((m) => m.mountPath === tlsDir)
  assert.ok(mount, `a volume is mounted at ${tlsDir}`)
  assert.equal(mount.readOnly, true)
  const volume = spec.volumes?.find((v) => v.name === mount.name)
  assert.ok(volume?.['secret'], `${tlsDir} is a Secret volume`)
  // The API server checks the serving certificate for <service>.<namespace>.svc.
  if (options.tls.kind === 'ca')
    assert.ok(options.tls.dnsNames.includes(`${service.metadata.name}.${service.metadata.namespace}.svc`))
  // Every namespaced object lives in the webhook's namespace, which is rendered.
  assert.equal(only(objects, 'Namespace').metadata.name, NAMESPACE)
  for (const o of objects) {
    if (['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(o.kind))
      assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`)
    else assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind}/${o.metadata.name}`)
  }
}

function assertRegistrations(objects: KubeObject[], target: Target, options: WebhookServeOptions): void {
  const webhooks = webhooksOf(objects)
  assert.deepEqual(
    webhooks.map((w) => [w.name, w.clientConfig.service?.path]),
    target.webhooks.map((w) => [w.name, w.path]),
  )
  const service = only(objects, 'Service')
  for (const w of webhooks) {
    const aws = w.name === AWS.name
    assert.deepEqual(w.clientConfig.service, {
      name: service.metadata.name,
      namespace: service.metadata.namespace,
      path: aws ? AWS.path : AZURE.path,
      port: 443,
    })
    if (target.caBundle) assert.ok(w.clientConfig.caBundle, `${w.name}: caBundle`)
    else assert.equal(w.clientConfig.caBundle, undefined)
    // The AWS path is fail-open, the Azure path fail-closed, as the reference webhooks.
    assert.equal(w['failurePolicy'], aws ? 'Ignore' : 'Fail', w.name)
    assert.equal(w['sideEffects'], 'None')
    assert.deepEqual(w['admissionReviewVersions'], ['v1', 'v1beta1'])
    assert.equal(w['reinvocationPolicy'], 'IfNeeded')
    assert.equal(w['matchPolicy'], 'Equivalent')
    assert.deepEqual(w.rules, [
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
    ])
    if (aws) {
      assert.deepEqual(w.objectSelector, {
        matchExpressions: [{ key: AWS_SKIP_LABEL, operator: 'DoesNotExist' }],
      })
    } else assert.deepEqual(w.objectSelector, { matchLabels: { [AZURE_USE_LABEL]: 'true' } })
    // Never the webhook's own pods (it must be able to restart) nor kube-system.
    const excluded = w.namespaceSelector?.matchExpressions?.find(
      (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
    )
    const values = excluded?.values ?? []
    assert.ok(values.includes(NAMESPACE), `${w.name} excludes ${NAMESPACE}`)
    assert.ok(values.includes('kube-system'), `${w.name} excludes kube-system`)
    // The API server must wait longer than the ServiceAccount grace period (the API's maximum is 30).
    assert.ok(w.timeoutSeconds !== undefined && w.timeoutSeconds <= 30)
    assert.ok(w.timeoutSeconds * 1000 > options.gracePeriodMs + 1000, `${w.name}: timeoutSeconds`)
  }
}

/** ConfigMaps and Secrets the Deployment uses that the render does not contain. */
function externalReferences(objects: KubeObject[]): { configMaps: string[]; secrets: string[] } {
  const spec = podSpec(only(objects, 'Deployment'))
  const container = webhookContainer(spec)
  const configMaps = [
    ...(spec.volumes ?? []).flatMap((v) => {
      const name = (v['configMap'] as { name?: string } | undefined)?.name
      return name === undefined ? [] : [name]
    }),
    ...(container.envFrom ?? []).flatMap((f) => (f.configMapRef ? [f.configMapRef.name] : [])),
  ]
  const secrets = [
    ...(spec.volumes ?? []).flatMap((v) => {
      const name = (v['secret'] as { secretName?: string } | undefined)?.secretName
      return name === undefined ? [] : [name]
    }),
    ...(container.envFrom ?? []).flatMap((f) => (f.secretRef ? [f.secretRef.name] : [])),
  ]
  const has = (kind: string, name: string) =>
    objects.some((o) => o.kind === kind && o.metadata.name === name)
  return {
    configMaps: configMaps.filter((n) => !has('ConfigMap', n)),
    secrets: secrets.filter((n) => !has('Secret', n)).sort(),
  }
}

// ---- tests ----------------------------------------------------------------------------------------------

void describe('deploy/webhook: kustomize renders', () => {
  void it('needs kubectl (CI has it): a missing kubectl fails with a clear message, never skips', () => {
    assert.match(kubectlVersion(), /Client Version/)
    const path = process.env['PATH']
    try {
      process.env['PATH'] = '/nonexistent'
      assert.throws(() => render(join(DEPLOY, 'base')), { message: KUBECTL_MISSING })
      assert.throws(() => kubectlVersion(), (e: Error) => e.message.startsWith(KUBECTL_MISSING))
    } finally {
      process.env['PATH'] = path
    }
  })

  void it('covers every kustomization under deploy/webhook', () => {
    const found: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(DEPLOY, dir), { withFileTypes: true })) {
        if (!entry.isDirectory()) continue
        const sub = dir === '' ? entry.name : `${dir}/${entry.name}`
        if (existsSync(join(DEPLOY, sub, 'kustomization.yaml'))) found.push(sub)
        walk(sub)
      }
    }
    walk('')
    const components = ['components/ca-bundle', 'components/tls-from-ca']
    assert.deepEqual(found.sort(), [...Object.keys(TARGETS), ...components].sort())
  })

  for (const [name, target] of Object.entries(TARGETS)) {
    void describe(name, () => {
      void it('every object is valid against the Kubernetes schemas and has no unknown field', () => {
        const objects = renderTarget(name)
        const kinds = new Set(objects.map((o) => o.kind))
        for (const kind of REQUIRED_KINDS) assert.ok(kinds.has(kind), `renders a ${kind}`)
        assertValid(objects)
        assert.ok(!objects.some((o) => o.metadata.name === 'podtrust-webhook-ca'), 'local-config dropped')
      })

      void it('the Deployment passes only flags `podtrust webhook serve` accepts', () => {
        const options = serveOptions(renderTarget(name))
        assert.equal(options.gracePeriodMs, 2000)
        assert.deepEqual(options.ignoredFlags, [])
        assert.equal(options.serviceAccounts.kind, 'api')
      })

      void it('runs non-root, read-only, without privileges, with requests and limits', () => {
        assertHardened(podSpec(only(renderTarget(name), 'Deployment')))
      })

      void it('RBAC: get/list/watch ServiceAccounts; ConfigMaps only in its namespace, only if read', () => {
        const objects = renderTarget(name)
        assertLeastPrivilege(objects, serveOptions(objects))
      })

      void it('Service, probes, PodDisruptionBudget and TLS volume line up with the flags', () => {
        const objects = renderTarget(name)
        assertServing(objects, serveOptions(objects))
      })

      void it(`registers ${target.webhooks.map((w) => w.path).join(' and ')} with the reference policies`, () => {
        const objects = renderTarget(name)
        assertRegistrations(objects, target, serveOptions(objects))
      })

      void it('references only the Secrets the operator creates, and the docs name them', () => {
        const objects = renderTarget(name)
        const external = externalReferences(objects)
        // podtrust-ca is the self-hosted CA ConfigMap: rendered in podtrust-system by that overlay.
        assert.deepEqual(external.configMaps, [])
        assert.deepEqual(external.secrets, [...target.externalSecrets].sort())
        const docs = readFileSync(DOCS, 'utf8')
        for (const secret of external.secrets) assert.ok(docs.includes(secret), `docs name ${secret}`)
        assert.ok(docs.includes(`deploy/webhook/${name}`), `docs name deploy/webhook/${name}`)
      })
    })
  }

  void it('overlays/aws and overlays/azure: one registration each; azure reads no ConfigMap', () => {
    assert.equal(serveOptions(renderTarget('overlays/aws')).configMapNamespace, NAMESPACE)
    const azure = serveOptions(renderTarget('overlays/azure'))
    assert.equal(azure.configMapNamespace, undefined)
    assert.ok(azure.config.azure.tenantId !== '', 'AZURE_TENANT_ID is set')
    assert.equal(azure.config.selfHosted, undefined)
  })

  void it('overlays/self-hosted points pods at podtrust and reads associations from it', () => {
    const objects = renderTarget('overlays/self-hosted')
    const options = serveOptions(objects)
    assert.ok(options.config.selfHosted, 'self-hosted mode on')
    assert.equal(options.config.selfHosted.caConfigMap, 'podtrust-ca')
    assert.equal(options.podtrustAssociations?.endpoint, options.config.selfHosted.endpoint)
    assert.ok(options.podtrustAssociations.cluster !== '')
    // The webhook itself trusts podtrust's CA for those calls.
    const ca = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'podtrust-ca')
    assert.ok(ca && typeof (ca['data'] as Json)['ca.crt'] === 'string')
    const { env } = containerArgs(objects, only(objects, 'Deployment'))
    assert.equal(env['NODE_EXTRA_CA_CERTS'], '/etc/podtrust/ca/ca.crt')
    const container = webhookContainer(podSpec(only(objects, 'Deployment')))
    assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/etc/podtrust/ca' && m.readOnly))
  })

  void it("without components/ca-bundle's value replaced, every webhook carries the placeholder", () => {
    for (const [name, target] of Object.entries(TARGETS)) {
      if (!target.caBundle) continue
      for (const w of webhooksOf(renderTarget(name)))
        assert.equal(w.clientConfig.caBundle, CA_PLACEHOLDER, `${name} ${w.name}`)
    }
  })

  void it("an operator's overlay sets the caBundle of every webhook from one value", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'podtrust-ca-'))
    scratch.push(dataDir)
    const ca = await loadOrCreateCa(caDir(dataDir))
    const bundle = Buffer.from(ca.certPem).toString('base64')
    const objects = userOverlay(
      (deploy) => `resources: [${deploy}/overlays/all]
configMapGenerator:
  - name: podtrust-webhook-ca
    behavior: replace
    literals: [caBundle=${bundle}]
    options: { disableNameSuffixHash: true, annotations: { config.kubernetes.io/local-config: 'true' } }
components: [${deploy}/components/ca-bundle]
`,
    )
    assertValid(objects)
    const webhooks = webhooksOf(objects)
    assert.equal(webhooks.length, 2)
    for (const w of webhooks) assert.equal(w.clientConfig.caBundle, bundle)
    assert.match(Buffer.from(bundle, 'base64').toString(), /^-----BEGIN CERTIFICATE-----/)
    assert.ok(!objects.some((o) => o.metadata.name === 'podtrust-webhook-ca'))
  })

  void it("docs/webhook.md's example overlay renders, for overlays/all and (uncommented) self-hosted", async () => {
    const docs = readFileSync(DOCS, 'utf8')
    const block = /```yaml\n(# my-webhook\/kustomization\.yaml\n[\s\S]*?)```/.exec(docs)?.[1]
    assert.ok(block, 'the example overlay is in the docs')
    const dataDir = mkdtempSync(join(tmpdir(), 'podtrust-ca-'))
    scratch.push(dataDir)
    const ca = await loadOrCreateCa(caDir(dataDir))
    const bundle = Buffer.from(ca.certPem).toString('base64')
    const files = { 'ca-bundle.b64': bundle, 'podtrust-ca.pem': ca.certPem }
    const asDocumented = (deploy: string) => block.replaceAll('../podtrust/deploy/webhook', deploy)
    const selfHosted = (deploy: string) =>
      asDocumented(deploy)
        .replace('/overlays/all', '/overlays/self-hosted')
        .replace(/^(\s*)# (?=- PODTRUST_|- name: podtrust-ca| {2}(?:namespace|behavior|files|options):)/gm, '$1')
    for (const [variant, kustomization] of [
      ['all', asDocumented],
      ['self-hosted', selfHosted],
    ] as const) {
      const objects = userOverlay(kustomization, files)
      assertValid(objects)
      for (const w of webhooksOf(objects)) assert.equal(w.clientConfig.caBundle, bundle, variant)
      const deployment = only(objects, 'Deployment')
      assert.equal(webhookContainer(podSpec(deployment)).image, 'registry.example.com/podtrust:0.1.0')
      const options = serveOptions(objects)
      assert.equal(options.config.azure.tenantId, '72f988bf-86f1-41af-91ab-2d7cd011db47', variant)
      if (variant === 'self-hosted') {
        assert.equal(options.podtrustAssociations?.cluster, 'prod')
        assert.equal(options.config.selfHosted?.endpoint, 'https://podtrust.internal:8443')
        const caMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'podtrust-ca')
        assert.equal((caMap?.['data'] as Json | undefined)?.['ca.crt'], ca.certPem)
      }
    }
  })

  void it('components/tls-from-ca: serving certificate from the CA Secret, for the Service name', () => {
    for (const base of ['overlays/aws', 'overlays/azure', 'overlays/self-hosted']) {
      const objects = userOverlay(
        (deploy) => `resources: [${deploy}/${base}]
components: [${deploy}/components/tls-from-ca]
`,
      )
      assertValid(objects)
      const options = serveOptions(objects)
      assert.equal(options.tls.kind, 'ca', base)
      assertServing(objects, options)
      assertHardened(podSpec(only(objects, 'Deployment')))
      const secrets = externalReferences(objects).secrets
      assert.ok(secrets.includes('podtrust-webhook-ca-key') && !secrets.includes('podtrust-webhook-tls'))
    }
  })
})

void describe('deploy/webhook: the checks themselves', () => {
  const objects = () => renderTarget('overlays/all')
  const clone = <T>(v: T): T => structuredClone(v)

  void it('a schema violation is reported (failurePolicy outside its enum)', () => {
    const mwc = clone(only(objects(), 'MutatingWebhookConfiguration'))
    ;(mwc['webhooks'] as Json[])[0]!['failurePolicy'] = 'Ignored'
    assert.match(problems(mwc).join('\n'), /failurePolicy must be equal to one of the allowed values/)
  })

  void it('a misspelt field is reported, though the schemas let it through', () => {
    const deployment = clone(only(objects(), 'Deployment'))
    const c = webhookContainer(podSpec(deployment))
    const sc = c.securityContext as Json
    delete sc['readOnlyRootFilesystem']
    sc['readOnlyRootFileSystem'] = true
    assert.deepEqual(problems(deployment), [
      'Deployment/podtrust-webhook: unknown field .spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ])
    assert.throws(() => assertHardened(podSpec(deployment)), /readOnlyRootFilesystem/)
  })

  void it('a kind without a schema is reported', () => {
    const o: KubeObject = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x' } }
    assert.deepEqual(problems(o), ['Certificate/x: no schema for cert-manager.io/v1 Certificate'])
  })

  void it('a flag the CLI does not accept fails the flag check', () => {
    const list = clone(objects())
    webhookContainer(podSpec(only(list, 'Deployment'))).args?.push('--grace-period=2s')
    assert.throws(() => serveOptions(list), (e) => e instanceof UsageError && /--grace-period/.test(e.message))
  })

  void it('an argument naming an undefined variable fails the flag check', () => {
    const list = clone(objects())
    webhookContainer(podSpec(only(list, 'Deployment'))).args?.push('--podtrust-cluster=$(NOPE)')
    assert.throws(() => serveOptions(list), /\$\(NOPE\) is not in the container's environment/)
  })

  void it('extra write access is caught', () => {
    const list = clone(objects())
    const role = only(list, 'ClusterRole')
    ;(role['rules'] as { verbs: string[] }[])[0]!.verbs.push('patch')
    assert.throws(() => assertLeastPrivilege(list, serveOptions(list)))
  })

  void it('kubectl kustomize errors are reported with their message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-kustomize-'))
    scratch.push(dir)
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [missing.yaml]\n')
    assert.throws(() => render(dir), /kubectl kustomize .* failed: .*missing\.yaml/s)
  })
})

/** One HTTP(S) exchange on loopback: status and body. */
function exchange(
  url: string,
  options: { ca?: string; method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        )
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

void describe('deploy/webhook: what the manifests call is what the server serves', () => {
  void it('the registered paths, the probe path and the metrics port answer on a real server', async () => {
    // The Deployment's own flags, with only the cluster-bound parts swapped for local ones: ephemeral
    // ports, ServiceAccounts from an (empty) directory, a serving certificate from a throwaway CA.
    const objects = renderTarget('overlays/all')
    const options = serveOptions(objects)
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-'))
    scratch.push(dir)
    mkdirSync(join(dir, 'sa'))
    const hook = await startWebhook(
      {
        ...options,
        port: 0,
        metricsPort: 0,
        tls: { kind: 'ca', dataDir: dir, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
        serviceAccounts: { kind: 'files', dir: join(dir, 'sa') },
        configMapNamespace: undefined,
      },
      { env: {}, log: quietLogger, defaultDataDir: dir, host: '127.0.0.1' },
    )
    try {
      const ca = Buffer.from(hook.caBundle ?? '', 'base64').toString()
      const base = `https://127.0.0.1:${hook.port}`
      const container = webhookContainer(podSpec(only(objects, 'Deployment')))
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        const answer = await exchange(`${base}${probe?.httpGet?.path ?? ''}`, { ca })
        assert.equal(answer.status, 200, `probe ${probe?.httpGet?.path ?? ''}`)
      }
      for (const w of webhooksOf(objects)) {
        const path = w.clientConfig.service?.path ?? ''
        const uid = `uid-${w.name}`
        for (const apiVersion of w['admissionReviewVersions'] as string[]) {
          const answer = await exchange(`${base}${path}`, {
            ca,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              apiVersion: `admission.k8s.io/${apiVersion}`,
              kind: 'AdmissionReview',
              request: {
                uid,
                kind: { group: '', version: 'v1', kind: 'Pod' },
                resource: { group: '', version: 'v1', resource: 'pods' },
                namespace: 'default',
                operation: 'CREATE',
                object: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  metadata: { name: 'p', labels: { [AZURE_USE_LABEL]: 'true' } },
                  spec: { containers: [{ name: 'app', image: 'app' }] },
                },
              },
            }),
          })
          assert.equal(answer.status, 200, `${path} (${apiVersion}): ${answer.body}`)
          const reviewed = JSON.parse(answer.body) as { apiVersion: string; response: Json }
          assert.equal(reviewed.apiVersion, `admission.k8s.io/${apiVersion}`)
          assert.equal(reviewed.response['uid'], uid)
        }
      }
      // The check can fail: a path the server does not route.
      assert.equal((await exchange(`${base}/mutate-v2`, { ca, method: 'POST' })).status, 404)
      const metrics = await exchange(`http://127.0.0.1:${hook.metricsPort}/metrics`)
      assert.equal(metrics.status, 200)
      assert.match(metrics.body, /^podtrust_webhook_admissions_total\{endpoint="aws",outcome="allowed"\} 2$/m)
      assert.match(metrics.body, /^podtrust_webhook_admissions_total\{endpoint="azure",outcome="denied"\} 2$/m)
    } finally {
      await hook.close()
    }
  })
})
