import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parseServeFlags, WEBHOOK_FLAGS } from '../../../src/kube/flags.ts'
import {
  AWS_ANNOTATION_PREFIX,
  AWS_ANNOTATIONS,
  AWS_SKIP_LABEL,
  AZURE_ANNOTATIONS,
  AZURE_USE_LABEL,
  GCP_ANNOTATIONS,
  POD_IDENTITY_LABEL,
} from '../../../src/mutation/constants.ts'

// docs/webhook.md is checked against the code it describes, so the tables cannot drift from the flags
// (src/kube/flags.ts) and annotations (src/mutation/constants.ts).
const docs = readFileSync(new URL('../../../docs/webhook.md', import.meta.url), 'utf8')

/** Rows of the docs' markdown tables: cells, trimmed. */
const rows = docs
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
  .map((line) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim()),
  )

/** The flag tables' rows: flags named in the first cell → the default cell. */
function documentedDefault(flag: string): string | undefined {
  const row = rows.find(
    (cells) => cells.length === 3 && [...(cells[0] ?? '').matchAll(/`(--[a-z-]+)`/g)].some((m) => m[1] === flag),
  )
  return row?.[1]
}

void describe('docs/webhook.md', () => {
  void it('names every flag the CLI accepts', () => {
    for (const name of Object.keys(WEBHOOK_FLAGS)) {
      const spelled = name.length === 1 ? `\`-${name}\`` : `\`--${name}`
      assert.ok(docs.includes(spelled), `--${name} is documented`)
    }
  })

  void it("gives each flag's default as the parser has it", () => {
    const defaults = parseServeFlags(['--watch-config-map'], {})
    const { aws, azure, gcp } = defaults.config
    const cc = aws.containerCredentials
    assert.equal(defaults.tls.kind, 'files')
    const expected: Record<string, string> = {
      '--annotation-prefix': aws.annotationPrefix,
      '--token-audience': aws.tokenAudience,
      '--token-mount-path': aws.tokenMountPath,
      '--token-expiration': String(aws.tokenExpiration),
      '--sts-regional-endpoint': String(aws.regionalSts),
      '--container-credentials-audience': cc.audience,
      '--container-credentials-token-mount-path': cc.mountPath,
      '--container-credentials-token-volume-name': cc.volumeName,
      '--container-credentials-token-path': cc.tokenPath,
      '--container-credentials-full-uri': cc.fullUri,
      '--azure-audience': azure.audience,
      '--azure-token-layout': azure.tokenLayout,
      '--gcp-token-mount-path': gcp.tokenMountPath,
      '--gcp-credentials-mount-path': gcp.credentialsMountPath,
      '--gcp-token-expiration': String(gcp.tokenExpiration),
      '--port': String(defaults.port),
      '--metrics-port': String(defaults.metricsPort),
      '--tls-cert': defaults.tls.kind === 'files' ? defaults.tls.certFile : '',
      '--tls-min-version': defaults.tlsMinVersion.replace('TLSv', ''),
      '--namespace': defaults.configMapNamespace ?? '',
      '--service-account-lookup-grace-period': `${defaults.gracePeriodMs / 1000}s`,
      '--resync-period': `${defaults.resyncPeriodMs / 1000}s`,
      '--podtrust-ca-configmap': 'podtrust-ca',
    }
    for (const [flag, value] of Object.entries(expected)) {
      const cell = documentedDefault(flag)
      assert.ok(cell !== undefined, `${flag} has a row in a flag table`)
      assert.ok(cell.includes(`\`${value}\``), `${flag}: documented default ${cell}, parser ${value}`)
    }
    assert.equal(aws.region, '')
    assert.match(documentedDefault('--aws-default-region') ?? '', /none/)
    assert.equal(defaults.config.selfHosted, undefined)
    assert.match(documentedDefault('--podtrust-endpoint') ?? '', /off/)
  })

  void it('names every annotation and label the mutation reads or writes', () => {
    const keys = [
      ...Object.values(AWS_ANNOTATIONS).map((n) => `${AWS_ANNOTATION_PREFIX}/${n}`),
      AWS_SKIP_LABEL,
      POD_IDENTITY_LABEL,
      AZURE_USE_LABEL,
      ...Object.values(AZURE_ANNOTATIONS),
      ...Object.values(GCP_ANNOTATIONS),
    ]
    const table = rows.filter((cells) => cells.length === 4).map((cells) => cells[0] ?? '')
    for (const key of keys) {
      const name = key.slice(key.lastIndexOf('/') + 1)
      assert.ok(
        table.some((cell) => cell.includes(`\`${key}`) || (cell.includes(key.slice(0, key.lastIndexOf('/'))) && cell.includes(`\`${name}\``))),
        `${key} is in the annotations table`,
      )
    }
  })

  void it('keeps the benchmark placeholder for the figures and the migration note', () => {
    assert.ok(docs.includes('<!-- bench:webhook figures -->') || /\| concurrency/.test(docs))
    assert.match(docs, /^## Migrating from the reference webhooks$/m)
    assert.match(docs, /^### Flags side by side$/m)
    assert.match(docs, /^### Annotations and labels side by side$/m)
  })
})
