/**
 * The IAM operations real tools call beyond roles and policies (issue 15), end to end with boto3 and the AWS CLI
 * against the real server (in-process, port 0, temp data dir): groups and their effect on a member's
 * authorization, instance profiles, service-linked roles, UpdateUser, user boundaries, login profiles,
 * GetAccountSummary, account aliases, SimulatePrincipalPolicy / SimulateCustomPolicy, and the unknown-action
 * error. Expectations follow the IAM API reference for each operation.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { getBootstrapAdmin } from '../../src/aws/iam/bootstrap.ts'
import { startServer, type RunningServer } from '../../src/server/start.ts'
import { cleanEnv, findOnPath, pythonHas, removeDir, run, tempDir } from './helpers/index.ts'

const ACCOUNT = '000000000000'

void describe('iam operations e2e', () => {
  let server: RunningServer
  let dir: string
  let keys: { accessKeyId: string; secretAccessKey: string }

  before(async () => {
    dir = tempDir('podtrust-iam-ops-e2e-')
    server = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      accountId: ACCOUNT,
      logLevel: 'silent',
      usageFlushMs: 50,
    } as Parameters<typeof startServer>[0])
    const admin = await getBootstrapAdmin(server.ctx.db, ACCOUNT)
    assert.ok(admin)
    keys = admin
  })
  after(async () => {
    await server.close()
    removeDir(dir)
  })

  const awsEnv = (home: string) =>
    cleanEnv(join(dir, home), {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_IAM: server.baseUrl,
      AWS_ENDPOINT_URL_STS: server.baseUrl,
    })

  void it('boto3: groups grant their members permissions; instance profiles, SLRs, users, account, simulation', async (t) => {
    if (!(await pythonHas('boto3'))) return t.skip('python3 with boto3 not found') // reason: the message says what is missing
    const script = `
import json, boto3, botocore, os
iam = boto3.client('iam')
out = {}
def err(call):
  try:
    call(); return None
  except botocore.exceptions.ClientError as e:
    return [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]

# A user without policies, then in a group that may list roles (IAM User Guide, "IAM user groups").
iam.create_user(UserName='dev')
k = iam.create_access_key(UserName='dev')['AccessKey']
dev = boto3.client('iam', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'])
out['before'] = err(lambda: dev.list_roles())
g = iam.create_group(GroupName='readers', Path='/teams/')['Group']
out['groupId'] = g['GroupId']; out['groupArn'] = g['Arn']
iam.put_group_policy(GroupName='readers', PolicyName='list', PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'iam:ListRoles','Resource':'*'}]}))
iam.add_user_to_group(GroupName='readers', UserName='dev')
out['after'] = err(lambda: dev.list_roles())
out['members'] = [u['UserName'] for u in iam.get_group(GroupName='readers')['Users']]
out['groupsForUser'] = [x['GroupName'] for x in iam.list_groups_for_user(UserName='dev')['Groups']]
iam.attach_group_policy(GroupName='readers', PolicyArn='arn:aws:iam::aws:policy/ReadOnlyAccess')
out['attached'] = [p['PolicyName'] for p in iam.list_attached_group_policies(GroupName='readers')['AttachedPolicies']]
iam.delete_access_key(UserName='dev', AccessKeyId=k['AccessKeyId'])
out['deleteUserInGroup'] = err(lambda: iam.delete_user(UserName='dev'))
out['deleteGroupWithMembers'] = err(lambda: iam.delete_group(GroupName='readers'))
gaad = iam.get_account_authorization_details(Filter=['Group','User'])
out['gaadGroups'] = [x['GroupName'] for x in gaad['GroupDetailList']]
out['gaadUserGroups'] = [u['GroupList'] for u in gaad['UserDetailList'] if u['UserName'] == 'dev']
iam.remove_user_from_group(GroupName='readers', UserName='dev')
iam.detach_group_policy(GroupName='readers', PolicyArn='arn:aws:iam::aws:policy/ReadOnlyAccess')
iam.delete_group_policy(GroupName='readers', PolicyName='list')
iam.delete_group(GroupName='readers')
out['groupGone'] = err(lambda: iam.get_group(GroupName='readers'))

# Instance profiles (the EC2 / EKS node pattern).
trust = json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'Service':'ec2.amazonaws.com'},'Action':'sts:AssumeRole'}]})
iam.create_role(RoleName='node', AssumeRolePolicyDocument=trust)
ip = iam.create_instance_profile(InstanceProfileName='node-profile')['InstanceProfile']
out['profileId'] = ip['InstanceProfileId']
iam.add_role_to_instance_profile(InstanceProfileName='node-profile', RoleName='node')
out['profileRoles'] = [r['RoleName'] for r in iam.get_instance_profile(InstanceProfileName='node-profile')['InstanceProfile']['Roles']]
out['forRole'] = [p['InstanceProfileName'] for p in iam.list_instance_profiles_for_role(RoleName='node')['InstanceProfiles']]
out['secondRole'] = err(lambda: iam.add_role_to_instance_profile(InstanceProfileName='node-profile', RoleName='node'))
out['deleteRoleInProfile'] = err(lambda: iam.delete_role(RoleName='node'))
iam.remove_role_from_instance_profile(InstanceProfileName='node-profile', RoleName='node')
iam.delete_instance_profile(InstanceProfileName='node-profile')

# Service-linked roles.
slr = iam.create_service_linked_role(AWSServiceName='eks.amazonaws.com')['Role']
out['slr'] = [slr['RoleName'], slr['Path'], slr['Arn']]
out['slrTrust'] = slr['AssumeRolePolicyDocument']
out['slrPolicies'] = [p['PolicyArn'] for p in iam.list_attached_role_policies(RoleName='AWSServiceRoleForAmazonEKS')['AttachedPolicies']]
out['slrAgain'] = err(lambda: iam.create_service_linked_role(AWSServiceName='eks.amazonaws.com'))
out['slrModify'] = err(lambda: iam.attach_role_policy(RoleName='AWSServiceRoleForAmazonEKS', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess'))
iam.update_role_description(RoleName='AWSServiceRoleForAmazonEKS', Description='edited')
task = iam.delete_service_linked_role(RoleName='AWSServiceRoleForAmazonEKS')['DeletionTaskId']
out['task'] = task
out['taskStatus'] = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)['Status']

# Users: rename, boundary, login profile.
iam.create_user(UserName='ops')
iam.update_user(UserName='ops', NewUserName='ops2', NewPath='/eng/')
u = iam.get_user(UserName='ops2')['User']
out['renamed'] = [u['UserName'], u['Path'], u['Arn']]
iam.put_user_permissions_boundary(UserName='ops2', PermissionsBoundary='arn:aws:iam::aws:policy/ReadOnlyAccess')
out['boundary'] = iam.get_user(UserName='ops2')['User']['PermissionsBoundary']['PermissionsBoundaryArn']
iam.delete_user_permissions_boundary(UserName='ops2')
lp = iam.create_login_profile(UserName='ops2', Password='Correct-Horse-1', PasswordResetRequired=True)['LoginProfile']
out['login'] = [lp['UserName'], lp['PasswordResetRequired']]
out['loginAgain'] = err(lambda: iam.create_login_profile(UserName='ops2', Password='x'))
out['deleteWithLogin'] = err(lambda: iam.delete_user(UserName='ops2'))
iam.update_login_profile(UserName='ops2', PasswordResetRequired=False)
out['loginAfter'] = iam.get_login_profile(UserName='ops2')['LoginProfile']['PasswordResetRequired']
iam.delete_login_profile(UserName='ops2')
out['loginGone'] = err(lambda: iam.get_login_profile(UserName='ops2'))
iam.delete_user(UserName='ops2')

# Account.
s = iam.get_account_summary()['SummaryMap']
out['summary'] = {k: s[k] for k in ['Users', 'UsersQuota', 'Roles', 'Groups', 'AssumeRolePolicySizeQuota']}
iam.create_account_alias(AccountAlias='podtrust-dev')
out['aliases'] = iam.list_account_aliases()['AccountAliases']
out['badAlias'] = err(lambda: iam.create_account_alias(AccountAlias='Bad_Alias'))
iam.delete_account_alias(AccountAlias='podtrust-dev')
out['noPasswordPolicy'] = err(lambda: iam.get_account_password_policy())
iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, MaxPasswordAge=90)
out['passwordPolicy'] = iam.get_account_password_policy()['PasswordPolicy']
iam.delete_account_password_policy()
out['aliasesAfter'] = iam.list_account_aliases()['AccountAliases']

# The simulator (questions about any resource).
doc = json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'s3:GetObject','Resource':'arn:aws:s3:::data/teams/a/*'}]})
sim = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=['s3:GetObject','s3:PutObject'], ResourceArns=['arn:aws:s3:::data/*'])
out['custom'] = [[r['EvalActionName'], r['EvalResourceName'], r['EvalDecision']] for r in sim['EvaluationResults']]
out['customMatched'] = sim['EvaluationResults'][0]['MatchedStatements'][0]['SourcePolicyId']
iam.put_user_policy(UserName='dev', PolicyName='sqs', PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'sqs:SendMessage','Resource':'*'},{'Effect':'Deny','Action':'sqs:SendMessage','Resource':'*','Condition':{'StringEquals':{'aws:RequestedRegion':'eu-west-1'}}}]}))
p = iam.simulate_principal_policy(PolicySourceArn='arn:aws:iam::${ACCOUNT}:user/dev', ActionNames=['sqs:SendMessage','iam:ListRoles'], ContextEntries=[{'ContextKeyName':'aws:RequestedRegion','ContextKeyValues':['eu-west-1'],'ContextKeyType':'string'}])
out['principal'] = [[r['EvalActionName'], r['EvalDecision']] for r in p['EvaluationResults']]
keysDoc = json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'s3:*','Resource':'arn:aws:s3:::b/\${aws:username}/*','Condition':{'StringEquals':{'aws:PrincipalTag/team':'a'},'Bool':{'aws:SecureTransport':'true'}}}]})
out['contextKeys'] = iam.get_context_keys_for_custom_policy(PolicyInputList=[keysDoc])['ContextKeyNames']
out['principalKeys'] = iam.get_context_keys_for_principal_policy(PolicySourceArn='arn:aws:iam::${ACCOUNT}:user/dev')['ContextKeyNames']

# RoleLastUsed and AccessKeyLastUsed are recorded on use (batched: read back after a short pause).
import time
trusting = json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::${ACCOUNT}:root'},'Action':'sts:AssumeRole'}]})
iam.create_role(RoleName='used', AssumeRolePolicyDocument=trusting)
out['unusedRole'] = iam.get_role(RoleName='used')['Role'].get('RoleLastUsed')
boto3.client('sts').assume_role(RoleArn='arn:aws:iam::${ACCOUNT}:role/used', RoleSessionName='s1')
time.sleep(0.5)
used = iam.get_role(RoleName='used')['Role']['RoleLastUsed']
out['roleLastUsed'] = ['LastUsedDate' in used, used.get('Region')]
last = iam.get_access_key_last_used(AccessKeyId=os.environ['AWS_ACCESS_KEY_ID'])['AccessKeyLastUsed']
out['keyLastUsed'] = ['LastUsedDate' in last, last.get('ServiceName'), last.get('Region')]

# Unknown actions answer AWS's error.
try:
  iam.meta.events.register('before-call.iam.ListUsers', lambda **kw: None)
  import urllib.request
  from botocore.auth import SigV4Auth
  from botocore.awsrequest import AWSRequest
  req = AWSRequest(method='POST', url=os.environ['AWS_ENDPOINT_URL_IAM'] + '/', data='Action=ListSAMLProviders&Version=2010-05-08', headers={'Content-Type':'application/x-www-form-urlencoded; charset=utf-8'})
  SigV4Auth(boto3.Session().get_credentials(), 'iam', 'us-east-1').add_auth(req)
  r = urllib.request.Request(req.url, data=req.body.encode() if isinstance(req.body, str) else req.body, headers=dict(req.headers), method='POST')
  urllib.request.urlopen(r)
  out['unknown'] = None
except urllib.error.HTTPError as e:
  out['unknown'] = [e.code, e.read().decode()]
print(json.dumps(out, default=str))
`
    const r = await run('python3', ['-c', script], { env: awsEnv('boto') })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.before[0], 'AccessDenied')
    assert.equal(out.after, null, 'a group policy authorizes its members')
    assert.match(out.groupId, /^AGPA[A-Z2-7]{17}$/)
    assert.equal(out.groupArn, `arn:aws:iam::${ACCOUNT}:group/teams/readers`)
    assert.deepEqual(out.members, ['dev'])
    assert.deepEqual(out.groupsForUser, ['readers'])
    assert.deepEqual(out.attached, ['ReadOnlyAccess'])
    assert.deepEqual(out.deleteUserInGroup, [
      'DeleteConflict',
      'Cannot delete entity, must remove users from group first.',
      409,
    ])
    assert.equal(out.deleteGroupWithMembers[0], 'DeleteConflict')
    assert.deepEqual(out.gaadGroups, ['readers'])
    assert.deepEqual(out.gaadUserGroups, [['readers']])
    assert.deepEqual(out.groupGone, [
      'NoSuchEntity',
      'The group with name readers cannot be found.',
      404,
    ])
    assert.match(out.profileId, /^AIPA[A-Z2-7]{17}$/)
    assert.deepEqual(out.profileRoles, ['node'])
    assert.deepEqual(out.forRole, ['node-profile'])
    assert.deepEqual(out.secondRole, [
      'LimitExceeded',
      'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1',
      409,
    ])
    assert.deepEqual(out.deleteRoleInProfile, [
      'DeleteConflict',
      'Cannot delete entity, must remove roles from instance profile first.',
      409,
    ])
    assert.deepEqual(out.slr, [
      'AWSServiceRoleForAmazonEKS',
      '/aws-service-role/eks.amazonaws.com/',
      `arn:aws:iam::${ACCOUNT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS`,
    ])
    assert.deepEqual(out.slrTrust.Statement[0].Principal, { Service: 'eks.amazonaws.com' })
    assert.deepEqual(out.slrPolicies, [
      'arn:aws:iam::aws:policy/aws-service-role/AmazonEKSServiceRolePolicy',
    ])
    assert.deepEqual(out.slrAgain, [
      'InvalidInput',
      'Service role name AWSServiceRoleForAmazonEKS has been taken in this account, please try a different suffix.',
      400,
    ])
    assert.equal(out.slrModify[0], 'UnmodifiableEntity')
    assert.match(
      out.task,
      /^task\/aws-service-role\/eks\.amazonaws\.com\/AWSServiceRoleForAmazonEKS\/[0-9a-f-]{36}$/,
    )
    assert.equal(out.taskStatus, 'SUCCEEDED')
    assert.deepEqual(out.renamed, ['ops2', '/eng/', `arn:aws:iam::${ACCOUNT}:user/eng/ops2`])
    assert.equal(out.boundary, 'arn:aws:iam::aws:policy/ReadOnlyAccess')
    assert.deepEqual(out.login, ['ops2', true])
    assert.equal(out.loginAgain[0], 'EntityAlreadyExists')
    assert.equal(out.deleteWithLogin[0], 'DeleteConflict')
    assert.equal(out.loginAfter, false)
    assert.equal(out.loginGone[0], 'NoSuchEntity')
    assert.equal(out.summary.UsersQuota, 5000)
    assert.equal(out.summary.AssumeRolePolicySizeQuota, 2048)
    assert.ok(out.summary.Users >= 2)
    assert.deepEqual(out.aliases, ['podtrust-dev'])
    assert.equal(out.badAlias[0], 'ValidationError')
    assert.deepEqual(out.aliasesAfter, [])
    assert.deepEqual(out.noPasswordPolicy, [
      'NoSuchEntity',
      `The Password Policy with domain name ${ACCOUNT} cannot be found.`,
      404,
    ])
    assert.deepEqual(out.passwordPolicy, {
      MinimumPasswordLength: 14,
      RequireSymbols: true,
      RequireNumbers: false,
      RequireUppercaseCharacters: false,
      RequireLowercaseCharacters: false,
      AllowUsersToChangePassword: false,
      ExpirePasswords: true,
      MaxPasswordAge: 90,
    })
    assert.deepEqual(out.custom, [
      ['s3:GetObject', 'arn:aws:s3:::data/*', 'allowed'],
      ['s3:PutObject', 'arn:aws:s3:::data/*', 'implicitDeny'],
    ])
    assert.equal(out.customMatched, 'PolicyInputList.1')
    assert.deepEqual(out.principal, [
      ['sqs:SendMessage', 'explicitDeny'],
      ['iam:ListRoles', 'implicitDeny'],
    ])
    assert.deepEqual(out.unusedRole, {})
    assert.deepEqual(out.roleLastUsed, [true, 'us-east-1'])
    // The key's latest use is the IAM or STS call just before the read (batched writes race with the read).
    assert.equal(out.keyLastUsed[0], true)
    assert.ok(['iam', 'sts'].includes(out.keyLastUsed[1]), String(out.keyLastUsed[1]))
    assert.equal(out.keyLastUsed[2], 'us-east-1')
    assert.deepEqual(out.contextKeys, [
      'aws:PrincipalTag/team',
      'aws:SecureTransport',
      'aws:username',
    ])
    assert.deepEqual(out.principalKeys, ['aws:RequestedRegion'])
    assert.equal(out.unknown[0], 400)
    assert.match(out.unknown[1], /<Code>InvalidAction<\/Code>/)
  })

  void it('AWS CLI: groups and instance profiles as the CLI walkthroughs create them', async (t) => {
    if (findOnPath('aws') === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const env = awsEnv('cli')
    const aws = (...args: string[]) => run('aws', ['iam', ...args, '--output', 'json'], { env })
    let r = await aws('create-group', '--group-name', 'cli-admins')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).Group.GroupName, 'cli-admins')
    r = await aws(
      'attach-group-policy',
      '--group-name',
      'cli-admins',
      '--policy-arn',
      'arn:aws:iam::aws:policy/AdministratorAccess',
    )
    assert.equal(r.code, 0, r.stderr)
    r = await aws('list-groups')
    assert.deepEqual(
      JSON.parse(r.stdout).Groups.map((g: { GroupName: string }) => g.GroupName),
      ['cli-admins'],
    )
    r = await aws('create-instance-profile', '--instance-profile-name', 'cli-profile')
    assert.equal(r.code, 0, r.stderr)
    r = await aws('list-instance-profiles')
    assert.deepEqual(
      JSON.parse(r.stdout).InstanceProfiles.map(
        (p: { InstanceProfileName: string }) => p.InstanceProfileName,
      ),
      ['cli-profile'],
    )
    r = await aws('get-account-summary')
    assert.equal(JSON.parse(r.stdout).SummaryMap.Groups, 1)
    r = await aws('get-group', '--group-name', 'nope')
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /\(NoSuchEntity\).*The group with name nope cannot be found\./)
  })
})
