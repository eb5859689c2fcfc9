import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { adminCredentialsCommand } from '../../../src/cli/commands/admin-credentials.ts'
import { iamActions } from '../../../src/aws/iam/service.ts'
import { UsageError } from '../../../src/errors.ts'
import { openHarness, type Harness } from './harness.ts'

/** Each action's required members (botocore's iam model) as AWS names them in ValidationError. */
const REQUIRED: Record<string, string> = {
  CreateRole: 'roleName',
  GetRole: 'roleName',
  UpdateRole: 'roleName',
  UpdateRoleDescription: 'description',
  UpdateAssumeRolePolicy: 'policyDocument',
  DeleteRole: 'roleName',
  TagRole: 'roleName',
  UntagRole: 'roleName',
  ListRoleTags: 'roleName',
  PutRolePermissionsBoundary: 'permissionsBoundary',
  DeleteRolePermissionsBoundary: 'roleName',
  PutRolePolicy: 'roleName',
  GetRolePolicy: 'roleName',
  ListRolePolicies: 'roleName',
  DeleteRolePolicy: 'roleName',
  AttachRolePolicy: 'roleName',
  DetachRolePolicy: 'roleName',
  ListAttachedRolePolicies: 'roleName',
  CreatePolicy: 'policyName',
  GetPolicy: 'policyArn',
  DeletePolicy: 'policyArn',
  GetPolicyVersion: 'policyArn',
  ListPolicyVersions: 'policyArn',
  CreatePolicyVersion: 'policyArn',
  DeletePolicyVersion: 'policyArn',
  SetDefaultPolicyVersion: 'policyArn',
  ListEntitiesForPolicy: 'policyArn',
  TagPolicy: 'policyArn',
  UntagPolicy: 'policyArn',
  ListPolicyTags: 'policyArn',
  CreateOpenIDConnectProvider: 'url',
  GetOpenIDConnectProvider: 'openIDConnectProviderArn',
  DeleteOpenIDConnectProvider: 'openIDConnectProviderArn',
  AddClientIDToOpenIDConnectProvider: 'clientID',
  RemoveClientIDFromOpenIDConnectProvider: 'clientID',
  UpdateOpenIDConnectProviderThumbprint: 'thumbprintList',
  TagOpenIDConnectProvider: 'openIDConnectProviderArn',
  UntagOpenIDConnectProvider: 'openIDConnectProviderArn',
  ListOpenIDConnectProviderTags: 'openIDConnectProviderArn',
  CreateUser: 'userName',
  DeleteUser: 'userName',
  TagUser: 'userName',
  UntagUser: 'userName',
  ListUserTags: 'userName',
  UpdateAccessKey: 'accessKeyId',
  DeleteAccessKey: 'accessKeyId',
  GetAccessKeyLastUsed: 'accessKeyId',
  PutUserPolicy: 'userName',
  GetUserPolicy: 'userName',
  ListUserPolicies: 'userName',
  DeleteUserPolicy: 'userName',
  AttachUserPolicy: 'userName',
  DetachUserPolicy: 'userName',
  ListAttachedUserPolicies: 'userName',
  UpdateUser: 'userName',
  PutUserPermissionsBoundary: 'permissionsBoundary',
  DeleteUserPermissionsBoundary: 'userName',
  UpdateLoginProfile: 'userName',
  CreateGroup: 'groupName',
  GetGroup: 'groupName',
  UpdateGroup: 'groupName',
  DeleteGroup: 'groupName',
  AddUserToGroup: 'userName',
  RemoveUserFromGroup: 'userName',
  ListGroupsForUser: 'userName',
  PutGroupPolicy: 'groupName',
  GetGroupPolicy: 'groupName',
  ListGroupPolicies: 'groupName',
  DeleteGroupPolicy: 'groupName',
  AttachGroupPolicy: 'groupName',
  DetachGroupPolicy: 'groupName',
  ListAttachedGroupPolicies: 'groupName',
  CreateInstanceProfile: 'instanceProfileName',
  GetInstanceProfile: 'instanceProfileName',
  DeleteInstanceProfile: 'instanceProfileName',
  ListInstanceProfilesForRole: 'roleName',
  AddRoleToInstanceProfile: 'roleName',
  RemoveRoleFromInstanceProfile: 'roleName',
  TagInstanceProfile: 'instanceProfileName',
  UntagInstanceProfile: 'instanceProfileName',
  ListInstanceProfileTags: 'instanceProfileName',
  CreateServiceLinkedRole: 'aWSServiceName',
  DeleteServiceLinkedRole: 'roleName',
  GetServiceLinkedRoleDeletionStatus: 'deletionTaskId',
  CreateAccountAlias: 'accountAlias',
  DeleteAccountAlias: 'accountAlias',
  SimulatePrincipalPolicy: 'policySourceArn',
  SimulateCustomPolicy: 'policyInputList',
  GetContextKeysForCustomPolicy: 'policyInputList',
  GetContextKeysForPrincipalPolicy: 'policySourceArn',
}
const NO_REQUIRED = [
  'ListRoles',
  'ListPolicies',
  'ListOpenIDConnectProviders',
  'GetUser',
  'ListUsers',
  'CreateAccessKey',
  'ListAccessKeys',
  'GetAccountAuthorizationDetails',
  'ListGroups',
  'ListInstanceProfiles',
]
/** No required member, but no 200 without state or no pagination: covered in fidelity.test.ts. */
const OTHER = [
  'CreateLoginProfile',
  'GetLoginProfile',
  'DeleteLoginProfile',
  'GetAccountSummary',
  'ListAccountAliases',
  'UpdateAccountPasswordPolicy',
  'GetAccountPasswordPolicy',
  'DeleteAccountPasswordPolicy',
]

void describe('iam action parameters', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(async () => {
    await h.cleanup()
  })

  void it('every registered action is covered by this table', () => {
    assert.deepEqual(
      Object.keys(iamActions).sort(),
      [...Object.keys(REQUIRED), ...NO_REQUIRED, ...OTHER].sort(),
    )
  })

  for (const [action, member] of Object.entries(REQUIRED)) {
    void it(`${action} without parameters names the missing \`${member}\``, async () => {
      const r = await h.call(action, {})
      assert.equal(r.status, 400)
      assert.equal(r.code, 'ValidationError')
      assert.match(
        r.message ?? '',
        new RegExp(
          `Value null at '${member}' failed to satisfy constraint: Member must not be null`,
        ),
      )
    })
  }

  for (const action of NO_REQUIRED) {
    void it(`${action} works without parameters and rejects a bad MaxItems/Marker`, async () => {
      assert.equal((await h.call(action, {})).status, 200)
      if (
        action === 'GetUser' ||
        action === 'CreateAccessKey' ||
        action === 'ListOpenIDConnectProviders'
      )
        return
      const max = await h.call(action, { MaxItems: '1001' })
      assert.equal(
        max.message,
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000",
      )
      assert.equal(
        (await h.call(action, { MaxItems: 'ten' })).message,
        "Invalid value 'ten' for parameter MaxItems: must be an integer",
      )
      assert.equal((await h.call(action, { Marker: 'bm90LWFuLW9mZnNldA' })).code, 'ValidationError')
    })
  }

  void it('rejects bad tags, tag keys, booleans and enums', async () => {
    const role = {
      RoleName: 'r',
      AssumeRolePolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    }
    assert.equal((await h.call('CreateRole', role)).status, 200)
    const cases: [string, Record<string, string>, string, RegExp][] = [
      [
        'TagRole',
        { RoleName: 'r', 'Tags.member.1.Value': 'v' },
        'MissingParameter',
        /Tags\.member\.Key/,
      ],
      [
        'TagRole',
        { RoleName: 'r', 'Tags.member.1.Key': 'aws:x', 'Tags.member.1.Value': 'v' },
        'InvalidInput',
        /reserved for AWS/,
      ],
      [
        'TagRole',
        { RoleName: 'r', 'Tags.member.1.Key': 'a*b', 'Tags.member.1.Value': 'v' },
        'ValidationError',
        /tags\.1\.member\.key/,
      ],
      [
        'TagRole',
        { RoleName: 'r', 'Tags.member.1.Key': 'k', 'Tags.member.1.Value': 'v'.repeat(257) },
        'ValidationError',
        /length less than or equal to 256/,
      ],
      ['UntagRole', { RoleName: 'r', 'TagKeys.member.1': '' }, 'ValidationError', /tagKeys/],
      [
        'CreatePolicyVersion',
        {
          PolicyArn: 'arn:aws:iam::123456789012:policy/x',
          PolicyDocument: '{}',
          SetAsDefault: 'maybe',
        },
        'ValidationError',
        /must be a boolean/,
      ],
      [
        'ListEntitiesForPolicy',
        { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', EntityFilter: 'Robot' },
        'ValidationError',
        /enum value set/,
      ],
      [
        'GetAccountAuthorizationDetails',
        { 'Filter.member.1': 'role' },
        'ValidationError',
        /enum value set: \[User, Role, Group, LocalManagedPolicy, AWSManagedPolicy\]/,
      ],
      ['ListRoles', { PathPrefix: 'noslash' }, 'ValidationError', /pathPrefix/],
      [
        'UpdateRole',
        { RoleName: 'r', Description: 'x'.repeat(1001) },
        'ValidationError',
        /description/,
      ],
      [
        'PutRolePolicy',
        { RoleName: 'r', PolicyName: 'p'.repeat(129), PolicyDocument: '{}' },
        'ValidationError',
        /policyName/,
      ],
      [
        'GetPolicyVersion',
        { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', VersionId: 'one' },
        'ValidationError',
        /versionId/,
      ],
    ]
    for (const [action, params, code, message] of cases) {
      const r = await h.call(action, params)
      assert.equal(r.code, code, `${action} ${JSON.stringify(params).slice(0, 80)}`)
      assert.match(r.message ?? '', message)
    }
  })
})

void describe('podtrust admin-credentials', () => {
  const sink = () => {
    const chunks: string[] = []
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk))
        cb()
      },
    })
    return { stream, text: () => chunks.join('') }
  }

  void it('prints export lines, idempotently, and rejects bad arguments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-admin-'))
    try {
      const io = () => {
        const out = sink()
        return { out, io: { stdout: out.stream, stderr: sink().stream, env: {}, cwd: dir } }
      }
      const a = io()
      assert.equal(await adminCredentialsCommand.run(['--data-dir', dir, '--env'], a.io), 0)
      assert.match(
        a.out.text(),
        /^export AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}\nexport AWS_SECRET_ACCESS_KEY=\S{40}\n$/,
      )
      const b = io()
      await adminCredentialsCommand.run(['--data-dir', dir, '--env'], b.io)
      assert.equal(b.out.text(), a.out.text())
      const c = io()
      await adminCredentialsCommand.run(['--data-dir', dir], c.io)
      assert.match(c.out.text(), /^user: arn:aws:iam::000000000000:user\/podtrust-admin\n/)
      await assert.rejects(
        adminCredentialsCommand.run(['--data-dir', dir, 'extra'], io().io),
        UsageError,
      )
      await assert.rejects(
        adminCredentialsCommand.run(['--account-id', '12', '--data-dir', dir], io().io),
        UsageError,
      )
      await assert.rejects(adminCredentialsCommand.run(['--bogus'], io().io), /Unknown option/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
