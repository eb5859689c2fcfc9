/**
 * @module aws/iam/actions-service-linked-roles
 * Service-linked roles (IAM API reference: CreateServiceLinkedRole, DeleteServiceLinkedRole,
 * GetServiceLinkedRoleDeletionStatus; IAM User Guide, "Using service-linked roles"). The role is named by its
 * service (`AWSServiceRoleFor…`), lives under `/aws-service-role/<service>/`, trusts only that service and has
 * the service's AWS managed policy attached; IAM refuses changes to it other than its description.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, type QueryHandler } from '../query/registry.ts'
import { mustGetRole, roleXml, withIam } from './common.ts'
import { ID_PREFIX, newUniqueId, roleArn } from './ids.ts'
import type { RoleRecord } from './repo.ts'
import { descriptionRules, problemsOf, rules, throwIfProblems } from './validate.ts'

/**
 * Role names and permission policies of common services' service-linked roles (each service's "Using
 * service-linked roles" page). `suffix`: the service accepts a CustomSuffix.
 */
const SERVICES: Record<string, { name: string; policy?: string; suffix?: boolean }> = {
  'eks.amazonaws.com': { name: 'AWSServiceRoleForAmazonEKS', policy: 'AmazonEKSServiceRolePolicy' },
  'eks-nodegroup.amazonaws.com': {
    name: 'AWSServiceRoleForAmazonEKSNodegroup',
    policy: 'AWSServiceRoleForAmazonEKSNodegroup',
  },
  'eks-fargate.amazonaws.com': {
    name: 'AWSServiceRoleForAmazonEKSForFargate',
    policy: 'AmazonEKSForFargateServiceRolePolicy',
  },
  'elasticloadbalancing.amazonaws.com': {
    name: 'AWSServiceRoleForElasticLoadBalancing',
    policy: 'AWSElasticLoadBalancingServiceRolePolicy',
  },
  'autoscaling.amazonaws.com': {
    name: 'AWSServiceRoleForAutoScaling',
    policy: 'AutoScalingServiceRolePolicy',
    suffix: true,
  },
  'spot.amazonaws.com': { name: 'AWSServiceRoleForEC2Spot', policy: 'AWSEC2SpotServiceRolePolicy' },
  'ecs.amazonaws.com': { name: 'AWSServiceRoleForECS', policy: 'AmazonECSServiceRolePolicy' },
  'rds.amazonaws.com': { name: 'AWSServiceRoleForRDS', policy: 'AmazonRDSServiceRolePolicy' },
  'ssm.amazonaws.com': { name: 'AWSServiceRoleForAmazonSSM', policy: 'AmazonSSMServiceRolePolicy' },
  'organizations.amazonaws.com': {
    name: 'AWSServiceRoleForOrganizations',
    policy: 'AWSOrganizationsServiceTrustPolicy',
  },
  'elasticbeanstalk.amazonaws.com': {
    name: 'AWSServiceRoleForElasticBeanstalk',
    policy: 'AWSElasticBeanstalkServiceRolePolicy',
    suffix: true,
  },
  'opensearchservice.amazonaws.com': {
    name: 'AWSServiceRoleForAmazonOpenSearchService',
    policy: 'AmazonOpenSearchServiceRolePolicy',
  },
  'dynamodb.application-autoscaling.amazonaws.com': {
    name: 'AWSServiceRoleForApplicationAutoScaling_DynamoDBTable',
    policy: 'AWSApplicationAutoscalingDynamoDBTablePolicy',
  },
}

const trustFor = (service: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  })

const createServiceLinkedRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const service = requiredParam(req, 'AWSServiceName')
    const suffix = req.params['CustomSuffix']
    const description = req.params['Description']
    throwIfProblems([
      ...problemsOf('aWSServiceName', service, [
        rules.length(1, 128),
        rules.pattern(/^[\w+=,.@-]+$/, '[\\w+=,.@-]+'),
      ]),
      ...problemsOf('customSuffix', suffix, [
        rules.length(1, 64),
        rules.pattern(/^[\w+=,.@-]+$/, '[\\w+=,.@-]+'),
      ]),
      ...problemsOf('description', description, descriptionRules(1000)),
    ])
    const known = SERVICES[service]
    if (known === undefined) {
      throw new AwsError('InvalidInput', `Service name ${service} is not valid.`)
    }
    if (suffix !== undefined && known.suffix !== true) {
      throw new AwsError('InvalidInput', `Custom suffix is not allowed for ${service}`)
    }
    const name = suffix === undefined ? known.name : `${known.name}_${suffix}`
    const path = `/aws-service-role/${service}/`
    const arn = roleArn(env.accountId, path, name)
    await env.authorize('CreateServiceLinkedRole', arn, {
      extra: { 'iam:AWSServiceName': service },
    })
    if ((await env.repo.getRole(env.accountId, name)) !== undefined) {
      throw new AwsError(
        'InvalidInput',
        `Service role name ${name} has been taken in this account, please try a different suffix.`,
      )
    }
    const role: RoleRecord = {
      accountId: env.accountId,
      roleName: name,
      roleId: newUniqueId(ID_PREFIX.role, env.accountId, env.randomBytes),
      arn,
      path,
      assumeRolePolicyDocument: trustFor(service),
      maxSessionDuration: 3600,
      ...(description === undefined ? {} : { description }),
      createDate: env.now,
      tags: [],
    }
    await env.repo.insertRole(role)
    if (known.policy !== undefined) {
      const policyArn = `arn:aws:iam::aws:policy/aws-service-role/${known.policy}`
      const p = await env.repo.getManagedPolicy(policyArn)
      if (p !== undefined)
        await env.repo.attachPolicy(env.accountId, 'role', name, policyArn, env.now)
    }
    return { Role: roleXml(role, 'create') }
  })

const TASK = /^task\/aws-service-role\/([^/]+)\/([^/]+)\/[0-9a-f-]{36}$/

const deleteServiceLinkedRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const name = requiredParam(req, 'RoleName')
    throwIfProblems(problemsOf('roleName', name, [rules.length(1, 64)]))
    const existing = await env.repo.getRole(env.accountId, name)
    await env.authorize(
      'DeleteServiceLinkedRole',
      existing?.arn ?? `arn:aws:iam::${env.accountId}:role/${name}`,
    )
    const role = await mustGetRole(env, name)
    const service = /^\/aws-service-role\/([^/]+)\/$/.exec(role.path)?.[1]
    if (service === undefined) {
      throw new AwsError('InvalidInput', `Role ${name} is not a service-linked role.`)
    }
    for (const a of await env.repo.listAttachedPolicies(env.accountId, 'role', role.roleName)) {
      await env.repo.detachPolicy(env.accountId, 'role', role.roleName, a.policyArn)
    }
    await env.repo.deleteRole(env.accountId, role.roleName)
    const id = Buffer.from(env.randomBytes(16)).toString('hex')
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`
    return { DeletionTaskId: `task/aws-service-role/${service}/${role.roleName}/${uuid}` }
  })

/** Deletion runs at once, so a task for a role that no longer exists has succeeded. */
const getServiceLinkedRoleDeletionStatus: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const task = requiredParam(req, 'DeletionTaskId')
    throwIfProblems(problemsOf('deletionTaskId', task, [rules.length(1, 1000)]))
    await env.authorize('GetServiceLinkedRoleDeletionStatus', '*')
    const m = TASK.exec(task)
    if (m === null) {
      throw new AwsError('InvalidInput', `Invalid deletion task id: ${task}`)
    }
    const gone = (await env.repo.getRole(env.accountId, m[2]!)) === undefined
    return { Status: gone ? 'SUCCEEDED' : 'IN_PROGRESS' }
  })

export const serviceLinkedRoleActions: Record<string, QueryHandler> = {
  CreateServiceLinkedRole: createServiceLinkedRole,
  DeleteServiceLinkedRole: deleteServiceLinkedRole,
  GetServiceLinkedRoleDeletionStatus: getServiceLinkedRoleDeletionStatus,
}
