import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { conformanceRoot } from './suite.ts'
import { FixtureError, parsePodFixture, run, runPodFixture, runPodFixtures } from './webhook.ts'

const root = conformanceRoot()
const testdata = join(root, 'pod-identity-webhook', 'testdata')

void test('webhook conformance: every reference fixture and Azure vector passes', async (t) => {
  if (!existsSync(testdata)) return t.skip(`fixtures not found at ${testdata}`) // reason: the message says what is missing
  const result = await run()
  assert.deepEqual(
    result.sets.flatMap((s) => s.failures),
    [],
  )
  const counts = Object.fromEntries(result.sets.map((s) => [s.name, `${s.passed}/${s.total}`]))
  assert.equal(counts['testdata'], '15/15')
  assert.equal(counts['testdata/containercredentials'], '5/5')
  const azure = result.sets.find(
    (s) => s.name.startsWith('azure-workload-identity vectors') && s.total > 0,
  )
  assert.equal(azure?.total, 47, `Azure vectors: ${JSON.stringify(azure)}`)
  assert.equal(result.passed, result.total)
})

void test('webhook conformance: a wrong expected patch, a typo in a harness key and a missing uri all fail', (t) => {
  if (!existsSync(testdata)) return t.skip(`fixtures not found at ${testdata}`) // reason: the message says what is missing
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-conformance-'))
  try {
    const original = readFileSync(join(testdata, 'rawPodNeedsSTS.pod.yaml'), 'utf8')
    writeFileSync(
      join(dir, 'wrong.pod.yaml'),
      original.replace('"expirationSeconds":86400', '"expirationSeconds":86401'),
    )
    writeFileSync(
      join(dir, 'typo.pod.yaml'),
      original.replace('testing.eks.amazonaws.com/skip:', 'testing.eks.amazonaws.com/skp:'),
    )
    mkdirSync(join(dir, 'containercredentials'))
    const cc = readFileSync(join(testdata, 'containercredentials', 'rawPodSkip.pod.yaml'), 'utf8')
    writeFileSync(
      join(dir, 'containercredentials', 'nouri.pod.yaml'),
      cc.replace(/^.*containercredentials\/uri.*$/m, ''),
    )
    const sets = runPodFixtures(dir)
    const failures = sets.flatMap((s) => s.failures).join('\n')
    assert.equal(
      sets.reduce((n, s) => n + s.passed, 0),
      0,
    )
    assert.equal(
      sets.reduce((n, s) => n + s.total, 0),
      3,
    )
    assert.match(failures, /wrong\.pod\.yaml: op 0 \(\/spec\/volumes\)/)
    assert.match(failures, /unknown harness annotation testing\.eks\.amazonaws\.com\/skp/)
    assert.match(failures, /has no containercredentials\/uri/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('webhook conformance: fixture parsing is strict', () => {
  const pod = (annotations: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n${annotations}spec:\n  containers: [{name: c}]\n`
  assert.throws(
    () => parsePodFixture(pod('    testing.eks.amazonaws.com/skip: "false"\n'), 'f'),
    /no testing\.eks\.amazonaws\.com\/expectedPatch/,
  )
  assert.throws(
    () => parsePodFixture(pod(`    testing.eks.amazonaws.com/expectedPatch: '{"op":1}'\n`), 'f'),
    /not a JSON array/,
  )
  assert.throws(
    () => parsePodFixture(pod(`    testing.eks.amazonaws.com/expectedPatch: '[x'\n`), 'f'),
    FixtureError,
  )
  assert.throws(() => parsePodFixture('- a\n', 'f'), /not a YAML mapping/)
  // Duplicate keys are accepted, as sigs.k8s.io/yaml does (last wins).
  const fixture = parsePodFixture(
    pod(`    testing.eks.amazonaws.com/expectedPatch: '[]'\n`).replace(
      'spec:\n',
      'spec:\n  serviceAccountName: a\n  serviceAccountName: b\n',
    ),
    'f',
  )
  assert.equal(fixture.pod.spec?.serviceAccountName, 'b')
  // A fixture whose SA has no role gets no patch: reported, not thrown.
  assert.match(
    runPodFixture(fixture, { podIdentityFolder: false }).join(),
    /expected a patch, got allow/,
  )
})
