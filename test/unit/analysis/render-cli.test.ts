// Report formats and the `podtrust scan` CLI. SARIF is validated against the SARIF 2.1.0 JSON schema shipped in
// @microsoft/jest-sarif (MIT; `lib/schemas/sarif-2.1.0-rtm.5.json`, the schema of the OASIS 2.1.0 standard's final
// committee draft as published on SchemaStore) with ajv (draft-04).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, test } from 'node:test'
import { renderHtml } from '../../../src/analysis/render/html.ts'
import { renderSarif } from '../../../src/analysis/render/sarif.ts'
import { renderJson, renderText } from '../../../src/analysis/render/text.ts'
import { main } from '../../../src/cli/main.ts'
import { renderDoctor } from '../../../src/cli/commands/doctor.ts'
import { deployment, exactTrust, gaad, irsaTrust, roleArn, run, sa, scanCli } from './helpers.ts'

const require = createRequire(import.meta.url)

function sarifValidator() {
  const Ajv = require('ajv') as new (opts: object) => {
    addMetaSchema(s: object): void
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] }
  }
  const ajv = new Ajv({ schemaId: 'auto', allErrors: true })
  ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json') as object)
  return ajv.compile(require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object)
}

const yaml =
  sa('pay', 'api', roleArn('api')) +
  deployment(
    'pay',
    'api',
    'api',
    '',
    `          env:\n            - { name: AWS_ACCESS_KEY_ID, value: "<script>alert(1)</script>" }\n`,
  )
const gaadDoc = gaad([
  {
    name: 'api',
    trust: exactTrust('pay', 'api'),
    inline: [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    ],
  },
  { name: 'open', trust: irsaTrust(undefined) },
])

void describe('renderers', () => {
  const report = run(yaml, gaadDoc)

  void test('SARIF 2.1.0 validates against the schema, one rule per check id', () => {
    const validate = sarifValidator()
    const sarif = JSON.parse(renderSarif(report, { version: '0.1.0' })) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } }
        results: { ruleId: string; level: string }[]
      }[]
    }
    assert.equal(validate(sarif), true, JSON.stringify(validate.errors, null, 2))
    const rules = sarif.runs[0]!.tool.driver.rules.map((r) => r.id)
    assert.deepEqual(rules, [...new Set(report.findings.map((f) => f.id))].sort())
    assert.equal(sarif.runs[0]!.results.length, report.findings.length)
    assert.equal(sarif.runs[0]!.results.find((r) => r.ruleId === 'PERM-001')!.level, 'error')
    // A broken log must fail, so the validation above can fail.
    assert.equal(validate({ version: '2.1.0', runs: [{ results: [] }] }), false)
  })

  void test('JSON has the stable shape', () => {
    const json = JSON.parse(renderJson(report)) as {
      findings: Record<string, unknown>[]
      workloads: Record<string, unknown>[]
    }
    for (const f of json.findings)
      for (const k of ['id', 'severity', 'objects', 'message', 'remediation']) assert.ok(k in f, k)
    assert.deepEqual(Object.keys(json.workloads[0]!).slice(0, 4), [
      'pod',
      'serviceAccount',
      'roles',
      'credentialSource',
    ])
  })

  void test('HTML is self-contained (no external URL loads), escapes values, and draws the trust graph', () => {
    const html = renderHtml(report, { generatedAt: '2026-12-01T00:00:00Z', inputs: ['a.yaml'] })
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i)
    assert.doesNotMatch(html, /<script>alert/)
    assert.match(html, /<svg[^>]*aria-label="trust graph"/)
    for (const column of ['Workloads', 'ServiceAccounts', 'Roles', 'Permissions'])
      assert.match(html, new RegExp(`>${column}<`))
    assert.match(html, /admin \(\*:\*\)/)
  })

  void test('text lists findings and workloads', () => {
    const text = renderText(report)
    assert.match(text, /CRITICAL +PERM-001/)
    assert.match(text, /pay\/api \(Deployment, sa pay\/api\) uses env-keys/)
  })
})

void describe('podtrust scan CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-scan-'))
  void after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'app.yaml'), yaml)
  writeFileSync(join(dir, 'gaad.json'), JSON.stringify(gaadDoc))

  const cli = (args: string[]) => scanCli(dir, args)

  void test('--fail-on: exit 1 at or above the threshold, 0 below; --format json to --out', async () => {
    const high = await cli([
      '--k8s',
      '.',
      '--gaad',
      'gaad.json',
      '--fail-on',
      'high',
      '--format',
      'json',
      '--out',
      'r.json',
    ])
    assert.equal(high.code, 1)
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as {
      findings: { id: string }[]
    }
    assert.ok(report.findings.some((f) => f.id === 'IRSA-001'))
    const clean = await cli(['--k8s', 'app.yaml', '--fail-on', 'critical', '--format', 'json'])
    assert.equal(clean.code, 0, clean.err)
  })

  void test('no progress bar when stderr is not a terminal; bad arguments exit 2', async () => {
    const r = await cli(['--k8s', 'app.yaml', '--gaad', 'gaad.json'])
    assert.equal(r.err, '')
    assert.equal((await cli(['--format', 'xml', '--k8s', 'app.yaml'])).code, 2)
    assert.equal((await cli(['--gaad', 'app.yaml'])).code, 2)
    assert.equal((await cli([])).code, 2)
  })
})

void describe('progress and doctor text', () => {
  void test('a progress bar is drawn on a terminal only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-scan-tty-'))
    try {
      writeFileSync(join(dir, 'app.yaml'), yaml)
      const stderr = Object.assign(new PassThrough(), { isTTY: true })
      let err = ''
      stderr.on('data', (d: Buffer) => (err += d.toString()))
      const code = await main(['scan', '--k8s', 'app.yaml', '--format', 'json'], {
        stdout: new PassThrough(),
        stderr,
        env: {},
        cwd: dir,
      })
      assert.equal(code, 0)
      assert.match(err, /checks +\[#+\] 5\/5/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void test('doctor prints ✓/✗ per link and the fix of the broken one', () => {
    const text = renderDoctor({
      mechanism: 'irsa',
      ok: false,
      links: [
        { name: 'identity-mapping', ok: true, reason: 'pay/api → role' },
        {
          name: 'oidc-provider',
          ok: false,
          reason: 'no provider',
          fix: 'aws iam create-open-id-connect-provider …',
        },
      ],
    })
    assert.equal(
      text,
      'podtrust doctor: irsa\n✓ identity-mapping: pay/api → role\n✗ oidc-provider: no provider\n  fix: aws iam create-open-id-connect-provider …\nbroken link: oidc-provider\n',
    )
  })
})
