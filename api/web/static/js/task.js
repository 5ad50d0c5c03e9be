// Staff: one task — its case data, the generated form, claim / unclaim, complete (422 by field).
import { api, ApiError, el, errorText, fail, fmtDeadline, fmtTime, notice, pretty, processNames, regionLabel, regionNames, requireLogin, STATUS_NAMES } from './common.js';
import { buildForm } from './forms.js';

const TASK = document.getElementById('root').dataset.task;
const statusBox = document.getElementById('status');
let me = null;
let form = null;

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }

function meta(task, names, regions) {
  const rows = [['流程', `${names[task.process_key] || task.process_key}（第 ${task.version} 版）`], ['环节', `${task.name}（${task.bpmn_id}）`],
    ['企业', task.uscc || '—'], ['地区', regionLabel(regions, task.region)], ['状态', STATUS_NAMES[task.state] || task.state],
    ['截止时间', task.due_at ? [fmtDeadline(task.due_at), task.overdue ? el('span', { class: 'badge bad' }, ' 已逾期') : ''] : '—'],
    ['认领人', task.assignee || '未认领'], ['创建时间', fmtTime(task.created_at)],
    ['案件', el('a', { href: `/ui/audit/cases/${task.instance_id}` }, task.instance_id)]];
  if (task.completed_at) rows.push(['办结', `${fmtTime(task.completed_at)} ${task.completed_by || ''}`]);
  document.getElementById('task-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

async function load() {
  const [task, names, regions] = await Promise.all([api(`tasks/${TASK}`), processNames(), regionNames()]);
  document.getElementById('task-title').textContent = task.name;
  document.title = `${task.name} · 办理任务`;
  meta(task, names, regions);
  document.getElementById('case-data-body').replaceChildren(pretty(task.data));
  const open = task.state === 'open';
  const canWork = open && me.role !== 'auditor' && (!task.assignee || task.assignee === me.id);
  document.getElementById('claim').hidden = !(open && !task.assignee && me.role !== 'auditor');
  document.getElementById('unclaim').hidden = !(open && task.assignee === me.id);
  const schema = task.form || { title: '确认办理', properties: {} };
  document.getElementById('form-title').textContent = schema.title || '表单';
  document.getElementById('form-desc').textContent = schema.description || '';
  const instructions = document.getElementById('instructions'); // the diagram's words to the doer
  instructions.textContent = task.instructions || '';
  instructions.hidden = !task.instructions;
  const box = document.getElementById('form-fields');
  box.replaceChildren();
  // not prefilled from the case data: an earlier step's `decision` must never preselect this one's
  form = buildForm(box, schema, {}, { readOnly: !canWork });
  document.getElementById('complete').hidden = !canWork;
  if (!open) status('该任务已不在办理中', 'error');
  else if (task.assignee && task.assignee !== me.id) status(`该任务已由 ${task.assignee} 认领`, 'error');
}

async function claim(on) {
  await api(`tasks/${TASK}/${on ? 'claim' : 'unclaim'}`, { method: 'POST' });
  notice(on ? '已认领该任务' : '已释放认领', 'ok');
  await load();
}

async function complete(event) {
  event.preventDefault();
  const errorLine = document.getElementById('form-error');
  errorLine.textContent = '';
  const button = document.getElementById('complete');
  button.disabled = true;
  try {
    const instance = await api(`tasks/${TASK}/complete`, { method: 'POST', json: { data: form.read() } });
    form.showErrors({});
    const box = document.getElementById('notice');
    box.replaceChildren(`任务已完成。案件状态：${STATUS_NAMES[instance.status] || instance.status}。 `,
      el('a', { href: '/ui/inbox' }, '返回待办'));
    box.className = 'notice ok';
    box.hidden = false;
    status('已提交', 'ok');
    await load();
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      const rest = form.showErrors(error.body.errors);
      errorLine.textContent = [error.body.title, ...rest].join('；');
      status('请按提示修改后重新提交', 'error');
    } else {
      notice(errorText(error), 'error');
    }
  } finally {
    button.disabled = false;
  }
}

document.getElementById('claim').addEventListener('click', () => claim(true).catch(fail));
document.getElementById('unclaim').addEventListener('click', () => claim(false).catch(fail));
document.getElementById('task-form').addEventListener('submit', complete);
requireLogin().then((m) => { me = m; return load(); }).catch(fail);
