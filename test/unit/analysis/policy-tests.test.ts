// `podtrust test`: scenarios judged by the engine (IAM User Guide "Policy evaluation logic"; EKS IRSA trust
// semantics), TAP 13 and JUnit output, CLI exit codes.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, test } from 'node:test'
import { doctorRole } from '../../../src/analysis/doctor.ts'
import { globsIntersect, witness } from '../../../src/analysis/intersect.ts'
import {
  parseScenarios,
  renderJunit,
  renderTap,
  runScenarios,
  type TestModel,
} from '../../../src/analysis/policy-tests.ts'
import { main } from '../../../src/cli/main.ts'
import { ACCOUNT, ISSUER, NOW, PROVIDER, exactTrust, gaad, irsaTrust, roleArn } from './helpers.ts'

const policy = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })
const role = (name: string, trust: object, ...statements: object[]) =>
  doctorRole({
    arn: roleArn(name),
    accountId: ACCOUNT,
    trust: JSON.stringify(trust),
    identity: [{ id: `inline:${name}`, document: policy(...statements) }],
  })

const model: TestModel = {
  now: NOW,
  providers: [{ arn: PROVIDER, url: ISSUER, clientIds: ['sts.amazonaws.com'], thumbprints: [] }],
  associations: [],
  serviceAccounts: ['payments/api', 'ci/deployer', 'dev/tool'],
  roles: new Map([
    [
      roleArn('api'),
      role(
        'api',
        exactTrust('payments', 'api'),
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::invoices/*' },
        { Effect: 'Allow', Action: 'iam:PassRole', Resource: roleArn('worker') },
      ),
    ],
    [
      roleArn('deployer'),
      role(
        'deployer',
        irsaTrust({ StringLike: { [`${ISSUER}:sub`]: 'system:serviceaccount:ci:*' } }),
      ),
    ],
    [
      roleArn('loose'),
      role('loose', irsaTrust({ StringLike: { [`${ISSUER}:sub`]: 'system:serviceaccount:*' } })),
    ],
  ]),
}

void describe('scenarios', () => {
  void test('can / cannot with patterns, only-namespaces, assumable-by', () => {
    const scenarios = parseScenarios(`scenarios:
  - { workload: payments/api, can: s3:GetObject, on: "arn:aws:s3:::invoices/*" }
  - { workload: payments/api, can: s3:GetObject, on: "arn:aws:s3:::payroll/*" }
  - { workload: payments/api, cannot: "s3:Delete*" }
  - { workload: payments/api, cannot: "iam:*" }
  - { role: ${roleArn('deployer')}, only-namespaces: [ci] }
  - { role: ${roleArn('loose')}, only-namespaces: [ci] }
  - { role: ${roleArn('api')}, assumable-by: [payments/api] }
`)
    const results = runScenarios(scenarios, model)
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, false, true, false, true, false, true],
    )
    assert.match(results[1]!.detail, /denied for every role/)
    assert.match(results[3]!.detail, /allows iam:PassRole on \* \(inline:api #1\)/)
    assert.match(results[5]!.detail, /also admitted: system:serviceaccount:zz-podtrust-probe/)
  })

  void test('bad files are rejected with the path of the problem', () => {
    assert.throws(() => parseScenarios('scenarios: []'), /non-empty/)
    assert.throws(
      () => parseScenarios('scenarios:\n  - { workload: api, can: s3:GetObject }'),
      /scenarios\[0\]\.workload/,
    )
    assert.throws(
      () => parseScenarios('scenarios:\n  - { workload: a/b, can: x, cannot: y }'),
      /exactly one/,
    )
  })

  void test('TAP 13 and JUnit', () => {
    const results = runScenarios(
      parseScenarios(
        '- { workload: payments/api, can: "s3:PutObject", on: "arn:aws:s3:::invoices/a" }',
      ),
      model,
    )
    const tap = renderTap(results)
    assert.match(tap, /^TAP version 13\n1\.\.1\nnot ok 1 - workload payments\/api can s3:PutObject/)
    assert.match(tap, / {2}---\n {2}message: ".*Action does not match/)
    assert.match(renderJunit(results), /<testsuite name="podtrust test" tests="1" failures="1">/)
  })

  void test('glob intersection witnesses', () => {
    assert.equal(globsIntersect('iam:Pass*', 'iam:*', true), true)
    assert.equal(globsIntersect('s3:Get*', 'iam:*', true), false)
    assert.equal(globsIntersect('arn:aws:s3:::a/*', 'arn:aws:s3:::b/*'), false)
    assert.equal(witness('arn:aws:s3:::a/x*', 'arn:aws:s3:::a/*'), 'arn:aws:s3:::a/xzzpodtrust')
  })
})

void describe('podtrust test CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-test-cli-'))
  void after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'gaad.json'),
    JSON.stringify(
      gaad([
        {
          name: 'api',
          trust: exactTrust('payments', 'api'),
          inline: [
            {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::invoices/*' },
              ],
            },
          ],
        },
      ]),
    ),
  )
  writeFileSync(
    join(dir, 'pass.yaml'),
    'scenarios:\n  - { workload: payments/api, can: s3:GetObject, on: "arn:aws:s3:::invoices/*" }\n',
  )
  writeFileSync(
    join(dir, 'fail.yaml'),
    'scenarios:\n  - { workload: payments/api, can: s3:PutObject, on: "arn:aws:s3:::invoices/*" }\n',
  )
  async function cli(args: string[]) {
    const stdout = new PassThrough()
    let out = ''
    stdout.on('data', (d: Buffer) => (out += d.toString()))
    const code = await main(['test', ...args], {
      stdout,
      stderr: new PassThrough(),
      env: {},
      cwd: dir,
    })
    return { code, out }
  }
  void test('exit 0 when every scenario holds, 1 when one fails; --junit writes XML', async () => {
    assert.equal((await cli(['pass.yaml', '--gaad', 'gaad.json'])).code, 0)
    const failed = await cli(['fail.yaml', '--gaad', 'gaad.json', '--junit', 'out.xml'])
    assert.equal(failed.code, 1)
    assert.match(failed.out, /not ok 1/)
    assert.match(readFileSync(join(dir, 'out.xml'), 'utf8'), /<failure message=/)
    assert.equal((await cli(['missing.yaml'])).code, 2)
  })

  void test('--config: a podtrust config applied to a throw-away store (managed policies, boundary)', async () => {
    const url = 'oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE'
    writeFileSync(
      join(dir, 'podtrust.yaml'),
      `version: 1
oidcProviders:
  - url: https://${url}
    clientIds: [sts.amazonaws.com]
policies:
  - name: S3Read
    document: { Version: '2012-10-17', Statement: [{ Effect: Allow, Action: 's3:*', Resource: 'arn:aws:s3:::example-bucket/*' }] }
roles:
  - name: s3-reader
    assumeRolePolicy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: { Federated: 'arn:aws:iam::000000000000:oidc-provider/${url}' }
          Action: sts:AssumeRoleWithWebIdentity
          Condition: { StringEquals: { '${url}:sub': system:serviceaccount:default:s3-reader } }
    managedPolicies: [S3Read]
    permissionsBoundary: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
`,
    )
    writeFileSync(
      join(dir, 'config-scenarios.yaml'),
      `scenarios:
  - { workload: default/s3-reader, can: s3:GetObject, on: "arn:aws:s3:::example-bucket/*" }
  - { workload: default/s3-reader, cannot: "s3:Put*", on: "arn:aws:s3:::example-bucket/*" }
  - { role: "arn:aws:iam::000000000000:role/s3-reader", only-namespaces: [default] }
`,
    )
    const r = await cli(['config-scenarios.yaml', '--config', 'podtrust.yaml'])
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /^ok 2 - workload default\/s3-reader cannot s3:Put\*/m)
  })
})
