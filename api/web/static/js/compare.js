// Process owners: element-level comparison of two versions (added / removed / changed ids and names).
import { api, bpmnElements, el, fail, requireLogin, table } from './common.js';

const KEY = document.getElementById('root').dataset.key;
const viewers = { a: new window.BpmnJS({ container: document.getElementById('canvas-a') }),
  b: new window.BpmnJS({ container: document.getElementById('canvas-b') }) };
const TYPES = { userTask: '人工任务', serviceTask: '服务任务', scriptTask: '脚本任务', businessRuleTask: '规则任务',
  exclusiveGateway: '排他网关', parallelGateway: '并行网关', inclusiveGateway: '包容网关', eventBasedGateway: '事件网关',
  startEvent: '开始事件', endEvent: '结束事件', intermediateCatchEvent: '中间捕获事件', intermediateThrowEvent: '中间抛出事件',
  boundaryEvent: '边界事件', sequenceFlow: '连线', subProcess: '子流程', callActivity: '调用活动', manualTask: '手工任务' };

export function diff(oldXml, newXml) {
  const a = bpmnElements(oldXml);
  const b = bpmnElements(newXml);
  const out = [];
  for (const [id, e] of Object.entries(b)) {
    if (!(id in a)) out.push({ id, change: 'added', type: e.type, before: '', after: e.name });
    else if (a[id].name !== e.name || a[id].type !== e.type) out.push({ id, change: 'changed', type: e.type, before: `${a[id].name}`, after: e.name, what: a[id].type !== e.type ? `类型 ${a[id].type} → ${e.type}` : '名称' });
    else if (a[id].text !== e.text) out.push({ id, change: 'changed', type: e.type, before: a[id].name, after: e.name, what: '属性或连线' });
  }
  for (const [id, e] of Object.entries(a)) if (!(id in b)) out.push({ id, change: 'removed', type: e.type, before: e.name, after: '' });
  return out;
}

async function show(rows, a, b) {
  const fetchXml = (v) => api(`/api/v1/definitions/${KEY}/${v}/xml`, { raw: true }).then((r) => r.text());
  const [xa, xb] = await Promise.all([fetchXml(a), fetchXml(b)]);
  const ra = rows.find((r) => r.version === a);
  const rb = rows.find((r) => r.version === b);
  document.getElementById('a-title').textContent = `第 ${a} 版（运行中案件 ${ra.running_instances} 件）`;
  document.getElementById('b-title').textContent = `第 ${b} 版（运行中案件 ${rb.running_instances} 件）`;
  const changes = diff(xa, xb);
  await viewers.a.importXML(xa);
  await viewers.b.importXML(xb);
  for (const [side, viewer] of Object.entries(viewers)) {
    viewer.get('canvas').zoom('fit-viewport');
    const registry = viewer.get('elementRegistry');
    for (const c of changes) {
      const onThisSide = (c.change === 'removed' && side === 'a') || (c.change !== 'removed' && side === 'b') || (c.change === 'changed' && side === 'a');
      if (onThisSide && registry.get(c.id)) viewer.get('canvas').addMarker(c.id, `tidu-${c.change}`);
    }
  }
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const c of changes) counts[c.change] += 1;
  document.getElementById('summary').replaceChildren(el('p', {},
    `第 ${a} 版 → 第 ${b} 版：新增 ${counts.added} 个元素，删除 ${counts.removed} 个，修改 ${counts.changed} 个。`));
  const NAMES = { added: '新增', removed: '删除', changed: '修改' };
  document.getElementById('diff').replaceChildren(changes.length ? table(['元素 ID', '类型', '变化', '原名称', '新名称', '说明'],
    changes.map((c) => el('tr', { class: `change-${c.change}`, dataset: { element: c.id } }, el('td', {}, el('code', {}, c.id)),
      el('td', {}, TYPES[c.type] || c.type), el('td', {}, NAMES[c.change]), el('td', {}, c.before), el('td', {}, c.after), el('td', {}, c.what || ''))))
    : el('p', { class: 'hint' }, '两个版本的流程元素相同。'));
}

async function main() {
  await requireLogin();
  const rows = (await api('definitions')).filter((r) => r.process_key === KEY).sort((x, y) => x.version - y.version);
  const params = new URLSearchParams(location.search);
  const last = rows.length ? rows[rows.length - 1].version : 1;
  const a = Number(params.get('a') || Math.max(1, last - 1));
  const b = Number(params.get('b') || last);
  for (const id of ['a', 'b']) {
    document.getElementById(id).replaceChildren(...rows.map((r) => el('option', { value: r.version, selected: r.version === (id === 'a' ? a : b) }, `第 ${r.version} 版`)));
  }
  await show(rows, a, b);
}

document.getElementById('pick').addEventListener('submit', (event) => {
  event.preventDefault();
  location.search = `?a=${document.getElementById('a').value}&b=${document.getElementById('b').value}`;
});
main().catch(fail);
