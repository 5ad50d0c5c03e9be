// Enterprises (and staff): a self-check before applying — the tier's self-evaluation form, scored
// by POST /evaluations/preview under the standards in force; nothing is stored.
import { api, ApiError, el, errorText, fail, notice, requireLogin, showFieldErrors, table, TIER_NAMES } from './common.js';
import { buildForm } from './forms.js';

// tier -> the procedure whose self-evaluation form it uses
const FORMS = {
  innovative: ['innovative_evaluation', 'forms/innovative_self_evaluation.schema.json'],
  specialized: ['specialized_certification', 'forms/specialized_self_evaluation.schema.json'],
  little_giant: ['little_giant_recommendation', 'forms/little_giant_self_evaluation.schema.json'],
};
const tierSelect = document.getElementById('f-tier');
const checkForm = document.getElementById('check-form');
const usccInput = document.getElementById('f-uscc');
let form = null;
let defs = [];
let ownUscc = null; // an enterprise checks itself: the API takes its own USCC

// GB 32100-2015: 18 characters of this set, the last a check character (as handlers/uscc.py)
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** Why a typed USCC cannot be used, or '' when it is well formed with a correct check char. */
function usccProblem(code) {
  if (!code) return '请填写统一社会信用代码';
  if (code.length !== 18 || [...code].some((c) => !USCC_CHARS.includes(c))) {
    return '统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）';
  }
  const total = [...code.slice(0, 17)].reduce((sum, c, i) => sum + USCC_CHARS.indexOf(c) * (3 ** i % 31), 0);
  return USCC_CHARS[(31 - (total % 31)) % 31] === code[17] ? '' : '不是有效的统一社会信用代码（校验位不符）';
}

/** The enterprise's own USCC, shown read-only; staff type the one of the enterprise they check. */
function setUpUscc(me) {
  document.getElementById('uscc-field').hidden = false;
  if (me.role === 'enterprise' && me.uscc) {
    ownUscc = me.uscc;
    usccInput.value = me.uscc;
    usccInput.readOnly = true;
    document.getElementById('uscc-desc').textContent = '本企业（登录用户）的统一社会信用代码。';
  }
}

/** The USCC to send (undefined for an enterprise: its own), or null when the typed one is bad. */
function readUscc() {
  if (ownUscc) return undefined;
  const code = usccInput.value.trim().toUpperCase();
  usccInput.value = code;
  const problem = usccProblem(code);
  showFieldErrors(checkForm, problem ? { uscc: [problem] } : {});
  return problem ? null : code;
}

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

/** The Chinese titles of the form fields left blank that the evaluation needed. */
function missingTitles(result, tier) {
  const parts = [result.size, result.eligibility, tier];
  return [...new Set(parts.flatMap((part) => (part.missing_fields || []).map((f) => f.title)))];
}

function reasons(result, tier) {
  const out = [];
  if (!result.eligibility.eligible) out.push(...result.eligibility.failed.map((f) => `不符合申报条件：${f.name}（${f.article || '第四条'}）`));
  for (const f of tier.failed || []) out.push(`未达标：${f.name || f.label || f.code || f}`);
  const missing = missingTitles(result, tier);
  if (missing.length) out.push(`未填：${missing.join('、')}`);
  return out;
}

/** The 认定条件 table; the 编号 column only when the standard numbers its conditions. */
function conditionsTable(conditions) {
  const numbered = conditions.some((c) => c.indicator);
  return table([...(numbered ? ['编号'] : []), '条件', '填报', ''], conditions.map((c) => el('tr', { dataset: { condition: c.code } },
    numbered ? el('td', {}, c.indicator || '—') : null, el('td', {}, c.name), el('td', {}, c.value || (c.missing ? '未填' : '—')), el('td', {}, yes(c.passed)))));
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
    // the rule set's 说明 (note) is for those who maintain the rule files, never shown here
    el('dt', {}, '依据'), el('dd', { id: 'basis' }, `${tier.ruleset.name}，${tier.ruleset.effective_from} 起施行`)));
  if (Array.isArray(tier.indicators)) {
    parts.push(el('h3', {}, '指标得分'), table(['编号', '指标', '填报', '档次', '得分'], tier.indicators.map((i) => el('tr', { dataset: { indicator: i.id } },
      el('td', {}, i.id), el('td', {}, i.label), el('td', {}, i.value ?? (i.missing ? '未填' : '—')), el('td', {}, i.band || '—'),
      el('td', { class: 'num' }, `${i.points} / ${i.max}`)))));
  }
  if (Array.isArray(tier.conditions) && tier.conditions.length) {
    parts.push(el('h3', {}, '认定条件'), conditionsTable(tier.conditions));
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
  const uscc = readUscc();
  if (uscc === null) {
    document.getElementById('result').hidden = true;
    notice('请填写有效的统一社会信用代码', 'error');
    usccInput.scrollIntoView({ block: 'center' });
    return;
  }
  try {
    const result = await api('evaluations/preview', { method: 'POST', json: { data: form.read(), tier: tierKey, uscc } });
    form.showErrors({});
    show(result, tierKey);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.body.errors) throw error;
    const rest = form.showErrors(error.body.errors);
    notice(`${errorText(error)}${rest.length ? `：${rest.join('；')}` : ''}`, 'error');
  }
}

async function main() {
  setUpUscc(await requireLogin());
  defs = await api('definitions');
  tierSelect.addEventListener('change', () => loadForm().catch(fail));
  checkForm.addEventListener('submit', (event) => check(event).catch(fail));
  await loadForm();
}

main().catch(fail);
