/**
 * generate manifests: the ServiceAccounts and the kustomize Component render with `kubectl kustomize` and
 * validate offline against the Kubernetes schemas (test/unit/deploy's helpers); the Component, added to a
 * real application (the EKS workshop's carts, from ../shared), points its Deployment at the ServiceAccount.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { after, describe, it } from 'node:test'
import { stringify } from 'yaml'
import { GenerateError } from '../../../src/generate/errors.ts'
import { generate, parseSpec } from '../../../src/generate/index.ts'
import { writeGeneratedFiles } from '../../../src/generate/write.ts'
import { problems, render, type KubeObject } from '../deploy/manifests.ts'
import { FULL_SPEC } from './spec-example.ts'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'podtrust-generate-'))
  dirs.push(d)
  return d
}

const CARTS = resolve(
  import.meta.dirname,
  '../../../../shared/conformance/scan-inputs/k8s/eks-workshop-v2/base-application/carts',
)

const byName = (objects: KubeObject[], kind: string, name: string): KubeObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name)

void describe('generate manifests', () => {
  const out = tmp()
  writeGeneratedFiles(out, generate('manifests', parseSpec(FULL_SPEC)))

  void it('renders with kubectl kustomize and validates against the Kubernetes schemas', () => {
    const objects = render(out)
    assert.deepEqual(objects.flatMap(problems), [])
    assert.deepEqual(
      objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort(),
      [
        'ConfigMap analytics/indexer-gcp-credentials',
        'ConfigMap analytics/reports-gcp-credentials',
        'ServiceAccount analytics/indexer',
        'ServiceAccount analytics/reports',
        'ServiceAccount carts/carts',
        'ServiceAccount checkout/checkout-sa',
      ],
    )
  })

  void it('carries the annotations each cloud reads', () => {
    const objects = render(out)
    const carts = byName(objects, 'ServiceAccount', 'carts')!
    assert.deepEqual(carts.metadata['annotations'], {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/carts',
    })
    // Pod Identity: the association names the ServiceAccount; no annotation.
    assert.equal(
      byName(objects, 'ServiceAccount', 'checkout-sa')!.metadata['annotations'],
      undefined,
    )
    const reports = byName(objects, 'ServiceAccount', 'reports')!
    assert.deepEqual(reports.metadata['annotations'], {
      'azure.workload.identity/client-id': '0b6f2c1e-8f5e-4f3c-9a57-7d1a0a2b3c4d',
    })
    const config = JSON.parse(
      (byName(objects, 'ConfigMap', 'reports-gcp-credentials')!['data'] as Record<string, string>)[
        'credential-configuration.json'
      ]!,
    )
    assert.equal(config.type, 'external_account')
    assert.equal(
      config.audience,
      '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kubernetes/providers/cluster',
    )
    assert.equal(
      config.service_account_impersonation_url,
      'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/reports-reader@demo-project.iam.gserviceaccount.com:generateAccessToken',
    )
    const indexer = JSON.parse(
      (byName(objects, 'ConfigMap', 'indexer-gcp-credentials')!['data'] as Record<string, string>)[
        'credential-configuration.json'
      ]!,
    )
    assert.equal(indexer.service_account_impersonation_url, undefined)
  })

  void it('the Component points a workload at its ServiceAccount and adds the Azure pod label', () => {
    const overlay = tmp()
    writeGeneratedFiles(join(overlay, 'identity'), generate('manifests', parseSpec(FULL_SPEC)))
    const deployment = (name: string, namespace: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'main', image: 'example:1' }] },
        },
      },
    })
    writeFileSync(
      join(overlay, 'app.yaml'),
      [deployment('reports', 'analytics'), deployment('unrelated', 'analytics')]
        .map((d) => stringify(d))
        .join('---\n'),
    )
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['app.yaml'],
        components: ['identity/component'],
      }),
    )
    const objects = render(overlay)
    assert.deepEqual(objects.flatMap(problems), [])
    const reports = byName(objects, 'Deployment', 'reports')! as {
      spec: {
        template: {
          metadata: { labels: Record<string, string> }
          spec: { serviceAccountName?: string }
        }
      }
    } & KubeObject
    assert.equal(reports.spec.template.spec.serviceAccountName, 'reports')
    assert.equal(reports.spec.template.metadata.labels['azure.workload.identity/use'], 'true')
    const unrelated = byName(objects, 'Deployment', 'unrelated')! as typeof reports
    assert.equal(unrelated.spec.template.spec.serviceAccountName, undefined)
  })

  void it('on the EKS workshop carts application (../shared): the Deployment gets the IRSA ServiceAccount', (t) => {
    if (!existsSync(CARTS)) {
      t.skip('../shared/conformance/scan-inputs is absent (a clone without the shared fixtures)')
      return
    }
    const overlay = tmp()
    writeGeneratedFiles(join(overlay, 'identity'), generate('manifests', parseSpec(FULL_SPEC)))
    // The workshop defines its ServiceAccount `carts` already: the `annotate` Component patches it.
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        // kustomize takes bases by relative path only.
        resources: [relative(overlay, CARTS)],
        components: ['identity/annotate'],
      }),
    )
    const objects = render(overlay)
    assert.deepEqual(
      objects.flatMap(problems).filter((p) => !/no schema for/.test(p)),
      [],
    )
    const deployment = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'carts',
    ) as unknown as { spec: { template: { spec: { serviceAccountName: string } } } }
    assert.equal(deployment.spec.template.spec.serviceAccountName, 'carts')
    const sa = objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'carts')
    assert.equal(sa.length, 1)
    assert.equal(
      (sa[0]!.metadata['annotations'] as Record<string, string>)['eks.amazonaws.com/role-arn'],
      'arn:aws:iam::111122223333:role/carts',
    )
  })

  void it('an Azure workload without clientId fails with the fix named', () => {
    const spec = FULL_SPEC.replace('      clientId: 0b6f2c1e-8f5e-4f3c-9a57-7d1a0a2b3c4d\n', '')
    assert.throws(
      () => generate('manifests', parseSpec(spec)),
      (err: unknown) =>
        err instanceof GenerateError &&
        /azure\.clientId is needed/.test(err.message) &&
        /reports_azure_client_id/.test(err.hint ?? ''),
    )
  })

  void it('never writes outside the output directory', () => {
    assert.throws(
      () => writeGeneratedFiles(tmp(), [{ path: '../escape.txt', content: 'x' }]),
      GenerateError,
    )
  })
})
