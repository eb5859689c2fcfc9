/**
 * `podtrust export --format terraform|cloudformation`: podtrust's live state as IaC. Checked like the spec
 * renderings: the HCL parses with HashiCorp's parser and describes the same IAM state as the store's own
 * export; the templates validate against the CloudFormation resource specification.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, it } from 'node:test'
import { applyCommand } from '../../../src/cli/commands/apply.ts'
import { exportCommand } from '../../../src/cli/commands/export.ts'
import { generate, parseSpec } from '../../../src/generate/index.ts'
import { templateProblems } from './cfn-spec.ts'
import {
  parseTerraform,
  stateFromCloudFormation,
  stateFromPodtrustExport,
  stateFromTerraform,
  terraformLiteral,
} from './iam-state.ts'
import { FULL_SPEC } from './spec-example.ts'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const EXTRA = `version: 1
policies:
  - name: SendToQueue
    account: '111122223333'
    path: /app/
    document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}'
roles:
  - name: deployer
    account: '111122223333'
    description: chained from carts
    maxSessionDuration: 7200
    permissionsBoundary: arn:aws:iam::aws:policy/ReadOnlyAccess
    assumeRolePolicy:
      Version: '2012-10-17'
      Statement:
        - { Effect: Allow, Principal: { AWS: 'arn:aws:iam::111122223333:role/carts' }, Action: sts:AssumeRole }
    policies:
      list-buckets: { Version: '2012-10-17', Statement: [{ Effect: Allow, Action: 's3:ListAllMyBuckets', Resource: '*' }] }
    managedPolicies: [SendToQueue]
    tags: { team: platform }
`

async function run(
  cmd: typeof exportCommand,
  argv: string[],
): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => (out += c.toString()))
  stderr.on('data', (c: Buffer) => (err += c.toString()))
  const code = await cmd.run(argv, { stdout, stderr, env: {}, cwd: process.cwd() })
  assert.equal(code, 0, err)
  return { code, stdout: out }
}

void describe('podtrust export --format', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-export-'))
  dirs.push(dir)
  const store = ['--data-dir', join(dir, 'data')]
  const prepared = (async () => {
    const spec = generate('terraform', parseSpec(FULL_SPEC)).find(
      (f) => f.path === 'podtrust.yaml',
    )!.content
    writeFileSync(join(dir, 'spec.yaml'), spec)
    writeFileSync(join(dir, 'extra.yaml'), EXTRA)
    await run(applyCommand, [join(dir, 'spec.yaml'), ...store])
    await run(applyCommand, [join(dir, 'extra.yaml'), ...store])
    return (await run(exportCommand, store)).stdout
  })()

  void it('terraform: parses, and describes the same IAM state as the store', async () => {
    const yaml = await prepared
    await run(exportCommand, ['--format', 'terraform', '--out', join(dir, 'tf'), ...store])
    const text = readFileSync(join(dir, 'tf', 'main.tf'), 'utf8')
    const tf = await parseTerraform(text)
    const fromTf = stateFromTerraform(tf)
    const fromStore = stateFromPodtrustExport(yaml)
    assert.deepEqual(fromTf, fromStore)
    assert.deepEqual(Object.keys(fromTf.roles).sort(), ['carts', 'checkout', 'deployer'])
    const deployer = tf['resource']['aws_iam_role']['deployer_111122223333'][0]
    assert.equal(deployer.max_session_duration, 7200)
    assert.equal(deployer.permissions_boundary, 'arn:aws:iam::aws:policy/ReadOnlyAccess')
    assert.deepEqual(deployer.tags, { team: 'platform' })
    const inline = tf['resource']['aws_iam_role_policy']['deployer_111122223333_list-buckets'][0]
    assert.equal(
      JSON.parse(terraformLiteral(inline.policy)).Statement[0].Action,
      's3:ListAllMyBuckets',
    )
    assert.deepEqual(
      JSON.parse(
        terraformLiteral(tf['resource']['aws_iam_policy']['SendToQueue_111122223333'][0].policy),
      ),
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
      },
    )
    assert.equal(
      tf['resource']['azurerm_federated_identity_credential'][
        'reports_eks-workshop-analytics-reports'
      ][0].subject,
      'system:serviceaccount:analytics:reports',
    )
    assert.ok(tf['resource']['google_iam_workload_identity_pool_provider'])
  })

  void it('cloudformation: valid against the resource specification, and the same IAM state', async () => {
    const yaml = await prepared
    const { stdout } = await run(exportCommand, ['--format', 'cloudformation', ...store])
    const template = JSON.parse(stdout)
    assert.deepEqual(templateProblems(template), [])
    const fromCfn = stateFromCloudFormation(template)
    const fromStore = stateFromPodtrustExport(yaml)
    // Inline policies and boundaries are not in the normalized view; the roles' trust and attachments are.
    assert.deepEqual(fromCfn.roles, fromStore.roles)
    assert.deepEqual(fromCfn.associations, fromStore.associations)
    assert.equal(template.Resources.DeployerRole.Properties.Policies[0].PolicyName, 'list-buckets')
  })

  void it('rejects an unknown format', async () => {
    await assert.rejects(
      exportCommand.run(['--format', 'pulumi'], {
        stdout: new PassThrough(),
        stderr: new PassThrough(),
        env: {},
        cwd: process.cwd(),
      }),
      /unknown format 'pulumi'/,
    )
  })
})
