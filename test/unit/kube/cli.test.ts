/**
 * `podtrust webhook mutate` in-process (injected io): the three output forms, endpoint detection, Pod
 * Identity inputs, Azure's tenant rule, clear errors for bad files, and every reference IRSA / Pod
 * Identity fixture reproduced through the CLI's flags (the acceptance check's path).
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { parse, parseAllDocuments } from 'yaml'
import { main } from '../../../src/cli/main.ts'
import type { JsonPatchOperation } from '../../../src/mutation/types.ts'
import { envOf } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = ''
  let err = ''
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        add(chunk.toString())
        cb()
      },
    })
  const code = await main(['webhook', ...argv], {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env,
    cwd: dir,
  })
  return { code, out, err }
}

const POD = file(
  'pod.yaml',
  `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: apps
spec:
  serviceAccountName: s3-reader
  containers:
  - name: app
    image: amazonlinux
`,
)
const SA = file(
  'sa.yaml',
  `apiVersion: v1
kind: ServiceAccount
metadata:
  name: other
  namespace: apps
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: s3-reader
  namespace: apps
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader
`,
)
const AZ_POD = file(
  'az-pod.yaml',
  `apiVersion: v1
kind: Pod
metadata:
  name: billing-0
  namespace: payments
  labels:
    azure.workload.identity/use: "true"
spec:
  serviceAccountName: billing
  containers:
  - name: app
    image: mcr.microsoft.com/azure-cli
`,
)
const AZ_SA = file(
  'az-sa.yaml',
  `apiVersion: v1
kind: ServiceAccount
metadata:
  name: billing
  namespace: payments
  annotations:
    azure.workload.identity/client-id: 6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d
`,
)

void describe('podtrust webhook mutate', () => {
  void it('--patch prints one JSON array, nothing else', async () => {
    const r = await cli(['mutate', '--pod', POD, '--service-account', SA, '--patch'])
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out.split('\n').filter(Boolean).length, 1)
    const ops = JSON.parse(r.out) as JsonPatchOperation[]
    assert.deepEqual(
      ops.map((o) => o.path),
      ['/spec/volumes', '/spec/containers'],
    )
    assert.equal(envOf(ops)['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/s3-reader')
  })

  void it('prints the patch and the mutated pod as YAML documents by default', async () => {
    const r = await cli([
      'mutate',
      '--pod',
      POD,
      '--service-account',
      SA,
      '--aws-default-region=eu-west-1',
    ])
    assert.equal(r.code, 0, r.err)
    const docs = parseAllDocuments(r.out) as { toJS(): unknown }[]
    assert.equal(docs.length, 2)
    const ops = docs[0]?.toJS() as JsonPatchOperation[]
    const mutated = docs[1]?.toJS() as {
      spec: { containers: { env: { name: string }[] }[]; volumes: { name: string }[] }
    }
    assert.equal(ops.length, 2)
    assert.deepEqual(
      mutated.spec.containers[0]?.env.map((e) => e.name),
      ['AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    )
    assert.equal(mutated.spec.volumes[0]?.name, 'aws-iam-token')
    assert.match(r.out, /^# \/mutate: mutated \(irsa\)/)
  })

  void it('--json gives the whole result; no ServiceAccount means admitted unmutated', async () => {
    const r = await cli(['mutate', '--pod', POD, '--json'])
    assert.equal(r.code, 0, r.err)
    const j = JSON.parse(r.out) as {
      endpoint: string
      result: string
      patch: unknown[]
      pod: unknown
    }
    assert.equal(j.endpoint, 'aws')
    assert.equal(j.result, 'allow')
    assert.deepEqual(j.patch, [])
    assert.deepEqual(j.pod, parse(readFileSync(POD, 'utf8')))
    const p = await cli(['mutate', '--pod', POD, '--patch'])
    assert.deepEqual([p.code, p.out], [0, '[]\n'])
  })

  void it('wires Pod Identity from --pod-identity or the reference identities file', async () => {
    const flag = await cli([
      'mutate',
      '--pod',
      POD,
      '--service-account',
      SA,
      '--pod-identity',
      '--patch',
    ])
    const ops = JSON.parse(flag.out) as JsonPatchOperation[]
    assert.equal(ops[0]?.path, '/metadata/labels')
    assert.equal(
      envOf(ops)['AWS_CONTAINER_CREDENTIALS_FULL_URI'],
      'http://169.254.170.23/v1/credentials',
    )
    assert.equal(envOf(ops)['AWS_ROLE_ARN'], undefined, 'Pod Identity wins over role-arn')
    const cfg = file(
      'pi.json',
      '{"identities":[{"namespace":"apps","serviceAccount":"s3-reader"}]}',
    )
    const viaFile = await cli([
      'mutate',
      '--pod',
      POD,
      '--container-credentials-config',
      cfg,
      '--patch',
    ])
    assert.equal(
      envOf(JSON.parse(viaFile.out) as JsonPatchOperation[])[
        'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
      ],
      '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    )
    const other = file(
      'pi2.json',
      '{"identities":[{"namespace":"apps","serviceAccount":"nobody"}]}',
    )
    assert.equal(
      (
        await cli([
          'mutate',
          '--pod',
          POD,
          '--watch-container-credentials-config',
          other,
          '--patch',
        ])
      ).out,
      '[]\n',
    )
  })

  void it('uses the Azure endpoint for labelled pods and needs a tenant', async () => {
    const none = await cli(['mutate', '--pod', AZ_POD, '--service-account', AZ_SA])
    assert.equal(none.code, 2)
    assert.match(
      none.err,
      /the azure endpoint needs a tenant: --azure-tenant-id or AZURE_TENANT_ID/,
    )
    const ok = await cli(['mutate', '--pod', AZ_POD, '--service-account', AZ_SA, '--patch'], {
      AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    })
    assert.equal(ok.code, 0, ok.err)
    const after = JSON.parse(
      (
        await cli([
          'mutate',
          '--pod',
          AZ_POD,
          '--service-account',
          AZ_SA,
          '--json',
          '--azure-tenant-id',
          't-1',
        ])
      ).out,
    ) as {
      endpoint: string
      pod: { spec: { containers: { env: { name: string; value: string }[] }[] } }
    }
    assert.equal(after.endpoint, 'azure')
    const env = Object.fromEntries(
      after.pod.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? [],
    )
    assert.equal(env['AZURE_CLIENT_ID'], '6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d')
    assert.equal(env['AZURE_TENANT_ID'], 't-1')
    assert.equal(
      env['AZURE_FEDERATED_TOKEN_FILE'],
      '/var/run/secrets/azure/wi/token/azure-identity-token',
    )
    // Without its ServiceAccount the Azure webhook denies (fail-closed): exit 1, the reference message.
    const denied = await cli(['mutate', '--pod', AZ_POD, '--azure-tenant-id', 't'])
    assert.equal(denied.code, 1)
    assert.match(denied.err, /denied \(azure endpoint\): serviceaccounts "billing" not found/)
    // --endpoint aws forces the other registration.
    assert.equal(
      (await cli(['mutate', '--pod', AZ_POD, '--endpoint', 'aws', '--patch'])).out,
      '[]\n',
    )
  })

  void it('explains bad files and arguments', async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ['mutate', '--pod', join(dir, 'missing.yaml')],
        2,
        /cannot read pod file `.*missing\.yaml` \(ENOENT\)/,
      ],
      [
        ['mutate', '--pod', file('d.yaml', 'kind: Deployment\nmetadata: {name: x}\n')],
        2,
        /is a Deployment, not a Pod/,
      ],
      [
        ['mutate', '--pod', file('two.yaml', 'kind: Pod\n---\nkind: Pod\n')],
        2,
        /must hold one Pod, found 2 objects/,
      ],
      [['mutate', '--pod', file('broken.yaml', 'kind: Pod\nspec: [\n')], 2, /broken\.yaml` line/],
      [
        ['mutate', '--pod', POD, '--service-account', AZ_SA],
        2,
        /has no ServiceAccount `apps\/s3-reader`/,
      ],
      [
        ['mutate', '--pod', file('bad-pod.yaml', 'kind: Pod\nspec:\n  containers: app\n')],
        1,
        /would deny this pod: json: cannot unmarshal string into Go struct field PodSpec\.spec\.containers/,
      ],
      [
        ['mutate', '--pod', POD, '--token-expiration=soon'],
        2,
        /--token-expiration takes a whole number/,
      ],
      [['mutate'], 2, /--pod is required/],
      [[], 2, /a subcommand is required/],
      [['bogus'], 2, /unknown subcommand 'bogus'/],
      [['serve', '--pod', POD], 2, /unknown flag `--pod`/],
    ]
    for (const [argv, code, pattern] of cases) {
      const r = await cli(argv)
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`)
      assert.match(r.err, pattern, argv.join(' '))
    }
  })
})

const referenceTestdata = new URL(
  '../../../../shared/conformance/pod-identity-webhook/testdata/',
  import.meta.url,
).pathname
const referenceMissing = existsSync(referenceTestdata)
  ? false
  : `reference fixtures not found at ${referenceTestdata} (../shared is not beside this checkout)`

void describe(
  'reference fixtures through webhook mutate flags',
  { skip: referenceMissing }, // reason: the message says what is missing
  () => {
    const root = referenceTestdata
    if (referenceMissing !== false) return
    const files = [
      ...readdirSync(root)
        .filter((f) => f.endsWith('.pod.yaml'))
        .map((f) => join(root, f)),
      ...readdirSync(join(root, 'containercredentials'))
        .filter((f) => f.endsWith('.pod.yaml'))
        .map((f) => join(root, 'containercredentials', f)),
    ]
    const T = 'testing.eks.amazonaws.com/'
    const strip = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(strip)
      if (typeof v !== 'object' || v === null) return v
      return Object.fromEntries(
        Object.entries(v)
          .filter(
            ([k, x]) => x !== null && !(k === 'resources' && Object.keys(x as object).length === 0),
          )
          .map(([k, x]) => [k, strip(x)]),
      )
    }
    for (const fixture of files) {
      void it(fixture.slice(root.length), async () => {
        const text = readFileSync(fixture, 'utf8')
        const pod = parse(text, { uniqueKeys: false }) as {
          metadata: { annotations: Record<string, string> }
        }
        const a = pod.metadata.annotations
        const saAnnotations: Record<string, string> = {
          'eks.amazonaws.com/audience': a[`${T}serviceAccount/audience`] ?? 'sts.amazonaws.com',
        }
        const roleArn = a[`${T}serviceAccount/roleArn`]
        if (roleArn !== undefined) saAnnotations['eks.amazonaws.com/role-arn'] = roleArn
        const sts = a[`${T}serviceAccount/sts-regional-endpoints`] ?? a[`${T}handler/injectSTS`]
        if (sts !== undefined) saAnnotations['eks.amazonaws.com/sts-regional-endpoints'] = sts
        const exp = a[`${T}serviceAccount/token-expiration`] ?? a[`${T}handler/expiration`]
        if (exp !== undefined) saAnnotations['eks.amazonaws.com/token-expiration'] = exp
        const sa = file(
          'fixture-sa.json',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ServiceAccount',
            metadata: { name: 'default', namespace: 'default', annotations: saAnnotations },
          }),
        )
        const argv = ['mutate', '--pod', fixture, '--service-account', sa, '--patch']
        const region = a[`${T}handler/region`]
        if (region !== undefined) argv.push('--aws-default-region', region)
        const uri = a[`${T}containercredentials/uri`]
        if (uri !== undefined && uri !== '') {
          argv.push('--pod-identity', '--container-credentials-full-uri', uri)
          for (const [k, flag] of [
            ['audience', 'container-credentials-audience'],
            ['mountPath', 'container-credentials-token-mount-path'],
            ['volumeName', 'container-credentials-token-volume-name'],
            ['tokenPath', 'container-credentials-token-path'],
          ] as const) {
            const v = a[`${T}containercredentials/${k}`]
            if (v !== undefined && v !== '') argv.push(`--${flag}`, v)
          }
        }
        const r = await cli(argv)
        assert.equal(r.code, 0, r.err)
        const got = JSON.parse(r.out) as JsonPatchOperation[]
        const expected = JSON.parse(a[`${T}expectedPatch`] ?? '[]') as JsonPatchOperation[]
        // The CLI's jitter is random: a default-lifetime Pod Identity token is 79200 + [0, 7200].
        const token = (ops: JsonPatchOperation[]) => {
          const volume = ops.find((o) => o.path.startsWith('/spec/volumes'))?.value
          const v = (Array.isArray(volume) ? volume[0] : volume) as
            | { projected?: { sources: { serviceAccountToken: { expirationSeconds: number } }[] } }
            | undefined
          return v?.projected?.sources[0]?.serviceAccountToken
        }
        const e = token(expected)
        const g = token(got)
        if (e?.expirationSeconds === 79200 && g !== undefined) {
          assert.ok(
            g.expirationSeconds >= 79200 && g.expirationSeconds <= 86400,
            String(g.expirationSeconds),
          )
          g.expirationSeconds = 79200
        }
        assert.deepEqual(strip(got), strip(expected))
      })
    }
  },
)

void describe('webhook mutate namespace inference', () => {
  void it('admits a pod manifest without a namespace in its ServiceAccount’s namespace', async () => {
    const bare = file(
      'bare.yaml',
      'kind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: s3-reader\n  containers: [{name: app, image: x}]\n',
    )
    const r = await cli(['mutate', '--pod', bare, '--service-account', SA, '--patch'])
    assert.equal(r.code, 0, r.err)
    assert.equal(
      envOf(JSON.parse(r.out) as JsonPatchOperation[])['AWS_ROLE_ARN'],
      'arn:aws:iam::111122223333:role/s3-reader',
    )
    // Two namespaces with that name: ambiguous, so kubectl's default namespace is used.
    const two = file(
      'two-sa.yaml',
      `${readFileSync(SA, 'utf8')}---\nkind: ServiceAccount\nmetadata: {name: s3-reader, namespace: other}\n`,
    )
    const amb = await cli(['mutate', '--pod', bare, '--service-account', two, '--patch'])
    assert.equal(amb.code, 2)
    assert.match(amb.err, /has no ServiceAccount `default\/s3-reader`/)
  })
})
