// Auditors: one case — diagram with the path taken and the current position, decisions with
// their breakdown, spot-check draws with seeds, the hash-chained history, export and verify.
import { api, ApiError, download, el, errorText, fail, fmtTime, notice, EVENT_NAMES, pretty, regionLabel, regionNames, requireLogin, ROLE_NAMES, showFieldErrors, stageText, STATUS_NAMES, table } from './common.js';

const ID = document.getElementById('root').dataset.instance;
const statusBox = document.getElementById('status');
const viewer = new window.BpmnJS({ container: document.getElementById('canvas') });
window.tidu = { viewer };

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }

function colour(position, events) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const done = new Set(position.completed);
  for (const e of events) if (e.bpmn_id && ['task.completed', 'handler.decision', 'timer.fired'].includes(e.kind)) done.add(e.bpmn_id);
  const current = new Set([...position.open_tasks, ...position.timers.map((t) => t.bpmn_id),
    ...position.messages.map((m) => m.bpmn_id), ...position.active]);
  const marked = { done: [], current: [] };
  for (const id of current) {
    const element = registry.get(id);
    if (element && element.type !== 'label') { canvas.addMarker(id, 'tidu-current'); marked.current.push(id); done.delete(id); }
  }
  for (const id of done) {
    const element = registry.get(id);
    if (element && !element.waypoints && element.type !== 'label') { canvas.addMarker(id, 'tidu-done'); marked.done.push(id); }
  }
  // a sequence flow was taken when its source completed and its target was reached
  const reached = new Set([...marked.done, ...marked.current]);
  for (const flow of registry.filter((e) => e.type === 'bpmn:SequenceFlow')) {
    if (marked.done.includes(flow.source.id) && reached.has(flow.target.id)) canvas.addMarker(flow.id, 'tidu-done');
  }
  document.getElementById('canvas').dataset.done = marked.done.join(' ');
  document.getElementById('canvas').dataset.current = marked.current.join(' ');
}

function decisions(events) {
  const rows = events.filter((e) => e.kind === 'handler.decision');
  const box = document.getElementById('decisions');
  if (!rows.length) { box.replaceChildren(el('p', { class: 'hint' }, '尚无自动决策。')); return; }
  box.replaceChildren(...rows.map((e) => el('details', { class: 'decision', open: e.data.operator !== 'sampling.draw', dataset: { bpmn: e.bpmn_id } },
    el('summary', {}, `${fmtTime(e.at)} · ${e.bpmn_id} · 处理器 ${e.data.operator} · 规则版本 ${e.data.rule_version || '—'}`),
    el('div', { class: 'side-by-side' }, el('div', {}, el('h3', {}, '输入'), pretty(e.data.inputs)),
      el('div', {}, el('h3', {}, '输出'), breakdown(e.data.outputs))))));
}

function breakdown(outputs) {
  const parts = [];
  if (Array.isArray(outputs.failed)) {
    parts.push(el('p', {}, outputs.failed.length ? `未满足的条件：${outputs.failed.map((f) => f.name || f.code || f).join('、')}` : '所有条件均满足'));
  }
  const items = outputs.breakdown || outputs.indicators || outputs.items;
  if (Array.isArray(items) && items.length && typeof items[0] === 'object') {
    const keys = Object.keys(items[0]).slice(0, 6);
    parts.push(table(keys, items.map((i) => el('tr', {}, keys.map((k) => el('td', {}, typeof i[k] === 'object' ? JSON.stringify(i[k]) : String(i[k] ?? '')))))));
  }
  parts.push(pretty(outputs));
  return el('div', {}, parts);
}

function draws(events) {
  const rows = events.filter((e) => e.kind === 'handler.decision' && String(e.data.operator).startsWith('sampling.'));
  const box = document.getElementById('draws');
  if (!rows.length) { box.replaceChildren(el('p', { class: 'hint' }, '本案件尚未进行抽查抽签。')); return; }
  box.replaceChildren(table(['时间', '环节', '种子', '抽中', '输入', '规则版本'], rows.map((e) => el('tr', { class: 'draw' },
    el('td', {}, fmtTime(e.at)), el('td', {}, e.bpmn_id), el('td', {}, el('code', { class: 'seed' }, String(e.data.outputs.seed ?? e.data.inputs.seed ?? '—'))),
    el('td', {}, e.data.outputs.selected ? el('span', { class: 'badge warn' }, '抽中') : '未抽中'),
    el('td', {}, pretty(e.data.inputs)), el('td', {}, e.data.rule_version || '—')))));
}

function history(events, versions) {
  document.getElementById('events').replaceChildren(table(['序号', '时间', '事件', '环节', '操作人', '版本', '数据', '哈希'],
    events.map((e) => el('tr', { dataset: { kind: e.kind } },
      el('td', {}, String(e.seq)), el('td', {}, fmtTime(e.at)), el('td', {}, EVENT_NAMES[e.kind] || e.kind),
      el('td', {}, e.data.name ? `${e.data.name}（${e.bpmn_id}）` : e.bpmn_id || '—'), el('td', {}, e.actor),
      el('td', {}, e.definition_id ? `第 ${versions[e.definition_id] ?? '?'} 版` : ''),
      el('td', {}, Object.keys(e.data).length ? el('details', {}, el('summary', {}, e.data.submitted ? '提交的数据' : '详情'), pretty(e.data)) : ''),
      el('td', {}, el('code', { title: e.hash }, e.hash.slice(0, 10)))))));
}

async function exportHistory(format) {
  const response = await api(`audit/instances/${ID}/export`, { query: { format }, raw: true });
  download(await response.blob(), `history-${ID}.${format}`);
  status(`已导出 ${format.toUpperCase()}`, 'ok');
}

const STAFF = ['city', 'province', 'miit'];

/** Staff register an objection received during 公示 while the case can take one (the case
 *  waits for the message `objection`); the case then moves into its objection review. */
function objectionForm(me, position) {
  const open = STAFF.includes(me.role) && position.messages.some((m) => m.name === 'objection');
  document.getElementById('objection').hidden = !open;
  if (!open) return;
  const form = document.getElementById('objection-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showFieldErrors(form, {});
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      await api(`instances/${ID}/objections`, { method: 'POST', json: Object.fromEntries(new FormData(form)) });
      notice('异议已登记，案件转入异议核查。', 'ok');
      setTimeout(() => location.reload(), 800);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError) || !error.body.errors) throw error;
      showFieldErrors(form, error.body.errors);
      notice(errorText(error), 'error');
    }
  });
  if (location.hash === '#objection') document.getElementById('objection').scrollIntoView();
}

async function main() {
  const me = await requireLogin();
  const [instance, position, events, defs, regions, rounds] = await Promise.all([api(`instances/${ID}`), api(`instances/${ID}/position`),
    api(`instances/${ID}/history`), api('definitions').catch(() => []), regionNames(), api('rounds').catch(() => [])]);
  const round = rounds.find((r) => r.id === instance.round_id);
  const versions = Object.fromEntries(defs.map((d) => [d.id, d.version]));
  document.getElementById('case-title').textContent = `${instance.business_key}`;
  const rows = [['案件编号', instance.id], ['流程', `${(defs.find((d) => d.process_key === instance.process_key) || {}).name || instance.process_key}（第 ${instance.definition_version} 版）`],
    ['企业', instance.uscc || '—'], ['地区', regionLabel(regions, instance.region)], ['批次', instance.round_id === null ? '—' : (round ? round.label : instance.round_id)],
    ['状态', STATUS_NAMES[instance.status] || instance.status], ['当前环节', stageText(instance)], ['结果', instance.outcome_name || '—'],
    ['发起', `${fmtTime(instance.started_at)} ${instance.started_by}`], ['更新', fmtTime(instance.updated_at)]];
  document.getElementById('case-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const xml = await api(`/api/v1/definitions/${instance.process_key}/${instance.definition_version}/xml`, { raw: true }).then((r) => r.text());
  await viewer.importXML(xml);
  viewer.get('canvas').zoom('fit-viewport');
  colour(position, events);
  objectionForm(me, position);
  document.getElementById('waiting').replaceChildren(
    ...instance.open_tasks.map((t) => el('li', {}, `待办：${t.name}（${ROLE_NAMES[t.role] || t.role}${t.region ? ` ${regions[t.region] || t.region}` : ''}）`, t.due_at ? `，截止 ${fmtTime(t.due_at)}` : '')),
    ...position.timers.map((t) => el('li', {}, `等待定时器 ${t.bpmn_id}，到期 ${fmtTime(t.due_at)}`)),
    ...position.messages.map((m) => el('li', {}, `可接收消息「${m.name}」（${m.bpmn_id}）`)));
  decisions(events);
  draws(events);
  history(events, versions);
}

document.getElementById('export-json').addEventListener('click', () => exportHistory('json').catch(fail));
document.getElementById('export-csv').addEventListener('click', () => exportHistory('csv').catch(fail));
document.getElementById('verify').addEventListener('click', async () => {
  const { verify } = await import('./audit.js');
  verify(statusBox).catch(fail);
});
main().catch(fail);
