// The public (and city or province staff on a complainant's behalf): file a real-name complaint
// (第十三条) with its evidence, every missing element named; follow the complaints filed.
import { api, ApiError, el, errorText, fail, fmtTime, notice, requireLogin, showFieldErrors, STATUS_NAMES, table } from './common.js';

const AUTHORITIES = { city: '所在地市级中小企业主管部门', province: '省工业和信息化厅' };
const form = document.getElementById('complaint-form');
const evidence = [];

async function upload(input) {
  for (const file of input.files) {
    const data = new FormData();
    data.append('file', file);
    const stored = await api('files', { method: 'POST', form: data });
    evidence.push(stored.id);
    document.getElementById('c-files').append(el('li', {}, stored.filename, ' ', el('code', {}, stored.sha256.slice(0, 16))));
  }
  input.value = '';
}

async function file() {
  const v = (name) => form.elements[name].value.trim();
  const body = {
    uscc: v('uscc').toUpperCase() || null, tier: v('tier') || null, subject: v('subject') || null, content: v('content') || null,
    evidence: [...evidence], complainant: { name: v('name') || null, id_number: v('id_number') || null, contact: v('contact') || null },
  };
  try {
    const filed = await api('complaints', { method: 'POST', json: body });
    showFieldErrors(form, {});
    notice(`投诉已登记（编号 ${filed.id.slice(0, 8)}），由${AUTHORITIES[filed.authority] || filed.authority}办理。`, 'ok');
    form.reset();
    evidence.length = 0;
    document.getElementById('c-files').replaceChildren();
    await load();
  } catch (error) {
    if (!(error instanceof ApiError) || !error.body.errors) throw error;
    showFieldErrors(form, error.body.errors);
    notice(errorText(error), 'error');
  }
}

async function load() {
  const found = await api('complaints', { query: { per_page: 50 } });
  document.getElementById('complaints').replaceChildren(found.items.length
    ? table(['编号', '被投诉企业', '办理机关', '状态', '结果', '登记时间', '办结时间'], found.items.map((c) => el('tr', { dataset: { complaint: c.id } },
      el('td', {}, c.id.slice(0, 8)), el('td', {}, c.uscc), el('td', {}, AUTHORITIES[c.authority] || c.authority),
      el('td', {}, STATUS_NAMES[c.status] || c.status), el('td', {}, c.outcome_name || '—'),
      el('td', {}, fmtTime(c.filed_at)), el('td', {}, c.completed_at ? fmtTime(c.completed_at) : '—'))))
    : el('p', { class: 'hint' }, '尚未登记投诉。'));
  document.body.dataset.loaded = 'true';
}

async function main() {
  await requireLogin();
  document.getElementById('c-evidence').addEventListener('change', (event) => upload(event.target).catch(fail));
  form.addEventListener('submit', (event) => { event.preventDefault(); file().catch(fail); });
  await load();
}

main().catch(fail);
