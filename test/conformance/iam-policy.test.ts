import assert from 'node:assert/strict'
import { test } from 'node:test'
import { disputes } from './iam-policy/disputed.ts'
import { run } from './iam-policy.ts'
import { conformanceMissing, conformanceRoot } from './suite.ts'

const missing = conformanceMissing('iam-policy')

void test(
  'iam-policy conformance: every set passes, disputed cases judged by the AWS docs',
  { skip: missing }, // reason: the message says what is missing
  async () => {
    const result = await run()
    const names = result.sets.map((s) => s.name).join('\n')
    for (const set of [
      'engine-cases/',
      'operator_cases.json',
      'resource_match_cases.json',
      'moto-validation',
    ]) {
      assert.ok(names.includes(set), `set ${set} ran`)
    }
    for (const set of result.sets) {
      assert.deepEqual(set.failures, [], `${set.name}: ${set.passed}/${set.total}`)
      assert.ok(set.total > 0, `${set.name} has cases`)
    }
    assert.equal(result.passed, result.total)
    // The corpus sizes documented in the README: 162 operator cases, 231 resource cases, 132 validation cases.
    const total = (prefix: string): number =>
      result.sets.filter((s) => s.name.startsWith(prefix)).reduce((n, s) => n + s.total, 0)
    assert.equal(total('operator_cases.json'), 162)
    assert.equal(total('resource_match_cases.json'), 231)
    assert.equal(total('moto-validation'), 132)
  },
)

void test(
  'every dispute cites AWS documentation and names a real case',
  { skip: missing }, // reason: the message says what is missing
  async () => {
    const result = await run()
    const setNames = result.sets.map((s) => s.name).join('\n')
    for (const d of disputes) {
      assert.match(d.doc, /IAM User Guide|AWS/, `${d.name} cites a document`)
      assert.ok(setNames.includes(d.name), `${d.name} is reported as disputed`)
    }
  },
)

void test('a DIR argument runs any folder of engine-cases files', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-engine-cases-'))
  try {
    const policy = {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
    }
    const request = {
      action: 's3:GetObject',
      principal: 'arn:aws:iam::111122223333:user/u',
      resource: { resource: 'arn:aws:s3:::b/k', accountId: '111122223333' },
    }
    mkdirSync(join(dir, 'nested'))
    writeFileSync(
      join(dir, 'a.json'),
      JSON.stringify([
        { name: 'allowed', request, identityPolicies: [policy], expected: { response: 'Allowed' } },
        {
          name: 'wrong expectation',
          request,
          identityPolicies: [],
          expected: { response: 'Allowed' },
        },
      ]),
    )
    writeFileSync(
      join(dir, 'nested', 'b.json'),
      JSON.stringify([
        {
          name: 'malformed',
          request: { action: 1 },
          identityPolicies: [],
          expected: { response: 'Allowed' },
        },
      ]),
    )
    const result = await run(dir)
    assert.deepEqual(
      result.sets.map((s) => [s.name, s.passed, s.total]),
      [
        ['./a.json', 1, 2],
        ['./nested', 0, 1],
      ],
    )
    assert.match(
      result.sets[0]!.failures[0]!,
      /wrong expectation: expected Allowed \[\], got ImplicitlyDenied/,
    )
    assert.match(result.sets[1]!.failures[0]!, /malformed: threw `request.action` must be a string/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test(
  'the corpus run as a DIR argument judges disputed cases as the default run does',
  { skip: missing }, // reason: the message says what is missing
  async () => {
    const { join } = await import('node:path')
    const dir = join(conformanceRoot(), 'iam-policy', 'engine-cases')
    const result = await run(dir)
    assert.ok(result.total > 100)
    assert.equal(result.passed, result.total, result.sets.flatMap((s) => s.failures).join('\n'))
    assert.ok(result.sets.some((s) => s.name.includes('1 disputed')))
  },
)
