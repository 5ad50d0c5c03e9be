// Process owners: dry run, then migration, of running instances from one version to another.
import { api, el, fail, fmtDeadline, notice, requireLogin, table } from './common.js';

const KEY = document.getElementById('root').dataset.key;
const OWNERS = ['process_owner', 'province']; // the roles the migration API lets preview and migrate
const STATES = { READY: '待办理', WAITING: '等待中', STARTED: '执行中', ERROR: '出错' };
const form = document.getElementById('migrate-pick');
const runButton = document.getElementById('m-run');
let picked = null; // {from, to, movable: [instance ids]} of the last dry run

async function versions() {
  const rows = await api('definitions');
  return rows.filter((r) => r.process_key === KEY).sort((x, y) => x.version - y.version);
}

function fillSelects(rows, from, to) {
  for (const [id, chosen] of [['m-from', from], ['m-to', to]]) {
    document.getElementById(id).replaceChildren(...rows.map((r) => el('option',
      { value: r.version, selected: r.version === chosen }, `第 ${r.version} 版（运行中 ${r.running_instances} 件）`)));
  }
}

function changesLine(changes) {
  const ids = (list) => list.map((c) => c.element_id).join('、') || '无';
  const changed = changes.changed.map((c) => `${c.element_id}（${c.what.join('、')}）`).join('、') || '无';
  const value = (v) => (v === null || v === undefined ? '无' : typeof v === 'string' ? v : JSON.stringify(v));
  const settings = (changes.settings || []).map((c) => `${c.name}（${c.note || c.element_id}）${value(c.old)} → ${value(c.new)}`);
  const rules = (changes.rules || []).map((r) => `${r.decision}${r.rule ? ` 第 ${r.rule} 条` : ''}${r.column ? ` ${r.column}` : ''}`
    + (r.change === 'changed' ? ` ${value(r.old)} → ${value(r.new)}` : `（${r.change === 'added' ? '新增' : '删除'}）`));
  return el('div', {}, el('p', { class: 'hint' }, `目标版本相对源版本：新增 ${ids(changes.added)}；删除 ${ids(changes.removed)}；修改 ${changed}。`),
    settings.length ? el('p', { class: 'hint settings-changes' }, `流程参数：${settings.join('；')}。已运行过流程参数的案件迁移后保留原值（见下表）。`) : '',
    rules.length ? el('p', { class: 'hint rule-changes' }, `规则表：${rules.join('；')}。迁移后的案件按新版本的规则表办理。`) : '');
}

/** The 流程参数 a case already ran: it keeps their values after the migration. */
function keptText(kept) {
  const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  return el('p', { class: 'settings-kept' }, '保留原流程参数：' + kept.map((k) =>
    `${k.name}（${k.note || k.element_id}）案件中为 ${value(k.case_value)}，新版本为 ${value(k.new_value)}`).join('；'));
}

function timersText(timers) {
  if (!timers.length) return '迁移后在原位置继续办理';
  return el('ul', { class: 'timers' }, timers.map((t) => el('li', {},
    `定时器 ${t.name || t.element_id}：${fmtDeadline(t.due_at)}`, t.kept ? '（到期时间不变）' : '（到期时间将重新计算）')));
}

function reportRow(check) {
  const where = check.positions.map((p) => `${p.name || p.element_id}（${p.element_id}，${STATES[p.state] || p.state}）`);
  return el('tr', { dataset: { instance: check.instance_id, can: String(check.can_migrate) } },
    el('td', {}, el('a', { href: `/ui/audit/cases/${check.instance_id}` }, el('code', {}, check.instance_id.slice(0, 8)))),
    el('td', {}, check.business_key),
    el('td', {}, where.join('；') || '—'),
    el('td', { class: 'verdict' }, check.can_migrate
      ? el('span', { class: 'badge ok' }, '可迁移') : el('span', { class: 'badge bad' }, '不可迁移')),
    el('td', {}, check.can_migrate ? [timersText(check.timers), check.settings_kept?.length ? keptText(check.settings_kept) : '']
      : el('ul', { class: 'reasons' }, check.reasons.map((r) => el('li', { dataset: { element: r.element_id, rule: r.rule } }, r.message)))));
}

async function preview(from, to) {
  const report = await api(`definitions/${KEY}/migrations/preview`, { query: { from, to } });
  const movable = report.instances.filter((i) => i.can_migrate).map((i) => i.instance_id);
  picked = { from, to, movable };
  const s = report.summary;
  document.getElementById('m-summary').replaceChildren(
    el('p', { class: 'migration-summary' }, `第 ${from} 版 → 第 ${to} 版：进行中案件 ${s.running} 件，`
      + `可迁移 ${s.can_migrate} 件，不可迁移 ${s.cannot_migrate} 件`
      + (s.not_running ? `；已办结或取消的 ${s.not_running} 件不迁移` : '') + '。'),
    changesLine(report.changes));
  document.getElementById('m-report').replaceChildren(report.instances.length
    ? table(['案件', '业务编号', '当前位置', '结论', '原因 / 迁移后'], report.instances.map(reportRow))
    : el('p', { class: 'hint' }, `第 ${from} 版上没有进行中的案件。`));
  runButton.disabled = !movable.length;
  runButton.textContent = movable.length ? `迁移可迁移的 ${movable.length} 件案件` : '没有可迁移的案件';
}

async function run() {
  if (!picked || !picked.movable.length) return;
  const { from, to, movable } = picked;
  if (!window.confirm(`将 ${movable.length} 件案件从第 ${from} 版迁移到第 ${to} 版？迁移记入各案件的审计历史，不能撤销。`)) return;
  runButton.disabled = true;
  const result = await api(`definitions/${KEY}/migrations`, { method: 'POST', json: { from, to, instance_ids: movable } });
  const refused = result.refused.map((r) => r.detail).join('；');
  const rows = await versions();
  fillSelects(rows, from, to);
  for (const side of ['a', 'b']) { // the comparison above shows running counts per version too
    const row = rows.find((r) => String(r.version) === document.getElementById(side)?.value);
    const title = document.getElementById(`${side}-title`);
    if (row && title) title.textContent = `第 ${row.version} 版（运行中案件 ${row.running_instances} 件）`;
  }
  await preview(from, to);
  notice(`已迁移 ${result.summary.migrated} 件到第 ${to} 版` + (refused ? `；未迁移 ${result.summary.refused} 件：${refused}` : '。'),
    refused ? 'error' : 'ok');
}

async function main() {
  const me = await requireLogin();
  document.getElementById('migration').hidden = !OWNERS.includes(me.role);
  if (!OWNERS.includes(me.role)) return;
  const rows = await versions();
  const params = new URLSearchParams(location.search);
  const last = rows.length ? rows[rows.length - 1].version : 1;
  fillSelects(rows, Number(params.get('a') || Math.max(1, last - 1)), Number(params.get('b') || last));
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  notice('');
  preview(Number(document.getElementById('m-from').value), Number(document.getElementById('m-to').value)).catch(fail);
});
runButton.addEventListener('click', () => run().catch(fail));
main().catch(fail);
