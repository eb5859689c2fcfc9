/**
 * @module server/in-process-imds
 * The instance-metadata endpoint of `podtrust up --imds-port`: the node role is assumed in-process through
 * the assume-role pipeline (`authorizeAndIssue`), as EC2 does for an instance profile — the caller is the
 * service principal `ec2.amazonaws.com`, so the role's trust policy must allow it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html). Each assumption is
 * audited as an `AssumeRole` event invoked by EC2. Wiring of an adapter and the domain: composition root.
 */
import { randomUUID } from 'node:crypto'
import { type HttpTokens, type RunningImds, startImds } from '../agent/imds.ts'
import type { AppContext } from '../app/context.ts'
import { authorizeAndIssue } from '../identity/assume-role/pipeline.ts'
import { parseRoleArn } from '../identity/assume-role/role-arn.ts'
import { buildRequestContext } from '../identity/context.ts'

export const EC2_SERVICE_PRINCIPAL = 'ec2.amazonaws.com'
/** EC2 instance-profile credentials last about six hours; the role's maximum caps it. */
const NODE_ROLE_SESSION_SECONDS = 6 * 3600

export interface InProcessImdsOptions {
  roleArn: string
  port: number
  hosts?: string[]
  instanceId?: string
  httpTokens?: HttpTokens
}

export async function startInProcessImds(
  ctx: AppContext,
  options: InProcessImdsOptions,
): Promise<RunningImds> {
  parseRoleArn(options.roleArn)
  const roleName = options.roleArn.split('/').pop() ?? ''
  const accountId = options.roleArn.split(':')[4] ?? ctx.settings.accountId
  const instanceId =
    options.instanceId ?? `i-${Buffer.from(ctx.randomBytes(9)).toString('hex').slice(0, 17)}`
  const source = async () => {
    const now = ctx.now()
    const role = await ctx.roles.getRoleByArn(options.roleArn)
    const context = buildRequestContext({
      now,
      secureTransport: true,
      region: ctx.settings.region,
      sts: { roleSessionName: instanceId },
      extra: {
        'aws:PrincipalIsAWSService': 'true',
        'aws:PrincipalServiceName': EC2_SERVICE_PRINCIPAL,
        'aws:SourceAccount': accountId,
        'aws:SourceArn': `arn:aws:ec2:${ctx.settings.region}:${accountId}:instance/${instanceId}`,
      },
    })
    let errorCode: string | undefined
    try {
      const issued = await authorizeAndIssue(ctx, {
        principal: EC2_SERVICE_PRINCIPAL,
        resource: options.roleArn,
        resourceAccount: accountId,
        role,
        action: 'sts:AssumeRole',
        setsSourceIdentity: false,
        context,
        session: {
          sessionName: instanceId,
          durationSeconds: Math.min(NODE_ROLE_SESSION_SECONDS, role?.maxSessionDuration ?? 3600),
          tags: [],
          transitiveTagKeys: [],
          inheritedTransitiveTags: [],
          policyArns: [],
          chained: false,
        },
      })
      await audit(issued.created.credentials.accessKeyId, issued.created.assumedRoleUser.arn)
      return issued.created.credentials
    } catch (err) {
      errorCode =
        (err as { code?: unknown }).code === undefined ? 'InternalFailure' : 'AccessDenied'
      await audit(undefined, undefined, errorCode)
      throw err
    }
    async function audit(accessKeyId?: string, arn?: string, code?: string): Promise<void> {
      await ctx.audit.record({
        eventVersion: '1.08',
        eventTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        eventSource: 'sts.amazonaws.com',
        eventName: 'AssumeRole',
        awsRegion: ctx.settings.region,
        sourceIPAddress: EC2_SERVICE_PRINCIPAL,
        userAgent: EC2_SERVICE_PRINCIPAL,
        userIdentity: { type: 'AWSService', invokedBy: EC2_SERVICE_PRINCIPAL },
        requestParameters: { roleArn: options.roleArn, roleSessionName: instanceId },
        responseElements:
          accessKeyId === undefined
            ? null
            : { credentials: { accessKeyId }, assumedRoleUser: { arn } },
        ...(code === undefined
          ? {}
          : { errorCode: code, errorMessage: `EC2 cannot assume the role ${roleName}` }),
        requestID: randomUUID(),
        eventID: randomUUID(),
        readOnly: true,
        eventType: 'AwsServiceEvent',
        recipientAccountId: accountId,
      })
    }
  }
  return startImds({
    source,
    hosts: options.hosts ?? ['127.0.0.1'],
    port: options.port,
    httpTokens: options.httpTokens ?? 'required',
    now: ctx.now,
    identity: {
      accountId,
      region: ctx.settings.region,
      availabilityZone: `${ctx.settings.region}a`,
      instanceId,
      instanceType: 'm5.large',
      imageId: 'ami-0123456789abcdef0',
      privateIp: '10.0.0.10',
      roleName,
      instanceProfileArn: `arn:aws:iam::${accountId}:instance-profile/${roleName}`,
      instanceProfileId: `AIPA${Buffer.from(ctx.randomBytes(12)).toString('hex').toUpperCase().slice(0, 17)}`,
    },
    log: (event, fields) => ctx.log.warn(event, fields),
  })
}
