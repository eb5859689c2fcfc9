import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { auditTime, createAuditLog } from '../../../src/audit/log.ts'
import type { AuditEvent } from '../../../src/audit/types.ts'
import type { Db } from '../../../src/store/db.ts'
import { openDb } from '../../../src/server/store.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

function event(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventVersion: '1.08',
    eventTime: auditTime(new Date(Date.UTC(2026, 0, 1, 0, 0, i))),
    eventSource: 'sts.amazonaws.com',
    eventName: i % 2 === 0 ? 'AssumeRoleWithWebIdentity' : 'GetCallerIdentity',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'test',
    userIdentity: { type: 'WebIdentityUser', principalId: `p${i}` },
    requestParameters: { roleArn: 'arn:aws:iam::000000000000:role/app', roleSessionName: `s${i}` },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `evt-${i}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    ...extra,
  }
}

for (const engine of engines) {
  void describe(`audit log on ${engine}`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    const opts = skip === undefined ? {} : { skip }

    void it(
      'group-commits concurrent events, and they are readable after close',
      opts,
      async () => {
        const t = await openTestDb(engine)
        try {
          let transactions = 0
          const counting: Db = {
            ...t.db,
            engine: t.db.engine,
            all: t.db.all.bind(t.db),
            get: t.db.get.bind(t.db),
            run: t.db.run.bind(t.db),
            close: t.db.close.bind(t.db),
            transaction: (fn) => {
              transactions += 1
              return t.db.transaction(fn)
            },
          }
          const log = createAuditLog(counting)
          await Promise.all(Array.from({ length: 100 }, (_, i) => log.record(event(i))))
          assert.ok(transactions < 100, `100 events took ${transactions} commits`)
          await log.close()
          await assert.rejects(log.record(event(999)), /closed/)
          await t.db.close()
          const reopened = await openDb({
            dataDir: t.dataDir,
            ...(t.url === undefined ? {} : { url: t.url }),
            ...(t.schema === undefined ? {} : { schema: t.schema }),
          })
          try {
            const reader = createAuditLog(reopened)
            const last = await reader.tail({ limit: 5 })
            assert.deepEqual(
              last.map((e) => e.event.eventID),
              ['evt-95', 'evt-96', 'evt-97', 'evt-98', 'evt-99'],
            )
            assert.ok(last[0]!.seq < last[4]!.seq)
            const after = await reader.tail({ afterSeq: last[2]!.seq, limit: 10 })
            assert.deepEqual(
              after.map((e) => e.event.eventID),
              ['evt-98', 'evt-99'],
            )
            const gci = await reader.tail({ eventName: 'GetCallerIdentity', limit: 1000 })
            assert.equal(gci.length, 50)
            assert.equal((await reader.tail({ failed: true })).length, 0)
          } finally {
            await reopened.close()
          }
        } finally {
          await t.cleanup()
        }
      },
    )

    void it('redacts secrets and tokens before writing', opts, async () => {
      const t = await openTestDb(engine)
      try {
        const log = createAuditLog(t.db)
        const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
        await log.record(
          event(1, {
            errorCode: 'AccessDenied',
            errorMessage: `bad token ${jwt}`,
            requestParameters: {
              webIdentityToken: jwt,
              roleArn: 'r',
              nested: { SecretAccessKey: 'abc' },
            },
            responseElements: {
              credentials: { accessKeyId: 'ASIAXXX', sessionToken: 'sealed', secretAccessKey: 's' },
            },
          }),
        )
        const [stored] = await log.tail()
        const text = JSON.stringify(stored?.event)
        assert.ok(!text.includes(jwt))
        assert.ok(!text.includes('sealed'))
        assert.ok(!text.includes('"abc"'))
        assert.match(text, /ASIAXXX/)
        assert.equal(stored?.event.errorCode, 'AccessDenied')
        assert.equal((await log.tail({ failed: true })).length, 1)
      } finally {
        await t.cleanup()
      }
    })
  })
}
