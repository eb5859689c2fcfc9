/**
 * SimulateCustomPolicy's ContextEntries as the engine reads them: the IAM User Guide, "Single-valued vs.
 * multivalued context keys", decides by the number of values in the request context, so a `stringList` entry
 * with one value is that value for an operator without a set qualifier, and one with two values is not.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { openHarness, xmlText, type Harness } from './harness.ts'

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: '*',
      Condition: { StringEquals: { 'aws:TagKeys': 'env' } },
    },
  ],
})

void describe('SimulateCustomPolicy: stringList context entries', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(() => h.cleanup())

  const decide = async (values: string[]) => {
    const params: Record<string, string> = {
      'PolicyInputList.member.1': POLICY,
      'ActionNames.member.1': 'ec2:CreateTags',
      'ContextEntries.member.1.ContextKeyName': 'aws:TagKeys',
      'ContextEntries.member.1.ContextKeyType': 'stringList',
    }
    values.forEach(
      (v, i) => (params[`ContextEntries.member.1.ContextKeyValues.member.${i + 1}`] = v),
    )
    const r = await h.call('SimulateCustomPolicy', params)
    assert.equal(r.status, 200, r.message)
    return xmlText(r.xml, 'EvalDecision')
  }

  void it('one value: StringEquals compares it', async () => {
    assert.equal(await decide(['env']), 'allowed')
    assert.equal(await decide(['team']), 'implicitDeny')
  })
  void it('two values: an operator without ForAnyValue/ForAllValues does not match', async () => {
    assert.equal(await decide(['env', 'team']), 'implicitDeny')
  })
})
