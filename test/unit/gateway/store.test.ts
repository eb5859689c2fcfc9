/**
 * The gateway's tables on both store engines: bucket and queue policies (put, replace, delete, the 1 s read
 * cache invalidated by writes through the same store) and the `gateway` config section (apply, settings read
 * back for `up`/`gateway`, export).
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { gatewayConfigSection, loadGatewaySettings } from '../../../src/gateway/config.ts'
import { createResourcePolicyStore } from '../../../src/gateway/resource-policies.ts'
import { engines, openTestDb, postgresSkipReason, type TestDb } from '../store/engines.ts'

const POLICY =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}'
const env = {
  accountId: '111122223333',
  region: 'us-east-1',
  now: new Date('2026-12-01T00:00:00Z'),
}

for (const engine of engines) {
  void describe(`gateway store (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    let t: TestDb | undefined
    after(async () => t?.cleanup())

    void test(
      'resource policies: put, replace, delete; writes invalidate the cache',
      { skip: skip ?? false },
      async () => {
        t = await openTestDb(engine)
        const store = createResourcePolicyStore(t.db)
        assert.equal(await store.get('s3', 'reports'), undefined)
        await store.put('s3', 'reports', POLICY, env.now)
        assert.equal(await store.get('s3', 'reports'), POLICY)
        await store.put('s3', 'reports', POLICY.replace('Deny', 'Allow'), env.now)
        assert.match((await store.get('s3', 'reports')) ?? '', /Allow/)
        assert.equal(await store.get('sqs', 'reports'), undefined)
        assert.equal(await store.delete('s3', 'reports'), true)
        assert.equal(await store.get('s3', 'reports'), undefined)
        assert.equal(await store.delete('s3', 'reports'), false)
      },
    )

    void test(
      'config section: applies settings and policies, exports them',
      { skip: skip ?? false },
      async () => {
        t ??= await openTestDb(engine)
        const value = gatewayConfigSection.parse(
          {
            port: 7071,
            backends: {
              s3: 'http://127.0.0.1:5000/',
              sqs: 'http://127.0.0.1:5001',
              accountId: '123456789012',
            },
            bucketPolicies: { logs: JSON.parse(POLICY) as object },
            queuePolicies: { jobs: POLICY },
          },
          'gateway',
        )
        await t.db.transaction((tx) => gatewayConfigSection.apply(tx, value, env))
        assert.deepEqual(await loadGatewaySettings(t.db), {
          port: 7071,
          backends: {
            s3: 'http://127.0.0.1:5000',
            sqs: 'http://127.0.0.1:5001',
            accountId: '123456789012',
          },
        })
        const store = createResourcePolicyStore(t.db)
        assert.equal(await store.get('sqs', 'arn:aws:sqs:us-east-1:111122223333:jobs'), POLICY)
        const exported = await gatewayConfigSection.export(t.db, env)
        assert.equal(exported?.bucketPolicies?.['logs'], POLICY)
        assert.throws(
          () => gatewayConfigSection.parse({ backends: { s3: 'ftp://x' } }, 'gateway'),
          /gateway.backends.s3: must be an http\(s\) base URL/,
        )
        assert.throws(
          () =>
            gatewayConfigSection.parse({ bucketPolicies: { b1: { Statement: 'x' } } }, 'gateway'),
          /gateway.bucketPolicies.b1/,
        )
      },
    )
  })
}
