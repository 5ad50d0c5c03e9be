// Process owners: edit a deployed version's files (BPMN in bpmn-js, DMN in dmn-js, forms as JSON),
// validate with errors marked on the diagram, deploy as a new version.
import { api, ApiError, download, el, fail, notice, requireLogin } from './common.js';

const root = document.getElementById('root');
const KEY = root.dataset.key;
const VERSION = Number(root.dataset.version);
const bpmnBox = document.getElementById('bpmn-canvas');
const dmnBox = document.getElementById('dmn-canvas');
const jsonBox = document.getElementById('json-editor');
const statusBox = document.getElementById('status');

const state = { files: {}, original: {}, current: null, problems: [] };
const modeler = new window.BpmnJS({ container: bpmnBox, keyboard: { bindTo: document } });
const dmnModeler = new window.DmnJS({ container: dmnBox, common: { keyboard: { bindTo: document } } });
window.tidu = { modeler, dmnModeler, state };  // for the browser tests and the console

function status(text, kind = '') { statusBox.textContent = text; statusBox.className = `status ${kind}`; }
const kindOf = (name) => (name.endsWith('.bpmn') ? 'bpmn' : name.endsWith('.dmn') ? 'dmn' : 'json');

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
});
const dmnEdited = () => dmnDirty;

function markDirty() {
  for (const tab of document.querySelectorAll('#file-tabs button')) {
    const name = tab.dataset.file;
    const editing = name === state.current && ((kindOf(name) === 'bpmn' && modeler.get('commandStack').canUndo())
      || (kindOf(name) === 'dmn' && dmnDirty));
    tab.classList.toggle('dirty', editing || state.files[name] !== state.original[name]);
  }
}
modeler.on('commandStack.changed', markDirty);

async function open(name) {
  if (state.current === name) return;
  await flush();
  state.current = name;
  const kind = kindOf(name);
  bpmnBox.hidden = kind !== 'bpmn';
  dmnBox.hidden = kind !== 'dmn';
  jsonBox.hidden = kind !== 'json';
  for (const tab of document.querySelectorAll('#file-tabs button')) tab.classList.toggle('active', tab.dataset.file === name);
  if (kind === 'bpmn') {
    await modeler.importXML(state.files[name]);
    modeler.get('canvas').zoom('fit-viewport');
    showMarkers();
  } else if (kind === 'dmn') {
    await dmnModeler.importXML(state.files[name]);
    dmnDirty = false;
  } else {
    jsonBox.value = state.files[name];
  }
}

async function load() {
  const rows = await api('definitions');
  const row = rows.find((r) => r.process_key === KEY && r.version === VERSION);
  if (!row) throw new Error(`流程 ${KEY} 没有第 ${VERSION} 版`);
  document.getElementById('def-title').textContent = `${row.name}（${KEY}）`;
  const names = [...row.files].sort((a, b) => ['bpmn', 'dmn', 'json'].indexOf(kindOf(a)) - ['bpmn', 'dmn', 'json'].indexOf(kindOf(b)));
  for (const name of names) {
    const text = await api(`/api/v1/definitions/${KEY}/${VERSION}/files/${name}`, { raw: true }).then((r) => r.text());
    state.files[name] = text;
    state.original[name] = text;
  }
  document.getElementById('file-tabs').replaceChildren(...names.map((name) => el('button', {
    type: 'button', role: 'tab', dataset: { file: name }, onclick: () => open(name).catch(fail),
  }, name)));
  await open(names.find((n) => kindOf(n) === 'bpmn'));
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
  if (kindOf(target) === 'bpmn' && problem.element_id) {
    const element = modeler.get('elementRegistry').get(problem.element_id);
    if (element) {
      modeler.get('selection').select(element);
      modeler.get('canvas').scrollToElement(element);
    }
  }
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

requireLogin().then(load).catch(fail);
