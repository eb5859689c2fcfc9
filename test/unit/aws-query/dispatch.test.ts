import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  dispatchQuery,
  looksLikeQuery,
  parseQueryParams,
  auditRequestParameters,
  auditResponseElements,
} from '../../../src/aws/query/dispatch.ts'
import { createQueryServiceTable } from '../../../src/aws/query/registry.ts'
import { AwsError } from '../../../src/aws/errors.ts'
import type { AppContext } from '../../../src/app/context.ts'
import type { AuditEvent } from '../../../src/audit/types.ts'

function fakeCtx(audit: (e: AuditEvent) => Promise<void>): AppContext {
  return {
    roles: undefined as never,
    users: undefined as never,
    policies: undefined as never,
    oidcProviders: undefined as never,
    accessKeys: undefined as never,
    keyring: undefined as never,
    db: undefined as never,
    now: () => new Date('2026-11-23T00:00:00Z'),
    randomBytes: (n) => randomBytes(n),
    audit: { record: audit },
    tokens: undefined as never,
    settings: {
      dataDir: '',
      host: '127.0.0.1',
      port: 0,
      httpsPort: undefined,
      baseUrl: '',
      httpsBaseUrl: undefined,
      region: 'us-east-1',
      accountId: '000000000000',
    },
    log: { info() {}, warn() {}, error() {} },
  } as AppContext
}

const services = createQueryServiceTable([
  {
    signingName: 'testsvc',
    version: '2099-01-01',
    xmlns: 'https://test.example/doc/',
    unsignedActions: ['Echo', 'Boom', 'Fail'],
    actions: {
      Echo: async (req) => ({
        Value: req.params['Value'] ?? '',
        Items: [req.params['WebIdentityToken'] === undefined ? 'none' : 'token'],
      }),
      Boom: async () => {
        throw new Error('secret internal detail')
      },
      Fail: async () => {
        throw new AwsError(
          'AccessDenied',
          'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        )
      },
      Signed: async () => ({}),
    },
  },
])

const form = (params: Record<string, string>) =>
  new Uint8Array(Buffer.from(new URLSearchParams(params).toString()))
const req = (params: Record<string, string>, url = '/') => ({
  method: 'POST',
  url,
  headers: [
    ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8'],
    ['User-Agent', 'ua/1'],
  ] as [string, string][],
  body: form(params),
  sourceIp: '127.0.0.1',
  secureTransport: false,
})

void test('looksLikeQuery / parseQueryParams', () => {
  assert.equal(
    looksLikeQuery('POST', '/', [['content-type', 'application/x-www-form-urlencoded']]),
    true,
  )
  assert.equal(looksLikeQuery('POST', '/x', [['content-type', 'application/json']]), false)
  assert.equal(looksLikeQuery('GET', '/?Action=GetCallerIdentity', []), true)
  assert.equal(looksLikeQuery('GET', '/', []), false)
  const p = parseQueryParams('/?Action=A&X=q', form({ X: 'b a+c', Y: '1' }))
  assert.deepEqual(p, { Action: 'A', X: 'b a+c', Y: '1' })
})

void test('dispatch: success renders the result and records a redacted audit event first', async () => {
  const events: AuditEvent[] = []
  const r = await dispatchQuery(
    fakeCtx(async (e) => void events.push(e)),
    services,
    req(
      {
        Action: 'Echo',
        Version: '2099-01-01',
        Value: 'v',
        WebIdentityToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      },
      '/prefix/',
    ),
  )
  assert.equal(r.status, 200)
  assert.equal(r.headers['content-type'], 'text/xml')
  assert.match(
    r.body,
    /^<EchoResponse xmlns="https:\/\/test\.example\/doc\/"><EchoResult><Value>v<\/Value><Items><member>token<\/member><\/Items><\/EchoResult>/,
  )
  assert.equal(events.length, 1)
  const e = events[0] as AuditEvent
  assert.equal(e.eventName, 'Echo')
  assert.equal(e.eventSource, 'testsvc.amazonaws.com')
  assert.equal(e.requestID, r.headers['x-amzn-requestid'])
  assert.deepEqual(e.requestParameters, { value: 'v' })
  assert.equal(e.userAgent, 'ua/1')
})

void test('dispatch: errors, unknown/missing action, unexpected errors hide details, audit failure fails closed', async () => {
  const events: AuditEvent[] = []
  const ctx = fakeCtx(async (e) => void events.push(e))
  const denied = await dispatchQuery(ctx, services, req({ Action: 'Fail', Version: '2099-01-01' }))
  assert.equal(denied.status, 403)
  assert.match(denied.body, /<Code>AccessDenied<\/Code>/)
  assert.equal(events.at(-1)?.errorCode, 'AccessDenied')
  const unknown = await dispatchQuery(ctx, services, req({ Action: 'Nope', Version: '2099-01-01' }))
  assert.equal(unknown.status, 400)
  assert.match(
    unknown.body,
    /<Code>InvalidAction<\/Code><Message>Could not find operation Nope for version 2099-01-01<\/Message>/,
  )
  const missing = await dispatchQuery(ctx, services, req({ Version: '2099-01-01' }))
  assert.equal(missing.status, 400)
  const boom = await dispatchQuery(ctx, services, req({ Action: 'Boom', Version: '2099-01-01' }))
  assert.equal(boom.status, 500)
  assert.match(boom.body, /<Type>Receiver<\/Type><Code>InternalFailure<\/Code>/)
  assert.ok(!boom.body.includes('secret internal detail'))
  const unsigned = await dispatchQuery(
    ctx,
    services,
    req({ Action: 'Signed', Version: '2099-01-01' }),
  )
  assert.equal(unsigned.status, 403)
  assert.match(
    unsigned.body,
    /<Code>MissingAuthenticationToken<\/Code><Message>Request is missing Authentication Token<\/Message>/,
  )
  const malformedAuth = await dispatchQuery(ctx, services, {
    ...req({ Action: 'Signed', Version: '2099-01-01' }),
    headers: [
      ['content-type', 'application/x-www-form-urlencoded'],
      ['Authorization', 'AWS4-HMAC-SHA256 Credential=x'],
    ],
  })
  assert.equal(malformedAuth.status, 400)
  assert.match(malformedAuth.body, /<Code>IncompleteSignature<\/Code>/)
  const failing = fakeCtx(async () => {
    throw new Error('disk full')
  })
  const closed = await dispatchQuery(
    failing,
    services,
    req({ Action: 'Echo', Version: '2099-01-01', Value: 'v' }),
  )
  assert.equal(closed.status, 503)
  assert.ok(!closed.body.includes('<Value>v</Value>'), 'no result leaves without its audit record')
})

void test('audit redaction: secret parameters and result fields dropped, JWTs masked', () => {
  assert.deepEqual(
    auditRequestParameters({
      Action: 'A',
      Version: 'v',
      WebIdentityToken: 't',
      RoleArn: 'r',
      Note: 'x eyJabcdef.eyJabcdef.sig y',
    }),
    { roleArn: 'r', note: 'x *** y' },
  )
  assert.equal(auditRequestParameters({ Action: 'A' }), null)
  assert.deepEqual(
    auditResponseElements({
      Credentials: {
        AccessKeyId: 'ASIA',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(0),
      },
      List: ['a'],
    }),
    { credentials: { accessKeyId: 'ASIA', expiration: '1970-01-01T00:00:00Z' }, list: ['a'] },
  )
})
