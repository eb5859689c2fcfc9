/**
 * RoleLastUsed / AccessKeyLastUsed recording (IAM API reference: GetRole's RoleLastUsed, GetAccessKeyLastUsed):
 * uses are noted in memory and written in batches, never on the request.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createUsageRecorder } from '../../../src/aws/iam/usage.ts'

void describe('usage recorder', () => {
  void it('notes uses without writing, then writes the latest per role and key in one flush', async () => {
    const writes: string[] = []
    const recorder = createUsageRecorder(
      {
        async recordRoleUse(arn, when, region) {
          writes.push(`role ${arn} ${when.toISOString()} ${region}`)
        },
        async recordAccessKeyUse(id, when, service, region) {
          writes.push(`key ${id} ${when.toISOString()} ${service} ${region}`)
        },
      },
      { flushMs: 60_000 },
    )
    const t1 = new Date('2026-12-06T10:00:00Z')
    const t2 = new Date('2026-12-06T10:00:05Z')
    recorder.noteRoleUse('arn:aws:iam::111122223333:role/app', t1, 'us-east-1')
    recorder.noteRoleUse('arn:aws:iam::111122223333:role/app', t2, 'eu-west-1')
    recorder.noteAccessKeyUse('AKIAEXAMPLE', t1, 'iam', 'us-east-1')
    assert.deepEqual(writes, [], 'nothing is written on the request path')
    await recorder.flush()
    assert.deepEqual(writes, [
      'role arn:aws:iam::111122223333:role/app 2026-12-06T10:00:05.000Z eu-west-1',
      'key AKIAEXAMPLE 2026-12-06T10:00:00.000Z iam us-east-1',
    ])
    await recorder.flush()
    assert.equal(writes.length, 2, 'a flush with nothing pending writes nothing')
    recorder.noteAccessKeyUse('AKIAEXAMPLE', t2, 'sts', 'us-east-1')
    await recorder.close()
    assert.equal(writes.length, 3, 'close writes what is pending')
  })

  void it('a failing write is reported, not thrown', async () => {
    const errors: unknown[] = []
    const recorder = createUsageRecorder(
      {
        async recordRoleUse() {
          throw new Error('store down')
        },
        async recordAccessKeyUse() {},
      },
      { flushMs: 60_000, onError: (e) => errors.push(e) },
    )
    recorder.noteRoleUse('arn:aws:iam::111122223333:role/app', new Date(), 'us-east-1')
    await recorder.close()
    assert.equal(errors.length, 1)
  })
})
