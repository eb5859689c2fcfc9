/**
 * Corpus expectations podtrust deliberately does not follow. Each override names the AWS documentation that
 * decides the case; the runner judges these cases against `ours` and reports them as disputed
 * (docs/policy-engine.md, "Disputed cases").
 */
export interface Dispute {
  /** Path of the fixture file relative to the iam-policy folder. */
  file: string
  name: string
  /** What the corpus expects. */
  corpus: string
  /** What podtrust returns, and why. */
  ours: string
  doc: string
}

export const disputes: readonly Dispute[] = [
  {
    file: 'engine-cases/sessionPolicies.json',
    name: 'Implicit deny in session policy denies even if session ARN in resource policy',
    corpus: 'ImplicitlyDenied',
    ours: 'Allowed',
    doc:
      'IAM User Guide, "Session policies" (access_policies.md): "The resource-based policy permissions are not ' +
      'limited by the session policy" when the policy names the session ARN; "Policy evaluation logic" ' +
      '(reference_policies_evaluation-logic.md): a grant to the role-session ARN is not limited by an implicit ' +
      'deny in a session policy.',
  },
]
