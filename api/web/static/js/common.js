// Shared helpers of the tidu pages: token, API calls (problem+json), DOM, formatting.
const TOKEN_KEY = 'tidu.token';

export const ROLE_NAMES = {
  enterprise: '企业', city: '市级主管部门', province: '省工业和信息化厅', miit: '工业和信息化部',
  process_owner: '流程管理员', auditor: '审计人员', public: '公众', system: '系统',
};
export const STATUS_NAMES = { running: '进行中', completed: '已办结', cancelled: '已取消',
  open: '待办理' };
export const TIER_NAMES = { innovative: '创新型中小企业', specialized: '专精特新中小企业',
  little_giant: '专精特新“小巨人”企业' };
export const QUALIFICATION_STATUS_NAMES = { active: '有效', renewal_ineligible: '有效（已取消复核资格）',
  in_grace: '复核中（已届满）', expired: '已失效', revoked: '已撤销' };
// every event kind the engine and handlers write to the history (engine/, handlers/ `kind=`);
// tests/docs/test_event_names.py keeps this list complete
export const EVENT_NAMES = {
  'instance.started': '案件发起', 'instance.completed': '案件办结', 'instance.cancelled': '案件取消',
  'task.created': '任务生成', 'task.claimed': '任务认领', 'task.unclaimed': '释放认领',
  'task.completed': '任务办理', 'task.cancelled': '任务取消', 'timer.fired': '定时器触发',
  'message.sent': '发送消息', 'message.received': '收到消息', 'handler.decision': '自动决策',
  'incident.raised': '发生异常', 'incident.resolved': '异常已处理', 'definition.deployed': '流程部署',
  'instance.migrated': '迁移到新版本', 'qualification.changed': '资格状态变更',
  'instance.continued': '生命周期延续（新的有效期）', 'instance.state_compacted': '流程状态压缩',
  'ban.recorded': '记录禁止申报（第十二条）', 'region.reassigned': '变更负责地区',
  'calendar.changed': '工作日历变更', 'round.opened': '开放申报批次',
  'miit_list.imported': '导入工信部认定名单', 'legacy.imported': '导入存量资格（第二十条）',
  'file.uploaded': '上传证据文件',
};

/** An event kind for people: its Chinese name (an unknown kind: 其他事件 and the kind). */
export function eventName(kind) {
  return EVENT_NAMES[kind] || `其他事件（${kind || '未知'}）`;
}

/** Who did it: the display name with the account id (system actors: their label), never null. */
// the engine's own actors (engine/queries.py SYSTEM_ACTORS), as people read them
const SYSTEM_ACTORS = { engine: '系统（流程引擎）', router: '系统（消息路由）', scheduler: '系统（定时调度）',
  cli: '系统（命令行）', simulate: '系统（模拟运行）', retry: '系统（重试）' };

/** An actor id alone as people read it: 系统（…） for the engine's own actors, else the id. */
export function actorIdText(id) {
  if (!id) return '';
  if (SYSTEM_ACTORS[id]) return SYSTEM_ACTORS[id];
  return id.startsWith('cli:') ? `命令行（${id.slice(4)}）` : id;
}

export function actorText(event) {
  const id = event.actor || '';
  const name = event.actor_name || '';
  if (!name || name === id) return id || '—';
  if (/^(系统|命令行)（/.test(name)) return name;  // engine, router, scheduler, cli[:login]
  return `${name}（${id}）`;
}

let names = null;
/** Deployed procedures' names by process key (each key's latest version), fetched once. */
export function processNames() {
  names ||= api('definitions').then((defs) => Object.fromEntries(defs.map((d) => [d.process_key, d.name])))
    .catch(() => ({}));
  return names;
}

let regions = null;
/** Region names by code (the 11 cities and 赣江新区), fetched once; no login needed. */
export function regionNames() {
  regions ||= api('/ui/regions').catch(() => ({}));
  return regions;
}

/** A region for display: its name with the code, or the code alone if unknown. */
export function regionLabel(names, code) {
  if (!code) return '—';
  return names[code] ? `${names[code]}（${code}）` : code;
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function signIn(value) { sessionStorage.setItem(TOKEN_KEY, value.trim()); }
export function signOut() { sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Call /api/v1 (or /ui) with the bearer token; problem+json bodies become ApiError. */
export async function api(path, { method = 'GET', json, form, query, raw } = {}) {
  const headers = { Authorization: `Bearer ${token() || ''}` };
  let body;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  if (form !== undefined) { body = form; }
  let url = path.startsWith('/') ? path : `/api/v1/${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
    if ([...params].length) url += `?${params}`;
  }
  const response = await fetch(url, { method, headers, body });
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    if (response.status === 401) { signOut(); }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** Send the user to the sign-in page unless a token is stored; returns the session. */
export async function requireLogin() {
  if (!token()) {
    location.href = `/ui/?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error('未登录');
  }
  try {
    const me = await api('/ui/session');
    showWho(me);
    return me;
  } catch (error) {
    if (error.status === 401) {
      location.href = `/ui/?next=${encodeURIComponent(location.pathname + location.search)}`;
    }
    throw error;
  }
}

export function showWho(me) {
  for (const link of document.querySelectorAll('#nav a[data-roles]')) {
    link.hidden = !link.dataset.roles.split(' ').includes(me.role) && !link.classList.contains('active');
  }
  const box = document.getElementById('who');
  if (!box) return;
  box.replaceChildren(`${me.display_name}（${ROLE_NAMES[me.role] || me.role}）`,
    el('button', { type: 'button', class: 'secondary', onclick: () => { signOut(); location.href = '/ui/'; } }, '退出'));
}

/** Create an element: el('a', {href: '/x', class: 'y', onclick: fn}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Show a 422 body's `errors` next to the fields of a hand-written form (each field a
 *  [data-field] holding a [data-error-for] box; "evidence.0" belongs to "evidence"); clears
 *  earlier messages. `errors` of {} clears only. */
export function showFieldErrors(form, errors) {
  for (const box of form.querySelectorAll('[data-error-for]')) box.textContent = '';
  for (const field of form.querySelectorAll('[data-field]')) field.classList.remove('invalid');
  for (const [key, messages] of Object.entries(errors || {})) {
    const name = form.querySelector(`[data-error-for="${key}"]`) ? key : key.split('.')[0];
    const box = form.querySelector(`[data-error-for="${name}"]`);
    if (box) box.textContent = [].concat(messages).join('；');
    const field = form.querySelector(`[data-field="${name}"]`);
    if (field) field.classList.add('invalid');
  }
}

/** Previous / next page buttons for a paginated answer; `goTo(page)` loads that page. */
export function pager(box, found, page, goTo, unit = '项') {
  const pages = Math.max(1, Math.ceil(found.total / found.per_page));
  const go = (to) => Promise.resolve(goTo(to)).catch(fail);
  box.replaceChildren(
    el('button', { type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => go(page - 1) }, '上一页'),
    `第 ${page} / ${pages} 页，共 ${found.total} ${unit}`,
    el('button', { type: 'button', class: 'secondary', disabled: page >= pages, onclick: () => go(page + 1) }, '下一页'));
}

export function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

/** A deadline: one at 00:00 local time is shown as the previous day's 24:00, as the
 *  regulation and the notifications word it ("2025/9/30 24:00"); any other as fmtTime. */
export function fmtDeadline(iso) {
  if (!iso) return '';
  const end = new Date(iso);
  if (Number.isNaN(end.getTime())) return iso;
  const clock = end.toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hourCycle: 'h23' });
  if (clock !== '00:00:00') return fmtTime(iso);
  return `${new Date(end.getTime() - 1).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' })} 24:00`;
}

/** Where a running case stands: the stage's name and, if it has one, its deadline. */
export function stageText(instance) {
  if (instance.status !== 'running' || !instance.stage_name) return '—';
  return instance.stage_due_at ? `${instance.stage_name}（${fmtDeadline(instance.stage_due_at)} 截止）` : instance.stage_name;
}

export function notice(message, kind = '') {
  const box = document.getElementById('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = !message;
}

const CLAUSE_END = /[，；。,;]$/;
/** A message's clauses, each with the mark that ends it. */
const clauses = (text) => String(text).match(/[^，；。,;]+[，；。,;]?/g) || [];
const bare = (clause) => clause.replace(CLAUSE_END, '').trim();

/** An error as one line: a problem's title and detail joined, without saying anything twice
 *  (the detail alone when it says the title; else the title's clauses the detail does not
 *  repeat, then the detail). */
export function errorText(error) {
  if (error instanceof ApiError) {
    const { title, detail } = error.body;
    if (!title || !detail) return title || detail || error.message;
    if (detail.includes(title)) return detail;
    if (title.includes(detail)) return title;
    const said = new Set(clauses(detail).map(bare));
    const rest = clauses(title).filter((c) => !said.has(bare(c))).join('').replace(CLAUSE_END, '');
    return rest ? `${rest}：${detail}` : detail;
  }
  return String(error && error.message ? error.message : error);
}

export function fail(error) {
  console.error(error);
  notice(errorText(error), 'error');
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

export function pretty(value) {
  return el('pre', { class: 'data' }, JSON.stringify(value, null, 1));
}

/** Element ids and names of a BPMN file's flow elements: {id: {type, name, source, target}}. */
export function bpmnElements(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const out = {};
  const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
  for (const process of doc.getElementsByTagNameNS(BPMN, 'process')) {
    const lanes = {};
    for (const lane of process.getElementsByTagNameNS(BPMN, 'lane')) {
      for (const ref of lane.getElementsByTagNameNS(BPMN, 'flowNodeRef')) {
        lanes[ref.textContent.trim()] = lane.getAttribute('name') || lane.getAttribute('id');
      }
    }
    for (const node of process.getElementsByTagNameNS(BPMN, '*')) {
      const id = node.getAttribute('id');
      if (!id || node.localName === 'lane' || node.localName === 'laneSet') continue;
      if (node.parentNode.localName !== 'process' && node.parentNode.localName !== 'subProcess') continue;
      const child = (name) => [...node.children].find((c) => c.localName === name);
      out[id] = { type: node.localName, name: node.getAttribute('name') || '',
        source: node.getAttribute('sourceRef'), target: node.getAttribute('targetRef'),
        lane: lanes[id] || '', script: child('script')?.textContent.trim() || '',
        condition: child('conditionExpression')?.textContent.trim() || '',
        text: canonical(node), rest: canonical(node, true) };
    }
  }
  return out;
}

/** `name = value  # note` lines of a 流程参数 script: name -> {value, note} (value as written). */
export function settingLines(script) {
  const out = {};
  for (const line of (script || '').split('\n')) {
    const m = line.match(/^\s*([A-Za-z_]\w*)\s*=\s*([^#]*?)\s*(?:#\s*(.*))?$/);
    if (m && m[2]) out[m[1]] = { value: m[2], note: (m[3] || '').trim() };
  }
  return out;
}

/** `第 2 版`, or for a case migrated since it started `第 1 版迁移至第 2 版`. */
export function versionText(version, migratedFrom) {
  return migratedFrom && migratedFrom !== version ? `第 ${migratedFrom} 版迁移至第 ${version} 版` : `第 ${version} 版`;
}

const DEFAULTS = { cancelActivity: 'true', isInterrupting: 'true', parallelMultiple: 'false',
  isImmediate: 'true', instantiate: 'false', eventGatewayType: 'Exclusive', gatewayDirection: 'Unspecified' };

/** A serialization-independent form of an XML element (prefixes, attribute order, whitespace);
 *  `rest`: without its name, script and condition (the aspects a comparison names itself). */
const NAMED_PARTS = ['script', 'conditionExpression'];
function canonical(node, rest = false) {
  const attrs = [...node.attributes].filter((a) => a.prefix !== 'xmlns' && a.name !== 'xmlns')
    .filter((a) => !(rest && a.localName === 'name'))
    .filter((a) => !(DEFAULTS[a.localName] === a.value))
    .map((a) => `${a.localName}=${a.localName === 'type' ? a.value.split(':').pop() : a.value}`).sort().join(' ');
  const children = [...node.childNodes].map((c) => {
    if (c.nodeType === Node.ELEMENT_NODE) return rest && NAMED_PARTS.includes(c.localName) ? '' : canonical(c);
    if (c.nodeType === Node.TEXT_NODE || c.nodeType === Node.CDATA_SECTION_NODE) return c.data.trim();
    return '';
  }).filter(Boolean).sort().join('|');
  return `<${node.localName} ${attrs}>${children}`;
}
