// Process owners and the province: failed commands (incidents) — retry or close by hand —
// and whether the working-day calendar covers the years deadlines are about to reach.
import { api, ApiError, el, errorText, fail, fmtTime, notice, requireLogin, table } from './common.js';

const COMMANDS = {
  start_instance: '发起案件', complete_task: '办理任务', claim_task: '认领任务', fire_timers: '定时器触发',
  send_message: '登记消息', publish_message: '发布消息', deliver_message: '投递消息', migrate_instance: '迁移实例',
  import_legacy: '存量资格导入', import_miit_list: '导入工信部名单', file_complaint: '登记投诉', relocate_enterprise: '企业迁移',
};
const HANDLERS = ['province', 'process_owner'];
const CASE_READERS = ['province', 'auditor'];  // of this page's users, those who may open any case
const form = document.getElementById('filters');
let canHandle = false;
let canReadCases = false;

async function retry(button, incident) {
  button.disabled = true;
  try {
    const row = await api(`incidents/${incident.id}/retry`, { method: 'POST' });
    notice(`重试成功：案件 ${row.id.slice(0, 8)} 状态为${row.status === 'running' ? '进行中' : row.status}。`, 'ok');
  } catch (error) {
    button.disabled = false;
    throw error;
  }
  await load();
}

async function resolve(button, incident) {
  const note = prompt('手工关闭异常：请写明处理说明（记入案件历史）', '');
  if (note === null) return;
  button.disabled = true;
  await api(`incidents/${incident.id}/resolve`, { method: 'POST', json: { note } });
  notice('异常已手工关闭。', 'ok');
  await load();
}

function message(incident) {
  const prefix = `${incident.error_type}: `;
  return incident.message.startsWith(prefix) ? incident.message.slice(prefix.length) : incident.message;
}

/** The case an incident concerns: a link for those who may read it, else just its number. */
function caseCell(instanceId) {
  if (!instanceId) return '—';
  if (canReadCases) return el('a', { href: `/ui/audit/cases/${instanceId}` }, instanceId.slice(0, 8));
  return el('code', { class: 'case', title: `案件编号 ${instanceId}（案件详情仅省厅和审计人员可查看）` }, instanceId.slice(0, 8));
}

/** The case's process and version; for a case behind the latest version, a link to migrate it. */
function versionCell(incident) {
  if (!incident.process_key) return '—';
  const where = `${incident.process_name || incident.process_key}（第 ${incident.definition_version} 版）`;
  if (!canHandle || incident.status !== 'open' || !(incident.definition_version < incident.latest_version)) return where;
  const href = `/ui/design/${incident.process_key}/compare?a=${incident.definition_version}&b=${incident.latest_version}#migration`;
  return [where, el('br'), el('a', { href, class: 'migrate' }, `迁移至最新的第 ${incident.latest_version} 版`)];
}

function actions(incident) {
  if (!canHandle || incident.status !== 'open') return incident.resolved_at ? `${fmtTime(incident.resolved_at)} ${incident.resolved_by || ''}` : '';
  return [el('button', { type: 'button', class: 'retry', onclick: (event) => retry(event.target, incident).catch(fail) }, '重试'), ' ',
    el('button', { type: 'button', class: 'secondary resolve', onclick: (event) => resolve(event.target, incident).catch(fail) }, '手工关闭')];
}

async function load() {
  const found = await api('incidents', { query: { status: new FormData(form).get('status') } });
  document.getElementById('incidents').replaceChildren(found.length
    ? table(['时间', '命令', '案件', '流程（版本）', '环节', '错误', '次数', '状态', ''], found.map((i) => el('tr', { dataset: { incident: i.id, status: i.status } },
      el('td', { class: 'nowrap' }, fmtTime(i.created_at)), el('td', { class: 'nowrap' }, COMMANDS[i.command] || i.command),
      el('td', {}, caseCell(i.instance_id)), el('td', { class: 'version' }, versionCell(i)),
      el('td', {}, i.element_id ? el('code', {}, i.element_id) : '—'),
      el('td', {}, el('strong', {}, i.error_type), el('br'), message(i)),
      el('td', {}, i.attempts),
      el('td', { class: 'nowrap' }, el('span', { class: `badge ${i.status === 'open' ? 'bad' : 'ok'}` }, i.status === 'open' ? '未处理' : '已处理')),
      el('td', { class: 'nowrap' }, actions(i)))))
    : el('p', { class: 'hint' }, '没有符合条件的异常。'));
  document.body.dataset.loaded = 'true';
}

/** Years with holiday data (chinesecalendar or processes/calendars/<year>.json); a warning
 *  when this year, or the next one within TIDU_CALENDAR_WARN_DAYS, lacks it. */
async function showCalendar() {
  const found = await api('calendars');
  const box = document.getElementById('calendar-status');
  const packaged = found.years.filter((y) => y.source === 'chinesecalendar').map((y) => y.year);
  const files = found.years.filter((y) => y.source !== 'chinesecalendar');
  box.replaceChildren(
    found.warning ? el('p', { class: 'status error', id: 'calendar-warning' }, found.warning)
      : el('p', { class: 'status ok' }, `已有 ${found.needed.join('、')} 年节假日安排（提前 ${found.warn_days} 天检查下一年）。`),
    el('p', { class: 'hint' }, packaged.length ? `${packaged[0]}–${packaged[packaged.length - 1]} 年：chinesecalendar 软件包。` : '',
      files.length ? '' : '没有上传或补充的年份。'),
    files.length ? table(['年份', '来源', '问题'], files.map((y) => el('tr', { dataset: { year: y.year } },
      el('td', {}, String(y.year)), el('td', {}, el('code', {}, y.source)), el('td', {}, y.problems.length ? y.problems.join('；') : '无')))) : '');
}

/** Process owners and the province upload a year's holiday notice (JSON), checked entry by entry. */
async function uploadCalendar(form) {
  const box = document.getElementById('calendar-problems');
  box.replaceChildren();
  const year = document.getElementById('cal-year').value;
  const file = document.getElementById('cal-file').files[0];
  let data;
  try { data = JSON.parse(await file.text()); } catch (error) {
    box.replaceChildren(el('p', { class: 'status error' }, `${file.name} 不是有效的 JSON：${error.message}`));
    return;
  }
  try {
    await api(`calendars/${year}`, { method: 'PUT', json: data });
    notice(`${year} 年工作日历已上传，所有服务进程 30 秒内生效。`, 'ok');
    form.reset();
    await showCalendar();
  } catch (error) {
    if (!(error instanceof ApiError) || !error.body.errors) throw error;
    box.replaceChildren(el('p', { class: 'status error' }, errorText(error)),
      el('ul', { id: 'calendar-errors' }, Object.values(error.body.errors).flat().map((p) => el('li', {}, p))));
  }
}

async function main() {
  const me = await requireLogin();
  canHandle = HANDLERS.includes(me.role);
  canReadCases = CASE_READERS.includes(me.role);
  form.addEventListener('submit', (event) => { event.preventDefault(); load().catch(fail); });
  if (canHandle) {
    const calendarForm = document.getElementById('calendar-form');
    calendarForm.hidden = false;
    calendarForm.addEventListener('submit', (event) => { event.preventDefault(); uploadCalendar(calendarForm).catch(fail); });
  }
  await Promise.all([load(), showCalendar()]);
}

main().catch(fail);
