/**
 * @module aws/regions
 * The AWS Regions a SigV4 credential scope may name, and the signing region of global services. AWS rejects a
 * request signed for a Region it does not know (`SignatureDoesNotMatch`, "Credential should be scoped to a
 * valid region, not '…'."), so `aws:RequestedRegion` can only ever hold a real Region.
 * List: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html (commercial,
 * China, GovCloud, ISO and European Sovereign Cloud partitions as the SDKs' endpoint data lists them).
 */
export const AWS_REGIONS: ReadonlySet<string> = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'cn-north-1',
  'cn-northwest-1',
  'us-gov-east-1',
  'us-gov-west-1',
  'us-iso-east-1',
  'us-iso-west-1',
  'us-isob-east-1',
  'us-isob-west-1',
  'eu-isoe-west-1',
  'us-isof-east-1',
  'us-isof-south-1',
  'eusc-de-east-1',
])

/**
 * Global services (IAM, and STS's global endpoint) are signed for the first Region of the partition:
 * `us-east-1` in `aws` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
 */
export const GLOBAL_SIGNING_REGION = 'us-east-1'

/** Whether `region` is an AWS Region (or the server's own configured one). */
export function isKnownRegion(region: string, configured?: string): boolean {
  return AWS_REGIONS.has(region) || (configured !== undefined && region === configured)
}
