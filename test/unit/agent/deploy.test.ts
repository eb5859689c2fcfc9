import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { DaemonSet } from 'kubernetes-models/apps/v1'
import { parseAllDocuments } from 'yaml'
import { POD_IDENTITY_AGENT_HOSTS } from '../../../src/agent/server.ts'

const file = new URL('../../../deploy/agent/daemonset.yaml', import.meta.url)

void describe('deploy/agent/daemonset.yaml', () => {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown>,
  )
  const ds = docs.find((d) => d['kind'] === 'DaemonSet')

  void it('is a valid DaemonSet', () => {
    assert.ok(ds)
    new DaemonSet(ds as ConstructorParameters<typeof DaemonSet>[0]).validate()
  })

  void it('runs the agent on the node network, on the link-local addresses, port 80', () => {
    const spec = (ds as { spec: { template: { spec: Record<string, unknown> } } }).spec.template
      .spec
    assert.equal(spec['hostNetwork'], true)
    const agent = (spec['containers'] as { name: string; args: string[] }[]).find(
      (c) => c.name === 'agent',
    )
    assert.ok(agent)
    for (const host of POD_IDENTITY_AGENT_HOSTS)
      assert.ok(agent.args.includes(`--host=${host}`), host)
    assert.ok(agent.args.includes('--port=80'))
    const init = JSON.stringify(spec['initContainers'])
    assert.match(init, /169\.254\.170\.23\/32/)
    assert.match(init, /fd00:ec2::23\/128/)
    assert.match(init, /NET_ADMIN/)
  })
  void it('runs on a read-only root filesystem with no writable volume (compiled JavaScript)', () => {
    const spec = (ds as { spec: { template: { spec: Record<string, unknown> } } }).spec.template
      .spec
    const agent = (
      spec['containers'] as {
        name: string
        securityContext?: { readOnlyRootFilesystem?: boolean }
        volumeMounts?: { readOnly?: boolean }[]
      }[]
    ).find((c) => c.name === 'agent')
    assert.equal(agent?.securityContext?.readOnlyRootFilesystem, true)
    for (const m of agent?.volumeMounts ?? []) assert.equal(m.readOnly, true)
    for (const v of (spec['volumes'] ?? []) as Record<string, unknown>[])
      assert.equal(v['emptyDir'], undefined)
  })
})
