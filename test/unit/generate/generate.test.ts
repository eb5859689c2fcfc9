/**
 * generate: the spec's validation, and each rendering checked rather than printed — Terraform parsed by
 * HashiCorp's HCL parser (@cdktf/hcl2json, a test-only dependency), CloudFormation validated against the
 * published resource specification (@aws-cdk/aws-service-spec), and equivalence: the podtrust config the
 * generator emits, applied to a fresh store with `applyConfig` (what `podtrust apply` runs), exports the same
 * IAM state the Terraform and the template describe, resource by resource; and the policy engine decides a
 * set of requests the same way on either side.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parse as parseHcl } from '@cdktf/hcl2json'
import { parse as parseYaml, stringify } from 'yaml'
import { ConfigError } from '../../../src/config/errors.ts'
import { buildModel, generate, parseSpec } from '../../../src/generate/index.ts'
import { buildCloudFormation } from '../../../src/generate/cloudformation.ts'
import { quote, renderHcl, attr, block } from '../../../src/generate/hcl.ts'
import { buildPodtrustConfig } from '../../../src/generate/podtrust-config.ts'
import { renderTerraform } from '../../../src/generate/terraform.ts'
import { authorize, compilePolicy } from '../../../src/policy/index.ts'
import { applyConfig, exportConfig } from '../../../src/server/config.ts'
import { openTestDb } from '../store/engines.ts'
import { templateProblems } from './cfn-spec.ts'
import {
  parseTerraform,
  stateFromCloudFormation,
  stateFromPodtrustExport,
  stateFromTerraform,
  terraformLiteral,
} from './iam-state.ts'
import { FULL_SPEC } from './spec-example.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- exported YAML, read field by field
type Obj = Record<string, any>

const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}
const ISSUER_HOST = 'oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE'

function specError(text: string): ConfigError {
  try {
    parseSpec(text)
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err
  }
  assert.fail('the spec was accepted')
}

const MINIMAL = (workload: string) => `cluster: { name: c, issuer: 'https://oidc.example.com' }
aws: { accountId: '111122223333', region: us-east-1 }
workloads:
${workload}
`

void describe('generate: the workload spec', () => {
  void it('names the path of an unknown key, a missing key, a bad value', () => {
    assert.equal(
      specError(MINIMAL('  - { name: a, namespace: n, aws: { methd: irsa } }')).message,
      'workloads[0].aws.methd: unknown key `methd`',
    )
    assert.equal(
      specError(
        MINIMAL(
          '  - { name: a, aws: { managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess] } }',
        ),
      ).message,
      'workloads[0].namespace: is required',
    )
    assert.equal(
      specError(
        MINIMAL(
          '  - { name: a, namespace: n, aws: { method: kiam, managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess] } }',
        ),
      ).message,
      'workloads[0].aws.method: must be one of `irsa`, `pod-identity`',
    )
    assert.equal(
      specError(MINIMAL('  - { name: a, namespace: n, aws: {} }')).message,
      'workloads[0].aws: grants nothing',
    )
    assert.match(
      specError(MINIMAL('  - { name: a, namespace: n, azure: {} }')).message,
      /^workloads\[0\]\.azure: needs the top-level `azure` section/,
    )
    assert.equal(
      specError('cluster: { name: c, issuer: http://x }\nworkloads: []\n').message.split(':')[0],
      'cluster.issuer',
    )
    assert.equal(
      specError(
        `${MINIMAL('  - { name: a, namespace: n, aws: { managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess] } }')}extra: 1\n`,
      ).message,
      'extra: unknown key `extra`',
    )
    assert.equal(specError('a: 1\na: 2\n').code, 'CONFIG_YAML_INVALID')
  })

  void it('rejects two workloads sharing a role name (one trust policy each)', () => {
    const w =
      '  - { name: a, namespace: n, aws: { roleName: r, managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess] } }\n  - { name: b, namespace: n, aws: { roleName: R, managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess] } }'
    assert.match(
      specError(MINIMAL(w)).message,
      /^workloads\[1\]\.aws\.roleName: role `R` is already used by workloads\[0\]/,
    )
  })

  void it('builds the documented trust policies (IRSA: sub and aud; Pod Identity: AssumeRole + TagSession)', () => {
    const model = buildModel(parseSpec(FULL_SPEC))
    const carts = model.roles.find((r) => r.name === 'carts')!
    assert.deepEqual(carts.trustPolicy.Statement, [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${ISSUER_HOST}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:carts:carts',
            [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
          },
        },
      },
    ])
    const checkout = model.roles.find((r) => r.name === 'checkout')!
    assert.deepEqual(checkout.trustPolicy.Statement, [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ])
    assert.equal(checkout.arn, 'arn:aws:iam::111122223333:role/workloads/checkout')
    assert.deepEqual(checkout.association, {
      cluster: 'eks-workshop',
      namespace: 'checkout',
      serviceAccount: 'checkout-sa',
    })
  })
})

void describe("generate terraform: HashiCorp's HCL parser reads what we write", () => {
  void it('string literals round-trip through the parser, interpolation sequences included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom('', '${', '%{', '$${', '\\', '"', '\n'),
        async (s, special) => {
          const value = `${s}${special}${s}`
          const parsed = (await parseHcl(
            't.tf',
            renderHcl([block('locals', [], attr('v', value))]),
          )) as { locals: Array<{ v: string }> }
          // HCL normalizes string literals to Unicode NFC (hclsyntax), as Terraform will.
          assert.equal(terraformLiteral(parsed.locals[0]!.v), value.normalize('NFC'))
        },
      ),
      { numRuns: 60 },
    )
    assert.equal(quote('${x}'), '"$${x}"')
  })

  void it("the spec's main.tf parses, with every resource the spec means", async () => {
    const tf = await parseTerraform(renderTerraform(buildModel(parseSpec(FULL_SPEC)))[0]!.content)
    const r = tf['resource']
    assert.deepEqual(Object.keys(r).sort(), [
      'aws_eks_pod_identity_association',
      'aws_iam_openid_connect_provider',
      'aws_iam_policy',
      'aws_iam_role',
      'aws_iam_role_policy_attachment',
      'azurerm_federated_identity_credential',
      'azurerm_role_assignment',
      'azurerm_user_assigned_identity',
      'google_iam_workload_identity_pool',
      'google_iam_workload_identity_pool_provider',
      'google_project_iam_member',
      'google_service_account',
      'google_service_account_iam_member',
    ])
    const fic = r['azurerm_federated_identity_credential']['reports'][0]
    assert.equal(fic.subject, 'system:serviceaccount:analytics:reports')
    assert.deepEqual(fic.audience, ['api://AzureADTokenExchange'])
    assert.equal(fic.parent_id, '${azurerm_user_assigned_identity.reports.id}')
    const provider = r['google_iam_workload_identity_pool_provider']['cluster'][0]
    assert.equal(provider.attribute_mapping['google.subject'], 'assertion.sub')
    assert.equal(provider.attribute_condition, "attribute.namespace in ['analytics']")
    assert.equal(provider.oidc[0].issuer_uri, `https://${ISSUER_HOST}`)
    const wiu = r['google_service_account_iam_member']['reports_workload_identity_user'][0]
    assert.equal(wiu.role, 'roles/iam.workloadIdentityUser')
    assert.equal(
      wiu.member,
      'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kubernetes/subject/system:serviceaccount:analytics:reports',
    )
    // Without a Google service account the role goes to the federated principal itself.
    assert.match(
      r['google_project_iam_member']['indexer_0'][0].member,
      /^principal:\/\/.*subject\/system:serviceaccount:analytics:indexer$/,
    )
    assert.equal(
      r['google_project_iam_member']['reports_0'][0].member,
      'serviceAccount:${google_service_account.reports.email}',
    )
  })

  void it('GKE Workload Identity: the project pool, GKE members, the iam.gke.io annotation, no credential file', async () => {
    const spec = parseSpec(
      FULL_SPEC.replace(
        "  projectNumber: '123456789012'\n",
        "  projectNumber: '123456789012'\n  gke: true\n",
      ),
    )
    const model = buildModel(spec)
    const tf = await parseTerraform(renderTerraform(model)[0]!.content)
    const r = tf['resource']
    assert.equal(r['google_iam_workload_identity_pool'], undefined)
    assert.equal(
      r['google_service_account_iam_member']['reports_workload_identity_user'][0].member,
      'serviceAccount:demo-project.svc.id.goog[analytics/reports]',
    )
    // https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity: principal://…/PROJECT.svc.id.goog/subject/ns/NS/sa/SA
    assert.equal(
      r['google_project_iam_member']['indexer_0'][0].member,
      'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/demo-project.svc.id.goog/subject/ns/analytics/sa/indexer',
    )
    const reports = model.serviceAccounts.find((s) => s.name === 'reports')!
    assert.equal(
      reports.annotations['iam.gke.io/gcp-service-account'],
      'reports-reader@demo-project.iam.gserviceaccount.com',
    )
    assert.equal(reports.gcpCredentialConfig, undefined)
    assert.equal(buildPodtrustConfig(model)['gcp'], undefined)
  })

  void it('an existing OIDC provider is a data source, and the roles depend on it', async () => {
    const spec = FULL_SPEC.replace(
      '  region: us-west-2\n',
      '  region: us-west-2\n  existingOidcProvider: true\n',
    )
    const tf = await parseTerraform(renderTerraform(buildModel(parseSpec(spec)))[0]!.content)
    assert.equal(tf['resource']['aws_iam_openid_connect_provider'], undefined)
    assert.equal(
      tf['data']['aws_iam_openid_connect_provider']['cluster'][0].url,
      `https://${ISSUER_HOST}`,
    )
    assert.deepEqual(tf['resource']['aws_iam_role']['carts'][0].depends_on, [
      '${data.aws_iam_openid_connect_provider.cluster}',
    ])
  })

  void it('a syntax error would be caught: the parser rejects broken HCL', async () => {
    await assert.rejects(parseHcl('bad.tf', 'resource "a" "b" {\n  x = \n}\n'))
  })
})

void describe('generate cloudformation: valid against the CloudFormation resource specification', () => {
  void it('every resource, property, type and reference of the template is in the specification', () => {
    const template = buildCloudFormation(buildModel(parseSpec(FULL_SPEC)))
    assert.deepEqual(templateProblems(template), [])
    const types = Object.values(template.Resources)
      .map((r) => r.Type)
      .sort()
    assert.deepEqual(types, [
      'AWS::EKS::PodIdentityAssociation',
      'AWS::IAM::ManagedPolicy',
      'AWS::IAM::ManagedPolicy',
      'AWS::IAM::OIDCProvider',
      'AWS::IAM::Role',
      'AWS::IAM::Role',
    ])
  })

  void it('the validator itself catches a wrong property name, type and a missing required property', () => {
    const template = buildCloudFormation(buildModel(parseSpec(FULL_SPEC)))
    const role = template.Resources['CartsRole']!
    role.Properties['RoleNmae'] = 'x'
    role.Properties['Path'] = 3
    delete role.Properties['AssumeRolePolicyDocument']
    assert.deepEqual(templateProblems(template).sort(), [
      'CartsRole.Properties.AssumeRolePolicyDocument: required',
      'CartsRole.Properties.Path: expected a string',
      'CartsRole.Properties.RoleNmae: unknown property',
    ])
  })
})

void describe('generate: equivalence with podtrust apply', () => {
  void it('Terraform, CloudFormation and the applied podtrust config describe the same IAM state, resource by resource', async () => {
    const model = buildModel(parseSpec(FULL_SPEC))
    const files = generate('terraform', parseSpec(FULL_SPEC))
    const tfState = stateFromTerraform(
      await parseTerraform(files.find((f) => f.path === 'main.tf')!.content),
    )
    const cfnState = stateFromCloudFormation(buildCloudFormation(model))
    const t = await openTestDb('sqlite')
    try {
      await applyConfig(t.db, files.find((f) => f.path === 'podtrust.yaml')!.content, env)
      const exported = stateFromPodtrustExport(await exportConfig(t.db, env))
      assert.deepEqual(Object.keys(tfState.roles).sort(), ['carts', 'checkout'])
      for (const name of Object.keys(tfState.roles)) {
        assert.deepEqual(
          exported.roles[name],
          tfState.roles[name],
          `role ${name}: podtrust vs Terraform`,
        )
        assert.deepEqual(
          cfnState.roles[name],
          tfState.roles[name],
          `role ${name}: CloudFormation vs Terraform`,
        )
      }
      assert.deepEqual(Object.keys(exported.roles).sort(), Object.keys(tfState.roles).sort())
      assert.deepEqual(exported.oidcProviders, tfState.oidcProviders)
      assert.deepEqual(cfnState.oidcProviders, tfState.oidcProviders)
      assert.deepEqual(exported.associations, tfState.associations)
      assert.deepEqual(cfnState.associations, tfState.associations)
      assert.equal(tfState.associations.length, 1)
    } finally {
      await t.cleanup()
    }
  })

  void it('the policy engine decides the same on the Terraform side and the applied podtrust side', async () => {
    const files = generate('terraform', parseSpec(FULL_SPEC))
    const tfState = stateFromTerraform(
      await parseTerraform(files.find((f) => f.path === 'main.tf')!.content),
    )
    const t = await openTestDb('sqlite')
    let exported
    try {
      await applyConfig(t.db, files.find((f) => f.path === 'podtrust.yaml')!.content, env)
      exported = stateFromPodtrustExport(await exportConfig(t.db, env))
    } finally {
      await t.cleanup()
    }
    const provider = `arn:aws:iam::111122223333:oidc-provider/${ISSUER_HOST}`
    const trustCases = [
      // IRSA: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
      {
        role: 'carts',
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        context: {
          [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:carts:carts',
          [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
        },
        expect: 'Allowed',
      },
      {
        role: 'carts',
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        context: {
          [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:carts:other',
          [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
        },
        expect: 'ImplicitlyDenied',
      },
      {
        role: 'carts',
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        context: {
          [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:carts:carts',
          [`${ISSUER_HOST}:aud`]: 'pods.eks.amazonaws.com',
        },
        expect: 'ImplicitlyDenied',
      },
      {
        role: 'carts',
        principal: 'pods.eks.amazonaws.com',
        action: 'sts:AssumeRole',
        context: {},
        expect: 'ImplicitlyDenied',
      },
      // Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
      {
        role: 'checkout',
        principal: 'pods.eks.amazonaws.com',
        action: 'sts:AssumeRole',
        context: {},
        expect: 'Allowed',
      },
      {
        role: 'checkout',
        principal: 'pods.eks.amazonaws.com',
        action: 'sts:TagSession',
        context: {},
        expect: 'Allowed',
      },
      {
        role: 'checkout',
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        context: {},
        expect: 'ImplicitlyDenied',
      },
    ] as const
    for (const side of [tfState, exported]) {
      for (const c of trustCases) {
        const trust = compilePolicy(side.roles[c.role]!.trust as object, {
          id: 'trust',
          type: 'trust',
        })
        const result = authorize({
          principal: c.principal,
          action: c.action,
          resource: `arn:aws:iam::111122223333:role${side.roles[c.role]!.path}${c.role}`,
          resourceAccount: '111122223333',
          context: { ...c.context },
          identityPolicies: [],
          resourcePolicy: trust,
          resourcePolicyIsGate: true,
        })
        assert.equal(
          result.decision,
          c.expect,
          `${c.role} ${c.action} ${JSON.stringify(c.context)}`,
        )
      }
    }
    const permissionCases = [
      {
        role: 'carts',
        action: 'dynamodb:GetItem',
        resource: 'arn:aws:dynamodb:us-west-2:111122223333:table/eks-workshop-carts',
        context: {},
        expect: 'Allowed',
      },
      {
        role: 'carts',
        action: 'dynamodb:Query',
        resource:
          'arn:aws:dynamodb:us-west-2:111122223333:table/eks-workshop-carts/index/by-customer',
        context: {},
        expect: 'Allowed',
      },
      {
        role: 'carts',
        action: 'dynamodb:DeleteTable',
        resource: 'arn:aws:dynamodb:us-west-2:111122223333:table/eks-workshop-carts',
        context: {},
        expect: 'ImplicitlyDenied',
      },
      // ${aws:username} survived Terraform's escaping as an IAM policy variable.
      {
        role: 'checkout',
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::checkout-alice/x',
        context: { 'aws:username': 'alice' },
        expect: 'Allowed',
      },
      {
        role: 'checkout',
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::checkout-bob/x',
        context: { 'aws:username': 'alice' },
        expect: 'ImplicitlyDenied',
      },
    ] as const
    for (const side of [tfState, exported]) {
      for (const c of permissionCases) {
        const identityPolicies = side.roles[c.role]!.attached.filter((a) => a.startsWith('{')).map(
          (doc, i) => compilePolicy(JSON.parse(doc), { id: `p${i}`, type: 'managed' }),
        )
        const result = authorize({
          principal: `arn:aws:sts::111122223333:assumed-role/${c.role}/s`,
          action: c.action,
          resource: c.resource,
          resourceAccount: '111122223333',
          context: { ...c.context },
          identityPolicies,
        })
        assert.equal(result.decision, c.expect, `${c.role} ${c.action} ${c.resource}`)
      }
    }
  })

  void it('Azure federated credentials and Google pool, provider and bindings agree between Terraform and the applied config', async () => {
    const files = generate('terraform', parseSpec(FULL_SPEC))
    const tf = await parseTerraform(files.find((f) => f.path === 'main.tf')!.content)
    const r = tf['resource']
    const t = await openTestDb('sqlite')
    let exported: Obj
    try {
      await applyConfig(t.db, files.find((f) => f.path === 'podtrust.yaml')!.content, env)
      exported = parseYaml(await exportConfig(t.db, env)) as Obj
    } finally {
      await t.cleanup()
    }
    const identity = exported['azure'].tenants[0].identities[0]
    const tfIdentity = r['azurerm_user_assigned_identity']['reports'][0]
    assert.equal(identity.name, tfIdentity.name)
    const fic = identity.federatedCredentials[0]
    const tfFic = r['azurerm_federated_identity_credential']['reports'][0]
    assert.deepEqual(
      [fic.name, fic.issuer, fic.subject, fic.audiences],
      [tfFic.name, tfFic.issuer, tfFic.subject, tfFic.audience],
    )
    const project = exported['gcp'].projects[0]
    const provider = project.pools[0].providers[0]
    const tfProvider = r['google_iam_workload_identity_pool_provider']['cluster'][0]
    assert.equal(
      project.pools[0].poolId,
      r['google_iam_workload_identity_pool']['cluster'][0].workload_identity_pool_id,
    )
    assert.equal(provider.providerId, tfProvider.workload_identity_pool_provider_id)
    assert.deepEqual(provider.attributeMapping, tfProvider.attribute_mapping)
    assert.equal(provider.attributeCondition, tfProvider.attribute_condition)
    assert.equal(provider.oidc.issuerUri, tfProvider.oidc[0].issuer_uri)
    const binding = project.serviceAccounts[0].bindings[0]
    const tfBinding = r['google_service_account_iam_member']['reports_workload_identity_user'][0]
    assert.deepEqual([binding.role, binding.members], [tfBinding.role, [tfBinding.member]])
    assert.equal(
      project.serviceAccounts[0].email,
      `${r['google_service_account']['reports'][0].account_id}@demo-project.iam.gserviceaccount.com`,
    )
  })

  void it('what podtrust cannot model is listed, not dropped silently', () => {
    const files = generate('terraform', parseSpec(FULL_SPEC))
    const config = files.find((f) => f.path === 'podtrust.yaml')!.content
    assert.match(
      config,
      /# {3}reports: Azure role assignment Storage Blob Data Reader on \/subscriptions\//,
    )
    assert.match(config, /# {3}indexer: Google project role roles\/pubsub\.subscriber/)
    assert.ok(
      stringify(buildPodtrustConfig(buildModel(parseSpec(FULL_SPEC)))).includes(
        'workloadIdentityPools/kubernetes/subject/system:serviceaccount:analytics:reports',
      ),
    )
  })
})
