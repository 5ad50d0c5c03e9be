// Staff: application rounds. The province opens one; each round's cases by stage (a city sees
// its own region) and the lists staff send on, as CSV (市级上报、公示、公告、推荐名单).
import { api, download, el, fail, fmtDeadline, fmtTime, notice, pager, processNames, regionLabel, regionNames, requireLogin, STATUS_NAMES, table } from './common.js';

const ROUND_PROCESSES = ['innovative_evaluation', 'specialized_certification', 'little_giant_recommendation'];
const WINDOWS = { upcoming: ['未开放', ''], open: ['申报中', 'ok'], closed: ['已截止', ''] };
// [list, query, label, the procedures whose rounds have it (none: every round)]
const EXPORTS = [
  ['city-report', {}, '市级推荐上报名单'],
  ['notice-list', { level: 'city' }, '市级公示名单'],
  ['notice-list', { level: 'province' }, '省级公示名单'],
  ['announcement-list', {}, '公告名单'],
  ['recommendation-list', {}, '推荐工业和信息化部名单', ['little_giant_recommendation']],
];
const VIEWERS = ['city', 'province', 'miit', 'auditor'];  // who may list a round's cases
const NAMES = {};
const REGIONS = {};
let canView = false;
let role = '';
const MIIT_IMPORTERS = ['province', 'miit'];
const chosen = { round: null, stage: '', page: 1 };

function counts(round) {
  const parts = Object.entries(round.counts || {}).map(([status, n]) => `${STATUS_NAMES[status] || status} ${n}`);
  return parts.length ? parts.join(' · ') : '—';
}

async function showRounds() {
  const rounds = await api('rounds');
  document.getElementById('rounds').replaceChildren(rounds.length
    ? table(['批次', '流程', '开放日期', '申报截止', '申报窗口', '案件', ''], rounds.map((r) => {
      const [label, kind] = WINDOWS[r.window] || [r.window, ''];
      return el('tr', { dataset: { round: r.id } }, el('td', {}, r.label), el('td', {}, NAMES[r.process_key] || r.process_key),
        el('td', {}, r.opens_on), el('td', {}, fmtDeadline(r.closes_at)), el('td', {}, el('span', { class: `badge ${kind}` }, label)),
        el('td', {}, counts(r)),
        el('td', {}, canView ? el('button', { type: 'button', class: 'secondary', onclick: () => choose(r).catch(fail) }, '查看案件') : ''));
    }))
    : el('p', { class: 'hint' }, '还没有申报批次。'));
  return rounds;
}

async function exportList(round, kind, query, button) {
  button.disabled = true;
  try {
    const response = await api(`rounds/${round.id}/exports/${kind}`, { query, raw: true });
    const name = (response.headers.get('Content-Disposition') || '').split('filename=')[1] || `${kind}.csv`;
    download(await response.blob(), name);
  } finally { button.disabled = false; }
}

/** A stage of 公示 (the notice's wait, in the diagram or its called sub-process). */
function inNotice(stage) { return /_notice(_wait)?$/.test(stage); }

async function showCases() {
  const round = chosen.round;
  const found = await api(`rounds/${round.id}/cases`, { query: { stage: chosen.stage, page: chosen.page, per_page: 50 } });
  const all = found.stages.reduce((sum, s) => sum + s.count, 0);
  const chip = (stage, label) => el('button', { type: 'button', class: chosen.stage === stage ? '' : 'secondary', dataset: { stage },
    onclick: () => { chosen.stage = stage; chosen.page = 1; showCases().catch(fail); } }, label);
  document.getElementById('stages').replaceChildren(chip('', `全部（${all}）`),
    ...found.stages.map((s) => chip(s.stage, `${s.name}（${s.count}）`)));
  document.getElementById('round-cases').replaceChildren(found.items.length
    ? table(['企业名称', '统一社会信用代码', '地区', '当前环节', '截止时间', '发起时间', ''], found.items.map((c) => el('tr', { dataset: { instance: c.instance_id, stage: c.stage } },
      el('td', {}, c.enterprise_name || '—'), el('td', {}, c.uscc || '—'), el('td', {}, regionLabel(REGIONS, c.region)),
      el('td', {}, c.stage_name), el('td', {}, c.due_at ? fmtDeadline(c.due_at) : '—'), el('td', {}, fmtTime(c.started_at)),
      el('td', { class: 'nowrap' }, el('a', { href: `/ui/audit/cases/${c.instance_id}` }, '案件详情'),
        inNotice(c.stage) && ['city', 'province', 'miit'].includes(role)
          ? [' · ', el('a', { href: `/ui/audit/cases/${c.instance_id}#objection`, class: 'objection' }, '登记异议')] : ''))))
    : el('p', { class: 'hint' }, '没有符合条件的案件。'));
  pager(document.getElementById('round-pager'), found, chosen.page, (to) => { chosen.page = to; return showCases(); }, '件');
  document.body.dataset.loaded = 'true';
}

const MIIT_ROWS = [['approved', '认定'], ['rejected', '不予认定'], ['unmatched', '未匹配']];

/** Import MIIT's published 小巨人 list into a recommendation round; show what matched. */
async function importMiitList(form, round) {
  const data = new FormData(form);
  data.set('reject_unlisted', form.elements.reject_unlisted.checked ? 'true' : 'false');
  const report = await api(`rounds/${round.id}/miit-list`, { method: 'POST', form: data });
  document.getElementById('miit-report').replaceChildren(
    el('p', {}, `已导入「${report.source}」：`, MIIT_ROWS.map(([key, label]) => `${label} ${report[key].length} 家`).join('，'), '。'),
    report.unmatched.length ? table(['行', '统一社会信用代码', '企业名称', '原因'], report.unmatched.map((r) => el('tr', { dataset: { unmatched: r.uscc } },
      el('td', {}, r.line ?? '—'), el('td', {}, r.uscc), el('td', {}, r.name || '—'), el('td', {}, r.reason)))) : '');
  await showCases();
}

async function choose(round) {
  Object.assign(chosen, { round, stage: '', page: 1 });
  document.getElementById('round-title').textContent = `${round.label}（${NAMES[round.process_key] || round.process_key}）`;
  document.getElementById('exports').replaceChildren('导出 CSV：', ...EXPORTS.filter(([, , , only]) => !only || only.includes(round.process_key)).map(([kind, query, label]) => el('button', {
    type: 'button', class: 'secondary', dataset: { export: kind + (query.level ? `-${query.level}` : '') },
    onclick: (event) => exportList(round, kind, query, event.target).catch(fail) }, label)));
  const miit = document.getElementById('miit-form');
  miit.hidden = !(round.process_key === 'little_giant_recommendation' && MIIT_IMPORTERS.includes(role));
  miit.onsubmit = (event) => { event.preventDefault(); importMiitList(miit, round).catch(fail); };
  document.getElementById('miit-report').replaceChildren();
  document.getElementById('round').hidden = false;
  history.replaceState(null, '', `?round=${round.id}`);
  await showCases();
}

async function openRound(form) {
  const data = Object.fromEntries(new FormData(form));
  const round = await api('rounds', { method: 'POST', json: { ...data, window_days: Number(data.window_days) } });
  notice(`已开放批次「${round.label}」。`, 'ok');
  form.reset();
  await showRounds();
}

/** The next openings of each procedure under processes/rounds.json. */
async function showSchedule() {
  const found = await api('rounds/schedule');
  document.getElementById('schedule-list').replaceChildren(found.length
    ? table(['批次', '流程', '开放日期', '申报截止'], found.map((r) => el('tr', { dataset: { process: r.process_key, opens: r.opens_on } },
      el('td', {}, r.label), el('td', {}, NAMES[r.process_key] || r.process_key), el('td', {}, r.opens_on), el('td', {}, `${r.last_day} 24:00`))))
    : el('p', { class: 'hint' }, '没有计划开放的批次。'));
}

async function main() {
  const me = await requireLogin();
  canView = VIEWERS.includes(me.role);
  role = me.role;
  if (me.role === 'enterprise') notice('企业请在“待办”页申报；本页列出各申报批次及其开放时间。');
  const [names, regions] = await Promise.all([processNames(), regionNames()]);
  Object.assign(NAMES, names);
  Object.assign(REGIONS, regions);
  if (me.role === 'province') {
    const select = document.getElementById('o-process');
    for (const key of ROUND_PROCESSES.filter((k) => NAMES[k])) select.append(el('option', { value: key }, NAMES[key]));
    const form = document.getElementById('open-form');
    form.addEventListener('submit', (event) => { event.preventDefault(); openRound(form).catch(fail); });
    document.getElementById('open-round').hidden = false;
  }
  const [rounds] = await Promise.all([showRounds(), showSchedule()]);
  const wanted = Number(new URLSearchParams(location.search).get('round'));
  const round = rounds.find((r) => r.id === wanted);
  if (round && canView) await choose(round);
  else document.body.dataset.loaded = 'true';
}

main().catch(fail);
