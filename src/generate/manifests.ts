/**
 * @module generate/manifests
 * The Kubernetes side of the model: one ServiceAccount per workload with its cloud's annotations, as plain
 * manifests (a kustomization) and as a kustomize Component that also points the workload's pod template at
 * the ServiceAccount and adds the pod labels a cloud needs.
 * - AWS IRSA: `eks.amazonaws.com/role-arn` (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html);
 *   Pod Identity needs none (the association names the ServiceAccount).
 * - Azure: `azure.workload.identity/client-id` on the ServiceAccount, label `azure.workload.identity/use: "true"`
 *   on the pod (https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html).
 * - Google: the credential configuration file in a ConfigMap
 *   (https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes).
 */
import { stringify } from 'yaml'
import { GenerateError } from './errors.ts'
import type { IacModel, ServiceAccountModel } from './model.ts'
import type { GeneratedFile } from './terraform.ts'

/** The pod-template kinds the component patches, by name. */
export const WORKLOAD_KINDS = 'Deployment|StatefulSet|DaemonSet|Job'

export function serviceAccountObjects(model: IacModel): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const sa of model.serviceAccounts) {
    const w = model.azure.find((a) => a.workload === sa.workload)
    if (w !== undefined && w.clientId === undefined) {
      throw new GenerateError(
        'GENERATE_INPUT',
        `workload \`${sa.workload}\`: azure.clientId is needed for the ServiceAccount's azure.workload.identity/client-id annotation`,
        {
          hint: `apply the Terraform first and copy its output ${sa.workload.replace(/[^A-Za-z0-9_-]/g, '_')}_azure_client_id into the spec`,
        },
      )
    }
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: sa.name,
        namespace: sa.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'podtrust', ...sa.podLabels },
        ...(Object.keys(sa.annotations).length > 0 ? { annotations: { ...sa.annotations } } : {}),
      },
    })
    if (sa.gcpCredentialConfig !== undefined) {
      out.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: gcpConfigMapName(sa),
          namespace: sa.namespace,
          labels: { 'app.kubernetes.io/managed-by': 'podtrust' },
        },
        data: {
          'credential-configuration.json': `${JSON.stringify(sa.gcpCredentialConfig, null, 2)}\n`,
        },
      })
    }
  }
  return out
}

export function gcpConfigMapName(sa: ServiceAccountModel): string {
  return `${sa.name}-gcp-credentials`.slice(0, 253)
}

function yamlStream(objects: readonly unknown[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n')
}

/** `manifests/` (a kustomization) and `manifests/component/` (a kustomize Component). */
export function renderManifests(model: IacModel, prefix = ''): GeneratedFile[] {
  const objects = serviceAccountObjects(model)
  const stream = yamlStream(objects)
  const patches = model.serviceAccounts.map((sa) => ({
    target: {
      kind: WORKLOAD_KINDS,
      name: `^${sa.workload.replace(/\./g, '\\.')}$`,
      namespace: sa.namespace,
    },
    patch: stringify(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: sa.workload },
        spec: {
          template: {
            ...(Object.keys(sa.podLabels).length > 0
              ? { metadata: { labels: { ...sa.podLabels } } }
              : {}),
            spec: { serviceAccountName: sa.name },
          },
        },
      },
      { lineWidth: 0 },
    ),
  }))
  // For applications that already define their ServiceAccounts: the same annotations as patches.
  const annotate = model.serviceAccounts.map((sa) => ({
    target: {
      kind: 'ServiceAccount',
      name: `^${sa.name.replace(/\./g, '\\.')}$`,
      namespace: sa.namespace,
    },
    patch: stringify(
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: sa.name,
          ...(Object.keys(sa.annotations).length > 0 ? { annotations: { ...sa.annotations } } : {}),
          labels: { 'app.kubernetes.io/managed-by': 'podtrust', ...sa.podLabels },
        },
      },
      { lineWidth: 0 },
    ),
  }))
  const configMaps = objects.filter((o) => o['kind'] === 'ConfigMap')
  return [
    { path: `${prefix}serviceaccounts.yaml`, content: stream },
    ...(configMaps.length > 0
      ? [{ path: `${prefix}annotate/configmaps.yaml`, content: yamlStream(configMaps) }]
      : []),
    {
      path: `${prefix}annotate/kustomization.yaml`,
      content: `# For applications that define their ServiceAccounts already: \`components: [PATH/annotate]\` adds the\n# annotations to them and points the workloads at them (the ServiceAccounts must exist in the base).\n${stringify(
        {
          apiVersion: 'kustomize.config.k8s.io/v1alpha1',
          kind: 'Component',
          ...(configMaps.length > 0 ? { resources: ['configmaps.yaml'] } : {}),
          patches: [...annotate, ...patches],
        },
        { lineWidth: 0 },
      )}`,
    },
    {
      path: `${prefix}kustomization.yaml`,
      content: stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['serviceaccounts.yaml'],
      }),
    },
    { path: `${prefix}component/serviceaccounts.yaml`, content: stream },
    {
      path: `${prefix}component/kustomization.yaml`,
      content: `# Add to an overlay with \`components: [PATH/component]\`: the ServiceAccounts, and each workload's pod\n# template (${WORKLOAD_KINDS} of the same name and namespace) pointed at its ServiceAccount.\n${stringify(
        {
          apiVersion: 'kustomize.config.k8s.io/v1alpha1',
          kind: 'Component',
          resources: ['serviceaccounts.yaml'],
          patches,
        },
        { lineWidth: 0 },
      )}`,
    },
  ]
}
