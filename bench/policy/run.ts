/**
 * `npm run bench:policy`: the same requests through podtrust's engine and through @cloud-copilot/iam-simulate's
 * public API (runSimulation, validated and async; runUnsafeSimulation, sync — it ignores session policies, so it
 * is measured only on requests without one). iam-simulate is AGPL: a devDependency used here only, never by src/.
 * Prints evaluations/s per engine and the ratios; each loop is time-boxed so the whole run stays well under a
 * minute. BENCH_MS overrides the per-loop budget (default 1500 ms).
 */
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { authorize, compilePolicy, type AuthorizationRequest } from '../../src/policy/index.ts'

const BUDGET_MS = Number(process.env['BENCH_MS'] ?? 1500)
const ACCT = '111122223333'
const PRINCIPAL = `arn:aws:sts::${ACCT}:assumed-role/payments-api/botocore-session-1`

interface Shape {
  name: string
  identity: object[]
  boundary?: object
  session?: object
  resource?: object
  action: string
  resourceArn: string
  context: Record<string, string | string[]>
}

const oneStatement: Shape = {
  name: 'one-statement identity policy',
  identity: [
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::podtrust-data/*' },
      ],
    },
  ],
  action: 's3:GetObject',
  resourceArn: 'arn:aws:s3:::podtrust-data/teams/payments/report.csv',
  context: {},
}

// 20 statements: conditions of several operator families and policy variables; the matching one is last.
const twenty = Array.from({ length: 19 }, (_, i) => ({
  Sid: `Team${i}`,
  Effect: 'Allow',
  Action: [`s3:Put${i}Object`, `s3:List${i}*`],
  Resource: `arn:aws:s3:::podtrust-data/teams/\${aws:PrincipalTag/team}/${i}/*`,
  Condition: {
    StringEquals: { 'aws:PrincipalTag/team': `team-${i}` },
    Bool: { 'aws:SecureTransport': 'true' },
    IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] },
  },
}))
const twentyStatements: Shape = {
  name: '20-statement policy with conditions and variables',
  identity: [
    {
      Version: '2012-10-17',
      Statement: [
        ...twenty,
        {
          Sid: 'ReadTeamObjects',
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: 'arn:aws:s3:::podtrust-data/teams/${aws:PrincipalTag/team}/*',
          Condition: {
            StringEquals: { 'aws:PrincipalTag/team': 'payments' },
            Bool: { 'aws:SecureTransport': 'true' },
            StringLike: { 'aws:userid': 'AROA*:botocore-*' },
            DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' },
          },
        },
      ],
    },
  ],
  action: 's3:GetObject',
  resourceArn: 'arn:aws:s3:::podtrust-data/teams/payments/report.csv',
  context: {
    'aws:PrincipalTag/team': 'payments',
    'aws:SecureTransport': 'true',
    'aws:SourceIp': '10.1.2.3',
    'aws:userid': 'AROAEXAMPLE:botocore-session-1',
    'aws:CurrentTime': '2026-11-23T00:00:00Z',
  },
}

const fullFlow: Shape = {
  name: 'full flow: identity + boundary + session + resource policy',
  identity: twentyStatements.identity,
  boundary: {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:Delete*', Resource: '*' },
    ],
  },
  session: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:Get*', 's3:List*'],
        Resource: 'arn:aws:s3:::podtrust-data/*',
      },
    ],
  },
  resource: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::podtrust-data/*',
      },
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: 'arn:aws:s3:::podtrust-data/*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  },
  action: 's3:GetObject',
  resourceArn: 'arn:aws:s3:::podtrust-data/teams/payments/report.csv',
  context: twentyStatements.context,
}

function podtrustRequest(s: Shape): AuthorizationRequest {
  return {
    principal: PRINCIPAL,
    action: s.action,
    resource: s.resourceArn,
    resourceAccount: ACCT,
    context: s.context,
    identityPolicies: s.identity.map((p, i) => compilePolicy(p, { id: String(i) })),
    ...(s.boundary === undefined
      ? {}
      : { permissionBoundaries: [compilePolicy(s.boundary, { type: 'boundary' })] }),
    ...(s.session === undefined
      ? {}
      : { sessionPolicies: [compilePolicy(s.session, { type: 'session' })] }),
    ...(s.resource === undefined
      ? {}
      : { resourcePolicy: compilePolicy(s.resource, { type: 'resource' }) }),
  }
}

function simulation(s: Shape): Parameters<typeof runUnsafeSimulation>[0] {
  return {
    identityPolicies: s.identity.map((policy, i) => ({ name: String(i), policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(s.boundary === undefined
      ? {}
      : { permissionBoundaryPolicies: [{ name: 'pb', policy: s.boundary }] }),
    ...(s.session === undefined ? {} : { sessionPolicy: s.session }),
    ...(s.resource === undefined ? {} : { resourcePolicy: s.resource }),
    request: {
      action: s.action,
      principal: PRINCIPAL,
      resource: { resource: s.resourceArn, accountId: ACCT },
      contextVariables: s.context,
    },
  }
}

/** Runs `fn` repeatedly for about BUDGET_MS after a warm-up; returns evaluations per second. */
async function measure(fn: () => unknown, isAsync: boolean): Promise<number> {
  // Sync engines are called without `await` (awaiting a non-promise would add a microtask per call).
  const batch = isAsync
    ? async (k: number) => {
        for (let i = 0; i < k; i++) await fn()
      }
    : (k: number) => {
        for (let i = 0; i < k; i++) fn()
      }
  await batch(200)
  let n = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(BUDGET_MS) * 1_000_000n
  let now = start
  while (now < end) {
    await batch(64)
    n += 64
    now = process.hrtime.bigint()
  }
  return n / (Number(now - start) / 1e9)
}

const decisionOf = (r: unknown): string => {
  if (typeof r === 'string') return r
  const x = r as {
    overallResult?: string
    result?: { analysis?: { result?: string } }
    analysis?: { result?: string }
  }
  return (
    x.overallResult ??
    x.result?.analysis?.result ??
    x.analysis?.result ??
    JSON.stringify(r).slice(0, 80)
  )
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
console.log(`node ${process.version}, ${BUDGET_MS} ms per loop`)
const summary: {
  shape: string
  podtrust: number
  runSimulation: number
  runUnsafeSimulation?: number
  ratio: number
}[] = []
for (const shape of [oneStatement, twentyStatements, fullFlow]) {
  const request = podtrustRequest(shape)
  const sim = simulation(shape)
  const ours = authorize(request).decision
  const theirs = decisionOf(await runSimulation(sim, {}))
  const unsafeApplies = shape.session === undefined
  console.log(
    `\n${shape.name}\n  decisions: podtrust ${ours}, runSimulation ${theirs}${unsafeApplies ? `, runUnsafeSimulation ${decisionOf(runUnsafeSimulation(sim, {}))}` : ''}`,
  )
  const podtrust = await measure(() => authorize(request), false)
  const validated = await measure(() => runSimulation(sim, {}), true)
  const unsafe = unsafeApplies
    ? await measure(() => runUnsafeSimulation(sim, {}), false)
    : undefined
  const fastest = Math.max(validated, unsafe ?? 0)
  console.log(`  podtrust authorize        ${fmt(podtrust).padStart(12)} evaluations/s`)
  console.log(
    `  iam-simulate runSimulation ${fmt(validated).padStart(11)} evaluations/s  (podtrust ×${(podtrust / validated).toFixed(1)})`,
  )
  if (unsafe !== undefined) {
    console.log(
      `  iam-simulate runUnsafe    ${fmt(unsafe).padStart(12)} evaluations/s  (podtrust ×${(podtrust / unsafe).toFixed(1)})`,
    )
  } else console.log('  iam-simulate runUnsafe    (not measured: it ignores session policies)')
  console.log(`  ratio vs the faster iam-simulate entry point: ×${(podtrust / fastest).toFixed(1)}`)
  summary.push({
    shape: shape.name,
    podtrust,
    runSimulation: validated,
    ...(unsafe === undefined ? {} : { runUnsafeSimulation: unsafe }),
    ratio: podtrust / fastest,
  })
}
const worst = Math.min(...summary.map((s) => s.ratio))
console.log(`\nminimum ratio over the three shapes: ×${worst.toFixed(1)} (goal ≥ ×10)`)
