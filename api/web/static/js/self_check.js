// Enterprises (and staff): a self-check before applying — the tier's self-evaluation form, scored
// by POST /evaluations/preview under the standards in force; nothing is stored.
import { api, ApiError, el, errorText, fail, notice, requireLogin, table, TIER_NAMES } from './common.js';
import { buildForm } from './forms.js';

// tier -> the procedure whose self-evaluation form it uses
const FORMS = {
  innovative: ['innovative_evaluation', 'forms/innovative_self_evaluation.schema.json'],
  specialized: ['specialized_certification', 'forms/specialized_self_evaluation.schema.json'],
  little_giant: ['little_giant_recommendation', 'forms/little_giant_self_evaluation.schema.json'],
};
const tierSelect = document.getElementById('f-tier');
let form = null;
let defs = [];

// a direct condition not met is no failure (one of them suffices): shown without alarm
const yes = (ok, soft = false) => el('span', { class: `badge ${ok ? 'ok' : soft ? '' : 'bad'}` }, ok ? '满足' : '不满足');

/** The tier's self-evaluation form from the latest deployed version of its procedure. */
async function loadForm() {
  const [key, file] = FORMS[tierSelect.value];
  const latest = defs.filter((d) => d.process_key === key).sort((a, b) => b.version - a.version)[0];
  if (!latest) throw new Error(`流程 ${key} 尚未部署`);
  const schema = await api(`definitions/${key}/${latest.version}/files/${file}`);
  delete schema.properties.evidence; // a self-check needs no evidence files
  schema.required = (schema.required || []).filter((name) => name !== 'evidence');
  document.getElementById('form-title').textContent = schema.title || '自评表';
  const box = document.getElementById('form-fields');
  box.replaceChildren();
  form = buildForm(box, schema, {});
  document.getElementById('result').hidden = true;
  document.body.dataset.loaded = 'true';
}

function reasons(result, tier) {
  const out = [];
  if (!result.eligibility.eligible) out.push(...result.eligibility.failed.map((f) => `不符合申报条件：${f.name}（${f.article || '第四条'}）`));
  for (const f of tier.failed || []) out.push(`未达标：${f.name || f.label || f.code || f}`);
  const missing = [...new Set([...(result.eligibility.missing || []), ...(tier.missing || [])])];
  if (missing.length) out.push(`未填：${missing.join('、')}`);
  return out;
}

function show(result, tierKey) {
  const tier = result.tiers[tierKey];
  const verdict = document.getElementById('verdict');
  verdict.className = `status ${tier.qualifies ? 'ok' : 'error'}`;
  verdict.textContent = tier.qualifies
    ? `按所填数据，达到${TIER_NAMES[tierKey]}标准，且符合申报条件。`
    : `按所填数据，暂不符合${TIER_NAMES[tierKey]}的申报要求。`;
  const parts = [];
  const why = reasons(result, tier);
  if (why.length) parts.push(el('ul', { id: 'reasons' }, why.map((r) => el('li', {}, r))));
  parts.push(el('dl', { class: 'meta' },
    el('dt', {}, '规模类型'), el('dd', { id: 'size' }, `${result.size.size_class_label || '—'}（${result.size.industry_label || '—'}）`),
    el('dt', {}, '申报条件（第四条）'), el('dd', { id: 'eligibility' }, result.eligibility.eligible ? '符合' : '不符合'),
    ...(tier.score !== null && tier.score !== undefined ? [el('dt', {}, '得分'), el('dd', { id: 'score' }, `${tier.score} 分（及格线 ${tier.pass_line} 分）`)] : []),
    el('dt', {}, '依据'), el('dd', {}, `${tier.ruleset.name}，${tier.ruleset.effective_from} 起施行`, tier.ruleset.note ? el('div', { class: 'hint' }, tier.ruleset.note) : '')));
  if (Array.isArray(tier.indicators)) {
    parts.push(el('h3', {}, '指标得分'), table(['编号', '指标', '填报', '档次', '得分'], tier.indicators.map((i) => el('tr', { dataset: { indicator: i.id } },
      el('td', {}, i.id), el('td', {}, i.label), el('td', {}, i.missing ? '未填' : String(i.value ?? '—')), el('td', {}, i.band || '—'),
      el('td', { class: 'num' }, `${i.points} / ${i.max}`)))));
  }
  if (Array.isArray(tier.conditions) && tier.conditions.length) {
    parts.push(el('h3', {}, '认定条件'), table(['编号', '条件', '填报', ''], tier.conditions.map((c) => el('tr', { dataset: { condition: c.code } },
      el('td', {}, c.indicator || c.code), el('td', {}, c.name), el('td', {}, c.missing ? '未填' : c.value || '—'), el('td', {}, yes(c.passed))))));
  }
  if (Array.isArray(tier.direct_conditions) && tier.direct_conditions.length) {
    parts.push(el('h3', {}, '直通条件（满足任一项即可）'), table(['条件', '填报', ''], tier.direct_conditions.map((c) => el('tr', { dataset: { direct: c.code } },
      el('td', {}, c.name), el('td', {}, c.value || '—'), el('td', {}, yes(c.passed, true))))));
  }
  document.getElementById('result-body').replaceChildren(...parts);
  document.getElementById('result').hidden = false;
  document.getElementById('result').scrollIntoView();
}

async function check(event) {
  event.preventDefault();
  notice('');
  const tierKey = tierSelect.value;
  try {
    const result = await api('evaluations/preview', { method: 'POST', json: { data: form.read(), tier: tierKey } });
    form.showErrors({});
    show(result, tierKey);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.body.errors) throw error;
    const rest = form.showErrors(error.body.errors);
    notice(`${errorText(error)}${rest.length ? `：${rest.join('；')}` : ''}`, 'error');
  }
}

async function main() {
  await requireLogin();
  defs = await api('definitions');
  tierSelect.addEventListener('change', () => loadForm().catch(fail));
  document.getElementById('check-form').addEventListener('submit', (event) => check(event).catch(fail));
  await loadForm();
}

main().catch(fail);
