/**
 * @module gateway/s3-operations
 * Maps an S3 REST request to its operation, the IAM action(s) and resource ARN(s) it needs, and the request's
 * S3 condition keys, as the Service Authorization Reference lists them
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html) and the S3 API
 * reference defines each call (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
 * Pure: no I/O. Path-style (`/bucket/key`) and virtual-hosted-style (`bucket.<gateway host>/key`) requests.
 */

export type RequestContext = Record<string, string | string[]>

export interface S3Check {
  action: string
  resource: string
  /** Condition keys for this check (added to the shared request context). */
  context: RequestContext
  /** Object checks: the object whose existing tags `s3:ExistingObjectTag/*` reads. */
  object?: { bucket: string; key: string; versionId?: string }
}

export interface S3Operation {
  /** The S3 API operation name (audit `eventName`). */
  name: string
  bucket?: string
  key?: string
  /** Every check must allow. CopyObject / UploadPartCopy: destination PutObject and source GetObject. */
  checks: S3Check[]
  /** Operations podtrust answers itself instead of forwarding. */
  local?: 'PutBucketPolicy' | 'GetBucketPolicy' | 'DeleteBucketPolicy'
  /** The bucket came from the Host header (`bucket.<gateway host>`). */
  virtualHosted?: boolean
  /** CloudTrail's readOnly: the call changes nothing. */
  readOnly: boolean
}

export interface S3RequestInput {
  method: string
  /** The raw path (percent-encoded as sent). */
  path: string
  /** Decoded query pairs. */
  query: readonly (readonly [string, string])[]
  /** Lower-case header names. */
  headers: ReadonlyMap<string, string>
  /** The Host header. */
  host: string
  /** Host names the gateway answers on; `bucket.<one of these>` is virtual-hosted style. */
  baseHosts: readonly string[]
}

export type S3MappingCode =
  'NotImplemented' | 'InvalidRequest' | 'InvalidBucketName' | 'MethodNotAllowed'

export class S3MappingError extends Error {
  readonly code: S3MappingCode
  readonly status: number
  constructor(code: S3MappingCode, message: string, status: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

/** Sub-resources that select an operation (query keys without or with a value). */
const BUCKET_SUBRESOURCES: Record<string, Record<string, [string, string]>> = {
  policy: {
    GET: ['GetBucketPolicy', 's3:GetBucketPolicy'],
    PUT: ['PutBucketPolicy', 's3:PutBucketPolicy'],
    DELETE: ['DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
  },
  location: { GET: ['GetBucketLocation', 's3:GetBucketLocation'] },
  uploads: { GET: ['ListMultipartUploads', 's3:ListBucketMultipartUploads'] },
  versions: { GET: ['ListObjectVersions', 's3:ListBucketVersions'] },
  versioning: {
    GET: ['GetBucketVersioning', 's3:GetBucketVersioning'],
    PUT: ['PutBucketVersioning', 's3:PutBucketVersioning'],
  },
  tagging: {
    GET: ['GetBucketTagging', 's3:GetBucketTagging'],
    PUT: ['PutBucketTagging', 's3:PutBucketTagging'],
    DELETE: ['DeleteBucketTagging', 's3:PutBucketTagging'],
  },
  acl: { GET: ['GetBucketAcl', 's3:GetBucketAcl'], PUT: ['PutBucketAcl', 's3:PutBucketAcl'] },
  cors: {
    GET: ['GetBucketCors', 's3:GetBucketCORS'],
    PUT: ['PutBucketCors', 's3:PutBucketCORS'],
    DELETE: ['DeleteBucketCors', 's3:PutBucketCORS'],
  },
  encryption: {
    GET: ['GetBucketEncryption', 's3:GetEncryptionConfiguration'],
    PUT: ['PutBucketEncryption', 's3:PutEncryptionConfiguration'],
    DELETE: ['DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
  },
  delete: { POST: ['DeleteObjects', 's3:DeleteObject'] },
}

const OBJECT_SUBRESOURCES: Record<string, Record<string, [string, string]>> = {
  tagging: {
    GET: ['GetObjectTagging', 's3:GetObjectTagging'],
    PUT: ['PutObjectTagging', 's3:PutObjectTagging'],
    DELETE: ['DeleteObjectTagging', 's3:DeleteObjectTagging'],
  },
  acl: { GET: ['GetObjectAcl', 's3:GetObjectAcl'], PUT: ['PutObjectAcl', 's3:PutObjectAcl'] },
  attributes: { GET: ['GetObjectAttributes', 's3:GetObjectAttributes'] },
}

/** Query keys that only shape a request (never select an operation). */
const NEUTRAL_QUERY = new Set([
  'x-id',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
  'versionId',
  'partNumber',
  'uploadId',
  'max-parts',
  'part-number-marker',
  'max-uploads',
  'key-marker',
  'upload-id-marker',
  'version-id-marker',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
])

function safeDecode(text: string): string {
  // Without a '%' there is nothing to decode (decodeURIComponent would return the text as it is).
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** `bucket.<base host>` → bucket (virtual-hosted style); undefined for path style. */
export function virtualHostBucket(host: string, baseHosts: readonly string[]): string | undefined {
  const name = host.replace(/:\d+$/, '').toLowerCase()
  for (const base of baseHosts) {
    const b = base.replace(/:\d+$/, '').toLowerCase()
    if (name.length > b.length + 1 && name.endsWith(`.${b}`)) return name.slice(0, -b.length - 1)
  }
  return undefined
}

/** `s3:RequestObjectTag/*` keys from an `x-amz-tagging` header or a Tagging XML body's Key/Value pairs. */
export function tagContext(prefix: string, tags: readonly [string, string][]): RequestContext {
  const ctx: RequestContext = {}
  for (const [k, v] of tags) ctx[`${prefix}/${k}`] = v
  if (prefix === 's3:RequestObjectTag' && tags.length > 0)
    ctx['s3:RequestObjectTagKeys'] = tags.map(([k]) => k)
  return ctx
}

export function parseTaggingHeader(value: string): [string, string][] {
  const out: [string, string][] = []
  for (const part of value.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = eq === -1 ? part : part.slice(0, eq)
    const v = eq === -1 ? '' : part.slice(eq + 1)
    out.push([safeDecode(k.replace(/\+/g, ' ')), safeDecode(v.replace(/\+/g, ' '))])
  }
  return out
}

/** Key/Value pairs of a `<Tagging><TagSet><Tag>` document (S3's own XML: no attributes, no CDATA). */
export function parseTaggingXml(xml: string): [string, string][] {
  const unescape = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&')
  const out: [string, string][] = []
  for (const m of xml.matchAll(/<Tag>\s*([\s\S]*?)\s*<\/Tag>/g)) {
    const body = m[1] as string
    const k = /<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1]
    const v = /<Value>([\s\S]*?)<\/Value>/.exec(body)?.[1] ?? ''
    if (k !== undefined) out.push([unescape(k), unescape(v)])
  }
  return out
}

/** `x-amz-copy-source: /bucket/key?versionId=…` (leading slash optional, key URL-encoded). */
export function parseCopySource(value: string): {
  bucket: string
  key: string
  versionId?: string
} {
  let v = value.trim()
  const q = v.indexOf('?')
  let versionId: string | undefined
  if (q !== -1) {
    const m = /(?:^|&)versionId=([^&]*)/.exec(v.slice(q + 1))
    if (m !== null) versionId = safeDecode(m[1] as string)
    v = v.slice(0, q)
  }
  v = safeDecode(v).replace(/^\//, '')
  const slash = v.indexOf('/')
  if (slash <= 0 || slash === v.length - 1)
    throw new S3MappingError(
      'InvalidRequest',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      400,
    )
  return {
    bucket: v.slice(0, slash),
    key: v.slice(slash + 1),
    ...(versionId === undefined ? {} : { versionId }),
  }
}

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`
}

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`
}

/** Condition keys S3 sets from the request's own headers (Service Authorization Reference, "Condition keys"). */
function headerContext(headers: ReadonlyMap<string, string>, write: boolean): RequestContext {
  const ctx: RequestContext = {}
  if (!write) return ctx
  const pairs: [string, string][] = [
    ['x-amz-server-side-encryption', 's3:x-amz-server-side-encryption'],
    [
      'x-amz-server-side-encryption-aws-kms-key-id',
      's3:x-amz-server-side-encryption-aws-kms-key-id',
    ],
    ['x-amz-acl', 's3:x-amz-acl'],
    ['x-amz-storage-class', 's3:x-amz-storage-class'],
    ['x-amz-metadata-directive', 's3:x-amz-metadata-directive'],
    ['x-amz-copy-source', 's3:x-amz-copy-source'],
    ['x-amz-object-lock-mode', 's3:object-lock-mode'],
    ['x-amz-object-lock-legal-hold', 's3:object-lock-legal-hold'],
  ]
  for (const [header, key] of pairs) {
    const v = headers.get(header)
    if (v !== undefined) ctx[key] = v
  }
  const tagging = headers.get('x-amz-tagging')
  if (tagging !== undefined)
    Object.assign(ctx, tagContext('s3:RequestObjectTag', parseTaggingHeader(tagging)))
  return ctx
}

export function mapS3Request(input: S3RequestInput): S3Operation {
  const vhBucket = virtualHostBucket(input.host, input.baseHosts)
  const op = mapS3RequestStyleless(input, vhBucket)
  return vhBucket === undefined ? op : { ...op, virtualHosted: true }
}

function mapS3RequestStyleless(input: S3RequestInput, vhBucket: string | undefined): S3Operation {
  const method = input.method.toUpperCase()
  const query = new Map<string, string>()
  for (const [k, v] of input.query) if (!query.has(k)) query.set(k, v)
  let path = input.path
  let bucket: string | undefined
  let key: string | undefined
  if (vhBucket !== undefined) {
    bucket = vhBucket
    const rest = path.replace(/^\//, '')
    key = rest === '' ? undefined : safeDecode(rest)
  } else {
    path = path.replace(/^\/+/, '')
    const slash = path.indexOf('/')
    const rawBucket = slash === -1 ? path : path.slice(0, slash)
    bucket = rawBucket === '' ? undefined : safeDecode(rawBucket)
    const rest = slash === -1 ? '' : path.slice(slash + 1)
    key = rest === '' ? undefined : safeDecode(rest)
  }
  if (bucket !== undefined && !/^[a-z0-9][a-z0-9.\-_]{1,254}$/i.test(bucket))
    throw new S3MappingError('InvalidBucketName', 'The specified bucket is not valid.', 400)

  if (bucket === undefined) {
    if (method === 'GET' || method === 'HEAD')
      return {
        name: 'ListBuckets',
        checks: [{ action: 's3:ListAllMyBuckets', resource: '*', context: {} }],
        readOnly: true,
      }
    throw new S3MappingError(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      405,
    )
  }

  const subresources = [...query.keys()].filter((k) => !NEUTRAL_QUERY.has(k))

  if (key === undefined) {
    const arn = bucketArn(bucket)
    if (subresources.length > 0) {
      const sub = subresources[0] as string
      const entry = BUCKET_SUBRESOURCES[sub]?.[method]
      if (entry === undefined || subresources.length > 1)
        throw new S3MappingError(
          'NotImplemented',
          'A header you provided implies functionality that is not implemented',
          501,
        )
      const [name, action] = entry
      const local =
        name === 'PutBucketPolicy' || name === 'GetBucketPolicy' || name === 'DeleteBucketPolicy'
          ? (name as S3Operation['local'])
          : undefined
      if (name === 'DeleteObjects')
        // Each key is authorized as s3:DeleteObject; the keys are in the body (see the gateway's DeleteObjects).
        return {
          name,
          bucket,
          checks: [{ action, resource: objectArn(bucket, '*'), context: {} }],
          readOnly: false,
        }
      return {
        name,
        bucket,
        checks: [{ action, resource: arn, context: {} }],
        ...(local === undefined ? {} : { local }),
        readOnly: method === 'GET' || method === 'HEAD',
      }
    }
    switch (method) {
      case 'GET': {
        const ctx: RequestContext = {}
        for (const [q, k] of [
          ['prefix', 's3:prefix'],
          ['delimiter', 's3:delimiter'],
          ['max-keys', 's3:max-keys'],
        ] as const) {
          const v = query.get(q)
          if (v !== undefined) ctx[k] = v
        }
        return {
          name: query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects',
          bucket,
          checks: [{ action: 's3:ListBucket', resource: arn, context: ctx }],
          readOnly: true,
        }
      }
      case 'HEAD':
        return {
          name: 'HeadBucket',
          bucket,
          checks: [{ action: 's3:ListBucket', resource: arn, context: {} }],
          readOnly: true,
        }
      case 'PUT': {
        const ctx: RequestContext = {}
        const acl = input.headers.get('x-amz-acl')
        if (acl !== undefined) ctx['s3:x-amz-acl'] = acl
        return {
          name: 'CreateBucket',
          bucket,
          checks: [{ action: 's3:CreateBucket', resource: arn, context: ctx }],
          readOnly: false,
        }
      }
      case 'DELETE':
        return {
          name: 'DeleteBucket',
          bucket,
          checks: [{ action: 's3:DeleteBucket', resource: arn, context: {} }],
          readOnly: false,
        }
    }
    throw new S3MappingError(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      405,
    )
  }

  const arn = objectArn(bucket, key)
  const versionId = query.get('versionId')
  const object = { bucket, key, ...(versionId === undefined ? {} : { versionId }) }
  const versioned = versionId !== undefined
  const objectSubs = subresources.filter((s) => s !== 'uploads')
  if (objectSubs.length > 0) {
    const entry = OBJECT_SUBRESOURCES[objectSubs[0] as string]?.[method]
    if (entry === undefined || objectSubs.length > 1)
      throw new S3MappingError(
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        501,
      )
    const [name, baseAction] = entry
    const action =
      versioned && !baseAction.endsWith('Attributes')
        ? `${baseAction.replace('Object', 'ObjectVersion')}`
        : baseAction
    return {
      name,
      bucket,
      key,
      checks: [{ action, resource: arn, context: {}, object }],
      readOnly: method === 'GET',
    }
  }

  const uploadId = query.get('uploadId')
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (uploadId !== undefined)
        return {
          name: 'ListParts',
          bucket,
          key,
          checks: [{ action: 's3:ListMultipartUploadParts', resource: arn, context: {} }],
          readOnly: true,
        }
      return {
        name: method === 'GET' ? 'GetObject' : 'HeadObject',
        bucket,
        key,
        checks: [
          {
            action: versioned ? 's3:GetObjectVersion' : 's3:GetObject',
            resource: arn,
            context: {},
            object,
          },
        ],
        readOnly: true,
      }
    case 'PUT': {
      const ctx = headerContext(input.headers, true)
      const copySource = input.headers.get('x-amz-copy-source')
      const isPart = uploadId !== undefined && query.has('partNumber')
      const checks: S3Check[] = [{ action: 's3:PutObject', resource: arn, context: ctx }]
      if (copySource !== undefined) {
        const src = parseCopySource(copySource)
        checks.push({
          action: src.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion',
          resource: objectArn(src.bucket, src.key),
          context: {},
          object: src,
        })
      }
      return {
        name: isPart
          ? copySource === undefined
            ? 'UploadPart'
            : 'UploadPartCopy'
          : copySource === undefined
            ? 'PutObject'
            : 'CopyObject',
        bucket,
        key,
        checks,
        readOnly: false,
      }
    }
    case 'POST':
      if (query.has('uploads'))
        return {
          name: 'CreateMultipartUpload',
          bucket,
          key,
          checks: [
            { action: 's3:PutObject', resource: arn, context: headerContext(input.headers, true) },
          ],
          readOnly: false,
        }
      if (uploadId !== undefined)
        return {
          name: 'CompleteMultipartUpload',
          bucket,
          key,
          checks: [{ action: 's3:PutObject', resource: arn, context: {} }],
          readOnly: false,
        }
      break
    case 'DELETE':
      if (uploadId !== undefined)
        return {
          name: 'AbortMultipartUpload',
          bucket,
          key,
          checks: [{ action: 's3:AbortMultipartUpload', resource: arn, context: {} }],
          readOnly: false,
        }
      return {
        name: 'DeleteObject',
        bucket,
        key,
        checks: [
          {
            action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
            resource: arn,
            context: {},
            object,
          },
        ],
        readOnly: false,
      }
  }
  throw new S3MappingError(
    'MethodNotAllowed',
    'The specified method is not allowed against this resource.',
    405,
  )
}
