/**
 * The policy engine audited rule by rule against AWS's documentation. Every group names the page (and section) that
 * decides its cases; no case is taken from a corpus. Cases are run-time requests (`authorize`) unless they say
 * otherwise.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  ANONYMOUS,
  authorize,
  compilePolicy,
  type AuthorizationRequest,
  type Blocker,
  type Decision,
  type PolicyType,
} from '../../../src/policy/index.ts'

const A = '111122223333'
const B = '444455556666'
const ROLE = `arn:aws:iam::${A}:role/app`
const SESSION = `arn:aws:sts::${A}:assumed-role/app/s1`
const USER = `arn:aws:iam::${A}:user/bob`
const ROOT = `arn:aws:iam::${A}:root`
const FEDERATED = `arn:aws:sts::${A}:federated-user/bob`
const OBJECT = 'arn:aws:s3:::bucket/key'

type Statement = Record<string, unknown>
const doc = (type: PolicyType, statements: Statement[], version = '2012-10-17') =>
  compilePolicy({ Version: version, Statement: statements }, { type, id: type })
const allow = (extra: Statement = {}): Statement => ({
  Effect: 'Allow',
  Action: 's3:GetObject',
  Resource: '*',
  ...extra,
})
const deny = (extra: Statement = {}): Statement => ({
  Effect: 'Deny',
  Action: 's3:GetObject',
  Resource: '*',
  ...extra,
})
const identity = (...s: Statement[]) => doc('identity', s)
const resourcePolicy = (...s: Statement[]) => doc('resource', s)
/** A policy that allows something else: an implicit deny for s3:GetObject. */
const unrelated = (type: PolicyType) => doc(type, [allow({ Action: 's3:PutObject' })])
const grantTo = (Principal: unknown) => resourcePolicy(allow({ Principal, Resource: OBJECT }))

function request(over: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    principal: SESSION,
    action: 's3:GetObject',
    resource: OBJECT,
    resourceAccount: A,
    context: {},
    identityPolicies: [],
    ...over,
  }
}

interface Case {
  name: string
  req: Partial<AuthorizationRequest>
  decision: Decision
  blockedBy?: Blocker[]
}

function run(cases: Case[]): void {
  for (const c of cases) {
    void test(c.name, () => {
      const r = authorize(request(c.req))
      assert.deepEqual(r.errors, [])
      assert.equal(r.decision, c.decision)
      if (c.blockedBy !== undefined)
        assert.deepEqual([...r.blockedBy].sort(), [...c.blockedBy].sort())
    })
  }
}

/** An identity policy holding one statement with this condition, and the request context. */
const cond = (
  Condition: Record<string, Record<string, unknown>>,
  context: AuthorizationRequest['context'],
): Partial<AuthorizationRequest> => ({
  identityPolicies: [identity(allow({ Condition }))],
  context,
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
void describe('IAM User Guide, "IAM JSON policy elements: Condition operators"', () => {
  run([
    {
      name: 'String: StringEquals is case-sensitive',
      req: cond(
        { StringEquals: { 'aws:PrincipalTag/team': 'payments' } },
        { 'aws:PrincipalTag/team': 'Payments' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'String: StringEqualsIgnoreCase ignores case',
      req: cond(
        { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'payments' } },
        { 'aws:PrincipalTag/team': 'PayMents' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'String: StringLike `?` is exactly one character, `*` any run',
      req: cond({ StringLike: { 's3:prefix': 'home/?/*' } }, { 's3:prefix': 'home/a/docs/x' }),
      decision: 'Allowed',
    },
    {
      name: 'Numeric: a decimal policy value equals the integer request value',
      req: cond({ NumericLessThanEquals: { 's3:max-keys': '10.0' } }, { 's3:max-keys': '10' }),
      decision: 'Allowed',
    },
    {
      name: 'Numeric: a request value that is not a number never matches (`10abc` is not 10)',
      req: cond({ NumericEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '10abc' }),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Date: an epoch-seconds request value compares with an ISO 8601 policy value',
      req: cond(
        { DateGreaterThan: { 'aws:EpochTime': '2023-11-14T00:00:00Z' } },
        { 'aws:EpochTime': '1704067200' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Date: an epoch-seconds policy value compares with an ISO 8601 request value',
      req: cond(
        { DateGreaterThan: { 'aws:CurrentTime': '1699920000' } },
        { 'aws:CurrentTime': '2024-01-01T00:00:00Z' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Date: an ISO 8601 offset is honoured (01:00+01:00 is 00:00Z)',
      req: cond(
        { DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T01:00:00+01:00' } },
        { 'aws:CurrentTime': '2024-01-01T00:30:00Z' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Date: a date without time is midnight UTC',
      req: cond(
        { DateLessThan: { 'aws:CurrentTime': '2024-01-02' } },
        { 'aws:CurrentTime': '2024-01-01T23:59:59Z' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Bool: a request value other than true/false never matches',
      req: cond({ Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'yes' }),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Bool: a JSON boolean policy value is its string form',
      req: cond({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'true' }),
      decision: 'Allowed',
    },
    {
      name: 'IpAddress: IPv6 CIDR containment (hex digits are case-insensitive)',
      req: cond(
        { IpAddress: { 'aws:SourceIp': '2001:DB8::/32' } },
        { 'aws:SourceIp': '2001:db8:0:1::5' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'IpAddress: an address outside the IPv4 block',
      req: cond(
        { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
        { 'aws:SourceIp': '203.0.114.1' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'IpAddress: an IPv4 block never contains an IPv6 address',
      req: cond({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:SourceIp': '2001:db8::1' }),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Arn: ArnLike matches each of the six segments; the last one keeps its colons',
      req: cond(
        { ArnLike: { 'aws:SourceArn': 'arn:aws:logs:*:111122223333:log-group:g:*' } },
        { 'aws:SourceArn': 'arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s' },
      ),
      decision: 'Allowed',
    },
    {
      // The page's own example: "arn:aws:someservice:*:111122223333:finance/*" under ArnLike vs StringLike.
      name: 'Arn: ArnLike does not let `*` span segments (the StringLike/ArnLike example)',
      req: cond(
        { ArnLike: { 'aws:SourceArn': 'arn:aws:someservice:*:111122223333:finance/*' } },
        {
          'aws:SourceArn':
            'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt',
        },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Arn: the same value under StringLike matches (`*` spans colons)',
      req: cond(
        { StringLike: { 'aws:SourceArn': 'arn:aws:someservice:*:111122223333:finance/*' } },
        {
          'aws:SourceArn':
            'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt',
        },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Arn: ArnEquals also takes wildcards',
      req: cond(
        { ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:*:111122223333:*' } },
        { 'aws:SourceArn': 'arn:aws:sns:us-east-1:111122223333:alerts' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Arn: ARN comparison is case-sensitive',
      req: cond(
        { ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:111122223333:Alerts' } },
        { 'aws:SourceArn': 'arn:aws:sns:us-east-1:111122223333:alerts' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Binary: BinaryEquals compares the base64-decoded bytes',
      req: cond(
        { BinaryEquals: { 'test:bin': 'QmluYXJ5VmFsdWU=' } },
        { 'test:bin': 'QmluYXJ5VmFsdWU=' },
      ),
      decision: 'Allowed',
    },
    {
      name: '…IfExists: a missing key makes the condition true',
      req: cond({ StringEqualsIfExists: { 'aws:PrincipalTag/team': 'x' } }, {}),
      decision: 'Allowed',
    },
    {
      name: '…IfExists: a present key is compared as usual',
      req: cond(
        { StringEqualsIfExists: { 'aws:PrincipalTag/team': 'x' } },
        { 'aws:PrincipalTag/team': 'y' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: '…IfExists with a set qualifier: a missing key is still true ("evaluate the condition element as true")',
      req: cond({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'a' } }, {}),
      decision: 'Allowed',
    },
    {
      name: 'NotIpAddress: an IPv6 address is outside an IPv4 block',
      req: cond(
        { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
        { 'aws:SourceIp': '2001:db8::1' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'Null "true": the key is absent',
      req: cond({ Null: { 'aws:PrincipalTag/team': 'true' } }, {}),
      decision: 'Allowed',
    },
    {
      name: 'Null "true" with the key present does not match',
      req: cond({ Null: { 'aws:PrincipalTag/team': 'true' } }, { 'aws:PrincipalTag/team': 'x' }),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Null "false": the key is present',
      req: cond({ Null: { 'aws:PrincipalTag/team': 'false' } }, { 'aws:PrincipalTag/team': 'x' }),
      decision: 'Allowed',
    },
    {
      name: 'a missing key: a positive operator is false',
      req: cond({ StringEquals: { 'aws:PrincipalTag/team': 'x' } }, {}),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a missing key: a negated operator is true',
      req: cond({ StringNotEquals: { 'aws:PrincipalTag/team': 'x' } }, {}),
      decision: 'Allowed',
    },
    {
      name: 'a missing key: NotIpAddress is true',
      req: cond({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}),
      decision: 'Allowed',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
void describe('IAM User Guide, "Create a condition with multiple context keys or values"', () => {
  run([
    {
      name: 'several values for one key: OR',
      req: cond(
        { StringEquals: { 'aws:PrincipalTag/team': ['a', 'b'] } },
        { 'aws:PrincipalTag/team': 'b' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'several keys under one operator: AND',
      req: cond(
        { StringEquals: { 'aws:PrincipalTag/team': 'a', 'aws:PrincipalTag/env': 'prod' } },
        { 'aws:PrincipalTag/team': 'a', 'aws:PrincipalTag/env': 'dev' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'several operators: AND',
      req: cond(
        { StringEquals: { 'aws:PrincipalTag/team': 'a' }, Bool: { 'aws:SecureTransport': 'true' } },
        { 'aws:PrincipalTag/team': 'a', 'aws:SecureTransport': 'false' },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a negated operator with several values: NOR (the value must match none)',
      req: cond(
        { StringNotEquals: { 'aws:PrincipalAccount': [A, B] } },
        { 'aws:PrincipalAccount': B },
      ),
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html ("Condition key
// names are not case-sensitive"; "the tag key portion … is not case-sensitive"; values keep their case).
void describe('IAM User Guide, "IAM JSON policy elements: Condition" (key names vs values)', () => {
  run([
    {
      name: 'condition key names are case-insensitive, tag keys included',
      req: cond(
        { StringEquals: { 'aws:principaltag/TEAM': 'payments' } },
        { 'AWS:PrincipalTag/team': 'payments' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'condition values are not',
      req: cond(
        { StringEquals: { 'aws:principaltag/team': 'payments' } },
        { 'AWS:PrincipalTag/TEAM': 'PAYMENTS' },
      ),
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
// and reference_policies_condition-logic-multiple-context-keys-or-values ("ForAllValues … returns true if there are
// no keys in the request"; ForAnyValue needs at least one matching value).
void describe('IAM User Guide, "Single-valued vs. multivalued context keys"', () => {
  run([
    {
      name: 'ForAnyValue on a missing key is false',
      req: cond({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'a' } }, {}),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'ForAllValues on a missing key is true',
      req: cond({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, {}),
      decision: 'Allowed',
    },
    {
      name: 'ForAllValues on an empty set is true',
      req: cond({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': [] }),
      decision: 'Allowed',
    },
    {
      name: 'ForAllValues on a value that resolves to a null data set ("such as an empty string") is true',
      req: cond({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': '' }),
      decision: 'Allowed',
    },
    {
      name: 'ForAnyValue on an empty string is false',
      req: cond(
        { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a', ''] } },
        { 'aws:TagKeys': [''] },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'ForAllValues: every request value must be in the policy set',
      req: cond(
        { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a', 'b', 'c'] } },
        { 'aws:TagKeys': ['a', 'd'] },
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'ForAllValues: a subset matches',
      req: cond(
        { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a', 'b', 'c'] } },
        { 'aws:TagKeys': ['c', 'a'] },
      ),
      decision: 'Allowed',
    },
    {
      name: 'ForAnyValue with a negated operator: some request value is none of the policy values',
      req: cond(
        { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a', 'b'] } },
        { 'aws:TagKeys': ['a', 'z'] },
      ),
      decision: 'Allowed',
    },
    {
      name: 'a set operator on a single-valued key treats it as a one-value set',
      req: cond(
        { 'ForAnyValue:StringEquals': { 'aws:PrincipalTag/team': ['a', 'b'] } },
        { 'aws:PrincipalTag/team': 'b' },
      ),
      decision: 'Allowed',
    },
    {
      name: '"Multivalued context keys require a condition set operator": without one, no match',
      req: cond({ StringEquals: { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': ['a', 'b'] }),
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
void describe('IAM User Guide, "IAM policy elements: Variables and tags"', () => {
  const home = (
    resource: string,
    context: AuthorizationRequest['context'],
    version = '2012-10-17',
  ) => ({
    principal: USER,
    resource,
    context,
    identityPolicies: [
      doc('identity', [allow({ Resource: 'arn:aws:s3:::bucket/home/${aws:username}/*' })], version),
    ],
  })
  run([
    {
      name: '${aws:username} is substituted in Resource',
      req: home('arn:aws:s3:::bucket/home/bob/notes.txt', { 'aws:username': 'bob' }),
      decision: 'Allowed',
    },
    {
      name: 'a variable without a value matches no resource',
      req: home('arn:aws:s3:::bucket/home/bob/notes.txt', {}),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'under Version 2008-10-17 a variable is literal text',
      req: home('arn:aws:s3:::bucket/home/bob/notes.txt', { 'aws:username': 'bob' }, '2008-10-17'),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a substituted value is literal: a `*` in it is no wildcard',
      req: home('arn:aws:s3:::bucket/home/bob/notes.txt', { 'aws:username': '*' }),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a default value applies when the key is missing',
      req: {
        resource: 'arn:aws:s3:::bucket/teams/company-wide/x',
        identityPolicies: [
          identity(
            allow({
              Resource: "arn:aws:s3:::bucket/teams/${aws:PrincipalTag/team, 'company-wide'}/*",
            }),
          ),
        ],
      },
      decision: 'Allowed',
    },
    {
      name: 'the default value is not used when the key is present',
      req: {
        resource: 'arn:aws:s3:::bucket/teams/company-wide/x',
        context: { 'aws:PrincipalTag/team': 'payments' },
        identityPolicies: [
          identity(
            allow({
              Resource: "arn:aws:s3:::bucket/teams/${aws:PrincipalTag/team, 'company-wide'}/*",
            }),
          ),
        ],
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: '${*} is a literal asterisk',
      req: {
        resource: 'arn:aws:s3:::bucket/a*b',
        identityPolicies: [identity(allow({ Resource: 'arn:aws:s3:::bucket/a${*}b' }))],
      },
      decision: 'Allowed',
    },
    {
      name: '${*} is not a wildcard',
      req: {
        resource: 'arn:aws:s3:::bucket/axyb',
        identityPolicies: [identity(allow({ Resource: 'arn:aws:s3:::bucket/a${*}b' }))],
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: '${?} and ${$} are literal characters',
      req: {
        resource: 'arn:aws:s3:::bucket/a?$',
        identityPolicies: [identity(allow({ Resource: 'arn:aws:s3:::bucket/a${?}${$}' }))],
      },
      decision: 'Allowed',
    },
    {
      name: 'in Resource, a variable works in the resource portion (after the fifth colon)',
      req: {
        principal: USER,
        action: 'iam:GetUser',
        resource: `arn:aws:iam::${A}:user/bob`,
        context: { 'aws:username': 'bob' },
        identityPolicies: [
          identity(
            allow({ Action: 'iam:GetUser', Resource: `arn:aws:iam::${A}:user/\${aws:username}` }),
          ),
        ],
      },
      decision: 'Allowed',
    },
    {
      name: '"You can\'t use a variable to replace parts of the ARN before the fifth colon, such as the service or account"',
      req: {
        principal: USER,
        action: 'iam:GetUser',
        resource: `arn:aws:iam::${A}:user/bob`,
        context: { 'aws:PrincipalAccount': A },
        identityPolicies: [
          identity(
            allow({
              Action: 'iam:GetUser',
              Resource: 'arn:aws:iam::${aws:PrincipalAccount}:user/*',
            }),
          ),
        ],
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'variables in condition values',
      req: cond(
        { StringEquals: { 's3:prefix': 'home/${aws:username}/' } },
        { 's3:prefix': 'home/bob/', 'aws:username': 'bob' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'variable names are case-insensitive',
      req: cond(
        { StringEquals: { 's3:prefix': 'home/${AWS:UserName}/' } },
        { 's3:prefix': 'home/bob/', 'aws:username': 'bob' },
      ),
      decision: 'Allowed',
    },
    {
      name: 'a multivalued key cannot be a variable',
      req: cond(
        { StringEquals: { 's3:prefix': '${aws:TagKeys}' } },
        { 's3:prefix': 'a', 'aws:TagKeys': ['a', 'b'] },
      ),
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and _notaction.html
void describe('IAM User Guide, "Action" / "NotAction"', () => {
  run([
    {
      name: 'action names are case-insensitive',
      req: {
        action: 'S3:getobject',
        identityPolicies: [identity(allow({ Action: 's3:GETOBJECT' }))],
      },
      decision: 'Allowed',
    },
    {
      name: 'a wildcard in the action name',
      req: { identityPolicies: [identity(allow({ Action: 's3:Get*' }))] },
      decision: 'Allowed',
    },
    {
      name: 'Deny with NotAction denies every action not listed',
      req: {
        action: 's3:PutObject',
        identityPolicies: [
          identity(allow({ Action: '*' }), { Effect: 'Deny', NotAction: 's3:Get*', Resource: '*' }),
        ],
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'Deny with NotAction leaves the listed actions alone',
      req: {
        identityPolicies: [
          identity(allow({ Action: '*' }), { Effect: 'Deny', NotAction: 's3:Get*', Resource: '*' }),
        ],
      },
      decision: 'Allowed',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html ("You can use wildcard
// characters (* and ?) within any ARN segment"; "arn:aws:s3:::amzn-s3-demo-bucket/*/test/*" example) and the S3 User
// Guide, "Policy resources for Amazon S3" (`arn:aws:s3:::*/*` names every object).
void describe('IAM User Guide, "Resource" / "NotResource"', () => {
  const on = (pattern: string, resource: string, action = 's3:GetObject') => ({
    action,
    resource,
    identityPolicies: [identity(allow({ Action: action, Resource: pattern }))],
  })
  run([
    {
      name: '`*` spans `/` within a segment: bucket/*/test/* matches bucket/1/2/3/test/4/object.jpg',
      req: on('arn:aws:s3:::bucket/*/test/*', 'arn:aws:s3:::bucket/1/2/3/test/4/object.jpg'),
      decision: 'Allowed',
    },
    {
      name: '… but not bucket/test/object.jpg',
      req: on('arn:aws:s3:::bucket/*/test/*', 'arn:aws:s3:::bucket/test/object.jpg'),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'S3 `arn:aws:s3:::*/*` names every object of every bucket',
      req: on('arn:aws:s3:::*/*', 'arn:aws:s3:::bucket/folder/key'),
      decision: 'Allowed',
    },
    {
      name: 'a wildcard resource type (`…:*/12345`) never matches a typed resource',
      req: on(
        'arn:aws:ec2:us-east-1:111122223333:*/i-12345',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-12345',
        'ec2:StartInstances',
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: '`?` is exactly one character',
      req: on('arn:aws:s3:::bucket/k?', 'arn:aws:s3:::bucket/k12'),
      decision: 'ImplicitlyDenied',
    },
    {
      name: '`*` does not cross the colons between the first five segments',
      req: on(
        'arn:aws:sqs:*111122223333:queue',
        'arn:aws:sqs:us-east-1:111122223333:queue',
        'sqs:SendMessage',
      ),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'the resource segment keeps its colons (log-group:g:* covers a stream)',
      req: on(
        'arn:aws:logs:us-east-1:111122223333:log-group:g:*',
        'arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s',
        'logs:PutLogEvents',
      ),
      decision: 'Allowed',
    },
    {
      name: 'resources are case-sensitive',
      req: on('arn:aws:s3:::bucket/*', 'arn:aws:s3:::Bucket/key'),
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Allow with NotResource allows every other resource',
      req: {
        resource: 'arn:aws:s3:::other/key',
        identityPolicies: [
          identity({
            Effect: 'Allow',
            Action: 's3:GetObject',
            NotResource: 'arn:aws:s3:::bucket/*',
          }),
        ],
      },
      decision: 'Allowed',
    },
    {
      name: 'Allow with NotResource does not allow the listed ones',
      req: {
        identityPolicies: [
          identity({
            Effect: 'Allow',
            Action: 's3:GetObject',
            NotResource: 'arn:aws:s3:::bucket/*',
          }),
        ],
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'an unresolved variable in NotResource does not invert into a match',
      req: {
        principal: USER,
        identityPolicies: [
          identity({
            Effect: 'Allow',
            Action: 's3:GetObject',
            NotResource: 'arn:aws:s3:::bucket/home/${aws:username}/*',
          }),
        ],
      },
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
void describe('IAM User Guide, "AWS JSON policy elements: Principal"', () => {
  run([
    {
      name: '"*" names everyone, anonymous callers included',
      req: { principal: ANONYMOUS, resourcePolicy: grantTo('*') },
      decision: 'Allowed',
    },
    {
      name: '{"AWS": "*"} is the same as "*"',
      req: { principal: ANONYMOUS, resourcePolicy: grantTo({ AWS: '*' }) },
      decision: 'Allowed',
    },
    {
      name: 'an account id is the account ARN: it delegates to identity policies (none here)',
      req: { resourcePolicy: grantTo({ AWS: A }) },
      decision: 'ImplicitlyDenied',
    },
    {
      name: '"123456789012" and arn:aws:iam::123456789012:root both delegate: the identity policy allows',
      req: { identityPolicies: [identity(allow())], resourcePolicy: grantTo({ AWS: A }) },
      decision: 'Allowed',
    },
    {
      name: 'arn:aws:iam::ACCOUNT:root delegates like the short form',
      req: { resourcePolicy: grantTo({ AWS: ROOT }) },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a role ARN names every session of the role',
      req: { resourcePolicy: grantTo({ AWS: ROLE }) },
      decision: 'Allowed',
    },
    {
      name: 'a session ARN names only that session',
      req: {
        principal: `arn:aws:sts::${A}:assumed-role/app/other`,
        resourcePolicy: grantTo({ AWS: SESSION }),
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a Service principal',
      req: {
        principal: 'cloudtrail.amazonaws.com',
        resourcePolicy: grantTo({ Service: 'cloudtrail.amazonaws.com' }),
      },
      decision: 'Allowed',
    },
    {
      name: 'an account grant never names a service principal',
      req: { principal: 'cloudtrail.amazonaws.com', resourcePolicy: grantTo({ AWS: A }) },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a CanonicalUser principal (S3)',
      req: {
        principal: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be',
        resourcePolicy: grantTo({
          CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be',
        }),
      },
      decision: 'Allowed',
    },
    {
      name: 'a Federated principal (web identity trust)',
      req: {
        principal: `arn:aws:iam::${A}:oidc-provider/oidc.example.com`,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: `arn:aws:iam::${A}:role/web`,
        resourcePolicy: doc('trust', [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${A}:oidc-provider/oidc.example.com` },
            Action: 'sts:AssumeRoleWithWebIdentity',
          },
        ]),
        resourcePolicyIsGate: true,
      },
      decision: 'Allowed',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
void describe('IAM User Guide, "AWS JSON policy elements: NotPrincipal"', () => {
  const denyAllBut = (p: unknown) =>
    resourcePolicy(allow({ Principal: '*' }), {
      Effect: 'Deny',
      NotPrincipal: p,
      Action: 's3:*',
      Resource: '*',
    })
  run([
    {
      name: 'Deny + NotPrincipal denies everyone not listed',
      req: {
        principal: USER,
        resourcePolicy: denyAllBut({ AWS: [`arn:aws:iam::${A}:user/alice`, ROOT] }),
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'Deny + NotPrincipal spares the listed user',
      req: { principal: USER, resourcePolicy: denyAllBut({ AWS: [USER, ROOT] }) },
      decision: 'Allowed',
    },
    {
      name: 'Deny + NotPrincipal spares the listed session (with its role and account)',
      req: { resourcePolicy: denyAllBut({ AWS: [SESSION, ROLE, ROOT] }) },
      decision: 'Allowed',
    },
    {
      name: 'the account ARN in NotPrincipal spares the account, not every principal in it',
      req: { principal: USER, resourcePolicy: denyAllBut({ AWS: [ROOT] }) },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'the role ARN in NotPrincipal does not spare its sessions ("Principals must always name a specific session")',
      req: { resourcePolicy: denyAllBut({ AWS: [ROLE, ROOT] }) },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'another session of the same role is not spared',
      req: {
        resourcePolicy: denyAllBut({
          AWS: [`arn:aws:sts::${A}:assumed-role/app/other`, ROLE, ROOT],
        }),
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: '"will always deny any IAM principal that has a permissions boundary policy attached"',
      req: {
        principal: USER,
        resourcePolicy: denyAllBut({ AWS: [USER, ROOT] }),
        permissionBoundaries: [doc('boundary', [allow()])],
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'Allow + NotPrincipal grants everyone not listed (anonymous callers too)',
      req: {
        principal: ANONYMOUS,
        resourcePolicy: resourcePolicy({
          Effect: 'Allow',
          NotPrincipal: { AWS: USER },
          Action: 's3:*',
          Resource: '*',
        }),
      },
      decision: 'Allowed',
    },
    {
      name: 'Allow + NotPrincipal listing the account grants none of its principals (the safe reading)',
      req: {
        principal: USER,
        resourcePolicy: resourcePolicy({
          Effect: 'Allow',
          NotPrincipal: { AWS: A },
          Action: 's3:*',
          Resource: '*',
        }),
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Allow + NotPrincipal listing a role grants none of its sessions',
      req: {
        resourcePolicy: resourcePolicy({
          Effect: 'Allow',
          NotPrincipal: { AWS: ROLE },
          Action: 's3:*',
          Resource: '*',
        }),
      },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'Allow + NotPrincipal does not grant the listed principal',
      req: {
        principal: USER,
        resourcePolicy: resourcePolicy({
          Effect: 'Allow',
          NotPrincipal: { AWS: USER },
          Action: 's3:*',
          Resource: '*',
        }),
      },
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
// (resource-based policies within one account: what the named principal means for implicit denies elsewhere) and
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session ("Session policies").
void describe('IAM User Guide, "Policy evaluation logic": resource-based policies in one account', () => {
  run([
    {
      name: 'a grant to the user ARN needs no identity policy',
      req: { principal: USER, resourcePolicy: grantTo({ AWS: USER }) },
      decision: 'Allowed',
    },
    {
      name: 'a grant to the user ARN is not limited by the boundary',
      req: {
        principal: USER,
        resourcePolicy: grantTo({ AWS: USER }),
        permissionBoundaries: [unrelated('boundary')],
      },
      decision: 'Allowed',
    },
    {
      name: 'a grant to the role ARN is limited by an implicit deny in the boundary',
      req: {
        resourcePolicy: grantTo({ AWS: ROLE }),
        permissionBoundaries: [unrelated('boundary')],
      },
      decision: 'ImplicitlyDenied',
      blockedBy: ['pb'],
    },
    {
      name: 'a grant to the role ARN is limited by an implicit deny in the session policy',
      req: { resourcePolicy: grantTo({ AWS: ROLE }), sessionPolicies: [unrelated('session')] },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a grant to the session ARN is not limited by the boundary',
      req: {
        resourcePolicy: grantTo({ AWS: SESSION }),
        permissionBoundaries: [unrelated('boundary')],
      },
      decision: 'Allowed',
    },
    {
      name: 'a grant to the session ARN is not limited by the session policy',
      req: { resourcePolicy: grantTo({ AWS: SESSION }), sessionPolicies: [unrelated('session')] },
      decision: 'Allowed',
    },
    {
      name: 'an explicit deny in the boundary still wins over a direct grant',
      req: {
        resourcePolicy: grantTo({ AWS: SESSION }),
        permissionBoundaries: [doc('boundary', [deny()])],
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'a grant to the federated-user session ARN is allowed by itself',
      req: { principal: FEDERATED, resourcePolicy: grantTo({ AWS: FEDERATED }) },
      decision: 'Allowed',
    },
    {
      name: 'a federated-user session without a session policy has no permissions',
      req: { principal: FEDERATED, identityPolicies: [identity(allow())] },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'a federated-user session: identity ∩ session policy',
      req: {
        principal: FEDERATED,
        identityPolicies: [identity(allow())],
        sessionPolicies: [doc('session', [allow()])],
      },
      decision: 'Allowed',
    },
    {
      name: 'a statement without Principal in a resource policy names no one',
      req: { resourcePolicy: resourcePolicy(allow()) },
      decision: 'ImplicitlyDenied',
    },
  ])
})

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
void describe('IAM User Guide, "Cross-account policy evaluation logic"', () => {
  const outsider = `arn:aws:iam::${B}:user/eve`
  run([
    {
      name: 'the resource policy alone does not allow another account',
      req: { principal: outsider, resourcePolicy: grantTo({ AWS: outsider }) },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'the identity policy alone does not allow another account',
      req: { principal: outsider, identityPolicies: [identity(allow())] },
      decision: 'ImplicitlyDenied',
    },
    {
      name: 'both sides allow (the resource policy names the account)',
      req: {
        principal: outsider,
        identityPolicies: [identity(allow())],
        resourcePolicy: grantTo({ AWS: B }),
      },
      decision: 'Allowed',
    },
    {
      name: "the caller's boundary still applies to a cross-account grant",
      req: {
        principal: outsider,
        identityPolicies: [identity(allow())],
        resourcePolicy: grantTo({ AWS: outsider }),
        permissionBoundaries: [unrelated('boundary')],
      },
      decision: 'ImplicitlyDenied',
      blockedBy: ['pb'],
    },
  ])
})

// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html ("SCPs don't affect
// … service-linked roles"; "SCPs don't affect users or roles in the management account") and
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html ("RCPs don't affect
// resources in the management account"; "Resources and entities not restricted by RCPs").
void describe('Organizations User Guide: SCPs and RCPs', () => {
  const denyAll = (type: 'scp' | 'rcp') => [
    {
      orgIdentifier: 'r-root',
      policies: [doc(type, [deny({ Action: '*', ...(type === 'rcp' ? { Principal: '*' } : {}) })])],
    },
  ]
  const slrSession = `arn:aws:sts::${A}:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling`
  const admin = [identity(allow({ Action: '*' }))]
  run([
    {
      name: 'an SCP deny applies to a member-account role',
      req: { identityPolicies: admin, serviceControlPolicies: denyAll('scp') },
      decision: 'ExplicitlyDenied',
      blockedBy: ['scp'],
    },
    {
      name: 'a level whose SCPs do not allow denies',
      req: {
        identityPolicies: admin,
        serviceControlPolicies: [{ orgIdentifier: 'r-root', policies: [unrelated('scp')] }],
      },
      decision: 'ImplicitlyDenied',
      blockedBy: ['scp'],
    },
    {
      name: 'SCPs do not affect service-linked roles',
      req: {
        principal: slrSession,
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
      },
      decision: 'Allowed',
    },
    {
      name: 'a session is judged by its role ARN in aws:PrincipalArn: a customer role named AWSServiceRoleFor… is no service-linked role',
      req: {
        principal: slrSession,
        context: { 'aws:PrincipalArn': `arn:aws:iam::${A}:role/AWSServiceRoleForAutoScaling` },
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'a session whose aws:PrincipalArn is under /aws-service-role/ is exempt',
      req: {
        principal: slrSession,
        context: {
          'aws:PrincipalArn': `arn:aws:iam::${A}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
        },
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
      },
      decision: 'Allowed',
    },
    {
      name: 'SCPs do not affect a service-linked role by its role ARN either',
      req: {
        principal: `arn:aws:iam::${A}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
      },
      decision: 'Allowed',
    },
    {
      name: 'SCPs do not affect principals of the management account',
      req: {
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
        managementAccount: A,
      },
      decision: 'Allowed',
    },
    {
      name: 'SCPs do affect a member account of an organization whose management account is another',
      req: {
        identityPolicies: admin,
        serviceControlPolicies: denyAll('scp'),
        managementAccount: B,
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'SCPs do not affect service principals',
      req: {
        principal: 'cloudtrail.amazonaws.com',
        resourcePolicy: grantTo({ Service: 'cloudtrail.amazonaws.com' }),
        serviceControlPolicies: denyAll('scp'),
      },
      decision: 'Allowed',
    },
    {
      name: 'an RCP deny applies to a member-account resource',
      req: { identityPolicies: admin, resourceControlPolicies: denyAll('rcp') },
      decision: 'ExplicitlyDenied',
      blockedBy: ['rcp'],
    },
    {
      name: 'RCPs do not affect resources of the management account',
      req: {
        identityPolicies: admin,
        resourceControlPolicies: denyAll('rcp'),
        managementAccount: A,
      },
      decision: 'Allowed',
    },
    {
      name: 'RCPs do not restrict actions by service-linked roles',
      req: {
        principal: slrSession,
        identityPolicies: admin,
        resourceControlPolicies: denyAll('rcp'),
      },
      decision: 'Allowed',
    },
    {
      // AWS's RCP examples exempt service principals explicitly (aws:PrincipalIsAWSService), so RCPs apply to them.
      name: 'RCPs do restrict service principals',
      req: {
        principal: 'cloudtrail.amazonaws.com',
        resourcePolicy: grantTo({ Service: 'cloudtrail.amazonaws.com' }),
        resourceControlPolicies: denyAll('rcp'),
      },
      decision: 'ExplicitlyDenied',
    },
    {
      name: 'RCPFullAWSAccess is always there: a level with only a Deny elsewhere allows',
      req: {
        identityPolicies: admin,
        resourceControlPolicies: [
          {
            orgIdentifier: 'r-root',
            policies: [doc('rcp', [deny({ Principal: '*', Action: 'sqs:*' })])],
          },
        ],
      },
      decision: 'Allowed',
    },
  ])
})

// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: "No permissions are required".
void describe('STS API reference, GetCallerIdentity', () => {
  run([
    {
      name: 'allowed even under an explicit deny of everything',
      req: {
        action: 'sts:GetCallerIdentity',
        resource: '*',
        identityPolicies: [identity(deny({ Action: '*' }))],
      },
      decision: 'Allowed',
    },
  ])
})

void describe('dates without a zone designator are UTC, whatever the host time zone', () => {
  void test('"2024-01-01T00:00:00" is the same instant under TZ=America/New_York', () => {
    const saved = process.env['TZ']
    process.env['TZ'] = 'America/New_York'
    try {
      const r = authorize(
        request(
          cond(
            { DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00' } },
            { 'aws:CurrentTime': '2024-01-01T01:00:00Z' },
          ),
        ),
      )
      // Read as New York time, the policy instant would be 05:00Z and the request (01:00Z) would not be after it.
      assert.equal(r.decision, 'Allowed')
    } finally {
      if (saved === undefined) delete process.env['TZ']
      else process.env['TZ'] = saved
    }
  })
})
