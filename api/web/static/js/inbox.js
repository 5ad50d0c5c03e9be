// Staff: the inbox (my role and region), filters, due dates with overdue first.
import { api, el, fail, fmtTime, requireLogin, STATUS_NAMES, table } from './common.js';

const form = document.getElementById('filters');
let page = 1;

function query() {
  const data = new FormData(form);
  const due = data.get('due_before');
  return {
    state: data.get('state'), process_key: data.get('process_key'), mine: data.get('mine') ? 'true' : '',
    due_before: due ? new Date(`${due}T00:00:00+08:00`).toISOString() : '', page, per_page: 20,
  };
}

function dueCell(task) {
  if (!task.due_at) return el('td', {}, '—');
  return el('td', {}, fmtTime(task.due_at), ' ', task.overdue ? el('span', { class: 'badge bad' }, '已逾期') : '');
}

async function load() {
  const found = await api('tasks', { query: query() });
  const box = document.getElementById('tasks');
  if (!found.items.length) { box.replaceChildren(el('p', { class: 'hint' }, '没有符合条件的任务。')); }
  else {
    box.replaceChildren(table(['任务', '流程', '企业（统一社会信用代码）', '地区', '截止时间', '认领人', '状态', '创建时间'],
      found.items.map((t) => el('tr', { class: t.overdue ? 'overdue' : '', dataset: { task: t.id, bpmn: t.bpmn_id } },
        el('td', {}, el('a', { href: `/ui/tasks/${t.id}` }, t.name)),
        el('td', {}, t.process_key),
        el('td', {}, t.uscc || '—'),
        el('td', {}, t.region || '—'),
        dueCell(t),
        el('td', {}, t.assignee || '未认领'),
        el('td', {}, STATUS_NAMES[t.state] || t.state),
        el('td', {}, fmtTime(t.created_at))))));
  }
  const pages = Math.max(1, Math.ceil(found.total / found.per_page));
  document.getElementById('pager').replaceChildren(
    el('button', { type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page -= 1; load().catch(fail); } }, '上一页'),
    `第 ${page} / ${pages} 页，共 ${found.total} 项`,
    el('button', { type: 'button', class: 'secondary', disabled: page >= pages, onclick: () => { page += 1; load().catch(fail); } }, '下一页'));
}

async function main() {
  await requireLogin();
  const defs = await api('definitions').catch(() => []);
  const select = document.getElementById('f-process');
  for (const key of [...new Set(defs.map((d) => d.process_key))]) {
    select.append(el('option', { value: key }, defs.find((d) => d.process_key === key).name));
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load().catch(fail); });
  await load();
}

main().catch(fail);
