import assert from 'node:assert/strict'
import { test } from 'node:test'
import { disputes } from './iam-policy/disputed.ts'
import { run } from './iam-policy.ts'

void test('iam-policy conformance: every set passes, disputed cases judged by the AWS docs', async () => {
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
})

void test('every dispute cites AWS documentation and names a real case', async () => {
  const result = await run()
  const setNames = result.sets.map((s) => s.name).join('\n')
  for (const d of disputes) {
    assert.match(d.doc, /IAM User Guide|AWS/, `${d.name} cites a document`)
    assert.ok(setNames.includes(d.name), `${d.name} is reported as disputed`)
  }
})
