// Process owners: element-level comparison of two versions (added / removed / changed ids and names).
import { api, bpmnElements, el, fail, requireLogin, settingLines, table } from './common.js';

const KEY = document.getElementById('root').dataset.key;
const viewers = { a: new window.BpmnJS({ container: document.getElementById('canvas-a') }),
  b: new window.BpmnJS({ container: document.getElementById('canvas-b') }) };
const TYPES = { userTask: '人工任务', serviceTask: '服务任务', scriptTask: '脚本任务', businessRuleTask: '规则任务',
  exclusiveGateway: '排他网关', parallelGateway: '并行网关', inclusiveGateway: '包容网关', eventBasedGateway: '事件网关',
  startEvent: '开始事件', endEvent: '结束事件', intermediateCatchEvent: '中间捕获事件', intermediateThrowEvent: '中间抛出事件',
  boundaryEvent: '边界事件', sequenceFlow: '连线', subProcess: '子流程', callActivity: '调用活动', manualTask: '手工任务' };

const SETTINGS_NAME = '流程参数';

/** Every aspect in which one element differs between two versions, in words. */
export function aspects(a, b) {
  const out = [];
  if (a.type !== b.type) out.push(`类型 ${TYPES[a.type] || a.type} → ${TYPES[b.type] || b.type}`);
  if (a.name !== b.name) out.push(`名称 “${a.name}” → “${b.name}”`);
  if (a.lane !== b.lane) out.push(`泳道 ${a.lane || '无'} → ${b.lane || '无'}`);
  if (a.script !== b.script) {
    const changed = b.name === SETTINGS_NAME ? settingChanges(a.script, b.script) : [];
    out.push(changed.length ? `流程参数 ${changed.join('；')}` : '脚本已修改');
  }
  if (a.condition !== b.condition) out.push(`条件 ${a.condition || '无'} → ${b.condition || '无'}`);
  if (a.type === b.type && a.rest !== b.rest) out.push('其他属性或连线');
  return out;
}

/** `notice_working_days（公示期（工作日））5 → 3` for each 流程参数 line that changed. */
export function settingChanges(oldScript, newScript) {
  const a = settingLines(oldScript);
  const b = settingLines(newScript);
  const names = [...Object.keys(a), ...Object.keys(b).filter((n) => !(n in a))];
  return names.filter((n) => a[n]?.value !== b[n]?.value).map((n) => {
    const note = (b[n] || a[n]).note;
    return `${n}${note ? `（${note}）` : ''}：${a[n] ? a[n].value : '（无）'} → ${b[n] ? b[n].value : '（删除）'}`;
  });
}

export function diff(oldXml, newXml) {
  const a = bpmnElements(oldXml);
  const b = bpmnElements(newXml);
  const out = [];
  for (const [id, e] of Object.entries(b)) {
    if (!(id in a)) out.push({ id, change: 'added', type: e.type, before: '', after: e.name });
    else if (a[id].text !== e.text || a[id].lane !== e.lane) {
      out.push({ id, change: 'changed', type: e.type, before: a[id].name, after: e.name, what: aspects(a[id], e).join('；') });
    }
  }
  for (const [id, e] of Object.entries(a)) if (!(id in b)) out.push({ id, change: 'removed', type: e.type, before: e.name, after: '' });
  return out;
}

const DETAIL_NAMES = { bpmn_name: '名称', lane: '泳道', operation_name: '处理器' };

/** Changes the engine finds beyond the main diagram: elements of the called sub-processes. */
function calledRows(changes) {
  const rows = [];
  for (const change of ['added', 'removed', 'changed']) {
    for (const c of changes[change] || []) {
      if (!c.element_id.includes('/') && c.type !== 'Process') continue;
      const details = Object.entries(c.details || {}).filter(([k]) => k in DETAIL_NAMES)
        .map(([k, [x, y]]) => `${DETAIL_NAMES[k]} ${x || '无'} → ${y || '无'}`);
      const rest = (c.what || []).filter((w) => !details.some((d) => d.startsWith(w)));
      rows.push({ id: c.element_id, change, type: c.type, before: change === 'added' ? '' : c.name,
        after: change === 'removed' ? '' : c.name, what: ['调用的子流程', ...details, ...rest].join('；') });
    }
  }
  return rows;
}

const CHANGE_NAMES = { added: '新增', removed: '删除', changed: '修改' };
const show_ = (v) => (v === null || v === undefined || v === '' ? '（空）' : typeof v === 'string' ? v : JSON.stringify(v));

function showSettings(settings) {
  document.getElementById('settings-changes').hidden = !settings.length;
  document.getElementById('settings-diff').replaceChildren(table(['参数', '含义', '所在任务', '原值', '新值'],
    settings.map((s) => el('tr', { dataset: { setting: s.name } }, el('td', {}, el('code', {}, s.name)), el('td', {}, s.note || ''),
      el('td', {}, s.file === undefined ? s.element_id : `${s.element_id}（${s.file}）`),
      el('td', {}, s.change === 'added' ? '（新增）' : show_(s.old)), el('td', {}, s.change === 'removed' ? '（删除）' : show_(s.new))))));
}

function showRules(rules) {
  document.getElementById('rule-changes').hidden = !rules.length;
  document.getElementById('rules-diff').replaceChildren(table(['规则表', '规则', '列', '变化', '原值', '新值'],
    rules.map((r) => el('tr', { dataset: { decision: r.decision_id } },
      el('td', {}, `${r.decision}（${r.decision_id}，${r.file}）`), el('td', {}, r.rule ? `第 ${r.rule} 条` : '整张表'),
      el('td', {}, r.column || '—'), el('td', {}, CHANGE_NAMES[r.change]),
      el('td', {}, r.change === 'changed' ? show_(r.old) : '—'), el('td', {}, r.change === 'changed' ? show_(r.new) : r.change === 'added' && r.new ? show_(r.new) : '—')))));
}

async function show(rows, a, b) {
  const fetchXml = (v) => api(`/api/v1/definitions/${KEY}/${v}/xml`, { raw: true }).then((r) => r.text());
  const [xa, xb] = await Promise.all([fetchXml(a), fetchXml(b)]);
  const ra = rows.find((r) => r.version === a);
  const rb = rows.find((r) => r.version === b);
  document.getElementById('a-title').textContent = `第 ${a} 版（运行中案件 ${ra.running_instances} 件）`;
  document.getElementById('b-title').textContent = `第 ${b} 版（运行中案件 ${rb.running_instances} 件）`;
  const server = a === b ? { added: [], removed: [], changed: [], settings: [], rules: [] }
    : await api(`definitions/${KEY}/changes`, { query: { from: a, to: b } });
  const changes = [...diff(xa, xb), ...calledRows(server)];
  showSettings(server.settings);
  showRules(server.rules);
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
  const extra = [server.settings.length ? `流程参数变化 ${server.settings.length} 项` : '',
    server.rules.length ? `规则表变化 ${server.rules.length} 处` : ''].filter(Boolean).join('，');
  document.getElementById('summary').replaceChildren(el('p', {},
    `第 ${a} 版 → 第 ${b} 版：新增 ${counts.added} 个元素，删除 ${counts.removed} 个，修改 ${counts.changed} 个${extra ? `；${extra}` : ''}。`));
  const NAMES = { added: '新增', removed: '删除', changed: '修改' };
  document.getElementById('diff').replaceChildren(changes.length ? table(['元素 ID', '类型', '变化', '原名称', '新名称', '说明'],
    changes.map((c) => el('tr', { class: `change-${c.change}`, dataset: { element: c.id } }, el('td', {}, el('code', {}, c.id)),
      el('td', {}, TYPES[c.type] || c.type), el('td', {}, NAMES[c.change]), el('td', {}, c.before), el('td', {}, c.after), el('td', {}, c.what || ''))))
    : el('p', { class: 'hint' }, server.rules.length || server.settings.length
      ? '两个版本的流程元素相同（流程参数或规则表的变化见下）。' : '两个版本的流程元素和规则表相同。'));
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

for (const box of document.querySelectorAll('.zoom')) {
  box.addEventListener('click', (event) => {
    const how = event.target.dataset.zoom;
    if (!how) return;
    const canvas = viewers[box.dataset.side].get('canvas');
    if (how === 'fit') canvas.zoom('fit-viewport', 'auto');
    else canvas.zoom(canvas.zoom() * (how === 'in' ? 1.25 : 0.8));
  });
}

document.getElementById('pick').addEventListener('submit', (event) => {
  event.preventDefault();
  location.search = `?a=${document.getElementById('a').value}&b=${document.getElementById('b').value}`;
});
main().catch(fail);
