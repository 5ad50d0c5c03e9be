// Process owners: edit a deployed version's files (BPMN in bpmn-js with a properties panel for
// scripts, timers, conditions and spiffworkflow extensions; DMN in dmn-js; forms as JSON), or
// replace them with files opened from disk; validate with errors marked on the diagram, deploy
// as a new version.
import { api, ApiError, download, el, fail, notice, requireLogin } from './common.js';
import { createPropertiesPanel } from './properties_panel.js';
import spiffworkflow from './spiffworkflow_moddle.js';
import { translateModule } from './translations.js';

const root = document.getElementById('root');
const KEY = root.dataset.key;
let VERSION = Number(root.dataset.version);
const BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
const bpmnPane = document.getElementById('bpmn-pane');
const bpmnBox = document.getElementById('bpmn-canvas');
const dmnBox = document.getElementById('dmn-canvas');
const jsonBox = document.getElementById('json-editor');
const statusBox = document.getElementById('status');
const panelBox = document.getElementById('properties-panel');

// editors[name]: the bpmn-js / dmn-js instance of each opened diagram, kept (hidden while another
// file is shown) so its undo history survives switching files. `imported` is the text it was
// loaded from; `changed` (DMN) whether any of its views has been edited since.
const editors = {};
const state = { files: {}, original: {}, current: null, problems: [], name: KEY };
let leaving = false;  // a confirmed navigation away: no second prompt from beforeunload

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }
const kindOf = (name) => (name.endsWith('.bpmn') ? 'bpmn' : name.endsWith('.dmn') ? 'dmn' : 'json');
const GROUPS = [['dmn', '决策表'], ['json', '表单']];

/** The executable process ids of a BPMN text (null: not well-formed XML). */
function processIds(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  return [...doc.getElementsByTagNameNS(BPMN_NS, 'process')].map((p) => p.getAttribute('id')).filter(Boolean);
}

/** The procedure's own diagram: the .bpmn holding the process KEY (else the first .bpmn). */
function mainBpmn() {
  const names = Object.keys(state.files).filter((n) => kindOf(n) === 'bpmn');
  return names.find((n) => (processIds(state.files[n]) || []).includes(KEY)) || names[0];
}

function createEditor(name) {
  const kind = kindOf(name);
  const box = el('div', { class: `file-canvas ${kind}-file`, dataset: { file: name } });
  (kind === 'bpmn' ? bpmnBox : dmnBox).append(box);
  const editor = { name, kind, box, imported: null, kept: false, fitted: false };
  if (kind === 'bpmn') {
    editor.instance = new window.BpmnJS({
      container: box,  // keyboard shortcuts (Ctrl+Z …) act while the canvas has the focus
      moddleExtensions: { spiffworkflow },  // spiffworkflow:* elements typed, so the panel can edit them
      additionalModules: [translateModule],
    });
    editor.panel = createPropertiesPanel(editor.instance, panelBox, { active: false });
    editor.stack = () => editor.instance.get('commandStack');
    editor.instance.on('commandStack.changed', () => { if (editor.name === state.current) markDirty(); });
  } else {
    const views = { additionalModules: [translateModule] };
    editor.instance = new window.DmnJS({
      container: box, drd: views, decisionTable: views, literalExpression: views, boxedExpression: views,
    });
    // each view's command stack: the table is changed while any of them can undo; dmn-js clears
    // a view's stack when another decision is shown, and edits cleared that way stay (`kept`)
    editor.viewers = new Map();  // viewer -> whether its stack has edits to undo
    editor.instance.on('views.changed', () => {
      const viewer = editor.instance.getActiveViewer();
      if (viewer && !editor.viewers.has(viewer)) {
        editor.viewers.set(viewer, false);
        viewer.on('commandStack.changed', ({ trigger }) => {
          if (trigger === 'clear' && editor.viewers.get(viewer)) editor.kept = true;
          editor.viewers.set(viewer, viewer.get('commandStack').canUndo());
          markDirty();
        });
      }
      if (editor.instance.getActiveView() && editor.instance.getActiveView().type === 'drd') clearDrdName(editor);
      updateUndo();
    });
    editor.stack = () => {
      const viewer = editor.instance.getActiveViewer();
      return viewer ? viewer.get('commandStack') : null;
    };
  }
  editors[name] = editor;
  return editor;
}

function destroyEditor(editor) {
  if (editor.panel) editor.panel.setActive(false);
  editor.instance.destroy();
  editor.box.remove();
  if (editors[editor.name] === editor) delete editors[editor.name];
}

/** dmn-js puts the definitions' name box over the diagram's top left corner: move the diagram
 *  below it (once, after the view is first shown). */
function clearDrdName(editor) {
  if (editor.drdShifted) return;
  const nameBox = editor.box.querySelector('.dmn-definitions');
  const viewer = editor.instance.getActiveViewer();
  if (!nameBox || !viewer || !editor.box.offsetParent) return;
  editor.drdShifted = true;
  const canvas = viewer.get('canvas');
  const shapes = viewer.get('elementRegistry').filter((e) => !e.waypoints && e.parent);
  if (!shapes.length) return;
  const zoom = canvas.zoom();
  const viewbox = canvas.viewbox();
  const top = Math.min(...shapes.map((e) => e.y));
  const left = Math.min(...shapes.map((e) => e.x));
  const below = nameBox.offsetTop + nameBox.offsetHeight + 16;  // px from the canvas top
  const topOnScreen = (top - viewbox.y) * zoom;
  const leftOnScreen = (left - viewbox.x) * zoom;
  const rightOfName = nameBox.offsetLeft + nameBox.offsetWidth;
  if (topOnScreen < below && leftOnScreen < rightOfName) canvas.scroll({ dx: 0, dy: below - topOnScreen });
}

/** Whether an opened decision table holds edits (undoable, or made before a view switch). */
const dmnChanged = (editor) => editor.kept || [...editor.viewers.values()].some(Boolean);

/** Copy what every opened editor holds back into state.files (an untouched or fully undone
 *  diagram keeps the exact text it was loaded from, and so its checksum). */
async function flush() {
  for (const [name, editor] of Object.entries(editors)) {
    if (editor.kind === 'bpmn') {
      state.files[name] = editor.stack().canUndo()
        ? (await editor.instance.saveXML({ format: true })).xml : editor.imported;
    } else {
      state.files[name] = dmnChanged(editor) ? (await editor.instance.saveXML({ format: true })).xml : editor.imported;
    }
  }
  if (state.current && kindOf(state.current) === 'json') state.files[state.current] = jsonBox.value;
}

/** Whether a file differs from the deployed version being edited (or has edits to undo). */
function isDirty(name) {
  const editor = editors[name];
  if (!editor) return state.files[name] !== state.original[name];
  if (editor.kind === 'bpmn') return editor.stack().canUndo() || editor.imported !== state.original[name];
  return dmnChanged(editor) || editor.imported !== state.original[name];
}
const removed = () => Object.keys(state.original).filter((name) => state.files[name] === undefined);
const anyDirty = () => Object.keys(state.files).some(isDirty) || removed().length > 0;

/** The command stack of the open diagram or decision table (none for a form). */
function commandStack() {
  const editor = state.current && editors[state.current];
  return editor ? editor.stack() : null;
}

function updateUndo() {
  const stack = commandStack();
  document.getElementById('undo').disabled = !(stack && stack.canUndo());
  document.getElementById('redo').disabled = !(stack && stack.canRedo());
}

function markDirty() {
  for (const tab of document.querySelectorAll('#file-tabs button[data-file]')) {
    tab.classList.toggle('dirty', isDirty(tab.dataset.file));
    tab.classList.toggle('active', tab.dataset.file === state.current);
  }
  for (const group of document.querySelectorAll('#file-tabs details.file-group')) {
    const files = [...group.querySelectorAll('button[data-file]')].map((b) => b.dataset.file);
    const open = files.find((n) => n === state.current);
    group.classList.toggle('active', Boolean(open));
    group.classList.toggle('dirty', files.some(isDirty));
    group.querySelector('.current').textContent = open ? `：${open.split('/').pop()}` : '';
  }
  updateUndo();
}

/** The file list: the procedure's diagram (and other .bpmn) as tabs, then the decision tables
 *  and forms each in a drop-down list, so the canvas stays in view. */
function renderTabs() {
  const names = Object.keys(state.files).sort();
  const main = mainBpmn();
  const tab = (name, label = name) => el('button', {
    type: 'button', role: 'tab', dataset: { file: name }, title: name,
    onclick: (event) => {
      const group = event.currentTarget.closest('details');
      if (group) group.open = false;
      open(name).catch(fail);
    },
  }, label);
  const bpmn = names.filter((n) => kindOf(n) === 'bpmn').sort((a, b) => (b === main) - (a === main));
  const groups = GROUPS.map(([kind, label]) => {
    const members = names.filter((n) => kindOf(n) === kind);
    if (!members.length) return '';
    return el('details', { class: 'file-group', dataset: { kind } },
      el('summary', {}, `${label}（${members.length}）`, el('span', { class: 'current' })),
      el('div', { class: 'file-menu' }, members.map((name) => tab(name))));
  });
  document.getElementById('file-tabs').replaceChildren(...bpmn.map((name) => tab(name)), ...groups);
  markDirty();
}

// a drop-down list closes when clicking elsewhere
document.addEventListener('click', (event) => {
  for (const group of document.querySelectorAll('#file-tabs details.file-group[open]')) {
    if (!group.contains(event.target)) group.open = false;
  }
});

async function open(name) {
  if (state.current === name) return;
  if (state.current && kindOf(state.current) === 'json') state.files[state.current] = jsonBox.value;
  await show(name);
}

/** Show a file in its editor, loading it from state.files the first time (an import failure
 *  throws, and leaves no editor for the file). Returns the import warnings. */
async function show(name) {
  const kind = kindOf(name);
  state.current = name;
  bpmnPane.hidden = kind !== 'bpmn';
  dmnBox.hidden = kind !== 'dmn';
  jsonBox.hidden = kind !== 'json';
  let editor = editors[name];
  for (const other of Object.values(editors)) {
    other.box.hidden = other !== editor;
    if (other.panel && other !== editor) other.panel.setActive(false);
  }
  let warnings = [];
  if (kind !== 'json' && !editor) {
    editor = createEditor(name);
    try {
      ({ warnings } = await editor.instance.importXML(state.files[name]));
    } catch (error) {
      destroyEditor(editor);
      throw error;
    }
    editor.imported = state.files[name];
  }
  if (kind === 'bpmn') {
    const canvas = editor.instance.get('canvas');
    canvas.resized();
    if (!editor.fitted) { canvas.zoom('fit-viewport'); editor.fitted = true; }
    editor.panel.setActive(true);
    showMarkers();
  } else if (kind === 'dmn') {
    const viewer = editor.instance.getActiveViewer();
    if (viewer && editor.instance.getActiveView().type === 'drd') { viewer.get('canvas').resized(); clearDrdName(editor); }
  } else {
    jsonBox.value = state.files[name];
  }
  markDirty();
  return warnings || [];
}

/** The bpmn-js modeler of the diagram shown (else of the procedure's diagram). */
function bpmnModeler() {
  const editor = editors[state.current] && editors[state.current].kind === 'bpmn' ? editors[state.current] : editors[mainBpmn()];
  return editor && editor.instance;
}
window.tidu = {  // for the browser tests and the console
  get modeler() { return bpmnModeler(); },
  get dmnModeler() { const e = editors[state.current]; return e && e.kind === 'dmn' ? e.instance : null; },
  editors, state,
};

/** Select an element of the open diagram (showing it in the properties panel), at a readable
 *  zoom and centred in view (scrollToElement alone may leave it under the palette). */
function selectElement(id) {
  const modeler = bpmnModeler();
  const element = modeler.get('elementRegistry').get(id);
  if (!element) return;
  const canvas = modeler.get('canvas');
  modeler.get('selection').select(element);
  if (canvas.zoom() < 0.9) canvas.zoom(1);
  const box = canvas.viewbox();
  const middle = element.waypoints ? element.waypoints[Math.floor(element.waypoints.length / 2)]
    : { x: element.x + element.width / 2, y: element.y + element.height / 2 };
  canvas.viewbox({ x: middle.x - box.width / 2, y: middle.y - box.height / 2, width: box.width, height: box.height });
}

function showVersion() {
  document.getElementById('def-version').textContent = `第 ${VERSION} 版`;
  document.title = `流程建模：${state.name}（${KEY}）第 ${VERSION} 版 · 梯度培育流程服务`;
}

async function load() {
  const rows = await api('definitions');
  const row = rows.find((r) => r.process_key === KEY && r.version === VERSION);
  if (!row) throw new Error(`流程 ${KEY} 没有第 ${VERSION} 版`);
  state.name = row.name;
  document.getElementById('def-title').textContent = `${row.name}（${KEY}）`;
  showVersion();
  for (const name of row.files) {
    const text = await api(`/api/v1/definitions/${KEY}/${VERSION}/files/${name}`, { raw: true }).then((r) => r.text());
    state.files[name] = text;
    state.original[name] = text;
  }
  renderTabs();
  await open(mainBpmn());
  // /ui/design/<key>/<version>?select=settings opens with that element selected (from /ui/design)
  const wanted = new URLSearchParams(location.search).get('select');
  if (wanted) selectElement(wanted);
  document.body.dataset.loaded = 'true';
}

/** Which file of the set a file opened from disk replaces: the one of the same name; else, for
 *  a .bpmn (say "innovative_evaluation (1).bpmn" from the browser's downloads), the diagram of
 *  the same process, or the procedure's own; a .dmn of a new name is added under rules/. */
function targetOf(filename, text) {
  const names = Object.keys(state.files);
  const same = names.find((name) => name.split('/').pop() === filename);
  if (same) return same;
  if (kindOf(filename) === 'bpmn') {
    const ids = processIds(text) || [];
    return names.find((n) => kindOf(n) === 'bpmn' && (processIds(state.files[n]) || []).some((id) => ids.includes(id)))
      || mainBpmn();
  }
  return kindOf(filename) === 'json' ? `forms/${filename}` : `rules/${filename}`;
}

/** A file that could not be opened: a Chinese message, the parser's words folded away. */
function openError(filename, error) {
  const box = document.getElementById('notice');
  box.replaceChildren(
    el('p', { class: 'summary' }, `无法打开 ${filename}：文件不是可读取的 ${kindOf(filename) === 'dmn' ? 'DMN 决策表' : 'BPMN 流程图'}`
      + '（XML 格式有误或缺少必需的元素）。原有文件未作改动。'),
    el('details', {}, el('summary', {}, '技术细节'), el('pre', {}, String(error && error.message ? error.message : error))));
  box.className = 'notice error';
  box.hidden = false;
}

async function openFromDisk(file) {
  const filename = file.name;
  if (!/\.(bpmn|dmn|json)$/i.test(filename)) throw new Error(`只能打开 .bpmn、.dmn 或表单 .json 文件：${filename}`);
  const text = await file.text();
  const normalized = filename.replace(/\.(bpmn|dmn|json)$/i, (ext) => ext.toLowerCase());
  if (kindOf(normalized) === 'json') { openForm(filename, normalized, text); return; }
  const target = targetOf(normalized, text);
  if (kindOf(normalized) === 'bpmn' && state.files[target] !== undefined) {
    // a diagram of another procedure must not replace this one's (it would deploy that procedure)
    const ids = processIds(text);
    const expected = processIds(state.files[target]) || [];
    const missing = expected.filter((id) => !(ids || []).includes(id));
    if (ids && missing.length) {
      status(`未打开 ${filename}`, 'error');
      notice(`${filename} 中的流程编号是 ${ids.join('、') || '（无）'}，与正在编辑的流程 ${missing.join('、')}`
        + `（${target}）不同，不能用它替换。请到流程设计列表打开 ${ids[0] || '对应流程'} 的编辑页，再从文件打开。`, 'error');
      return;
    }
  }
  const previous = state.current;
  const before = state.files[target];
  const replaced = editors[target];
  if (replaced) {  // kept aside (hidden): restored if the new text can't be read
    delete editors[target];
    replaced.box.hidden = true;
    if (replaced.panel) replaced.panel.setActive(false);
  }
  state.files[target] = text;
  if (before === undefined) renderTabs();
  let warnings;
  try {
    if (state.current === target) state.current = null;
    warnings = await show(target);
  } catch (error) {  // not a diagram bpmn-js / dmn-js can read: keep what was there
    if (replaced) editors[target] = replaced;
    if (before === undefined) {
      delete state.files[target];
      renderTabs();
    } else state.files[target] = before;
    state.current = null;
    await show(previous && state.files[previous] !== undefined ? previous : mainBpmn());
    status(`无法打开 ${filename}`, 'error');
    openError(filename, error);
    return;
  }
  if (replaced) destroyEditor(replaced);
  notice('', '');  // an earlier failure's message no longer applies
  const done = before === undefined ? `已新增 ${target}` : `已用 ${filename} 替换 ${target}`;
  const warned = warnings.length ? `（导入时有 ${warnings.length} 条警告，请校验）` : '';
  status(`${done}${warned}，校验后可部署为新版本`, warnings.length ? 'error' : 'ok');
}

/** Add or replace a form (JSON Schema) of the set with a file from disk. */
function openForm(filename, normalized, text) {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    status(`无法打开 ${filename}`, 'error');
    notice(`无法打开 ${filename}：文件不是有效的 JSON（${error.message}）。原有文件未作改动。`, 'error');
    return;
  }
  if (state.current && kindOf(state.current) === 'json') state.files[state.current] = jsonBox.value;
  const target = targetOf(normalized, text);
  const before = state.files[target];
  state.files[target] = text;
  renderTabs();
  state.current = null;
  show(target).catch(fail);
  notice('', '');
  status(`${before === undefined ? `已新增表单 ${target}` : `已用 ${filename} 替换 ${target}`}，校验后可部署为新版本`, 'ok');
}

/** Take the open file out of the set (the procedure's own diagram stays), after asking. */
async function removeCurrent() {
  const name = state.current;
  if (!name) return;
  if (name === mainBpmn()) {
    notice(`${name} 是本流程的流程图，不能移除。`, 'error');
    return;
  }
  if (!window.confirm(`确定从本次部署的文件集中移除 ${name} 吗？部署为新版本后，新版本中将不再包含该文件（已部署的版本不受影响）。`)) return;
  if (editors[name]) destroyEditor(editors[name]);
  delete state.files[name];
  state.current = null;
  renderTabs();
  await show(mainBpmn());
  status(`已移除 ${name}，校验后可部署为新版本`, 'ok');
}

/** Mark every problem naming an element of the open BPMN diagram (marker + overlay). */
function showMarkers() {
  const editor = state.current && editors[state.current];
  if (!editor || editor.kind !== 'bpmn') return;
  const modeler = editor.instance;
  const registry = modeler.get('elementRegistry');
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  overlays.remove({ type: 'tidu-error' });
  for (const element of registry.getAll()) canvas.removeMarker(element, 'tidu-error');
  const byElement = {};
  for (const p of state.problems) if (p.element_id && registry.get(p.element_id)) (byElement[p.element_id] ||= []).push(p.message);
  for (const [id, messages] of Object.entries(byElement)) {
    canvas.addMarker(id, 'tidu-error');
    overlays.add(id, 'tidu-error', {
      position: { top: -14, left: 0 },
      html: el('div', { class: 'tidu-error-badge', title: messages.join('\n'), dataset: { element: id } }, `✖ ${messages[0]}`),
    });
  }
}

function showProblems(problems, okText) {
  state.problems = problems;
  const list = document.getElementById('problems');
  if (!problems.length) {
    list.replaceChildren(el('li', { class: 'none' }, okText));
  } else {
    list.replaceChildren(...problems.map((p) => el('li', {
      dataset: { element: p.element_id || '' },
      onclick: () => focus(p).catch(fail),
    }, el('code', {}, p.file || '（部署）'), p.line ? ` 第 ${p.line} 行` : '',
    p.element_id ? [' 元素 ', el('code', {}, p.element_id)] : '', '：', p.message)));
  }
  showMarkers();
  const first = problems.find((p) => p.element_id && kindOf(p.file || '') !== 'dmn');
  const editor = editors[state.current];
  const element = first && editor && editor.kind === 'bpmn' && editor.instance.get('elementRegistry').get(first.element_id);
  if (element) {
    editor.instance.get('canvas').zoom(1);
    editor.instance.get('canvas').scrollToElement(element);
  }
}

async function focus(problem) {
  const target = problem.file in state.files && kindOf(problem.file) !== 'json' ? problem.file : mainBpmn();
  await open(target);
  if (kindOf(target) === 'bpmn' && problem.element_id) selectElement(problem.element_id);
}

function formData() {
  const form = new FormData();
  for (const [name, text] of Object.entries(state.files)) {
    const type = kindOf(name) === 'json' ? 'application/json' : 'application/xml';
    form.append('files', new Blob([text], { type }), name);
  }
  return form;
}

async function validate() {
  await flush();
  status('正在校验…');
  const result = await api('definitions/validate', { method: 'POST', form: formData() });
  showProblems(result.errors, '校验通过，没有发现问题。');
  status(result.valid ? '校验通过' : `发现 ${result.errors.length} 个问题`, result.valid ? 'ok' : 'error');
  showWarnings(result.warnings || []);
  return result;
}

/** What was deployed is now what the page edits: no dirty marks, fresh undo histories. */
function markSaved() {
  for (const [name, editor] of Object.entries(editors)) {
    editor.imported = state.files[name];
    if (editor.kind === 'bpmn') editor.stack().clear();
    else for (const viewer of editor.viewers.keys()) viewer.get('commandStack').clear();
    if (editor.viewers) for (const viewer of editor.viewers.keys()) editor.viewers.set(viewer, false);
    editor.kept = false;
  }
  state.original = { ...state.files };
  markDirty();
}

/** Edit the version just deployed: its URL, title and heading. */
function moveTo(version) {
  VERSION = version;
  history.replaceState(null, '', `/ui/design/${KEY}/${version}`);
  showVersion();
}

/** Warnings of a validation or deployment (rule dates against open rounds). */
function showWarnings(warnings) {
  const list = document.getElementById('warnings');
  list.replaceChildren(...warnings.map((w) => el('li', {}, el('code', {}, w.file || ''), '：', w.message)));
  document.getElementById('deploy-warnings').hidden = !warnings.length;
}

/** A deploy refused because a newer version exists (409): say so, offer to compare or go on. */
function showOutdated(error) {
  const latest = Math.max(...(error.body.outdated || []).map((o) => o.latest), VERSION);
  status('部署被拒绝：已有更新的版本', 'error');
  const box = document.getElementById('notice');
  box.replaceChildren(
    el('p', {}, `${error.body.title}：${error.body.detail}`),
    el('a', { href: `/ui/design/${KEY}/compare?a=${VERSION}&b=${latest}`, target: '_blank', id: 'compare-latest' },
      `与最新的第 ${latest} 版比较`), ' ',
    el('button', {
      type: 'button', id: 'deploy-anyway',
      onclick: () => { if (window.confirm(`仍然部署将以第 ${VERSION} 版为基础覆盖第 ${latest} 版的修改。确定吗？`)) deploy({ force: true }).catch(fail); },
    }, '仍然部署'));
  box.className = 'notice error';
  box.hidden = false;
}

/** Deploy the changed shared files to the other procedures that use them (their latest
 *  version with these files replaced). */
async function deployShared(entries) {
  const rows = await api('definitions');
  const targets = {};
  for (const entry of entries) for (const p of entry.processes) (targets[p.process_key] ||= new Set()).add(entry.file);
  const done = [];
  for (const [key, names] of Object.entries(targets)) {
    const row = rows.filter((r) => r.process_key === key).sort((a, b) => b.version - a.version)[0];
    const form = new FormData();
    for (const name of row.files) {
      const text = names.has(name) ? state.files[name]
        : await api(`/api/v1/definitions/${key}/${row.version}/files/${name}`, { raw: true }).then((r) => r.text());
      form.append('files', new Blob([text], { type: kindOf(name) === 'json' ? 'application/json' : 'application/xml' }), name);
    }
    form.append('based_on', `${key}:${row.version}`);
    const answer = await api('definitions', { method: 'POST', form });
    const mine = answer.find((r) => r.process_key === key);
    done.push(`${row.name}（${key}）第 ${mine ? mine.version : row.version} 版`);
  }
  notice(`已部署：${done.join('；')}。`, 'ok');
}

/** After a deploy: the other procedures still using the old text of a changed shared file. */
function sharedNotice(rows) {
  const entries = rows.flatMap((r) => r.shared || []);
  if (!entries.length) return null;
  const lines = entries.map((e) => `${e.file} 还被 ${e.processes.map((p) => `${p.name}（${p.process_key}，第 ${p.version} 版）`).join('、')} 使用，它们仍使用修改前的内容`);
  return el('div', { id: 'shared-notice' }, el('p', {}, `共用文件：${lines.join('；')}。`),
    el('button', { type: 'button', id: 'deploy-shared', onclick: () => deployShared(entries).catch(fail) }, '一并部署到这些流程'));
}

async function deploy({ force = false } = {}) {
  await flush();
  const ids = processIds(state.files[mainBpmn()]) || [];
  if (!ids.includes(KEY)) {
    status('部署被拒绝', 'error');
    throw new Error(`文件中没有流程 ${KEY} 的流程图（${mainBpmn()} 中的流程编号是 ${ids.join('、') || '（无）'}），不能部署为本流程的新版本。`);
  }
  status('正在部署…');
  const latest = {};  // process key -> its latest version before this deploy
  for (const r of await api('definitions')) latest[r.process_key] = Math.max(latest[r.process_key] || 0, r.version);
  let rows;
  try {
    const form = formData();
    form.append('based_on', `${KEY}:${VERSION}`);  // the version this edit started from
    if (force) form.append('force', 'true');
    rows = await api('definitions', { method: 'POST', form });
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.body.outdated) {
      showOutdated(error);
      return;
    }
    if (error instanceof ApiError && Array.isArray(error.body.errors)) {
      showProblems(error.body.errors, '');
      status(`部署被拒绝：${error.body.errors.length} 个问题`, 'error');
      return;
    }
    throw error;
  }
  showWarnings(rows.flatMap((r) => r.warnings || []));
  const created = rows.filter((r) => r.version > (latest[r.process_key] || 0));
  const others = created.filter((r) => r.process_key !== KEY)
    .map((r) => `${r.name}（${r.process_key}）部署为第 ${r.version} 版`);
  const also = others.length ? `另外，${others.join('；')}。` : '';
  const mine = rows.find((r) => r.process_key === KEY);
  showProblems([], '部署成功。');
  if (!mine) {
    status(`部署结果中没有流程 ${KEY}`, 'error');
    notice(`部署结果中没有流程 ${KEY}。${also}`, 'error');
    return;
  }
  const from = VERSION;
  markSaved();
  if (!created.includes(mine)) {
    const same = mine.version === from ? `内容没有变化，仍为第 ${mine.version} 版` : `内容与第 ${mine.version} 版相同，未创建新版本`;
    status(same, 'ok');
    notice(`${same}。${also}`, 'ok');
    if (mine.version !== from) moveTo(mine.version);
    return;
  }
  moveTo(mine.version);
  status(`已部署为第 ${mine.version} 版`, 'ok');
  const box = document.getElementById('notice');
  box.replaceChildren(`已部署为第 ${mine.version} 版，本页现在编辑第 ${mine.version} 版。新发起的案件使用新版本，运行中的案件仍在原版本上。${also} `,
    el('a', { href: `/ui/design/${KEY}/compare?a=${from}&b=${mine.version}` }, `与第 ${from} 版比较`));
  const shared = sharedNotice(rows);
  if (shared) box.append(shared);
  box.className = 'notice ok';
  box.hidden = false;
}

document.getElementById('validate').addEventListener('click', () => validate().catch(fail));
document.getElementById('deploy').addEventListener('click', () => deploy().catch(fail));
document.getElementById('remove-file').addEventListener('click', () => removeCurrent().catch(fail));
document.getElementById('download-all').addEventListener('click', () => (async () => {
  const response = await api(`/api/v1/definitions/${KEY}/${VERSION}/files.zip`, { raw: true });
  download(await response.blob(), `${KEY}-v${VERSION}.zip`);
  if (anyDirty()) status(`已下载第 ${VERSION} 版的全部文件（不含尚未部署的修改）`, 'ok');
})().catch(fail));
document.getElementById('download').addEventListener('click', async () => {
  await flush();
  download(new Blob([state.files[state.current]]), state.current.split('/').pop());
});
jsonBox.addEventListener('input', () => { state.files[state.current] = jsonBox.value; markDirty(); });
document.getElementById('undo').addEventListener('click', () => { const stack = commandStack(); if (stack) stack.undo(); });
document.getElementById('redo').addEventListener('click', () => { const stack = commandStack(); if (stack) stack.redo(); });
const fileInput = document.getElementById('file-input');
document.getElementById('open-file').addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', () => {
  const [file] = fileInput.files;
  fileInput.value = '';  // choosing the same file again fires change again
  if (file) openFromDisk(file).catch(fail);
});

// leaving with edits not deployed: the browser's prompt, and ours for the page's own links
const LEAVE = '有尚未部署的修改，离开本页后这些修改将丢失。确定离开吗？';
window.addEventListener('beforeunload', (event) => {
  if (leaving || !anyDirty()) return;
  event.preventDefault();
  event.returnValue = LEAVE;
});
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href]');
  if (!link || event.defaultPrevented || link.hasAttribute('download') || link.target === '_blank') return;
  if (link.getAttribute('href').startsWith('#') || !anyDirty()) return;
  if (window.confirm(LEAVE)) leaving = true;
  else event.preventDefault();
}, true);

requireLogin().then(load).catch(fail);
