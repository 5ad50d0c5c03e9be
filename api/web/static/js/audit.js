// Auditors: search cases (USCC, enterprise name, procedure, status, round); verify the hash chains;
// search the history by who, what and when (操作记录).
import { EVENT_NAMES, STATUS_NAMES, actorText, api, el, errorText, eventName, fail, fmtTime, pager, pretty, processNames, regionLabel, regionNames, requireLogin, stageText, table, versionText } from './common.js';

const form = document.getElementById('filters');
let NAMES = {};
let REGIONS = {};
const ROUND_LABELS = {};
let page = 1;

const VERIFIERS = ['auditor', 'province'];  // GET /audit/verify and /audit/events answer others 403

/** Whether the signed-in user may verify the hash chains (the pages offer the button only then). */
export function mayVerify(me) { return VERIFIERS.includes(me.role); }

/** Verify every hash chain and say so in `box`; a failed call replaces 正在校验… with its reason. */
export async function verify(box) {
  box.textContent = '正在校验…';
  box.className = 'status';
  let result;
  try {
    result = await api('audit/verify');
  } catch (error) {
    box.textContent = `校验失败：${errorText(error)}`;
    box.className = 'status error';
    return;
  }
  if (result.ok) {
    box.textContent = '历史记录完整：所有哈希链校验通过。';
    box.className = 'status ok';
  } else {
    box.textContent = `发现 ${result.problems.length} 处问题：` + result.problems.map((p) => (p.seq == null ? `${p.stream}（${p.reason}）` : `${p.stream} 第 ${p.seq} 条（${p.reason}）`)).join('；');
    box.className = 'status error';
  }
}

async function load() {
  const data = Object.fromEntries(new FormData(form));
  const found = await api('instances', { query: { ...data, page, per_page: 20 } });
  const box = document.getElementById('cases');
  if (!found.items.length) { box.replaceChildren(el('p', { class: 'hint' }, '没有符合条件的案件。')); }
  else {
    box.replaceChildren(table(['案件', '流程（版本）', '统一社会信用代码', '地区', '批次', '状态', '当前环节', '结果', '发起时间', '更新时间'],
      found.items.map((c) => el('tr', { dataset: { instance: c.id } },
        el('td', {}, el('a', { href: `/ui/audit/cases/${c.id}` }, c.id.slice(0, 8))),
        el('td', {}, `${NAMES[c.process_key] || c.process_key}（${versionText(c.definition_version, c.migrated_from_version)}）`),
        el('td', {}, c.uscc || '—'), el('td', {}, regionLabel(REGIONS, c.region)), el('td', {}, c.round_id === null ? '—' : ROUND_LABELS[c.round_id] || c.round_id),
        el('td', {}, STATUS_NAMES[c.status] || c.status), el('td', { class: 'stage' }, stageText(c)), el('td', {}, c.outcome_name || '—'),
        el('td', {}, fmtTime(c.started_at)), el('td', {}, fmtTime(c.updated_at))))));
  }
  pager(document.getElementById('pager'), found, page, (to) => { page = to; return load(); }, '件');
  document.body.dataset.loaded = 'true';
}

const eventForm = document.getElementById('event-filters');
let eventPage = 1;

/** A day in China as the start of that day, with its offset (the API wants aware times). */
function dayStart(day, plusDays = 0) {
  const at = new Date(`${day}T00:00:00+08:00`);
  at.setTime(at.getTime() + plusDays * 86400000);
  return at.toISOString();
}

/** The step an event is on as people read it: its element's name (the id as a tooltip). */
function stepName(e) {
  if (!e.bpmn_id) return '—';
  const own = e.kind.startsWith('task.') && e.data && typeof e.data.name === 'string' ? e.data.name : ''; // a task's name
  const name = e.element_name || own;
  return name ? el('span', { title: e.bpmn_id }, name) : e.bpmn_id;
}

/** History events by actor, kind and days (both days included), in the chains' order. */
async function loadEvents() {
  const data = Object.fromEntries(new FormData(eventForm));
  const query = { actor: data.actor.trim(), kind: data.kind, page: eventPage, per_page: 50,
    since: data.since ? dayStart(data.since) : '', until: data.until ? dayStart(data.until, 1) : '' };
  const found = await api('audit/events', { query });
  document.getElementById('event-list').replaceChildren(found.items.length
    ? table(['时间', '操作人', '事件', '案件', '环节', '内容'], found.items.map((e) => el('tr', { dataset: { event: e.id, kind: e.kind } },
      el('td', { class: 'nowrap' }, fmtTime(e.at)), el('td', { class: 'actor' }, actorText(e)), el('td', {}, eventName(e.kind)),
      el('td', {}, e.instance_id ? el('a', { href: `/ui/audit/cases/${e.instance_id}` }, e.instance_id.slice(0, 8)) : '—'),
      el('td', {}, stepName(e)), el('td', {}, el('details', {}, el('summary', {}, '详情'), pretty(e.data))))))
    : el('p', { class: 'hint' }, '没有符合条件的记录。'));
  pager(document.getElementById('event-pager'), found, eventPage, (to) => { eventPage = to; return loadEvents(); }, '条');
}

async function main() {
  const me = await requireLogin();
  document.getElementById('verify').hidden = !mayVerify(me);
  document.getElementById('events-search').hidden = !mayVerify(me); // 操作记录: the same roles
  let rounds;
  [NAMES, REGIONS, rounds] = await Promise.all([processNames(), regionNames(), api('rounds').catch(() => [])]);
  for (const [key, name] of Object.entries(NAMES)) document.getElementById('f-process').append(el('option', { value: key }, name));
  for (const r of rounds) {
    ROUND_LABELS[r.id] = r.label;
    document.getElementById('f-round').append(el('option', { value: r.id }, r.label));
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load().catch(fail); });
  for (const [kind, name] of Object.entries(EVENT_NAMES)) document.getElementById('f-kind').append(el('option', { value: kind }, name));
  eventForm.addEventListener('submit', (event) => { event.preventDefault(); eventPage = 1; loadEvents().catch(fail); });
  document.getElementById('verify').addEventListener('click', () => verify(document.getElementById('verify-result')).catch(fail));
  await load();
}

if (document.body.dataset.page === 'audit' && document.getElementById('filters')) main().catch(fail);
