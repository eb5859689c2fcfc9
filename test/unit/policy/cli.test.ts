import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, test } from 'node:test'
import { main } from '../../../src/cli/main.ts'

const dir = mkdtempSync(join(tmpdir(), 'podtrust-policy-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: unknown): string {
  const p = join(dir, name)
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content))
  return p
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await main(argv, { stdout, stderr, env: {}, cwd: dir })
  return { code, out, err }
}

const good = file('good.json', {
  Version: '2012-10-17',
  Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
})
const bad = file('bad.json', {
  Version: '2012-10-17',
  Statement: { Effect: 'Allow', Action: 's3:GetObject' },
})
const host = 'oidc.example.com/id/X'
const trust = file('trust.json', {
  Version: '2012-10-17',
  Statement: {
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${host}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
  },
})

void describe('podtrust policy validate', () => {
  void test('accepted document: exit 0, JSON lists no findings', async () => {
    const r = await cli('policy', 'validate', good, '--json')
    assert.equal(r.code, 0)
    const json = JSON.parse(r.out) as { valid: boolean; findings: unknown[] }
    assert.equal(json.valid, true)
    assert.deepEqual(json.findings, [])
  })
  void test('rejected document: exit 1 with IAM message', async () => {
    const r = await cli('policy', 'validate', 'bad.json', '--json')
    assert.equal(r.code, 1)
    const json = JSON.parse(r.out) as { findings: { severity: string; message: string }[] }
    assert.deepEqual(json.findings[0], {
      file: 'bad.json',
      severity: 'ERROR',
      code: 'MalformedPolicyDocument',
      message: 'Policy statement must contain resources.',
    })
    assert.match((await cli('policy', 'validate', bad)).out, /rejected by IAM/)
  })
  void test('findings alone exit 0, --strict makes them exit 1', async () => {
    const r = await cli('policy', 'validate', trust, '--type', 'trust')
    assert.equal(r.code, 0)
    assert.match(r.out, /MISSING_OIDC_SUB_CONDITION/)
    assert.equal((await cli('policy', 'validate', trust, '--type', 'trust', '--strict')).code, 1)
  })
  void test('--management-account: SCPs do not restrict the management account (Organizations, "SCPs")', async () => {
    const denyAll = file('scp-deny.json', {
      Version: '2012-10-17',
      Statement: { Effect: 'Deny', Action: '*', Resource: '*' },
    })
    const base = [
      'policy',
      'simulate',
      '--identity',
      good,
      '--scp',
      denyAll,
      '--principal',
      'arn:aws:iam::111122223333:user/ops',
      '--action',
      's3:GetObject',
      '--resource',
      'arn:aws:s3:::data/x',
    ]
    assert.equal((await cli(...base)).code, 1)
    assert.equal((await cli(...base, '--management-account', '111122223333')).code, 0)
    assert.equal((await cli(...base, '--management-account', '444455556666')).code, 1)
  })
  void test('malformed arguments exit 2', async () => {
    assert.equal((await cli('policy', 'validate')).code, 2)
    assert.equal((await cli('policy', 'validate', good, '--type', 'bogus')).code, 2)
    assert.equal((await cli('policy', 'validate', good, '--nope')).code, 2)
    const missing = await cli('policy', 'validate', 'missing.json')
    assert.equal(missing.code, 2)
    assert.match(missing.err, /cannot read 'missing.json'/)
    assert.equal((await cli('policy')).code, 2)
    assert.equal((await cli('policy', 'frobnicate')).code, 2)
  })
})

void describe('podtrust policy simulate', () => {
  void test('flags: allowed exits 0, denied exits 1, with an explanation', async () => {
    const base = [
      'policy',
      'simulate',
      '--identity',
      good,
      '--principal',
      'arn:aws:iam::111122223333:user/u',
      '--resource',
      'arn:aws:s3:::b/k',
    ]
    const ok = await cli(...base, '--action', 's3:GetObject')
    assert.equal(ok.code, 0)
    assert.match(ok.out, /Decision: Allowed/)
    const no = await cli(...base, '--action', 's3:PutObject', '--json')
    assert.equal(no.code, 1)
    const json = JSON.parse(no.out) as {
      decision: string
      blockedBy: string[]
      unmatched: { element: string }[]
    }
    assert.equal(json.decision, 'ImplicitlyDenied')
    assert.deepEqual(json.blockedBy, [])
    assert.equal(json.unmatched[0]?.element, 'Action')
  })
  void test('trust policy with --context (repeatable, lists)', async () => {
    const t = file('trust2.json', {
      Version: '2012-10-17',
      Statement: {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${host}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { 'ForAnyValue:StringEquals': { [`${host}:aud`]: 'sts.amazonaws.com' } },
      },
    })
    const args = [
      'policy',
      'simulate',
      '--trust',
      t,
      '--principal',
      `arn:aws:iam::111122223333:oidc-provider/${host}`,
      '--action',
      'sts:AssumeRoleWithWebIdentity',
      '--resource',
      'arn:aws:iam::111122223333:role/r',
    ]
    assert.equal(
      (
        await cli(
          ...args,
          '--context',
          `${host}:aud=other`,
          '--context',
          `${host}:aud=sts.amazonaws.com`,
        )
      ).code,
      0,
    )
    assert.equal((await cli(...args, '--context', `${host}:aud=["a","sts.amazonaws.com"]`)).code, 0)
    assert.equal((await cli(...args, '--context', `${host}:aud=other`)).code, 1)
  })
  void test('--request with one engine-cases case (expected ignored)', async () => {
    // A case in the engine-cases format of the conformance corpus, written here: an OU level whose SCP list
    // is empty allows nothing, so an identity Allow is implicitly denied by the SCP level ("If there is no
    // SCP attached … all actions are denied", Organizations User Guide, "SCP evaluation").
    const c = {
      name: 'identity allows, the only organizational level attaches no SCP',
      request: {
        action: 'ec2:DescribeInstances',
        resource: { resource: '*', accountId: '444455556666' },
        principal: 'arn:aws:iam::444455556666:user/ops',
        context: {},
      },
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
        },
      ],
      serviceControlPolicies: [{ orgIdentifier: 'ou-abcd-11112222', policies: [] }],
      expected: { response: 'ImplicitlyDenied', blockedBy: ['scp'] },
    }
    const r = await cli(
      'policy',
      'simulate',
      '--request',
      file('case.json', { ...c, expected: { response: 'Allowed' } }),
      '--json',
    )
    const json = JSON.parse(r.out) as { decision: string; blockedBy: string[] }
    assert.deepEqual([r.code, json.decision, json.blockedBy], [1, 'ImplicitlyDenied', ['scp']])
  })
  void test('malformed arguments exit 2', async () => {
    assert.equal((await cli('policy', 'simulate', '--principal', 'p')).code, 2)
    assert.equal((await cli('policy', 'simulate', '--action', 'a')).code, 2)
    assert.equal(
      (await cli('policy', 'simulate', '--action', 'a', '--principal', 'p', '--context', 'novalue'))
        .code,
      2,
    )
    assert.equal(
      (await cli('policy', 'simulate', '--action', 'a', '--principal', 'p', '--context', 'k=[1,'))
        .code,
      2,
    )
    assert.equal(
      (
        await cli(
          'policy',
          'simulate',
          '--action',
          'a',
          '--principal',
          'p',
          '--identity',
          file('x.json', '{'),
        )
      ).code,
      2,
    )
    assert.equal(
      (await cli('policy', 'simulate', '--request', file('r.json', '{"request":{}}'))).code,
      2,
    )
    assert.equal((await cli('policy', 'simulate', '--request', file('r2.json', 'nope'))).code, 2)
    assert.equal((await cli('policy', 'simulate', '--request', good, '--action', 'x')).code, 2)
    assert.equal((await cli('policy', 'simulate', 'extra')).code, 2)
  })
})
