/**
 * One audit event, in CloudTrail's field names so later paths (gateway, Entra, Google STS) extend one schema.
 * Secrets are redacted before an event is built: never a token, a secret access key or a session token.
 */
export interface AuditEvent {
  eventVersion: '1.08'
  /** RFC 3339, UTC, whole seconds, ending in `Z`. */
  eventTime: string
  /** `sts.amazonaws.com`, `iam.amazonaws.com`, `eks-auth.amazonaws.com`, `login.microsoftonline.com`, `sts.googleapis.com`, … */
  eventSource: string
  /** The API action: `AssumeRoleWithWebIdentity`, `CreateRole`, `token`, … */
  eventName: string
  awsRegion: string
  sourceIPAddress: string
  userAgent: string
  userIdentity: {
    type: string
    principalId?: string
    arn?: string
    accountId?: string
    accessKeyId?: string
    userName?: string
    identityProvider?: string
    [extra: string]: unknown
  }
  requestParameters: Record<string, unknown> | null
  responseElements: Record<string, unknown> | null
  errorCode?: string
  errorMessage?: string
  requestID: string
  eventID: string
  readOnly: boolean
  eventType: 'AwsApiCall' | 'AwsServiceEvent'
  recipientAccountId?: string
  additionalEventData?: Record<string, unknown>
  /**
   * Present and true when a field was cut to the per-event bound (as CloudTrail marks truncated fields):
   * long strings end with `…[truncated N chars]`, an oversize object becomes `{ omitted: true, size: N }`.
   */
  omitted?: boolean
}

export interface AuditSink {
  /** Resolves once the event is durable (group-committed with concurrent events). */
  record(event: AuditEvent, meta?: RecordMeta): Promise<void>
}

/** What a caller knows about the decision beside its event (not stored). */
export interface RecordMeta {
  /** `process.hrtime.bigint()` when the request arrived, for the decision-latency metric. */
  startedAt?: bigint
}
