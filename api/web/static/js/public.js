// Anyone: look up valid qualifications by enterprise name or certificate number (no login).
import { api, el, fail, pager, showWho, table, TIER_NAMES, token } from './common.js';

const form = document.getElementById('filters');
let page = 1;

async function load() {
  const found = await api('public/qualifications', { query: { ...Object.fromEntries(new FormData(form)), page, per_page: 20 } });
  document.getElementById('results').replaceChildren(found.items.length
    ? table(['企业名称', '梯度', '证书编号', '地区', '认定日期', '有效期至'], found.items.map((q) => el('tr', { dataset: { number: q.number } },
      el('td', {}, q.enterprise_name), el('td', {}, q.tier_label || TIER_NAMES[q.tier] || q.tier), el('td', {}, q.number),
      el('td', {}, q.region_name || q.region || '—'), el('td', {}, q.issued_on), el('td', {}, q.expires_on))))
    : el('p', { class: 'hint' }, '没有查到在有效期内的资质。'));
  pager(document.getElementById('pager'), found, page, (to) => { page = to; return load(); });
  document.body.dataset.loaded = 'true';
}

async function main() {
  if (token()) api('/ui/session').then(showWho).catch(() => {}); // signed in: my pages in the menu
  const regions = await api('/ui/regions');
  for (const [code, name] of Object.entries(regions)) document.getElementById('f-region').append(el('option', { value: code }, name));
  form.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load().catch(fail); });
  await load();
}

main().catch(fail);
