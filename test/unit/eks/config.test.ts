import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { clustersSection, podIdentityAssociationsSection } from '../../../src/aws/eks/config.ts'
import { EksError } from '../../../src/aws/eks/errors.ts'
import { createEksRepo } from '../../../src/aws/eks/repo.ts'
import { checkSessionPolicy, sessionPolicyErrors } from '../../../src/aws/eks/validate.ts'
import { createIamRepo } from '../../../src/aws/iam/repo.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import type { Db } from '../../../src/store/db.ts'
import { openDb } from '../../../src/server/store.ts'

const env = {
  accountId: '111122223333',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}
const ROLE = 'arn:aws:iam::111122223333:role/app'
const GOOD =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'

void describe('clusters / podIdentityAssociations config sections', () => {
  let dir: string
  let db: Db
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-eks-config-'))
    db = await openDb({ dataDir: dir })
    const iam = createIamRepo(db)
    await iam.ensureAccount('111122223333', env.now)
    await iam.insertRole({
      accountId: '111122223333',
      roleName: 'app',
      roleId: 'AROAEXAMPLEEXAMPLE001',
      arn: ROLE,
      path: '/',
      assumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
      maxSessionDuration: 3600,
      createDate: env.now,
      tags: [],
    })
  })
  afterEach(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  void it('applies idempotently and exports what it applied', async () => {
    const clusters = clustersSection.parse(
      [{ name: 'dev' }, { name: 'real', issuer: 'https://oidc.x/id/1' }],
      'clusters',
    )
    const assocs = podIdentityAssociationsSection.parse(
      [
        { cluster: 'dev', namespace: 'ns', serviceAccount: 'sa', roleArn: ROLE, tags: { a: 'b' } },
        {
          cluster: 'dev',
          namespace: 'ns2',
          serviceAccount: 'sa',
          roleArn: ROLE,
          disableSessionTags: true,
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
          },
        },
      ],
      'podIdentityAssociations',
    )
    for (let i = 0; i < 2; i++) {
      await db.transaction(async (tx) => {
        await clustersSection.apply(tx, clusters, env)
        await podIdentityAssociationsSection.apply(tx, assocs, env)
      })
    }
    const repo = createEksRepo(db)
    const list = await repo.listAssociations('dev', {})
    assert.equal(list.length, 2)
    const first = await repo.findAssociation('dev', 'ns', 'sa')
    await db.transaction((tx) => podIdentityAssociationsSection.apply(tx, assocs, env))
    assert.equal(
      (await repo.findAssociation('dev', 'ns', 'sa'))?.associationId,
      first?.associationId,
    )
    const exportedClusters = await clustersSection.export(db, env)
    assert.deepEqual(exportedClusters, [
      { name: 'dev' },
      { name: 'real', issuer: 'https://oidc.x/id/1' },
    ])
    const exported = await podIdentityAssociationsSection.export(db, env)
    assert.equal(exported?.length, 2)
    assert.deepEqual(podIdentityAssociationsSection.parse(exported, 'p'), exported)
  })

  void it('rejects malformed sections with the path', () => {
    const bad: [typeof clustersSection | typeof podIdentityAssociationsSection, unknown, RegExp][] =
      [
        [clustersSection, {}, /^clusters: expected a list, got a mapping/],
        [clustersSection, [{}], /clusters\[0\]\.name: is required/],
        [clustersSection, [{ name: 'x', extra: 1 }], /clusters\[0\]\.extra: unknown key `extra`/],
        [clustersSection, [{ name: '_bad' }], /clusters\[0\]\.name/],
        [
          clustersSection,
          [{ name: 'x', issuer: 'nope' }],
          /^clusters\[0\]\.issuer: 'nope' is not a URL$/,
        ],
        // https only, as IAM accepts only https provider URLs.
        [
          clustersSection,
          [{ name: 'x', issuer: 'http://oidc.example.com/id/X' }],
          /^clusters\[0\]\.issuer: 'http:\/\/oidc\.example\.com\/id\/X' must be an https URL$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'http://127.0.0.1:8080' }],
          /^clusters\[0\]\.issuer: .* must be an https URL$/,
        ],
        [clustersSection, [{ name: 'x', issuer: 'ftp://x' }], /clusters\[0\]\.issuer: .* https/],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https://' }],
          /clusters\[0\]\.issuer: .* not a URL/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https:oidc' }],
          /clusters\[0\]\.issuer: .* https URL$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: ' https://oidc' }],
          /clusters\[0\]\.issuer: .* https URL$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https://oidc.example.com/id/X?x=1' }],
          /clusters\[0\]\.issuer: .* without credentials, query or fragment$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https://oidc.example.com/id/X#f' }],
          /clusters\[0\]\.issuer: .* without credentials, query or fragment$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https://oidc.example.com/?' }],
          /clusters\[0\]\.issuer: .* without credentials, query or fragment$/,
        ],
        [
          clustersSection,
          [{ name: 'x', issuer: 'https://u:p@oidc.example.com/' }],
          /clusters\[0\]\.issuer: .* without credentials, query or fragment$/,
        ],
        [clustersSection, [{ name: 'x', accountId: '12' }], /clusters\[0\]\.accountId/],
        [clustersSection, [{ name: 'x', region: 'moon' }], /clusters\[0\]\.region/],
        [podIdentityAssociationsSection, [{ cluster: 'x' }], /\[0\]\.namespace/],
        [
          podIdentityAssociationsSection,
          [{ cluster: 'x', namespace: 'n', serviceAccount: 's', roleArn: 'r' }],
          /\[0\]\.roleArn/,
        ],
        [
          podIdentityAssociationsSection,
          [{ cluster: 'x', namespace: 'n', serviceAccount: 's', roleArn: ROLE, policy: GOOD }],
          /\[0\]\.disableSessionTags/,
        ],
        [
          podIdentityAssociationsSection,
          [
            {
              cluster: 'x',
              namespace: 'n',
              serviceAccount: 's',
              roleArn: ROLE,
              disableSessionTags: 'yes',
            },
          ],
          /\[0\]\.disableSessionTags/,
        ],
      ]
    for (const [section, value, re] of bad) {
      assert.throws(
        () => section.parse(value, section.key),
        (err: unknown) => err instanceof ConfigError && re.test(err.message),
        JSON.stringify(value),
      )
    }
  })

  void it('checks policy like the EKS API: the policy engine, errors naming the path', () => {
    const assoc = (policy: unknown) => [
      {
        cluster: 'x',
        namespace: 'n',
        serviceAccount: 's',
        roleArn: ROLE,
        disableSessionTags: true,
        policy,
      },
    ]
    const cases: [unknown, string][] = [
      ['{}', 'Syntax errors in policy.'],
      [
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] },
        'Policy statement must contain resources.',
      ],
      [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }],
        },
        'Policy document should not specify a principal.',
      ],
      [
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}],"Foo":1}',
        'Syntax errors in policy.',
      ],
      ['[1]', 'policy must be a JSON object'],
      ['not json', 'policy is not valid JSON'],
      [
        `{"Version":"2012-10-17","Statement":[],"Id":"${'x'.repeat(2100)}"}`,
        'policy must be at most 2048 characters',
      ],
    ]
    for (const [policy, expected] of cases) {
      const text = typeof policy === 'string' ? policy : JSON.stringify(policy)
      // The API's message for the same document (the service calls checkSessionPolicy too).
      let api = ''
      try {
        checkSessionPolicy(text, sessionPolicyErrors)
      } catch (err) {
        api = err instanceof EksError ? err.message : String(err)
      }
      assert.ok(api.endsWith(expected), `${text} → ${api}`)
      assert.throws(
        () => podIdentityAssociationsSection.parse(assoc(policy), 'podIdentityAssociations'),
        (err: unknown) =>
          err instanceof ConfigError && err.message === `podIdentityAssociations[0].policy: ${api}`,
        text,
      )
    }
    assert.equal(
      podIdentityAssociationsSection.parse(assoc(GOOD), 'podIdentityAssociations')[0]?.policy,
      GOOD,
    )
  })

  void it('refuses associations for unknown clusters or roles of another account', async () => {
    const unknown = podIdentityAssociationsSection.parse(
      [{ cluster: 'nope', namespace: 'n', serviceAccount: 's', roleArn: ROLE }],
      'p',
    )
    await assert.rejects(
      db.transaction((tx) => podIdentityAssociationsSection.apply(tx, unknown, env)),
      /not registered/,
    )
    await db.transaction((tx) => clustersSection.apply(tx, [{ name: 'dev' }], env))
    const other = podIdentityAssociationsSection.parse(
      [
        {
          cluster: 'dev',
          namespace: 'n',
          serviceAccount: 's',
          roleArn: 'arn:aws:iam::999999999999:role/x',
        },
      ],
      'p',
    )
    await assert.rejects(
      db.transaction((tx) => podIdentityAssociationsSection.apply(tx, other, env)),
      /account/,
    )
  })
})
