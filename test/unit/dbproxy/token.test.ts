/**
 * IAM auth token parsing and its 15-minute window, on tokens made by @aws-sdk/rds-signer
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Signer } from '@aws-sdk/rds-signer'
import { checkTokenWindow, parseAuthToken, TokenRejected } from '../../../src/dbproxy/token.ts'

const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
}

async function sdkToken(): Promise<string> {
  return new Signer({
    hostname: 'DB.example.com',
    port: 5432,
    username: 'app_user',
    region: 'eu-west-1',
    credentials,
  }).getAuthToken()
}

void describe('IAM database auth tokens', () => {
  void it('parses an SDK token: endpoint, user, region, 15-minute expiry', async () => {
    const t = parseAuthToken(await sdkToken())
    assert.equal(t.endpoint, 'db.example.com:5432')
    assert.equal(t.dbUser, 'app_user')
    assert.equal(t.region, 'eu-west-1')
    assert.equal(t.expiresAt.getTime() - t.signedAt.getTime(), 900_000)
    assert.match(t.query, /^Action=connect&DBUser=app_user&X-Amz-Algorithm=AWS4-HMAC-SHA256/)
  })

  void it('caps X-Amz-Expires at 15 minutes and checks the window', async () => {
    const token = (await sdkToken()).replace('X-Amz-Expires=900', 'X-Amz-Expires=3600')
    const t = parseAuthToken(token)
    assert.equal(t.expiresAt.getTime() - t.signedAt.getTime(), 900_000)
    checkTokenWindow(t, new Date(t.signedAt.getTime() + 899_000))
    assert.throws(() => checkTokenWindow(t, new Date(t.signedAt.getTime() + 901_000)), /expired/)
    assert.throws(() => checkTokenWindow(t, new Date(t.signedAt.getTime() - 6 * 60_000)), /future/)
  })

  void it('refuses other shapes', async () => {
    const good = await sdkToken()
    const bad = [
      '',
      'x'.repeat(9000),
      `https://${good}`,
      good.replace('Action=connect', 'Action=GetCallerIdentity'),
      good.replace(/DBUser=[^&]*&/, ''),
      good.replace('%2Frds-db%2F', '%2Fsts%2F'),
      good.replace(/X-Amz-Expires=\d+&/, ''),
      good.replace(/X-Amz-Date=[^&]*&/, ''),
    ]
    for (const t of bad) assert.throws(() => parseAuthToken(t), TokenRejected, t.slice(0, 80))
  })
})
