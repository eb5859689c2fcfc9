/**
 * The principal-policy actions, once per kind (roles and users share one implementation): inline policies,
 * managed attachments with PathPrefix filtering and the 10-policy quota, tags. IAM API reference:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html ("PathPrefix: The
 * path prefix for filtering the results"), API_AttachRolePolicy.html / API_AttachUserPolicy.html
 * (LimitExceeded), API_GetRolePolicy.html / API_GetUserPolicy.html (NoSuchEntity).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ACCT, openHarness, xmlAll, xmlText, type Harness } from './harness.ts'

const DOC =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'sts:AssumeRole' },
  ],
})

const kinds = [
  { noun: 'Role', type: 'role', create: { RoleName: 'app', AssumeRolePolicyDocument: TRUST } },
  { noun: 'User', type: 'user', create: { UserName: 'app' } },
] as const

void describe('iam principal policies (roles and users, one implementation)', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
    for (const k of kinds) assert.equal((await h.call(`Create${k.noun}`, k.create)).status, 200)
    for (let i = 0; i < 11; i++) {
      const created = await h.call('CreatePolicy', {
        PolicyName: `p${i}`,
        Path: i < 2 ? '/team/' : '/',
        PolicyDocument: DOC,
      })
      assert.equal(created.status, 200)
    }
  })
  after(() => h.cleanup())

  for (const k of kinds) {
    const name = { [`${k.noun}Name`]: 'app' }
    it(`${k.noun}: inline policies put, get (case-insensitive name), list, delete; NoSuchEntity names the ${k.type}`, async () => {
      assert.equal(
        (await h.call(`Put${k.noun}Policy`, { ...name, PolicyName: 'Read', PolicyDocument: DOC }))
          .status,
        200,
      )
      const got = await h.call(`Get${k.noun}Policy`, { ...name, PolicyName: 'read' })
      assert.equal(xmlText(got.xml, `${k.noun}Name`), 'app')
      assert.equal(xmlText(got.xml, 'PolicyName'), 'Read')
      assert.deepEqual(xmlAll((await h.call(`List${k.noun}Policies`, name)).xml, 'member'), [
        'Read',
      ])
      assert.equal(
        (await h.call(`Delete${k.noun}Policy`, { ...name, PolicyName: 'Read' })).status,
        200,
      )
      const missing = await h.call(`Get${k.noun}Policy`, { ...name, PolicyName: 'Read' })
      assert.equal(missing.code, 'NoSuchEntity')
      assert.equal(missing.message, `The ${k.type} policy with name Read cannot be found.`)
    })

    it(`${k.noun}: attachments filtered by PathPrefix; the 11th is LimitExceeded PoliciesPer${k.noun}`, async () => {
      for (let i = 0; i < 10; i++) {
        const attached = await h.call(`Attach${k.noun}Policy`, {
          ...name,
          PolicyArn: `arn:aws:iam::${ACCT}:policy/${i < 2 ? 'team/' : ''}p${i}`,
        })
        assert.equal(attached.status, 200)
      }
      const filtered = await h.call(`ListAttached${k.noun}Policies`, {
        ...name,
        PathPrefix: '/team/',
      })
      assert.deepEqual(xmlAll(filtered.xml, 'PolicyName'), ['p0', 'p1'])
      const over = await h.call(`Attach${k.noun}Policy`, {
        ...name,
        PolicyArn: `arn:aws:iam::${ACCT}:policy/p10`,
      })
      assert.equal(over.code, 'LimitExceeded')
      assert.equal(over.message, `Cannot exceed quota for PoliciesPer${k.noun}: 10`)
      const detached = await h.call(`Detach${k.noun}Policy`, {
        ...name,
        PolicyArn: `arn:aws:iam::${ACCT}:policy/p9`,
      })
      assert.equal(detached.status, 200)
      const again = await h.call(`Detach${k.noun}Policy`, {
        ...name,
        PolicyArn: `arn:aws:iam::${ACCT}:policy/p9`,
      })
      assert.equal(again.code, 'NoSuchEntity')
    })

    it(`${k.noun}: tags merge case-insensitively, untag removes, list is sorted`, async () => {
      await h.call(`Tag${k.noun}`, {
        ...name,
        'Tags.member.1.Key': 'team',
        'Tags.member.1.Value': 'a',
        'Tags.member.2.Key': 'Cost',
        'Tags.member.2.Value': '1',
      })
      await h.call(`Tag${k.noun}`, {
        ...name,
        'Tags.member.1.Key': 'Team',
        'Tags.member.1.Value': 'b',
      })
      await h.call(`Untag${k.noun}`, { ...name, 'TagKeys.member.1': 'Cost' })
      const listed = await h.call(`List${k.noun}Tags`, name)
      assert.deepEqual(xmlAll(listed.xml, 'Key'), ['Team'])
      assert.deepEqual(xmlAll(listed.xml, 'Value'), ['b'])
    })
  }
})
