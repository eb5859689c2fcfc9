import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  renderErrorResponse,
  renderFields,
  renderQueryResponse,
  isoSeconds,
  escapeXml,
} from '../../../src/aws/xml.ts'
import { AwsError, validationError, constraintProblem } from '../../../src/aws/errors.ts'
import {
  memberList,
  structList,
  tagList,
  lowerFirst,
  requiredParam,
  type QueryRequest,
} from '../../../src/aws/query/registry.ts'

void test('xml: fields in order, arrays as members, empty list, dates without ms, omitted undefined', () => {
  const out = renderFields({
    A: 'x<&>"\'',
    B: undefined,
    C: [],
    D: ['a', 'b'],
    E: [{ Key: 'k', Value: '' }],
    F: new Date('2026-11-23T01:25:30.123Z'),
    G: 6,
    H: false,
  })
  assert.equal(
    out,
    '<A>x&lt;&amp;&gt;"\'</A><C/><D><member>a</member><member>b</member></D>' +
      '<E><member><Key>k</Key><Value/></member></E><F>2026-11-23T01:25:30Z</F><G>6</G><H>false</H>',
  )
  assert.equal(isoSeconds(new Date(0)), '1970-01-01T00:00:00Z')
  assert.equal(escapeXml('a&b'), 'a&amp;b')
})

void test('xml: response and error documents in AWS shape', () => {
  const ok = renderQueryResponse(
    'GetCallerIdentity',
    'https://sts.amazonaws.com/doc/2011-06-15/',
    { Arn: 'a' },
    'rid',
  )
  assert.equal(
    ok,
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>a</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>\n',
  )
  const empty = renderQueryResponse('TagRole', 'ns', undefined, 'r')
  assert.ok(!empty.includes('TagRoleResult'))
  const err = renderErrorResponse(
    'ns',
    { type: 'Sender', code: 'InvalidIdentityToken', message: 'm<' },
    'r',
  )
  assert.equal(
    err,
    '<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>m&lt;</Message></Error><RequestId>r</RequestId></ErrorResponse>\n',
  )
  assert.ok(!err.includes('<message>'), 'no moto-style lower-case message')
})

void test('AwsError: status and Sender/Receiver from the code table; explicit status wins', () => {
  assert.equal(new AwsError('AccessDenied', 'x').status, 403)
  assert.equal(new AwsError('IDPCommunicationError', 'x').status, 400)
  assert.equal(new AwsError('InternalFailure', 'x').type, 'Receiver')
  assert.equal(new AwsError('AccessDenied', 'x').type, 'Sender')
  assert.equal(new AwsError('Whatever', 'x', { status: 409 }).status, 409)
  assert.equal(new AwsError('Unknown', 'x').status, 400)
  assert.equal(
    validationError([
      constraintProblem('86400', 'durationSeconds', 'have value less than or equal to 43200'),
    ]).message,
    "1 validation error detected: Value '86400' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
  )
  assert.match(validationError(['a', 'b']).message, /^2 validation errors detected: a; b$/)
})

void test('registry helpers: member lists, struct lists, tags, empty `Name=` lists, junk keys ignored', () => {
  const params = {
    'ClientIDList.member.2': 'b',
    'ClientIDList.member.1': 'a',
    'ClientIDList.member.x': 'junk',
    ThumbprintList: '',
    'Tags.member.1.Key': 'k1',
    'Tags.member.1.Value': 'v1',
    'Tags.member.2.Key': 'k2',
    'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/X',
  }
  assert.deepEqual(memberList(params, 'ClientIDList'), ['a', 'b'])
  assert.deepEqual(memberList(params, 'ThumbprintList'), [])
  assert.equal(memberList(params, 'Absent'), undefined)
  assert.deepEqual(tagList(params), [
    { key: 'k1', value: 'v1' },
    { key: 'k2', value: '' },
  ])
  assert.deepEqual(structList(params, 'PolicyArns'), [{ arn: 'arn:aws:iam::aws:policy/X' }])
  assert.throws(
    () => tagList({ 'Tags.member.1.Value': 'v' }),
    (e: AwsError) => e.code === 'MissingParameter',
  )
  assert.equal(lowerFirst('RoleSessionName'), 'roleSessionName')
  assert.throws(
    () => requiredParam({ params: {} } as QueryRequest, 'RoleArn'),
    (e: AwsError) => e.code === 'ValidationError' && /Value null at 'roleArn'/.test(e.message),
  )
})
