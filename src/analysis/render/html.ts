/**
 * @module analysis/render/html
 * A self-contained HTML report (no network: inline CSS, SVG and a few lines of JS): the trust graph
 * (workloads → ServiceAccounts → roles → permissions) laid out in four columns, and the findings table with a
 * severity filter. Every value is HTML-escaped; the JSON embedded for the script is escaped for `<script>`.
 */
import { CHECK_TITLES } from '../catalog.ts'
import type { ScanReport } from '../model.ts'

const MAX_PER_COLUMN = 400

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )
}

interface Node {
  id: string
  label: string
  column: number
  danger: boolean
}

function shortRole(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1) || arn
}

export function trustGraphSvg(report: ScanReport): string {
  const nodes = new Map<string, Node>()
  const perColumn = [0, 0, 0, 0]
  const links: [string, string][] = []
  const add = (id: string, label: string, column: number, danger = false) => {
    const existing = nodes.get(id)
    if (existing !== undefined) {
      existing.danger ||= danger
      return
    }
    if (perColumn[column]! >= MAX_PER_COLUMN) return
    perColumn[column]!++
    nodes.set(id, { id, label, column, danger })
  }
  const perm = new Map(report.permissions.map((p) => [p.role, p]))
  for (const w of report.workloads) {
    add(`w:${w.pod}`, w.pod, 0, w.credentialSource === 'env-keys')
    add(`s:${w.serviceAccount}`, w.serviceAccount, 1)
    links.push([`w:${w.pod}`, `s:${w.serviceAccount}`])
  }
  for (const e of report.edges) {
    const p = perm.get(e.role)
    add(`s:${e.serviceAccount}`, e.serviceAccount, 1)
    add(
      `r:${e.role}`,
      shortRole(e.role),
      2,
      p?.admin === true || (p?.privilegeEscalation.length ?? 0) > 0,
    )
    links.push([`s:${e.serviceAccount}`, `r:${e.role}`])
    if (p !== undefined) {
      const labels = [
        ...(p.admin ? ['admin (*:*)'] : []),
        ...p.privilegeEscalation.map((m) => `privesc: ${m}`),
        ...p.unrestricted.map((a) => `${a} on *`),
      ]
      for (const l of labels.slice(0, 6)) {
        add(`p:${l}`, l, 3, l.startsWith('admin') || l.startsWith('privesc'))
        links.push([`r:${e.role}`, `p:${l}`])
      }
    }
  }
  const columns = [0, 1, 2, 3].map((c) => [...nodes.values()].filter((n) => n.column === c))
  const rowH = 26
  const colW = 300
  const height = Math.max(120, Math.max(...columns.map((c) => c.length)) * rowH + 60)
  const pos = new Map<string, { x: number; y: number }>()
  columns.forEach((col, c) =>
    col.forEach((n, i) => pos.set(n.id, { x: 20 + c * colW, y: 50 + i * rowH })),
  )
  const headers = ['Workloads', 'ServiceAccounts', 'Roles', 'Permissions']
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${colW * 4 + 40}" height="${height}" role="img" aria-label="trust graph">`,
    ...headers.map((h, i) => `<text x="${20 + i * colW}" y="24" class="h">${h}</text>`),
  ]
  for (const [a, b] of links) {
    const p = pos.get(a)
    const q = pos.get(b)
    if (p === undefined || q === undefined) continue
    parts.push(
      `<path d="M${p.x + 230},${p.y} C${p.x + 265},${p.y} ${q.x - 35},${q.y} ${q.x},${q.y}" class="l"/>`,
    )
  }
  for (const n of nodes.values()) {
    const p = pos.get(n.id)!
    const text = n.label.length > 36 ? `${n.label.slice(0, 35)}…` : n.label
    parts.push(
      `<g class="n${n.danger ? ' d' : ''}"><title>${escapeHtml(n.id.slice(2))}</title><rect x="${p.x}" y="${p.y - 10}" width="230" height="20" rx="4"/><text x="${p.x + 6}" y="${p.y + 4}">${escapeHtml(text)}</text></g>`,
    )
  }
  parts.push('</svg>')
  return parts.join('\n')
}

export function renderHtml(
  report: ScanReport,
  meta: { generatedAt: string; inputs: string[] },
): string {
  const counts = new Map<string, number>()
  for (const f of report.findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1)
  const rows = report.findings
    .map(
      (f) =>
        `<tr class="sev-${f.severity}"><td><span class="b ${f.severity}">${f.severity}</span></td><td title="${escapeHtml(CHECK_TITLES[f.id] ?? '')}">${escapeHtml(f.id)}</td><td>${escapeHtml(f.message)}<div class="o">${f.objects.map(escapeHtml).join('<br>')}</div></td><td>${escapeHtml(f.remediation)}</td></tr>`,
    )
    .join('\n')
  const workloads = report.workloads
    .map(
      (w) =>
        `<tr><td>${escapeHtml(w.pod)}</td><td>${escapeHtml(w.serviceAccount)}</td><td>${escapeHtml(w.credentialSourceBySdk.python)} / ${escapeHtml(w.credentialSourceBySdk.javascript)}</td><td>${w.roles.map(escapeHtml).join('<br>') || '–'}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>podtrust scan report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
.b{border-radius:3px;padding:1px 6px;color:#fff;font-size:12px}.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#1565c0}.info{background:#607d8b}
.o{color:#555;font-size:12px;margin-top:4px;word-break:break-all}
.graph{overflow:auto;border:1px solid #ddd;max-height:640px}
svg .h{font-weight:bold}svg .l{fill:none;stroke:#90a4ae;stroke-width:1}svg .n rect{fill:#e3f2fd;stroke:#64b5f6}svg .n.d rect{fill:#ffebee;stroke:#e53935}svg text{font-size:12px}
</style></head><body>
<h1>podtrust scan report</h1>
<p>Generated ${escapeHtml(meta.generatedAt)} from ${meta.inputs.map(escapeHtml).join(', ') || 'no inputs'}. ${report.stats.pods} pod spec(s), ${report.stats.serviceAccounts} ServiceAccount(s), ${report.stats.roles} role(s).</p>
<p>${['critical', 'high', 'medium', 'low', 'info'].map((s) => `<span class="b ${s}">${s} ${counts.get(s) ?? 0}</span>`).join(' ')}</p>
<h2>Trust graph</h2>
<div class="graph">${trustGraphSvg(report)}</div>
<h2>Findings</h2>
<p><label>Minimum severity <select id="min"><option value="0">info</option><option value="1">low</option><option value="2">medium</option><option value="3">high</option><option value="4">critical</option></select></label></p>
<table id="findings"><thead><tr><th>Severity</th><th>Check</th><th>Finding</th><th>Fix</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Workloads</h2>
<table><thead><tr><th>Pod</th><th>ServiceAccount</th><th>SDK credentials (Python / JavaScript)</th><th>Roles</th></tr></thead><tbody>
${workloads}
</tbody></table>
<script>
(function(){var rank={info:0,low:1,medium:2,high:3,critical:4};var sel=document.getElementById('min');
sel.addEventListener('change',function(){var min=Number(sel.value);document.querySelectorAll('#findings tbody tr').forEach(function(tr){var s=tr.className.replace('sev-','');tr.style.display=rank[s]>=min?'':'none';});});})();
</script>
</body></html>
`
}
