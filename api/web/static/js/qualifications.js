// Staff: the qualification registry — search, one certificate's lifecycle (annual updates,
// renewal, status changes with who and why), and the province's legacy import (第二十条).
// The province also opens a case about the enterprise from here: a 第十二条 incident, or a
// major change found without a report (第十一条).
import { actorIdText, actorText, api, ApiError, download, el, errorText, eventName, fail, fmtDeadline, fmtTime, notice, pager, pretty, QUALIFICATION_STATUS_NAMES, requireLogin, ROLE_NAMES, showFieldErrors, STATUS_NAMES, table, TIER_NAMES } from './common.js';

const SOURCES = { evaluation: '评价认定', legacy: '存量导入' };
const form = document.getElementById('filters');
let page = 1;
let regions = {};
let role = null;

// what the province may open about an enterprise (POST /instances with its USCC)
const PROVINCE_CASES = [
  { process_key: 'article12_incident', label: '发起第十二条事件处理', hint: '有效期内发生重大安全（含网络安全、数据安全）、质量、环境污染等事故，或严重失信、偷漏税等违法违规行为，或存在数据造假等情形的：取消其全部公告或认定，且至少三年内不得再次申报（第十二条）' },
  { process_key: 'major_change', label: '登记未报告的重大变化', hint: '发现企业发生更名、合并、重组、跨地区迁移等重大变化而未按期报告的（第十一条）' },
];

/** The province corrects which city is responsible for the enterprise (running cases, their
 *  open tasks and its qualifications move with it; each case's history records the move). */
function regionForm(q) {
  const select = el('select', { id: 'r-region', name: 'region' }, el('option', { value: '' }, '请选择'),
    Object.entries(regions).filter(([code]) => code !== q.region).map(([code, name]) => el('option', { value: code }, name)));
  const reason = el('input', { type: 'text', id: 'r-reason', name: 'reason', maxlength: 500 });
  const errorBox = (name) => el('p', { class: 'field-error', dataset: { errorFor: name } });
  const form = el('form', { id: 'region-form', novalidate: true },
    el('h2', {}, '变更负责地区'),
    el('p', { class: 'hint' }, `现由${regions[q.region] || q.region || '（未登记）'}负责。企业在省内迁移而未经重大变化案件处理时，由省工信厅更正；其进行中的案件和待办随之转到新的地区，旧地区不再可见，各案件历史均有记录。`),
    el('div', { class: 'field', dataset: { field: 'region' } }, el('label', { for: 'r-region', class: 'required' }, '新的负责地区'), select, errorBox('region')),
    el('div', { class: 'field', dataset: { field: 'reason' } }, el('label', { for: 'r-reason', class: 'required' }, '调整理由'), reason, errorBox('reason')),
    el('button', { type: 'submit', class: 'secondary' }, '变更'));
  const submit = async () => {
    showFieldErrors(form, {});
    try {
      const moved = await api(`enterprises/${q.uscc}/region`, { method: 'POST', json: { region: select.value, reason: reason.value } });
      notice(`已改由${regions[moved.to_region] || moved.to_region}负责，随之转移的进行中案件 ${moved.cases.length} 件。`, 'ok');
      await Promise.all([load(), show(q.id)]);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.body.errors) throw error;
      showFieldErrors(form, error.body.errors);
      notice(errorText(error), 'error');
    }
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); submit().catch(fail); });
  return form;
}

/** The province opens a case about the enterprise and goes to its own first task of it. */
async function openCase(button, processKey, uscc) {
  button.disabled = true;
  try {
    const started = await api('instances', { method: 'POST', json: { process_key: processKey, uscc } });
    const detail = await api(`instances/${started.id}`);
    const mine = detail.open_tasks.find((t) => t.role === role);
    location.href = mine ? `/ui/tasks/${mine.id}` : `/ui/audit/cases/${started.id}`;
  } catch (error) {
    button.disabled = false;
    throw error;
  }
}

function statusBadge(status) {
  const kind = { active: 'ok', renewal_ineligible: 'warn', in_grace: 'warn', revoked: 'bad' }[status] || '';
  return el('span', { class: `badge ${kind}` }, QUALIFICATION_STATUS_NAMES[status] || status);
}

async function load() {
  const query = { ...Object.fromEntries(new FormData(form)), page, per_page: 20 };
  const found = await api('qualifications', { query });
  document.getElementById('qualifications').replaceChildren(found.items.length
    ? table(['证书编号', '企业名称', '统一社会信用代码', '梯度', '地区', '认定日期', '有效期至', '状态', '来源', ''], found.items.map((q) => el('tr', { dataset: { qualification: q.id } },
      el('td', {}, q.number), el('td', {}, q.enterprise_name), el('td', {}, q.uscc), el('td', {}, TIER_NAMES[q.tier] || q.tier),
      el('td', {}, regions[q.region] || q.region || '—'), el('td', {}, q.issued_on), el('td', {}, q.expires_on), el('td', {}, statusBadge(q.status)),
      el('td', {}, SOURCES[q.source] || q.source || '—'),
      el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => show(q.id).catch(fail) }, '详情')))))
    : el('p', { class: 'hint' }, '没有符合条件的资质。'));
  pager(document.getElementById('pager'), found, page, (to) => { page = to; return load(); });
  document.body.dataset.loaded = 'true';
}

/** A status change as "有效 → 已撤销：reason"; any other event's data as JSON. */
function change(event) {
  const d = event.data || {};
  if (event.kind !== 'qualification.changed' || !d.to) return pretty(d);
  const name = (s) => (s ? QUALIFICATION_STATUS_NAMES[s] || s : '（新登记）');
  return `${name(d.from)} → ${name(d.to)}${d.reason ? `：${d.reason}` : ''}`;
}

async function show(id) {
  const q = await api(`qualifications/${id}`);
  document.getElementById('detail-title').textContent = `${q.enterprise_name} · ${TIER_NAMES[q.tier] || q.tier}（${q.number}）`;
  const rows = [['状态', statusBadge(q.status)], ['状态说明', q.status_reason || '—'],
    ['状态变更', q.status_changed_at ? `${fmtTime(q.status_changed_at)} ${actorIdText(q.status_changed_by)}` : '—'],
    ['有效期', `${q.issued_on} 至 ${q.expires_on}`], ['具备复核资格', q.renewal_eligible ? '是' : '否（第十条）'],
    ['最近年度信息更新', q.info_updated_on || '—'], ['来源', SOURCES[q.source] || q.source || '—'],
    ['颁发案件', q.instance_id ? el('a', { href: `/ui/audit/cases/${q.instance_id}` }, q.instance_id.slice(0, 8)) : '—']];
  document.getElementById('detail-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const life = q.lifecycle;
  document.getElementById('detail-lifecycle').replaceChildren(...(life ? [
    el('p', {}, el('a', { href: `/ui/audit/cases/${life.instance_id}` }, '生命周期案件'), `：${STATUS_NAMES[life.status] || life.status}（第 ${life.definition_version} 版）`),
    life.open_tasks.length ? table(['待办', '办理方', '截止时间'], life.open_tasks.map((t) => el('tr', { dataset: { task: t.bpmn_id } },
      el('td', {}, t.name), el('td', {}, ROLE_NAMES[t.role] || t.role), el('td', {}, t.due_at ? fmtDeadline(t.due_at) : '—')))) : el('p', { class: 'hint' }, '没有待办。'),
    table(['时间', '事件', '操作人', '内容'], life.history.map((e) => el('tr', { dataset: { kind: e.kind } },
      el('td', { class: 'nowrap' }, fmtTime(e.at)), el('td', {}, eventName(e.kind)), el('td', {}, actorText(e)), el('td', {}, change(e))))),
  ] : [el('p', { class: 'hint' }, '没有生命周期案件。')]));
  const actions = document.getElementById('detail-actions');
  actions.hidden = role !== 'province';
  if (role === 'province') {
    actions.replaceChildren(regionForm(q), el('h2', {}, '立案'), table(['事项', '适用情形', ''], PROVINCE_CASES.map((c) => el('tr', { dataset: { process: c.process_key } },
      el('td', { class: 'nowrap' }, c.label), el('td', { class: 'hint' }, c.hint),
      el('td', { class: 'nowrap' }, el('button', { type: 'button', class: 'secondary', onclick: (event) => {
        if (window.confirm(`对 ${q.enterprise_name}（${q.uscc}）${c.label}？`)) openCase(event.target, c.process_key, q.uscc).catch(fail);
      } }, '发起'))))));
  }
  document.getElementById('detail').hidden = false;
  document.getElementById('detail').scrollIntoView();
}

async function importFile(importForm) {
  const box = document.getElementById('import-result');
  box.replaceChildren();
  try {
    const result = await api('qualifications/import', { method: 'POST', form: new FormData(importForm) });
    box.replaceChildren(el('p', { class: 'status ok' }, `已导入 ${result.imported.length} 条，跳过此前已导入的 ${result.skipped.length} 条（共 ${result.rows} 行）。`));
    await load();
  } catch (error) {
    if (!(error instanceof ApiError) || !Array.isArray(error.body.errors)) throw error;
    box.replaceChildren(el('p', { class: 'status error' }, errorText(error)),
      table(['行', '列', '原因'], error.body.errors.map((e) => el('tr', { dataset: { line: e.line } },
        el('td', {}, e.line ?? '—'), el('td', {}, e.column || '—'), el('td', {}, e.message)))));
  }
}

/** Valid qualifications by region and tier today; a region's name filters the list below. */
async function showSummary() {
  const found = await api('qualifications/summary');
  const cells = (r) => ['innovative', 'specialized', 'little_giant', 'valid', 'expiring', 'renewal_ineligible', 'in_grace', 'revoked']
    .map((k) => el('td', { class: 'num', dataset: { key: k } }, String(r[k])));
  const pick = (code) => () => { form.elements.region.value = code; page = 1; load().catch(fail); form.scrollIntoView(); };
  document.getElementById('summary-table').replaceChildren(found.rows.length
    ? table(['地区', '创新型中小企业', '专精特新中小企业', '专精特新“小巨人”企业', '有效合计', `${found.expiring_days} 天内到期`, '已取消复核资格', '复核中（已届满）', '已撤销'], [
      ...found.rows.map((r) => el('tr', { dataset: { region: r.region || '' } },
        el('td', {}, r.region ? el('a', { href: '#filters', onclick: (event) => { event.preventDefault(); pick(r.region)(); } }, r.region_name || r.region) : '（未登记地区）'),
        ...cells(r))),
      ...(found.rows.length > 1 ? [el('tr', { class: 'total', dataset: { region: 'total' } }, el('td', {}, '合计'), ...cells(found.totals))] : []),
    ])
    : el('p', { class: 'hint' }, '尚无资质。'));
  document.getElementById('summary-table').append(el('p', { class: 'hint' }, `截至 ${found.as_of}；“有效”含已取消复核资格但仍在有效期内的资质（第十条）；“复核中（已届满）”的资质有效期已届满、复核仍在进行，不计入有效。`));
}

let bansPage = 1;
/** 第十二条 bans I may see (cities: their region's enterprises), current ones by default. */
async function showBans() {
  const onlyActive = document.getElementById('bans-active').checked;
  const query = { page: bansPage, per_page: 20, ...(onlyActive ? { active: 'true' } : {}) };
  const found = await api('bans', { query });
  document.getElementById('bans-list').replaceChildren(found.items.length
    ? table(['企业名称', '统一社会信用代码', '地区', '禁止申报', '原因', '依据', '状态', '决定案件'], found.items.map((b) => el('tr', { dataset: { ban: b.id, uscc: b.uscc } },
      el('td', {}, b.enterprise_name || '—'), el('td', {}, b.uscc), el('td', {}, regions[b.region] || b.region || '—'),
      el('td', { class: 'nowrap' }, `${b.starts_on} 起，${b.ends_on} 起可再次申报`), el('td', {}, b.reason), el('td', {}, b.basis),
      el('td', {}, el('span', { class: `badge ${b.active ? 'bad' : ''}` }, b.active ? '有效' : '已到期')),
      el('td', {}, b.instance_id ? el('a', { href: `/ui/audit/cases/${b.instance_id}` }, b.instance_id.slice(0, 8)) : '—'))))
    : el('p', { class: 'hint' }, onlyActive ? '当前没有禁止申报的企业。' : '没有禁止申报记录。'));
  pager(document.getElementById('bans-pager'), found, bansPage, (to) => { bansPage = to; return showBans(); }, '条');
  document.getElementById('bans').hidden = false;
}

/** The registry with the form's filters, every match, as CSV (Excel opens it). */
async function exportCsv(button) {
  button.disabled = true;
  try {
    const query = Object.fromEntries(new FormData(form));
    const response = await api('qualifications/export', { query, raw: true });
    const name = (response.headers.get('Content-Disposition') || '').split('filename=')[1] || 'qualifications.csv';
    download(await response.blob(), name);
  } finally { button.disabled = false; }
}

async function main() {
  const me = await requireLogin();
  role = me.role;
  regions = await api('/ui/regions');
  for (const [code, name] of Object.entries(regions)) document.getElementById('f-region').append(el('option', { value: code }, name));
  if (me.role === 'province') {
    const importForm = document.getElementById('import-form');
    importForm.addEventListener('submit', (event) => { event.preventDefault(); importFile(importForm).catch(fail); });
    document.getElementById('import').hidden = false;
  }
  if (me.role === 'enterprise') notice('企业的资质显示在“待办”页的“我的资质”中。');
  form.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load().catch(fail); });
  document.getElementById('export').addEventListener('click', (event) => exportCsv(event.target).catch(fail));
  document.getElementById('bans-active').addEventListener('change', () => { bansPage = 1; showBans().catch(fail); });
  const bans = ['province', 'city', 'miit', 'auditor'].includes(me.role) ? showBans() : null;
  await Promise.all([load(), showSummary(), bans]);
}

main().catch(fail);
