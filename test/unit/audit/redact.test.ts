/**
 * Audit redaction keeps CloudTrail's S3 `additionalEventData.SignatureVersion` ("SigV2" / "SigV4", which
 * names no credential: https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html)
 * and still hides signatures themselves.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { redact, REDACTED } from '../../../src/audit/redact.ts'

void it('SignatureVersion is kept; Signature and X-Amz-Signature are redacted', () => {
  assert.deepEqual(
    redact({
      additionalEventData: { SignatureVersion: 'SigV2', AuthenticationMethod: 'QueryString' },
      Signature: 'cUeSrvRbxmMglWbLUa62gGSs7bQ=',
      'X-Amz-Signature': 'abcdef',
    }),
    {
      additionalEventData: { SignatureVersion: 'SigV2', AuthenticationMethod: 'QueryString' },
      Signature: REDACTED,
      'X-Amz-Signature': REDACTED,
    },
  )
})
