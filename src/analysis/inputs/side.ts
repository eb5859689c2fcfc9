/**
 * @module analysis/inputs/side
 * The AWS inputs GAAD lacks, each in the AWS CLI's JSON output shapes (pure: parsed values in):
 * - OIDC providers: `aws iam list-open-id-connect-providers` ({OpenIDConnectProviderList:[{Arn}]}), an array of
 *   `get-open-id-connect-provider` outputs with their `Arn` added, or both merged per provider;
 * - Pod Identity associations: `aws eks describe-pod-identity-association` outputs ({association}), an array of
 *   them, or `{associations:[…]}` whose items carry `roleArn`;
 * - nodes: `aws ec2 describe-instances` (Reservations[].Instances[].MetadataOptions, IamInstanceProfile),
 *   `aws ec2 describe-launch-template-versions`, or an array of
 *   `{name, httpTokens, httpPutResponseHopLimit, httpEndpoint, instanceProfileArn}`;
 * - access keys: `aws iam list-access-keys` ({AccessKeyMetadata:[…]}), optionally with `LastUsedDate` from
 *   `get-access-key-last-used` merged in, or an array of such items.
 */
import type { AccessKeyInfo, NodeInfo, OidcProvider, PodIdentityAssociation } from '../model.ts'
import { parseTimestamp, ScanInputError } from './gaad.ts'

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export function parseJsonInput(text: string, source: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ScanInputError(`${source}: not JSON (${(err as Error).message})`)
  }
}

function items(json: unknown, keys: string[]): unknown[] {
  if (Array.isArray(json)) return json
  if (isObject(json)) {
    for (const k of keys) if (Array.isArray(json[k])) return json[k] as unknown[]
    return [json]
  }
  return []
}

/** `oidc.eks.us-east-1.amazonaws.com/id/X` from an URL or a provider ARN. */
export function providerUrlOf(value: string): string {
  const marker = ':oidc-provider/'
  const i = value.indexOf(marker)
  if (i >= 0) return value.slice(i + marker.length)
  return value.replace(/^https:\/\//i, '').replace(/\/+$/, '')
}

export function parseOidcProviders(
  json: unknown,
  source: string,
  accountHint?: string,
): OidcProvider[] {
  const out = new Map<string, OidcProvider>()
  for (const item of items(json, ['OpenIDConnectProviderList', 'Providers', 'providers'])) {
    if (!isObject(item)) continue
    const arn = str(item.Arn)
    const url = str(item.Url)
    if (arn === undefined && url === undefined) {
      throw new ScanInputError(`${source}: an OIDC provider needs Arn or Url`)
    }
    const providerUrl = providerUrlOf(url ?? arn!)
    const fullArn =
      arn ??
      (accountHint !== undefined
        ? `arn:aws:iam::${accountHint}:oidc-provider/${providerUrl}`
        : undefined)
    if (fullArn === undefined) {
      throw new ScanInputError(
        `${source}: provider ${providerUrl} has no Arn and the account is unknown`,
        'add "Arn" to each get-open-id-connect-provider output',
      )
    }
    const previous = out.get(fullArn)
    out.set(fullArn, {
      arn: fullArn,
      url: providerUrl,
      // list-open-id-connect-providers has no ClientIDList: an unknown list is taken as the EKS default.
      clientIds: Array.isArray(item.ClientIDList)
        ? item.ClientIDList.map((c) => String(c))
        : (previous?.clientIds ?? ['sts.amazonaws.com']),
      thumbprints: Array.isArray(item.ThumbprintList)
        ? item.ThumbprintList.map((c) => String(c))
        : (previous?.thumbprints ?? []),
    })
  }
  return [...out.values()]
}

export function parsePodIdentityAssociations(
  json: unknown,
  source: string,
): PodIdentityAssociation[] {
  const out: PodIdentityAssociation[] = []
  for (const raw of items(json, ['associations', 'Associations'])) {
    const item = isObject(raw) && isObject(raw.association) ? raw.association : raw
    if (!isObject(item)) continue
    const roleArn = str(item.roleArn)
    const namespace = str(item.namespace)
    const serviceAccount = str(item.serviceAccount)
    if (roleArn === undefined || namespace === undefined || serviceAccount === undefined) {
      throw new ScanInputError(
        `${source}: a Pod Identity association needs namespace, serviceAccount and roleArn`,
        'give `aws eks describe-pod-identity-association` outputs (list-pod-identity-associations has no roleArn)',
      )
    }
    const clusterName = str(item.clusterName) ?? ''
    const association: PodIdentityAssociation = {
      clusterName,
      namespace,
      serviceAccount,
      roleArn,
      disableSessionTags: item.disableSessionTags === true,
    }
    const assocArn = str(item.associationArn)
    if (assocArn !== undefined) {
      const p = assocArn.split(':')
      if (p.length >= 6)
        association.clusterArn = `arn:${p[1]}:eks:${p[3]}:${p[4]}:cluster/${clusterName}`
    }
    const target = str(item.targetRoleArn)
    if (target !== undefined && target !== '') association.targetRoleArn = target
    const externalId = str(item.externalId)
    if (externalId !== undefined && externalId !== '') association.externalId = externalId
    const id = str(item.associationId)
    if (id !== undefined) association.associationId = id
    out.push(association)
  }
  return out
}

/**
 * Hop limit recorded for podtrust's metadata endpoint (`podtrust up|agent --imds-port`): it requires IMDSv2
 * tokens but cannot set the IP TTL of its answers (docs/self-hosted.md), so no hop limit applies — every pod
 * that can route to it is treated as reaching it.
 */
export const PODTRUST_IMDS_HOP_LIMIT = 255

/** The node entry for podtrust's IMDSv2-compatible endpoint vending `roleArn`. */
export function podtrustImdsNode(roleArn: string): NodeInfo {
  return {
    name: 'podtrust-imds',
    httpTokens: 'required',
    httpEndpoint: 'enabled',
    hopLimit: PODTRUST_IMDS_HOP_LIMIT,
    roleArn,
  }
}

export function parseNodes(json: unknown, source: string): NodeInfo[] {
  const out: NodeInfo[] = []
  const instances: unknown[] = []
  if (isObject(json) && Array.isArray(json.Reservations)) {
    for (const r of json.Reservations) if (isObject(r)) instances.push(...list(r.Instances))
  } else if (isObject(json) && Array.isArray(json.LaunchTemplateVersions)) {
    // aws ec2 describe-launch-template-versions: the settings every node of the group gets.
    for (const v of json.LaunchTemplateVersions.filter(isObject)) {
      const data = isObject(v.LaunchTemplateData) ? v.LaunchTemplateData : {}
      instances.push({
        InstanceId: `${str(v.LaunchTemplateName) ?? 'launch-template'}:${String(v.VersionNumber ?? '')}`,
        MetadataOptions: data.MetadataOptions,
        IamInstanceProfile: data.IamInstanceProfile,
      })
    }
  } else {
    instances.push(...items(json, ['Instances', 'nodes', 'Nodes']))
  }
  for (const inst of instances) {
    if (!isObject(inst)) continue
    const meta = isObject(inst.MetadataOptions) ? inst.MetadataOptions : inst
    const tokens = str(meta.HttpTokens) ?? str(meta.httpTokens)
    const endpoint = str(meta.HttpEndpoint) ?? str(meta.httpEndpoint) ?? 'enabled'
    const hop = meta.HttpPutResponseHopLimit ?? meta.httpPutResponseHopLimit ?? meta.hopLimit
    if (tokens !== 'required' && tokens !== 'optional') {
      throw new ScanInputError(
        `${source}: each node needs MetadataOptions.HttpTokens (required|optional)`,
      )
    }
    const node: NodeInfo = {
      name: str(inst.InstanceId) ?? str(inst.name) ?? `node-${out.length}`,
      httpTokens: tokens,
      httpEndpoint: endpoint === 'disabled' ? 'disabled' : 'enabled',
      // EC2's default hop limit is 1 (launch templates of EKS managed node groups set 2).
      hopLimit: typeof hop === 'number' ? hop : 1,
    }
    const profile = isObject(inst.IamInstanceProfile)
      ? str(inst.IamInstanceProfile.Arn)
      : str(inst.instanceProfileArn)
    if (profile !== undefined) node.instanceProfileArn = profile
    out.push(node)
  }
  return out
}

export function parseAccessKeys(json: unknown, source: string): AccessKeyInfo[] {
  const out: AccessKeyInfo[] = []
  for (const item of items(json, ['AccessKeyMetadata', 'AccessKeys'])) {
    if (!isObject(item)) continue
    const userName = str(item.UserName)
    const id = str(item.AccessKeyId)
    if (userName === undefined || id === undefined) {
      throw new ScanInputError(`${source}: each access key needs UserName and AccessKeyId`)
    }
    const key: AccessKeyInfo = {
      userName,
      accessKeyId: id,
      status: item.Status === 'Inactive' ? 'Inactive' : 'Active',
    }
    const created = parseTimestamp(item.CreateDate)
    if (created !== undefined) key.createDate = created
    const lastUsedRaw = isObject(item.AccessKeyLastUsed)
      ? item.AccessKeyLastUsed.LastUsedDate
      : item.LastUsedDate
    const lastUsed = parseTimestamp(lastUsedRaw)
    if (lastUsed !== undefined) key.lastUsed = lastUsed
    out.push(key)
  }
  return out
}
