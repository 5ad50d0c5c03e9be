// Auditors: one case — diagram with the path taken and the current position, decisions with
// their breakdown, spot-check draws with seeds, the hash-chained history, export and verify.
import { ApiError, ROLE_NAMES, STATUS_NAMES, actorText, api, bpmnElements, download, el, errorText, eventName, fail, fmtDeadline, fmtTime, notice, pretty, regionLabel, regionNames, requireLogin, showFieldErrors, stageText, table, versionText } from './common.js';
import { mayVerify, verify } from './audit.js';

const ID = document.getElementById('root').dataset.instance;
const statusBox = document.getElementById('status');
const viewer = new window.BpmnJS({ container: document.getElementById('canvas') });
window.tidu = { viewer };
// BPMN messages a case may wait for (<bpmn:message name=...> in processes/), as people call them
const MESSAGE_NAMES = { objection: '异议', miit_decision: '工信部认定结果', revoke_qualification: '撤销资格',
  withdraw_renewal: '取消复核资格' };
let ELEMENTS = {};

/** A diagram element by its name (the id when it has none), the id kept as a tooltip. */
function element(id) {
  return el('span', { class: 'element', title: id || '' }, (ELEMENTS[id] && ELEMENTS[id].name) || id || '—');
}

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
    el('summary', {}, `${fmtTime(e.at)} · `, element(e.bpmn_id), ` · 处理器 ${e.data.operator} · 规则版本 ${e.data.rule_version || '—'}`),
    el('div', { class: 'side-by-side' }, el('div', {}, el('h3', {}, '输入'), pretty(e.data.inputs)),
      el('div', {}, el('h3', {}, '输出'), breakdown(e.data.outputs))))));
}

function breakdown(outputs) {
  const parts = [];
  if (Array.isArray(outputs.failed)) {
    parts.push(el('p', {}, outputs.failed.length ? `未满足的条件：${outputs.failed.map((f) => f.name || f.code || f).join('、')}` : '所有条件均满足'));
  }
  if (Array.isArray(outputs.indicators) && outputs.indicators.length) parts.push(indicators(outputs));
  parts.push(pretty(outputs));
  return el('div', {}, parts);
}

/** A score's indicators, one a row; groups by the labels the rule tables give them. */
function indicators(outputs) {
  const groups = outputs.groups || {};
  const box = table(['指标编号', '指标', '类别', '填报值', '得分档', '得分', '规则'], outputs.indicators.map((i) => el('tr', { dataset: { indicator: i.id } },
    el('td', {}, el('code', {}, i.id)), el('td', {}, i.label), el('td', { class: 'group' }, (groups[i.group] || {}).label || i.group),
    el('td', {}, i.value ?? '未填'), el('td', {}, i.band ?? (i.missing ? '缺少数据' : '—')),
    el('td', { class: 'nowrap' }, `${i.points} / ${i.max}`), el('td', {}, i.rule_id || '—'))));
  box.classList.add('indicators');
  return box;
}

function draws(events) {
  const rows = events.filter((e) => e.kind === 'handler.decision' && String(e.data.operator).startsWith('sampling.'));
  const box = document.getElementById('draws');
  if (!rows.length) { box.replaceChildren(el('p', { class: 'hint' }, '本案件尚未进行抽查抽签。')); return; }
  box.replaceChildren(table(['时间', '环节', '种子', '抽中', '输入', '规则版本'], rows.map((e) => el('tr', { class: 'draw' },
    el('td', {}, fmtTime(e.at)), el('td', {}, element(e.bpmn_id)), el('td', {}, el('code', { class: 'seed' }, String(e.data.outputs.seed ?? e.data.inputs.seed ?? '—'))),
    el('td', {}, e.data.outputs.selected ? el('span', { class: 'badge warn' }, '抽中') : '未抽中'),
    el('td', {}, pretty(e.data.inputs)), el('td', {}, e.data.rule_version || '—')))));
}

/** Where the case waits: open tasks (who, until when), timers (until when), messages. */
function waiting(instance, position, regions) {
  document.getElementById('waiting').replaceChildren(
    ...instance.open_tasks.map((t) => el('li', {}, `待办：${t.name}（${ROLE_NAMES[t.role] || t.role}${t.region ? ` ${regions[t.region] || t.region}` : ''}）`, t.due_at ? `，截止 ${fmtDeadline(t.due_at)}` : '')),
    ...position.timers.map((t) => el('li', { dataset: { timer: t.bpmn_id } }, '等待：', element(t.bpmn_id), `，${fmtDeadline(t.due_at)} 到期`)),
    ...position.messages.map((m) => el('li', { dataset: { message: m.name } }, `可接收消息：${MESSAGE_NAMES[m.name] || m.name}`,
      m.bpmn_id ? ['（', element(m.bpmn_id), '）'] : '')));
}

/** The step an event concerns: a message by its name (and the element, if any), a task or
 *  element by its name with its id; never null. */
function step(e) {
  const data = e.data || {};
  if (e.kind.startsWith('message.') && data.name) {
    const name = `消息：${MESSAGE_NAMES[data.name] || data.name}`;
    return e.bpmn_id ? [`${name}（`, element(e.bpmn_id), '）'] : name;
  }
  if (data.name && typeof data.name === 'string') return e.bpmn_id ? `${data.name}（${e.bpmn_id}）` : data.name;
  return e.bpmn_id ? element(e.bpmn_id) : '—';
}

function history(events, versions) {
  document.getElementById('events').replaceChildren(table(['序号', '时间', '事件', '环节', '操作人', '版本', '数据', '哈希'],
    events.map((e) => el('tr', { dataset: { kind: e.kind } },
      el('td', {}, String(e.seq)), el('td', {}, fmtTime(e.at)), el('td', {}, eventName(e.kind)),
      el('td', {}, step(e)), el('td', { class: 'actor' }, actorText(e)),
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
const objection = document.getElementById('objection');
const objectionForm = document.getElementById('objection-form');
let ME = null;

/** Staff register an objection received during 公示 while the case can take one (the case
 *  waits for the message `objection`); the case then moves into its objection review. */
function offerObjection(position) {
  objection.hidden = !(STAFF.includes(ME.role) && position.messages.some((m) => m.name === 'objection'));
}

async function registerObjection() {
  showFieldErrors(objectionForm, {});
  const button = objectionForm.querySelector('button');
  button.disabled = true;
  try {
    await api(`instances/${ID}/objections`, { method: 'POST', json: Object.fromEntries(new FormData(objectionForm)) });
  } catch (error) {
    button.disabled = false;
    if (!(error instanceof ApiError) || !error.body.errors) throw error;
    showFieldErrors(objectionForm, error.body.errors);
    notice(errorText(error), 'error');
    return;
  }
  objection.hidden = true;  // no second objection while the first is reviewed
  objectionForm.reset();
  button.disabled = false;
  notice('异议已登记，案件转入异议核查。', 'ok');
  await show();  // redrawn in place: the case now waits on its objection review
}

/** Fetch the case and draw every part of the page. */
async function show() {
  const [instance, position, events, defs, regions, rounds] = await Promise.all([api(`instances/${ID}`), api(`instances/${ID}/position`),
    api(`instances/${ID}/history`), api('definitions').catch(() => []), regionNames(), api('rounds').catch(() => [])]);
  const round = rounds.find((r) => r.id === instance.round_id);
  const versions = Object.fromEntries(defs.map((d) => [d.id, d.version]));
  document.getElementById('case-title').textContent = `${instance.business_key}`;
  const migrated = events.find((e) => e.kind === 'instance.migrated');
  const rows = [['案件编号', instance.id], ['流程', `${(defs.find((d) => d.process_key === instance.process_key) || {}).name || instance.process_key}（${versionText(instance.definition_version, migrated?.data.from_version)}）`],
    ['企业', instance.uscc || '—'], ['地区', regionLabel(regions, instance.region)], ['批次', instance.round_id === null ? '—' : (round ? round.label : instance.round_id)],
    ['状态', STATUS_NAMES[instance.status] || instance.status], ['当前环节', stageText(instance)], ['结果', instance.outcome_name || '—'],
    ['发起', `${fmtTime(instance.started_at)} ${actorText(events.find((e) => e.kind === 'instance.started') || { actor: instance.started_by })}`], ['更新', fmtTime(instance.updated_at)]];
  document.getElementById('case-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const xml = await api(`/api/v1/definitions/${instance.process_key}/${instance.definition_version}/xml`, { raw: true }).then((r) => r.text());
  ELEMENTS = bpmnElements(xml);
  await viewer.importXML(xml);
  viewer.get('canvas').zoom('fit-viewport');
  colour(position, events);
  offerObjection(position);
  waiting(instance, position, regions);
  decisions(events);
  draws(events);
  history(events, versions);
}

async function main() {
  ME = await requireLogin();
  document.getElementById('verify').hidden = !mayVerify(ME);
  await show();
  if (location.hash === '#objection' && !objection.hidden) objection.scrollIntoView();
}

document.getElementById('export-json').addEventListener('click', () => exportHistory('json').catch(fail));
document.getElementById('export-csv').addEventListener('click', () => exportHistory('csv').catch(fail));
document.getElementById('verify').addEventListener('click', () => verify(statusBox).catch(fail));
objectionForm.addEventListener('submit', (event) => { event.preventDefault(); registerObjection().catch(fail); });
main().catch(fail);
