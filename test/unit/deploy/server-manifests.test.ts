/**
 * deploy/server/ (the HA kustomize base) rendered with `kubectl kustomize` and checked offline: every object
 * valid against the Kubernetes schemas with no unknown field; three non-root replicas with a read-only root
 * filesystem and probes on /healthz and /readyz; the store URL and the CA from Secrets; the issuer URL the
 * same for every replica; every flag and PODTRUST_* variable the manifest uses is one `podtrust up` knows;
 * the Service, PodDisruptionBudget and NetworkPolicy select the pods; the grace period covers the drain.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { problems, render } from './manifests.ts'
import type { KubeObject } from './manifests.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const objects = render(join(ROOT, 'deploy/server'))
const byKind = (kind: string): KubeObject[] => objects.filter((o) => o.kind === kind)
type Container = {
  args: string[]
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]
  envFrom: { configMapRef: { name: string } }[]
  readinessProbe: { httpGet: { path: string; port: string } }
  livenessProbe: { httpGet: { path: string; port: string } }
  securityContext: Record<string, unknown>
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]
  ports: { name: string; containerPort: number }[]
}
const deployment = byKind('Deployment')[0] as KubeObject & {
  spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: { securityContext: Record<string, unknown>; terminationGracePeriodSeconds: number; containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] } } }
}
const pod = deployment.spec.template
const container = pod.spec.containers[0]!
const configMap = byKind('ConfigMap')[0] as KubeObject & { data: Record<string, string> }

void describe('deploy/server (HA base)', () => {
  void it('renders the expected objects, each valid with no unknown field', () => {
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount'])
    assert.deepEqual(objects.flatMap(problems), [])
    // Secrets are referenced, never rendered (no credential in the repository).
    assert.equal(byKind('Secret').length, 0)
  })

  void it('three non-root replicas, read-only root filesystem, probes on /healthz and /readyz', () => {
    assert.equal(deployment.spec.replicas, 3)
    assert.equal(pod.spec.securityContext['runAsNonRoot'], true)
    assert.notEqual(pod.spec.securityContext['runAsUser'], 0)
    assert.equal(container.securityContext['readOnlyRootFilesystem'], true)
    assert.equal(container.securityContext['allowPrivilegeEscalation'], false)
    assert.deepEqual((container.securityContext['capabilities'] as { drop: string[] }).drop, ['ALL'])
    assert.equal(container.readinessProbe.httpGet.path, '/readyz')
    assert.equal(container.livenessProbe.httpGet.path, '/healthz')
    // Every writable path is a volume.
    const mounts = new Set(container.volumeMounts.map((m) => m.mountPath))
    assert.ok(mounts.has('/tmp') && mounts.has('/var/lib/podtrust'))
  })

  void it('store URL and CA from Secrets; one issuer URL for every replica', () => {
    const store = container.env.find((e) => e.name === 'PODTRUST_STORE')
    assert.deepEqual(store?.valueFrom?.secretKeyRef, { name: 'podtrust-store', key: 'url' })
    const ca = pod.spec.volumes.find((v) => v.secret !== undefined)
    assert.equal(ca?.secret?.secretName, 'podtrust-ca')
    const caMount = container.volumeMounts.find((m) => m.name === ca?.name)
    assert.equal(caMount?.readOnly, true)
    assert.equal(container.env.find((e) => e.name === 'PODTRUST_CA_DIR')?.value, caMount?.mountPath)
    assert.ok(container.args.includes('--issuer-url=$(PODTRUST_ISSUER_URL)'))
    assert.match(configMap.data['PODTRUST_ISSUER_URL'] ?? '', /^https:\/\//)
    assert.ok(container.envFrom.some((e) => e.configMapRef.name === configMap.metadata.name))
  })

  void it('uses only flags and variables podtrust up knows', () => {
    const up = readFileSync(join(ROOT, 'src/cli/commands/up.ts'), 'utf8') + readFileSync(join(ROOT, 'src/cli/server-flags.ts'), 'utf8') + readFileSync(join(ROOT, 'src/cli/store-options.ts'), 'utf8')
    for (const arg of container.args.slice(1)) {
      const flag = /^(--[a-z-]+)/.exec(arg)?.[1]
      assert.ok(flag !== undefined && up.includes(`${flag} `), `unknown flag ${arg}`)
    }
    const names = [...container.env.map((e) => e.name), ...Object.keys(configMap.data)]
    for (const name of names) assert.ok(up.includes(`'${name}'`), `podtrust up does not read ${name}`)
  })

  void it('Service, PodDisruptionBudget and NetworkPolicy select the pods; grace covers the drain', () => {
    const labels = pod.metadata.labels
    const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v)
    const svc = byKind('Service')[0] as KubeObject & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }
    assert.ok(matches(svc.spec.selector))
    assert.deepEqual(svc.spec.ports.map((p) => p.targetPort), ['https'])
    const pdb = byKind('PodDisruptionBudget')[0] as KubeObject & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }
    assert.ok(matches(pdb.spec.selector.matchLabels))
    assert.ok(pdb.spec.minAvailable >= 2 && pdb.spec.minAvailable < deployment.spec.replicas)
    const np = byKind('NetworkPolicy')[0] as KubeObject & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[] } }
    assert.ok(matches(np.spec.podSelector.matchLabels))
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress'])
    const drain = Number(configMap.data['PODTRUST_SHUTDOWN_DELAY']) + Number(configMap.data['PODTRUST_DRAIN_TIMEOUT'])
    assert.ok(pod.spec.terminationGracePeriodSeconds > drain)
  })
})
