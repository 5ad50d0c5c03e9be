// Staff: the inbox (my role and region), filters, due dates with overdue first. Enterprises
// also apply here in an open round, report a major change, and follow their cases.
import { api, el, fail, fmtDeadline, fmtTime, notice, pager, processNames, QUALIFICATION_STATUS_NAMES, regionLabel, regionNames, requireLogin, stageText, STATUS_NAMES, table, TIER_NAMES } from './common.js';

// what an enterprise may start outside a round (第十一条 major-change report)
const UNSCHEDULED = [{ process_key: 'major_change', label: '报告重大变化', hint: '更名、合并、重组等重大变化发生后报告（第十一条）' }];

const form = document.getElementById('filters');
let page = 1;

/** 截止早于 D: due at or before D 24:00 (the next day's 00:00 in Beijing time), as deadlines read. */
function dayEnd(day) {
  return new Date(new Date(`${day}T00:00:00+08:00`).getTime() + 24 * 3600 * 1000).toISOString();
}

function query() {
  const data = new FormData(form);
  const due = data.get('due_before');
  return {
    state: data.get('state'), process_key: data.get('process_key'), mine: data.get('mine') ? 'true' : '',
    due_before: due ? dayEnd(due) : '', page, per_page: 20,
  };
}

/** An enterprise as people read it: 名称（统一社会信用代码）, or the code alone. */
function enterpriseLabel(task) {
  if (!task.uscc) return '—';
  return task.enterprise_name ? `${task.enterprise_name}（${task.uscc}）` : task.uscc;
}

/** Who handles a task, by name: its claimer while open, who completed it once done. */
function handler(task) {
  const claimer = task.assignee_name || task.assignee;
  if (task.state === 'completed') return task.completed_by_name || task.completed_by || claimer || '—';
  return claimer || (task.state === 'open' ? '未认领' : '—');
}

function dueCell(task) {
  if (!task.due_at) return el('td', {}, '—');
  return el('td', {}, fmtDeadline(task.due_at), ' ', task.overdue ? el('span', { class: 'badge bad' }, '已逾期') : '');
}

async function load() {
  const found = await api('tasks', { query: query() });
  const box = document.getElementById('tasks');
  if (!found.items.length) { box.replaceChildren(el('p', { class: 'hint' }, '没有符合条件的任务。')); }
  else {
    box.replaceChildren(table(['任务', '流程', '企业名称（统一社会信用代码）', '地区', '截止时间', '办理人', '状态', '创建时间'],
      found.items.map((t) => el('tr', { class: t.overdue ? 'overdue' : '', dataset: { task: t.id, bpmn: t.bpmn_id } },
        el('td', {}, el('a', { href: `/ui/tasks/${t.id}` }, t.name)),
        el('td', {}, NAMES[t.process_key] || t.process_key),
        el('td', { class: 'enterprise' }, enterpriseLabel(t)),
        el('td', {}, regionLabel(REGIONS, t.region)),
        dueCell(t),
        el('td', { class: 'handler' }, handler(t)),
        el('td', {}, STATUS_NAMES[t.state] || t.state),
        el('td', {}, fmtTime(t.created_at))))));
  }
  pager(document.getElementById('pager'), found, page, (to) => { page = to; return load(); });
}

/** Start a case; go to its first task of mine, if it has one. */
async function start(button, body) {
  button.disabled = true;
  try {
    const started = await api('instances', { method: 'POST', json: body });
    const detail = await api(`instances/${started.id}`);
    const mine = detail.open_tasks.find((t) => t.role === 'enterprise');
    if (mine) { location.href = `/ui/tasks/${mine.id}`; return; }
    notice('已发起。', 'ok');
    await Promise.all([load(), showApply(NAMES)]);
  } catch (error) {
    button.disabled = false;
    throw error;
  }
}

/** 申报 in a round: done already, refused for want of the qualification it requires
 * (第七、八条; disabled with the reason), or offered. */
function roundAction(round, mine, prerequisite) {
  if (mine) return el('span', { class: 'badge' }, `已申报：${STATUS_NAMES[mine.status] || mine.status}`);
  if (prerequisite && prerequisite.held === false) {
    return el('span', {}, el('button', { type: 'button', disabled: true, title: prerequisite.reason }, '申报'),
      ' ', el('span', { class: 'hint', dataset: { missing: prerequisite.requires_qualification } }, prerequisite.reason));
  }
  return el('button', { type: 'button', onclick: (event) => start(event.target, { process_key: round.process_key, round_id: round.id }).catch(fail) }, '申报');
}

function roundRow(round, names, mine, prerequisite) {
  return el('tr', { dataset: { round: round.id } }, el('td', {}, round.label),
    el('td', {}, names[round.process_key] || round.process_key), el('td', {}, fmtDeadline(round.closes_at)),
    el('td', {}, roundAction(round, mine, prerequisite)));
}

/** The outcome each case told the enterprise (its latest 结果 notification's text, with the reason), by case. */
function outcomeNotes(items) {
  const found = new Map();
  for (const n of items) if (n.kind === 'outcome' && n.instance_id && n.body && !found.has(n.instance_id)) found.set(n.instance_id, n.body);
  return found;
}

async function showApply(names) {
  const [rounds, cases, planned, notes] = await Promise.all([api('rounds'), api('instances', { query: { per_page: 100 } }),
    api('rounds/schedule').catch(() => []), api('notifications', { query: { per_page: 100 } }).catch(() => ({ items: [] }))]);
  const outcomes = outcomeNotes(notes.items);
  const applied = new Map(cases.items.filter((c) => c.round_id !== null).map((c) => [c.round_id, c]));
  const open = rounds.filter((r) => r.accepting);
  // the qualification each open round requires, and whether this enterprise holds it
  const prerequisites = await Promise.all(open.filter((r) => !applied.has(r.id))
    .map((r) => api(`rounds/${r.id}/prerequisite`).catch(() => null)));
  const needs = new Map(prerequisites.filter(Boolean).map((p) => [p.round_id, p]));
  // the next opening of each procedure with no round open now
  const next = planned.filter((p, i) => planned.findIndex((q) => q.process_key === p.process_key) === i
    && !open.some((r) => r.process_key === p.process_key));
  document.getElementById('apply-rounds').replaceChildren(open.length
    ? table(['申报批次', '流程', '申报截止', ''], open.map((r) => roundRow(r, names, applied.get(r.id), needs.get(r.id))))
    : el('p', { class: 'hint' }, '当前没有开放申报的批次。'),
  next.length ? el('p', { class: 'hint', id: 'next-rounds' }, `下次开放：${next.map((p) => `${p.label}（${p.opens_on} 起，${p.last_day} 24:00 截止）`).join('；')}`) : '');
  document.getElementById('apply-other').replaceChildren(...UNSCHEDULED.filter((u) => names[u.process_key]).map((u) => el('span', {},
    el('button', { type: 'button', class: 'secondary', dataset: { start: u.process_key }, onclick: (event) => start(event.target, { process_key: u.process_key }).catch(fail) }, u.label),
    ' ', el('span', { class: 'hint' }, u.hint))));
  document.getElementById('apply').hidden = false;
  document.getElementById('my-cases-list').replaceChildren(cases.items.length
    ? table(['流程', '批次', '状态', '当前环节', '结果', '发起时间', '更新时间'], cases.items.map((c) => el('tr', { dataset: { instance: c.id } },
      el('td', {}, el('a', { href: `/ui/audit/cases/${c.id}`, title: '查看案件' }, names[c.process_key] || c.process_key)),
      el('td', {}, (rounds.find((r) => r.id === c.round_id) || {}).label || '—'),
      el('td', {}, STATUS_NAMES[c.status] || c.status),
      el('td', { class: 'stage' }, stageText(c)),
      el('td', { class: 'outcome' }, c.outcome_name || '—', outcomes.has(c.id) ? el('div', { class: 'hint outcome-note' }, outcomes.get(c.id)) : ''),
      el('td', {}, fmtTime(c.started_at)), el('td', {}, fmtTime(c.updated_at)))))
    : el('p', { class: 'hint' }, '尚无案件。'));
  document.getElementById('my-cases').hidden = false;
}

/** An enterprise's certificates: tier, number, validity and status. */
async function showQualifications() {
  const [found, bans] = await Promise.all([api('qualifications', { query: { per_page: 50 } }),
    api('bans', { query: { active: 'true', per_page: 5 } })]);
  document.getElementById('my-ban').replaceChildren(...bans.items.map((b) => el('p', { class: 'status error', dataset: { ban: b.id } },
    `根据${b.basis}，本企业自 ${b.starts_on} 起不得申报，${b.ends_on} 起可再次申报。原因：${b.reason}`)));
  document.getElementById('my-qualifications-list').replaceChildren(found.items.length
    ? table(['梯度', '证书编号', '认定日期', '有效期至', '状态'], found.items.map((q) => el('tr', { dataset: { qualification: q.id } },
      el('td', {}, TIER_NAMES[q.tier] || q.tier), el('td', {}, q.number), el('td', {}, q.issued_on), el('td', {}, q.expires_on),
      el('td', {}, el('span', { class: `badge ${q.status === 'active' ? 'ok' : ['renewal_ineligible', 'in_grace'].includes(q.status) ? 'warn' : ''}` },
        QUALIFICATION_STATUS_NAMES[q.status] || q.status)))))
    : el('p', { class: 'hint' }, '尚无资质。'));
  document.getElementById('my-qualifications').hidden = false;
}

const NOTE_KINDS = { reminder: '提醒', deadline: '截止', outcome: '结果', info: '通知' };

/** My unread notifications (reminders before deadlines, outcomes), each with 标为已读. */
async function showNotes() {
  const found = await api('notifications', { query: { unread: 'true', per_page: 20 } });
  document.getElementById('notes').hidden = !found.total;
  document.getElementById('notes-count').textContent = `${found.total} 条未读`;
  document.getElementById('notes-list').replaceChildren(table(['类别', '通知', '所提醒的截止时间', '时间', ''],
    found.items.map((n) => el('tr', { dataset: { note: n.id } },
      el('td', {}, el('span', { class: `badge ${n.kind === 'reminder' || n.kind === 'deadline' ? 'warn' : ''}` }, NOTE_KINDS[n.kind] || n.kind)),
      el('td', {}, el('strong', {}, n.title), el('br'), n.body),
      el('td', {}, n.due_at ? fmtDeadline(n.due_at) : '—'),
      el('td', {}, fmtTime(n.created_at)),
      el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: (event) => markRead(event.target, n.id).catch(fail) }, '标为已读'))))));
}

async function markRead(button, id) {
  button.disabled = true;
  await api(`notifications/${id}/read`, { method: 'POST' });
  await showNotes();
}

const NAMES = {};
const REGIONS = {};

async function main() {
  const me = await requireLogin();
  const select = document.getElementById('f-process');
  const [names, regions] = await Promise.all([processNames(), regionNames()]);
  Object.assign(NAMES, names);
  Object.assign(REGIONS, regions);
  for (const [key, name] of Object.entries(NAMES)) select.append(el('option', { value: key }, name));
  form.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load().catch(fail); });
  await Promise.all([load(), showNotes()]);
  if (me.role === 'enterprise') await Promise.all([showApply(NAMES), showQualifications()]);
  document.body.dataset.loaded = 'true';
}

main().catch(fail);
