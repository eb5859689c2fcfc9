import assert from 'node:assert/strict'
import { test } from 'node:test'
import { run } from './iam-api.ts'
import { conformanceMissing } from './suite.ts'

void test(
  'iam-api conformance: the moto validation corpus through CreatePolicy over the wire',
  { skip: conformanceMissing('iam-policy/moto-validation') }, // reason: the message says what is missing
  async () => {
    const result = await run()
    assert.equal(result.sets.length, 2)
    for (const set of result.sets) {
      assert.ok(set.total > 0, `${set.name} has cases`)
      assert.deepEqual(set.failures, [], `${set.name}: ${set.passed}/${set.total}`)
    }
    // 78 invalid + 54 valid documents, as the corpus README documents.
    assert.equal(result.total, 132)
    assert.equal(result.passed, result.total)
  },
)
