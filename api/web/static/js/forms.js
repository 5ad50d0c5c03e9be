// A form generated from a task's JSON schema: Chinese titles, oneOf const/title as selects,
// booleans as checkboxes, evidence-file arrays as uploads; 422 messages shown by the fields.
import { api, el, errorText } from './common.js';

const EVIDENCE = 'evidence-file';

function choices(prop) {
  if (Array.isArray(prop.oneOf) && prop.oneOf.every((o) => 'const' in o)) return prop.oneOf.map((o) => [o.const, o.title || String(o.const)]);
  if (Array.isArray(prop.enum)) return prop.enum.map((v) => [v, String(v)]);
  return null;
}

/** Build the inputs for `schema` into `box`, prefilled from `data` (`files`: evidence already
 *  uploaded, by id: name, size, sha256); returns {read, showErrors}. */
export function buildForm(box, schema, data = {}, { readOnly = false, files = {} } = {}) {
  const required = new Set(schema.required || []);
  const readers = {};
  const fields = {};
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const value = name in data ? data[name] : prop.default;
    const id = `f-${name}`;
    const label = el('label', { for: id, class: required.has(name) ? 'required' : '' }, prop.title || name);
    const desc = prop.description ? el('div', { class: 'desc' }, prop.description) : null;
    const errorBox = el('div', { class: 'field-error', dataset: { errorFor: name } });
    let field;
    const opts = choices(prop);
    if (prop.type === 'boolean') {
      const input = el('input', { type: 'checkbox', id, name, checked: value === true, disabled: readOnly });
      field = el('div', { class: 'field check', dataset: { field: name } },
        el('label', { for: id }, input, el('span', { class: required.has(name) ? 'required' : '' }, prop.title || name)), desc, errorBox);
      readers[name] = () => input.checked;
    } else if (opts) {
      const input = el('select', { id, name, disabled: readOnly }, el('option', { value: '' }, '请选择'),
        opts.map(([v, t]) => el('option', { value: JSON.stringify(v), selected: value === v }, t)));
      field = el('div', { class: 'field', dataset: { field: name } }, label, desc, input, errorBox);
      readers[name] = () => (input.value === '' ? undefined : JSON.parse(input.value));
    } else if (prop.type === 'array' && (prop.items || {}).format === EVIDENCE) {
      const initial = (Array.isArray(value) ? value : []).map((v) => files[String(v)] || { id: String(v), filename: String(v) });
      field = evidenceField(name, prop, label, desc, errorBox, initial, readers, readOnly);
    } else if (prop.type === 'integer' || prop.type === 'number') {
      const input = el('input', { type: 'number', id, name, step: prop.type === 'integer' ? '1' : 'any',
        min: prop.minimum, max: prop.maximum, value: value ?? '', disabled: readOnly });
      field = el('div', { class: 'field', dataset: { field: name } }, label, desc, input, errorBox);
      readers[name] = () => (input.value === '' ? undefined : Number(input.value));
    } else if (prop.type === 'string' && prop.format === 'date') {
      const input = el('input', { type: 'date', id, name, value: value ?? '', disabled: readOnly });
      field = el('div', { class: 'field', dataset: { field: name } }, label, desc, input, errorBox);
      readers[name] = () => input.value || undefined;
    } else {
      const long = (prop.maxLength || 1000) > 100;
      const input = long
        ? el('textarea', { id, name, rows: 2, disabled: readOnly }, value ?? '')
        : el('input', { type: 'text', id, name, value: value ?? '', disabled: readOnly });
      field = el('div', { class: 'field', dataset: { field: name } }, label, desc, input, errorBox);
      readers[name] = () => (input.value === '' ? undefined : input.value);
    }
    fields[name] = field;
    box.append(field);
  }
  return {
    read() {
      const out = {};
      for (const [name, read] of Object.entries(readers)) {
        const v = read();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
    /** Show a 422 body's per-field messages ("evidence.0" belongs to "evidence"); returns the rest. */
    showErrors(errors) {
      for (const f of Object.values(fields)) { f.classList.remove('invalid'); f.querySelector('[data-error-for]').textContent = ''; }
      const rest = [];
      for (const [path, messages] of Object.entries(errors || {})) {
        const name = path.split('.')[0];
        const text = (Array.isArray(messages) ? messages : [messages]).join('；');
        if (fields[name]) {
          fields[name].classList.add('invalid');
          const box2 = fields[name].querySelector('[data-error-for]');
          box2.textContent = [box2.textContent, path.includes('.') ? `第 ${Number(path.split('.')[1]) + 1} 项：${text}` : text].filter(Boolean).join('；');
        } else rest.push(`${path}：${text}`);
      }
      const first = Object.values(fields).find((f) => f.classList.contains('invalid'));
      if (first) first.scrollIntoView({ block: 'center' });
      return rest;
    },
  };
}

function evidenceField(name, prop, label, desc, errorBox, initial, readers, readOnly) {
  const files = [...initial];
  const list = el('ul', { class: 'files' });
  const render = () => list.replaceChildren(...files.map((f, i) => el('li', { dataset: { file: f.id } },
    `${f.filename} `, f.sha256 ? el('code', {}, `sha256 ${f.sha256.slice(0, 16)}…`) : '',
    readOnly ? '' : el('button', { type: 'button', class: 'secondary', onclick: () => { files.splice(i, 1); render(); } }, '移除'))));
  const input = el('input', {
    type: 'file', id: `f-${name}`, name, multiple: true, disabled: readOnly,
    accept: '.pdf,.ofd,.jpg,.jpeg,.png,.tif,.tiff,.doc,.docx,.xls,.xlsx,.wps,.et,.zip',
    title: '单个文件不超过 20 MB；PDF、OFD、图片、Word、Excel、WPS 或 ZIP',
  });
  const progress = el('span', { class: 'status' });
  input.addEventListener('change', async () => {
    for (const file of input.files) {
      progress.textContent = `正在上传 ${file.name}…`;
      const form = new FormData();
      form.append('file', file, file.name);
      try {
        files.push(await api('files', { method: 'POST', form }));
        progress.textContent = `已上传 ${file.name}`;
      } catch (error) {
        const why = error.body && error.body.errors && error.body.errors.file; // e.g. the allowed types
        progress.textContent = `${file.name} 上传失败：${why ? why.join('；') : errorText(error)}`;
      }
      render();
    }
    input.value = '';
  });
  render();
  readers[name] = () => files.map((f) => f.id);
  return el('div', { class: 'field', dataset: { field: name } }, label, desc, input, progress, list, errorBox);
}
