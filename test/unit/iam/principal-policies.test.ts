/**
 * The principal-policy actions, once per kind (roles and users share one implementation): inline policies,
 * managed attachments with PathPrefix filtering and the 10-policy quota, tags. IAM API reference:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html ("PathPrefix: The
 * path prefix for filtering the results"), API_AttachRolePolicy.html / API_AttachUserPolicy.html
 * (LimitExceeded), API_GetRolePolicy.html / API_GetUserPolicy.html (NoSuchEntity).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Caller } from '../../../src/identity/types.ts'
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
    void it(`${k.noun}: inline policies put, get (case-insensitive name), list, delete; NoSuchEntity names the ${k.type}`, async () => {
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

    void it(`${k.noun}: attachments filtered by PathPrefix; the 11th is LimitExceeded PoliciesPer${k.noun}`, async () => {
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

    void it(`${k.noun}: tags merge case-insensitively, untag removes, list is sorted`, async () => {
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

/**
 * Every taggable kind shares one implementation; a Tag/Untag call is authorized with `aws:TagKeys` (Service
 * Authorization Reference, IAM: TagPolicy, UntagPolicy, TagOpenIDConnectProvider, UntagOpenIDConnectProvider,
 * UntagUser list aws:TagKeys), so a Deny on a protected tag key matches on each of them.
 */
void describe('iam tag actions (roles, users, policies, OIDC providers, one implementation)', () => {
  let h: Harness
  let tagger: Caller
  const provider = `arn:aws:iam::${ACCT}:oidc-provider/oidc.example.com`
  const targets: { noun: string; member: Record<string, string> }[] = [
    { noun: 'Role', member: { RoleName: 'tagged' } },
    { noun: 'User', member: { UserName: 'tagged' } },
    { noun: 'Policy', member: { PolicyArn: `arn:aws:iam::${ACCT}:policy/tagged` } },
    { noun: 'OpenIDConnectProvider', member: { OpenIDConnectProviderArn: provider } },
  ]
  before(async () => {
    h = await openHarness()
    await h.call('CreateRole', { RoleName: 'tagged', AssumeRolePolicyDocument: TRUST })
    await h.call('CreateUser', { UserName: 'tagged' })
    await h.call('CreatePolicy', { PolicyName: 'tagged', PolicyDocument: DOC })
    await h.call('CreateOpenIDConnectProvider', {
      Url: 'https://oidc.example.com',
      'ClientIDList.member.1': 'sts.amazonaws.com',
      'ThumbprintList.member.1': 'a'.repeat(40),
    })
    await h.call('CreateUser', { UserName: 'tagger' })
    await h.call('PutUserPolicy', {
      UserName: 'tagger',
      PolicyName: 'tags',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
          {
            Effect: 'Deny',
            Action: 'iam:*',
            Resource: '*',
            Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['protected'] } },
          },
        ],
      }),
    })
    tagger = {
      ...h.admin,
      arn: `arn:aws:iam::${ACCT}:user/tagger`,
      userName: 'tagger',
      userId: 'AIDATAGGER',
    }
  })
  after(() => h.cleanup())

  for (const t of targets) {
    void it(`${t.noun}: tag, list, untag; a Deny on aws:TagKeys matches both Tag${t.noun} and Untag${t.noun}`, async () => {
      const tag = (key: string) => ({
        ...t.member,
        'Tags.member.1.Key': key,
        'Tags.member.1.Value': 'v',
      })
      assert.equal((await h.call(`Tag${t.noun}`, tag('protected'))).status, 200)
      assert.equal((await h.call(`Tag${t.noun}`, tag('Team'), tagger)).status, 200)
      assert.deepEqual(xmlAll((await h.call(`List${t.noun}Tags`, t.member)).xml, 'Key').sort(), [
        'Team',
        'protected',
      ])
      const tagDenied = await h.call(`Tag${t.noun}`, tag('protected'), tagger)
      assert.equal(tagDenied.code, 'AccessDenied')
      const untagDenied = await h.call(
        `Untag${t.noun}`,
        { ...t.member, 'TagKeys.member.1': 'protected' },
        tagger,
      )
      assert.equal(untagDenied.code, 'AccessDenied')
      // Tag keys are case-insensitive, except a managed policy's (`Team` and `team` are two policy tags).
      const untagged = await h.call(
        `Untag${t.noun}`,
        { ...t.member, 'TagKeys.member.1': t.noun === 'Policy' ? 'Team' : 'team' },
        tagger,
      )
      assert.equal(untagged.status, 200)
      assert.deepEqual(xmlAll((await h.call(`List${t.noun}Tags`, t.member)).xml, 'Key'), [
        'protected',
      ])
    })
  }
})
