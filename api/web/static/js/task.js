// Staff: one task — its case data (figures by their Chinese names, evidence to download), the
// generated form, claim / unclaim, complete (422 by field).
import { api, ApiError, download, el, errorText, fail, fmtDeadline, fmtTime, notice, pretty, processNames, regionLabel, regionNames, requireLogin, STATUS_NAMES, table } from './common.js';
import { buildForm } from './forms.js';

const TASK = document.getElementById('root').dataset.task;
const statusBox = document.getElementById('status');
let me = null;
let form = null;

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }

/** An enterprise as people read it: 名称（统一社会信用代码）, or the code alone. */
function enterpriseLabel(task) {
  if (!task.uscc) return '—';
  return task.enterprise_name ? `${task.enterprise_name}（${task.uscc}）` : task.uscc;
}

/** Who claimed or completed a task (`field`: assignee, completed_by) by name, else by id. */
function personName(task, field) {
  return task[`${field}_name`] || task[field] || '';
}

function meta(task, names, regions) {
  const done = task.state === 'completed';
  const rows = [['流程', `${names[task.process_key] || task.process_key}（第 ${task.version} 版）`], ['环节', `${task.name}（${task.bpmn_id}）`],
    ['企业', enterpriseLabel(task)], ['地区', regionLabel(regions, task.region)], ['状态', STATUS_NAMES[task.state] || task.state],
    ['截止时间', task.due_at ? [fmtDeadline(task.due_at), task.overdue ? el('span', { class: 'badge bad' }, ' 已逾期') : ''] : '—'],
    done ? ['办理人', personName(task, 'completed_by') || personName(task, 'assignee') || '—'] : ['认领人', personName(task, 'assignee') || '未认领'],
    ['创建时间', fmtTime(task.created_at)],
    ['案件', el('a', { href: `/ui/audit/cases/${task.instance_id}` }, task.instance_id)]];
  if (task.completed_at) rows.push(['办结', `${fmtTime(task.completed_at)} ${personName(task, 'completed_by')}`]);
  document.getElementById('task-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

const EVIDENCE = 'evidence-file';
const isEvidence = (prop) => prop.type === 'array' && (prop.items || {}).format === EVIDENCE;

function fmtSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The title of a value among a property's choices (oneOf const/title), if it has them. */
function choiceTitle(prop, value) {
  const found = (prop.oneOf || []).find((o) => o.const === value);
  return found ? found.title : undefined;
}

/** A submitted value as people read it: 是/否, a choice's title, a figure with its unit. */
function shown(prop, value) {
  if (value === null || value === undefined || value === '') return '—'; // 0 is a figure, not 未填
  if (typeof value === 'boolean') return value ? '是' : '否';
  const title = choiceTitle(prop, value);
  if (title !== undefined) return title;
  if (Array.isArray(value)) return value.length ? value.map((v) => choiceTitle(prop.items || {}, v) ?? shown({}, v)).join('、') : '（未选）';
  if (typeof value === 'number') {
    const unit = ((prop.description || '').match(/单位：([^；，。（(\s]+)/) || [])[1] || '';
    return `${value.toLocaleString('zh-CN')}${unit ? ` ${unit}` : ''}`;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

async function fetchFile(file) {
  const response = await api(`files/${file.id}`, { raw: true });
  download(await response.blob(), file.filename);
}

/** Evidence files as links to download, each with its size and the start of its sha256. */
function evidenceList(ids, files) {
  return el('ul', { class: 'files' }, ids.map((id) => {
    const file = files[id];
    if (!file) return el('li', { dataset: { file: id } }, el('code', {}, id), ' ', el('span', { class: 'hint' }, '（文件不存在或无权下载）'));
    return el('li', { dataset: { file: id } },
      el('a', { href: `/api/v1/files/${id}`, onclick: (event) => { event.preventDefault(); fetchFile(file).catch(fail); } }, file.filename),
      ` ${fmtSize(file.size)} `, el('code', { title: `sha256 ${file.sha256}` }, `sha256 ${file.sha256.slice(0, 12)}…`));
  }));
}

/** The case data's submitted fields, by their forms' titles and in their order; the fields this
 *  task's own form asks for are left to the form (prefilled, or showing what was submitted). */
function figures(task) {
  const own = new Set(Object.keys((task.form || {}).properties || {}));
  const props = Object.entries((task.data_schema || {}).properties || {})
    .filter(([name]) => name in task.data && !own.has(name));
  const rows = props.map(([name, prop]) => el('tr', { dataset: { name } },
    el('th', { scope: 'row' }, prop.title || name),
    el('td', {}, isEvidence(prop) && Array.isArray(task.data[name]) ? evidenceList(task.data[name].map(String), task.evidence_files || {}) : shown(prop, task.data[name]))));
  return rows.concat(complainantRows(task.complainant));
}

/** 第十三条: a complaint's complainant, given only to the handling authority and auditors. */
function complainantRows(person) {
  if (!person) return [];
  return [['投诉人姓名', person.name], ['投诉人证件号码', person.id_number], ['投诉人联系方式', person.contact]]
    .map(([label, value]) => el('tr', { dataset: { name: 'complainant' } }, el('th', { scope: 'row' }, label), el('td', {}, value || '—')));
}

/** What the automatic checks found (规模划型, 第四条 conditions, score), a 公示 objection under
 *  review and a revocation asked for (the lifecycle's MIIT decision), where the case has them. */
function checks(data, files = {}) {
  const rows = [];
  const { size, eligibility: elig, evaluation: score } = data;
  if (size && size.size_class_label) rows.push(['规模类型', `${size.size_class_label}${size.industry_label ? `（${size.industry_label}）` : ''}`]);
  if (elig && typeof elig.eligible === 'boolean') {
    const failed = (elig.failed || []).map((f) => f.name || f.code || f);
    rows.push(['申报基本条件', elig.eligible ? '符合' : `不符合${failed.length ? `：${failed.join('、')}` : ''}`]);
  }
  if (score && typeof score.score === 'number') {
    const groups = Object.values(score.groups || {}).map((g) => `${g.label} ${g.points}/${g.max}`).join('；');
    rows.push(['评价得分', `${score.score} 分${score.pass_line !== undefined ? `（及格线 ${score.pass_line} 分）` : ''}${groups ? `，${groups}` : ''}`]);
  }
  const objection = data.objection; // a 公示 objection under review (redacted for the enterprise)
  if (objection && typeof objection.content === 'string') {
    rows.push(['收到的异议', `${objection.content}${objection.submitted_by ? `（提出人：${objection.submitted_by}）` : ''}`]);
  }
  const asked = data.revocation;
  if (asked && typeof asked.reason === 'string') {
    rows.push(['撤销请求', revocationAsked(asked, files)]);
  }
  return rows;
}

const SOURCE_KINDS = { complaint: '投诉案件', article12_incident: '第十二条事件案件', major_change: '重大变化报告案件' };

/** A revocation request MIIT decides: its reason and basis, and where it came from — the source
 *  case (its kind, a link to its page), the day it was decided there and its evidence files. */
function revocationAsked(asked, files) {
  const parts = [`${asked.reason}${asked.basis ? `（依据：${asked.basis}）` : ''}`];
  if (asked.source_case) {
    parts.push(el('br'), `来源：${SOURCE_KINDS[asked.source_kind] || '案件'} `,
      el('a', { href: `/ui/audit/cases/${asked.source_case}`, dataset: { sourceCase: asked.source_case } }, String(asked.source_case)));
  }
  if (asked.decided_on) parts.push(`，${asked.decided_on} 决定报请撤销`);
  const evidence = Array.isArray(asked.source_evidence) ? asked.source_evidence.map(String) : [];
  if (evidence.length) {
    parts.push(el('ul', { class: 'files' }, evidence.map((id) => {
      const file = files[id] || { id, filename: id };
      return el('li', { dataset: { file: id } },
        el('a', { href: `/api/v1/files/${id}`, onclick: (event) => { event.preventDefault(); fetchFile(file).catch(fail); } }, file.filename));
    })));
  }
  return parts;
}

/** 办理记录: each earlier step with who did it and when; its choices and reasons in the summary
 *  line, everything it submitted under it. */
function earlierSteps(task) {
  return (task.earlier_steps || []).map((step) => {
    const entries = Object.entries(step.fields || {}).filter(([name]) => name in (step.submitted || {}));
    const said = entries
      .filter(([name, prop]) => prop.oneOf || prop.enum || ['reason', 'findings', 'remarks', 'announcement_no'].includes(name))
      .map(([name, prop]) => `${prop.title || name}：${shown(prop, step.submitted[name])}`);
    const head = `${step.name}（${step.completed_by_name || step.completed_by || '—'}，${fmtTime(step.completed_at)}）`;
    return el('li', { dataset: { step: step.bpmn_id } },
      el('details', {},
        el('summary', {}, head, said.length ? ` ${said.join('；')}` : ''),
        entries.length ? table(['项目', '提交内容'], entries.map(([name, prop]) => [prop.title || name, shown(prop, step.submitted[name])]))
          : el('p', { class: 'hint' }, '该步骤没有填写表单内容。')));
  });
}

function showCase(task) {
  const steps = earlierSteps(task);
  document.getElementById('case-steps').replaceChildren(...steps);
  document.getElementById('case-steps-title').hidden = !steps.length;
  const rows = figures(task);
  document.getElementById('case-figures').replaceChildren(rows.length
    ? table(['项目', '填报内容'], rows) : el('p', { class: 'hint' }, '本任务的案件数据中没有已填报的表单内容。'));
  const found = checks(task.data || {}, task.evidence_files || {});
  const box = document.getElementById('case-checks');
  box.replaceChildren(...found.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  box.hidden = !found.length;
  document.getElementById('case-checks-title').hidden = !found.length;
  document.getElementById('case').hidden = !rows.length && !found.length && !steps.length;
  document.getElementById('case-data-body').replaceChildren(pretty(task.data));
}

async function load(justSubmitted = false) {
  const [task, names, regions] = await Promise.all([api(`tasks/${TASK}`), processNames(), regionNames()]);
  document.getElementById('task-title').textContent = task.name;
  document.title = `${task.name} · 办理任务`;
  meta(task, names, regions);
  showCase(task);
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
  form = buildForm(box, schema, formValues(task), { readOnly: !canWork, files: task.evidence_files || {} });
  document.getElementById('complete').hidden = !canWork;
  if (justSubmitted) return; // the success banner says it
  if (task.state === 'completed') status('该任务已办结，表单中为办理时提交的内容');
  else if (!open) status('该任务已不在办理中', 'error');
  else if (task.assignee && task.assignee !== me.id) status(`该任务已由 ${personName(task, 'assignee')} 认领`, 'error');
}

/** What the form opens with: a completed task's submitted values; the case's current values
 *  where the diagram asks for them (`prefill`, a correction resubmitting the application);
 *  otherwise nothing, so an earlier step's decision never preselects this one's. */
function formValues(task) {
  if (task.state === 'completed') return task.submitted || {};
  return task.prefill ? task.data || {} : {};
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
    await load(true);
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
