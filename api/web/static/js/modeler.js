// Process owners: edit a deployed version's files (BPMN in bpmn-js with a properties panel for
// scripts, timers, conditions and spiffworkflow extensions; DMN in dmn-js; forms as JSON), or
// replace them with files opened from disk; validate with errors marked on the diagram, deploy
// as a new version.
import { api, ApiError, download, el, fail, notice, requireLogin } from './common.js';
import { createPropertiesPanel } from './properties_panel.js';
import spiffworkflow from './spiffworkflow_moddle.js';

const root = document.getElementById('root');
const KEY = root.dataset.key;
const VERSION = Number(root.dataset.version);
const bpmnPane = document.getElementById('bpmn-pane');
const bpmnBox = document.getElementById('bpmn-canvas');
const dmnBox = document.getElementById('dmn-canvas');
const jsonBox = document.getElementById('json-editor');
const statusBox = document.getElementById('status');

const state = { files: {}, original: {}, current: null, problems: [] };
const modeler = new window.BpmnJS({
  container: bpmnBox,  // keyboard shortcuts (Ctrl+Z …) act while the canvas has the focus
  moddleExtensions: { spiffworkflow },  // spiffworkflow:* elements typed, so the panel can edit them
});
const dmnModeler = new window.DmnJS({ container: dmnBox, common: { keyboard: { bindTo: document } } });
const panel = createPropertiesPanel(modeler, document.getElementById('properties-panel'));
window.tidu = { modeler, dmnModeler, state, panel };  // for the browser tests and the console

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }
const kindOf = (name) => (name.endsWith('.bpmn') ? 'bpmn' : name.endsWith('.dmn') ? 'dmn' : 'json');
const KIND_ORDER = ['bpmn', 'dmn', 'json'];

/** Copy what the open editor holds back into state.files. */
async function flush() {
  const name = state.current;
  if (!name) return;
  const kind = kindOf(name);
  // only re-serialize an edited diagram, so an untouched file keeps its exact text (and checksum)
  if (kind === 'bpmn' && modeler.get('commandStack').canUndo()) {
    state.files[name] = (await modeler.saveXML({ format: true })).xml;
  } else if (kind === 'dmn' && dmnEdited()) {
    state.files[name] = (await dmnModeler.saveXML({ format: true })).xml;
  } else if (kind === 'json') state.files[name] = jsonBox.value;
  markDirty();
}

let dmnDirty = false;
const watched = new WeakSet();
dmnModeler.on('views.changed', () => {
  const viewer = dmnModeler.getActiveViewer();
  if (viewer && !watched.has(viewer)) {
    watched.add(viewer);
    viewer.on('commandStack.changed', () => { dmnDirty = true; markDirty(); });
  }
  updateUndo();
});
const dmnEdited = () => dmnDirty;

/** The command stack of the open diagram or decision table (none for a form). */
function commandStack() {
  const kind = state.current && kindOf(state.current);
  if (kind === 'bpmn') return modeler.get('commandStack');
  const viewer = kind === 'dmn' && dmnModeler.getActiveViewer();
  return viewer ? viewer.get('commandStack') : null;
}

function updateUndo() {
  const stack = commandStack();
  document.getElementById('undo').disabled = !(stack && stack.canUndo());
  document.getElementById('redo').disabled = !(stack && stack.canRedo());
}

function markDirty() {
  for (const tab of document.querySelectorAll('#file-tabs button')) {
    const name = tab.dataset.file;
    const editing = name === state.current && ((kindOf(name) === 'bpmn' && modeler.get('commandStack').canUndo())
      || (kindOf(name) === 'dmn' && dmnDirty));
    tab.classList.toggle('dirty', editing || state.files[name] !== state.original[name]);
  }
  updateUndo();
}
modeler.on('commandStack.changed', markDirty);

function renderTabs() {
  const names = Object.keys(state.files).sort((a, b) => KIND_ORDER.indexOf(kindOf(a)) - KIND_ORDER.indexOf(kindOf(b)));
  document.getElementById('file-tabs').replaceChildren(...names.map((name) => el('button', {
    type: 'button', role: 'tab', dataset: { file: name }, class: name === state.current ? 'active' : '',
    onclick: () => open(name).catch(fail),
  }, name)));
  markDirty();
}

async function open(name) {
  if (state.current === name) return;
  await flush();
  await show(name);
}

/** Put state.files[name] into its editor (without saving what the editor held before). */
async function show(name) {
  state.current = name;
  const kind = kindOf(name);
  bpmnPane.hidden = kind !== 'bpmn';
  dmnBox.hidden = kind !== 'dmn';
  jsonBox.hidden = kind !== 'json';
  for (const tab of document.querySelectorAll('#file-tabs button')) tab.classList.toggle('active', tab.dataset.file === name);
  let warnings = [];
  if (kind === 'bpmn') {
    ({ warnings } = await modeler.importXML(state.files[name]));
    modeler.get('canvas').zoom('fit-viewport');
    showMarkers();
  } else if (kind === 'dmn') {
    ({ warnings } = await dmnModeler.importXML(state.files[name]));
    dmnDirty = false;
  } else {
    jsonBox.value = state.files[name];
  }
  markDirty();
  return warnings || [];
}

/** Select an element of the open diagram (showing it in the properties panel), centred in view
 *  (scrollToElement alone may leave it under the palette). */
function selectElement(id) {
  const element = modeler.get('elementRegistry').get(id);
  if (!element) return;
  const canvas = modeler.get('canvas');
  modeler.get('selection').select(element);
  const box = canvas.viewbox();
  const middle = element.waypoints ? element.waypoints[Math.floor(element.waypoints.length / 2)]
    : { x: element.x + element.width / 2, y: element.y + element.height / 2 };
  canvas.viewbox({ x: middle.x - box.width / 2, y: middle.y - box.height / 2, width: box.width, height: box.height });
}

async function load() {
  const rows = await api('definitions');
  const row = rows.find((r) => r.process_key === KEY && r.version === VERSION);
  if (!row) throw new Error(`流程 ${KEY} 没有第 ${VERSION} 版`);
  document.getElementById('def-title').textContent = `${row.name}（${KEY}）`;
  for (const name of row.files) {
    const text = await api(`/api/v1/definitions/${KEY}/${VERSION}/files/${name}`, { raw: true }).then((r) => r.text());
    state.files[name] = text;
    state.original[name] = text;
  }
  renderTabs();
  await open(Object.keys(state.files).find((n) => kindOf(n) === 'bpmn'));
  // /ui/design/<key>/<version>?select=settings opens with that element selected (from /ui/design)
  const wanted = new URLSearchParams(location.search).get('select');
  if (wanted) selectElement(wanted);
  document.body.dataset.loaded = 'true';
}

/** Which file of the set a file opened from disk replaces: the one of the same name; else, for
 *  a .bpmn (say "innovative_evaluation (1).bpmn" from the browser's downloads), the open diagram
 *  or the set's first one; a .dmn of a new name is added under rules/. */
function targetOf(filename) {
  const names = Object.keys(state.files);
  const same = names.find((name) => name.split('/').pop() === filename);
  if (same) return same;
  if (kindOf(filename) === 'bpmn') {
    return kindOf(state.current) === 'bpmn' ? state.current : names.find((name) => kindOf(name) === 'bpmn');
  }
  return `rules/${filename}`;
}

async function openFromDisk(file) {
  const filename = file.name;
  if (!/\.(bpmn|dmn)$/i.test(filename)) throw new Error(`只能打开 .bpmn 或 .dmn 文件：${filename}`);
  const text = await file.text();
  await flush();
  const target = targetOf(filename.replace(/\.(bpmn|dmn)$/i, (ext) => ext.toLowerCase()));
  const before = state.files[target];
  state.files[target] = text;
  if (before === undefined) renderTabs();
  let warnings;
  try {
    warnings = await show(target);
  } catch (error) {  // not a diagram bpmn-js / dmn-js can read: keep what was there
    if (before === undefined) {
      delete state.files[target];
      renderTabs();
      await show(Object.keys(state.files).find((n) => kindOf(n) === 'bpmn'));
    } else {
      state.files[target] = before;
      await show(target);
    }
    status(`无法打开 ${filename}`, 'error');
    throw new Error(`无法打开 ${filename}：${error.message}`);
  }
  const replaced = before === undefined ? `已新增 ${target}` : `已用 ${filename} 替换 ${target}`;
  const warned = warnings.length ? `（导入时有 ${warnings.length} 条警告，请校验）` : '';
  status(`${replaced}${warned}，校验后可部署为新版本`, warnings.length ? 'error' : 'ok');
}

function formData() {
  const form = new FormData();
  for (const [name, text] of Object.entries(state.files)) {
    const type = kindOf(name) === 'json' ? 'application/json' : 'application/xml';
    form.append('files', new Blob([text], { type }), name);
  }
  return form;
}

/** Mark every problem naming an element of the open BPMN diagram (marker + overlay). */
function showMarkers() {
  if (!state.current || kindOf(state.current) !== 'bpmn') return;
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
  const element = first && kindOf(state.current) === 'bpmn' && modeler.get('elementRegistry').get(first.element_id);
  if (element) {
    modeler.get('canvas').zoom(1);
    modeler.get('canvas').scrollToElement(element);
  }
}

async function focus(problem) {
  const bpmnFile = Object.keys(state.files).find((n) => kindOf(n) === 'bpmn');
  const target = problem.file in state.files && kindOf(problem.file) !== 'json' ? problem.file : bpmnFile;
  await open(target);
  if (kindOf(target) === 'bpmn' && problem.element_id) selectElement(problem.element_id);
}

async function validate() {
  await flush();
  status('正在校验…');
  const result = await api('definitions/validate', { method: 'POST', form: formData() });
  showProblems(result.errors, '校验通过，没有发现问题。');
  status(result.valid ? '校验通过' : `发现 ${result.errors.length} 个问题`, result.valid ? 'ok' : 'error');
  return result;
}

async function deploy() {
  await flush();
  status('正在部署…');
  try {
    const rows = await api('definitions', { method: 'POST', form: formData() });
    const mine = rows.find((r) => r.process_key === KEY) || rows[0];
    showProblems([], '部署成功。');
    if (mine.version === VERSION) {
      status(`内容没有变化，仍为第 ${mine.version} 版`, 'ok');
      notice(`内容没有变化，仍为第 ${mine.version} 版。`, 'ok');
    } else {
      status(`已部署为第 ${mine.version} 版`, 'ok');
      notice('', '');
      const box = document.getElementById('notice');
      box.replaceChildren(`已部署为第 ${mine.version} 版。新发起的案件使用新版本，运行中的案件仍在原版本上。 `,
        el('a', { href: `/ui/design/${mine.process_key}/${mine.version}` }, '打开新版本'), ' · ',
        el('a', { href: `/ui/design/${mine.process_key}/compare?a=${VERSION}&b=${mine.version}` }, '与本版本比较'));
      box.className = 'notice ok';
      box.hidden = false;
    }
  } catch (error) {
    if (error instanceof ApiError && Array.isArray(error.body.errors)) {
      showProblems(error.body.errors, '');
      status(`部署被拒绝：${error.body.errors.length} 个问题`, 'error');
      return;
    }
    throw error;
  }
}

document.getElementById('validate').addEventListener('click', () => validate().catch(fail));
document.getElementById('deploy').addEventListener('click', () => deploy().catch(fail));
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

requireLogin().then(load).catch(fail);
