// Properties side panel of the BPMN modeller: shows the selected element's id (checked before it
// is applied) and name and, by type, what a process owner changes in a SpiffWorkflow diagram — a
// script task's script (the 流程参数 task included), a timer's kind and Python expression (a kind
// switch drops an expression of another kind), the condition of a flow leaving a gateway, a user
// task's spiffworkflow:properties, instructions and pre-/post-scripts.
// Every edit is a bpmn-js command (modeling.updateProperties / updateModdleProperties), so it
// can be undone and saveXML writes it. Fields commit on `change` (leaving the field, or Enter).
import { el } from './common.js';

const SPIFF = 'spiffworkflow';

const TYPE_NAMES = {
  'bpmn:ScriptTask': '脚本任务', 'bpmn:UserTask': '用户任务', 'bpmn:ServiceTask': '服务任务',
  'bpmn:BusinessRuleTask': '业务规则任务', 'bpmn:ManualTask': '人工任务', 'bpmn:Task': '任务',
  'bpmn:CallActivity': '调用活动', 'bpmn:SubProcess': '子流程', 'bpmn:StartEvent': '开始事件',
  'bpmn:EndEvent': '结束事件', 'bpmn:BoundaryEvent': '边界事件', 'bpmn:IntermediateCatchEvent': '中间捕获事件',
  'bpmn:IntermediateThrowEvent': '中间抛出事件', 'bpmn:ExclusiveGateway': '排他网关',
  'bpmn:InclusiveGateway': '包容网关', 'bpmn:ParallelGateway': '并行网关', 'bpmn:EventBasedGateway': '事件网关',
  'bpmn:ComplexGateway': '复杂网关', 'bpmn:SequenceFlow': '顺序流', 'bpmn:MessageFlow': '消息流',
  'bpmn:Participant': '池（参与者）', 'bpmn:Lane': '泳道', 'bpmn:TextAnnotation': '注释',
  'bpmn:Association': '关联', 'bpmn:Group': '分组', 'bpmn:DataObjectReference': '数据对象',
  'bpmn:DataStoreReference': '数据存储', 'bpmn:Process': '流程', 'bpmn:Collaboration': '协作',
  // named only when an id is taken by them
  'bpmn:TimerEventDefinition': '定时器定义', 'bpmn:MessageEventDefinition': '消息事件定义',
  'bpmn:Message': '消息', 'bpmn:Signal': '信号', 'bpmn:Error': '错误', 'bpmn:Definitions': '定义',
  'bpmndi:BPMNDiagram': '图', 'bpmndi:BPMNPlane': '图面', 'bpmndi:BPMNShape': '图形', 'bpmndi:BPMNEdge': '连线图形',
};

// an XML NCName as tidu writes ids (ASCII, like every id of processes/)
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

// timer definition kinds: the bpmn:TimerEventDefinition property holding the expression
const TIMER_KINDS = [
  ['timeDuration', '时长'],
  ['timeDate', '日期'],
  ['timeCycle', '周期'],
];

// what to enter for each kind, shown when switching the kind cleared an expression
const TIMER_ADVICE = {
  timeDuration: '时长应为 ISO 8601 时长，如 "P10D"（10 天）、"PT2H"（2 小时），或返回时长的表达式。',
  timeDate: '日期应为带时区的 ISO 8601 日期时间，如 "2025-10-01T00:00:00+08:00"，'
    + '或返回日期时间的表达式，如 correction["ends_at"]、days_before(correction["ends_at"], 3)。',
  timeCycle: '周期应为 ISO 8601 重复周期，如 "R3/PT1H"（每小时一次，共 3 次），或返回周期的表达式。',
};

// spiffworkflow:property names the engine reads (engine/definitions.py, engine/bpmnlint.py)
const KNOWN_PROPERTIES = {
  formJsonSchemaFilename: '办理表单：forms/ 下的 JSON Schema 文件',
  dueAt: '办理期限：Python 表达式，结果为 ISO 时间',
  handledBy: '受理角色（开始事件）：梯度:角色,…',
  requiresQualification: '须持有的资质梯度（开始事件）',
};

// gateways whose outgoing flows carry conditions
const CONDITIONAL_GATEWAYS = ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway'];

const isA = (bo, types) => [].concat(types).some((type) => bo && bo.$instanceOf(type));

/** The first extension element of a type (e.g. 'spiffworkflow:Properties'), or undefined. */
function extension(bo, type) {
  return ((bo.extensionElements && bo.extensionElements.values) || []).find((value) => value.$instanceOf(type));
}

/**
 * The timer kind an expression plausibly is. Only a leading string literal tells: its text
 * "R…/…" (R3/PT1H, R{n}/…) is a cycle, "P…" (P10D, PT2H, f"P{days}D", "P" + …) a duration;
 * any other literal, a name or a call (correction["ends_at"], days_before(…)) a date-time.
 */
export function timerKindOf(body) {
  const literal = /^\s*[rRfFuU]{0,2}(['"])(.*)$/s.exec(body);
  if (!literal) return 'timeDate';
  if (/^R(\d+|\{[^}]*\})?\//.test(literal[2])) return 'timeCycle';
  if (/^P(\d|T|\{|['"])/.test(literal[2])) return 'timeDuration';
  return 'timeDate';
}

/** The element of the tree under `root` other than `except` whose id is `id`, or undefined. */
function findById(root, id, except) {
  const seen = new Set();
  const stack = [root];
  while (stack.length) {
    const value = stack.pop();
    if (!value || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) { stack.push(...value); continue; }
    if (!value.$type) continue;
    if (value !== except && value.id === id) return value;
    for (const key of Object.keys(value)) if (!key.startsWith('$')) stack.push(value[key]);
  }
  return undefined;
}

/** Why `bo` cannot take the id `id` in `definitions`, in Chinese; '' when it can. */
export function idProblem(id, bo, definitions) {
  if (!id) return '编号不能为空';
  if (!NCNAME.test(id)) return '编号须以字母或下划线开头，只含字母、数字、下划线、连字符和点';
  const other = findById(definitions, id, bo);
  if (!other) return '';
  const kind = TYPE_NAMES[other.$type] || other.$type;
  return `编号已被${kind}${other.name ? `“${other.name}”` : ''}使用`;
}

export function timerOf(bo) {
  return (bo.eventDefinitions || []).find((definition) => definition.$instanceOf('bpmn:TimerEventDefinition'));
}

/** A settings script task: the 流程参数 a process owner may change. */
const isSettings = (bo) => isA(bo, 'bpmn:ScriptTask') && (bo.id === 'settings' || bo.name === '流程参数');

/** How many rows a textarea needs to show `text` whole: its lines, each wrapped at about
 *  `columns` half-width characters (a CJK character counts two). */
export function rowsFor(text, columns = 56) {
  const width = (line) => [...line].reduce((n, ch) => n + (ch.charCodeAt(0) > 0x2e7f ? 2 : 1), 0);
  return String(text).split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(width(line) / columns)), 0);
}

/** Grow a textarea to its content (up to about 60% of the window; beyond, it scrolls). */
function autosize(area) {
  if (!area.offsetParent) return;  // not laid out (the panel is hidden)
  area.style.height = 'auto';
  const limit = Math.max(200, window.innerHeight * 0.6);
  area.style.height = `${Math.min(area.scrollHeight + 2, limit)}px`;
}

/**
 * Attach the panel to `container`; returns { show(element), render(), setActive(on) }. Several
 * modelers may share one container: only the active one's panel draws into it.
 * @param {object} modeler a bpmn-js Modeler given the spiffworkflow moddle extension
 */
export function createPropertiesPanel(modeler, container, { active = true } = {}) {
  const modeling = modeler.get('modeling');
  const factory = modeler.get('bpmnFactory');
  const registry = modeler.get('elementRegistry');
  const selection = modeler.get('selection');
  const canvas = modeler.get('canvas');
  const timerDrafts = new Map();  // business object -> kind chosen before any expression was typed
  const timerNotices = new Map();  // business object -> { kind, text } why its expression was cleared
  let current = null;
  let selected = 0;  // how many elements are selected

  // ---- edits (each one command on the command stack) ----

  /** Put `created` into the element's extensionElements (creating those if missing). */
  function addExtension(element, created) {
    const bo = element.businessObject;
    if (!bo.extensionElements) {
      const holder = factory.create('bpmn:ExtensionElements', { values: [created] });
      created.$parent = holder;
      modeling.updateProperties(element, { extensionElements: holder });
    } else {
      created.$parent = bo.extensionElements;
      modeling.updateModdleProperties(element, bo.extensionElements, { values: [...bo.extensionElements.values, created] });
    }
  }

  function removeExtension(element, existing) {
    const holder = element.businessObject.extensionElements;
    modeling.updateModdleProperties(element, holder, { values: holder.values.filter((value) => value !== existing) });
  }

  /** Set a text extension element (spiffworkflow:preScript …): an empty text removes it. */
  function setTextExtension(element, type, text) {
    const existing = extension(element.businessObject, type);
    if (existing && !text) removeExtension(element, existing);
    else if (existing) modeling.updateModdleProperties(element, existing, { value: text });
    else if (text) addExtension(element, factory.create(type, { value: text }));
  }

  function expression(body) {
    return factory.create('bpmn:FormalExpression', { body });
  }

  function setTimer(element, kind, body) {
    const timer = timerOf(element.businessObject);
    const changes = Object.fromEntries(TIMER_KINDS.map(([name]) => [name, undefined]));
    if (body) changes[kind] = expression(body);
    modeling.updateModdleProperties(element, timer, changes);
  }

  /** Switch a timer to kind `to`: keep the expression if it fits, else clear it (one command)
   *  and say why. */
  function changeTimerKind(element, to, body) {
    const bo = element.businessObject;
    timerDrafts.set(bo, to);  // the kind shown while the timer has no expression
    if (!body) { render(); return; }
    if (timerKindOf(body) === to) {
      timerNotices.delete(bo);
      setTimer(element, to, body);
      return;
    }
    const label = TIMER_KINDS.find(([name]) => name === to)[1];
    timerNotices.set(bo, { kind: to, text: `原表达式 ${body} 不是${label}，已清除（撤销可恢复）。${TIMER_ADVICE[to]}` });
    setTimer(element, to, '');
  }

  /** Give the element the id typed in `input`, unless it is taken or not an NCName: then the
   *  reason is shown next to the field and the element keeps its id. */
  function setId(element, input) {
    const bo = element.businessObject;
    const id = input.value.trim();
    if (id === bo.id) { input.value = id; return; }
    const problem = idProblem(id, bo, modeler.getDefinitions());
    if (!problem) { modeling.updateProperties(element, { id }); return; }
    input.setAttribute('aria-invalid', 'true');
    const shown = input.parentElement.querySelector('.pp-error')
      || input.insertAdjacentElement('afterend', el('p', { class: 'pp-error', role: 'alert' }));
    shown.textContent = `${problem}；编号仍为 ${bo.id}`;
  }

  function setCondition(element, body) {
    modeling.updateProperties(element, { conditionExpression: body ? expression(body) : undefined });
  }

  function addProperty(element, name, value) {
    const bo = element.businessObject;
    const list = extension(bo, `${SPIFF}:Properties`);
    const property = factory.create(`${SPIFF}:Property`, { name, value });
    if (list) {
      property.$parent = list;
      modeling.updateModdleProperties(element, list, { properties: [...(list.properties || []), property] });
    } else {
      const created = factory.create(`${SPIFF}:Properties`, { properties: [property] });
      property.$parent = created;
      addExtension(element, created);
    }
  }

  function removeProperty(element, property) {
    const list = extension(element.businessObject, `${SPIFF}:Properties`);
    const rest = list.properties.filter((p) => p !== property);
    if (rest.length) modeling.updateModdleProperties(element, list, { properties: rest });
    else removeExtension(element, list);
  }

  // ---- form pieces ----

  /** One labelled field; `commit(value)` runs on change when the value differs. */
  function field(key, label, { value = '', multiline = false, code = false, readonly = false, hint, notice, commit, rows } = {}) {
    const attrs = { id: `pp-${key}`, class: code ? 'code' : '', spellcheck: 'false', readonly: readonly || undefined };
    const input = multiline
      ? el('textarea', { ...attrs, rows: rows || Math.min(24, Math.max(3, rowsFor(value, code ? 52 : 44) + 1)) })
      : el('input', { ...attrs, type: 'text' });
    input.value = value;
    if (multiline) input.addEventListener('input', () => autosize(input));
    if (commit) {
      input.addEventListener('change', () => {
        if (input.value !== value) commit(input.value);
      });
    }
    return el('div', { class: 'pp-field', dataset: { field: key } },
      el('label', { for: `pp-${key}` }, label), input,
      notice ? el('p', { class: 'pp-notice', role: 'status' }, notice) : '',
      hint ? el('p', { class: 'pp-hint' }, hint) : '');
  }

  function section(title, ...children) {
    return el('section', { class: 'pp-section' }, el('h3', {}, title), ...children);
  }

  function generalSection(element) {
    const bo = element.businessObject;
    return section('基本信息',
      el('p', { class: 'pp-type', dataset: { type: bo.$type } }, TYPE_NAMES[bo.$type] || bo.$type),
      idField(element),
      field('name', '名称', {
        value: bo.name || '',
        commit: (value) => modeling.updateLabel(element, value),
      }));
  }

  function idField(element) {
    const shown = field('id', '编号', {
      value: element.businessObject.id,
      code: true,
      hint: '字母或下划线开头，只含字母、数字、下划线、连字符和点；在本流程图中唯一。',
      commit: () => setId(element, input),
    });
    const input = shown.querySelector('input');
    input.addEventListener('input', () => {  // typing again: the old reason no longer applies
      input.removeAttribute('aria-invalid');
      const error = shown.querySelector('.pp-error');
      if (error) error.remove();
    });
    return shown;
  }

  function scriptSection(element) {
    const bo = element.businessObject;
    return section(isSettings(bo) ? '流程参数' : '脚本',
      field('script', '脚本（Python）', {
        value: bo.script || '',
        multiline: true,
        code: true,
        hint: isSettings(bo)
          ? '每行一个参数：名称 = 值  # 说明。只改等号右边的值；校验后部署为新版本，新发起的案件使用新值。'
          : '由 SpiffWorkflow 执行的 Python 脚本，可读写流程变量。',
        commit: (value) => modeling.updateProperties(element, { script: value }),
      }));
  }

  function timerSection(element) {
    const bo = element.businessObject;
    const timer = timerOf(bo);
    const set = TIMER_KINDS.find(([name]) => timer[name]);
    const kind = set ? set[0] : (timerDrafts.get(bo) || 'timeDuration');
    const body = set ? (timer[kind].body || '') : '';
    const notice = !set && timerNotices.has(bo) && timerNotices.get(bo).kind === kind ? timerNotices.get(bo).text : '';
    const select = el('select', { id: 'pp-timer-kind' },
      TIMER_KINDS.map(([name, label]) => el('option', { value: name, selected: name === kind || undefined }, label)));
    select.addEventListener('change', () => changeTimerKind(element, select.value, body));
    return section('定时器',
      el('div', { class: 'pp-field', dataset: { field: 'timer-kind' } }, el('label', { for: 'pp-timer-kind' }, '类型'), select),
      field('timer-expression', '表达式（Python）', {
        value: body,
        code: true,
        notice,
        hint: '按 Python 表达式求值：固定值须加引号，如时长 "P10D"（10 天）、日期 "2025-10-01T00:00:00+08:00"、'
          + '周期 "R3/PT1H"；也可以引用流程变量，如 correction["ends_at"]。',
        commit: (value) => {
          if (!value.trim()) timerDrafts.set(bo, kind);  // keep the kind shown when cleared
          timerNotices.delete(bo);
          setTimer(element, kind, value.trim());
        },
      }));
  }

  function conditionSection(element) {
    const bo = element.businessObject;
    const isDefault = bo.sourceRef && bo.sourceRef.default === bo;
    return section('分支条件',
      field('condition', '条件表达式（Python）', {
        value: (bo.conditionExpression && bo.conditionExpression.body) || '',
        code: true,
        hint: isDefault
          ? '这是网关的默认路径：其他路径的条件都不满足时走这条，无需条件。'
          : '结果为真时走这条路径，如 decision == "approve"。',
        commit: (value) => setCondition(element, value.trim()),
      }));
  }

  function propertiesSection(element) {
    const list = extension(element.businessObject, `${SPIFF}:Properties`);
    const rows = ((list && list.properties) || []).map((property, index) => el('tr', { dataset: { property: property.name || '' } },
      el('td', {}, cell(`property-name-${index}`, property.name, (value) => modeling.updateModdleProperties(element, property, { name: value }),
        KNOWN_PROPERTIES[property.name])),
      el('td', {}, cell(`property-value-${index}`, property.value, (value) => modeling.updateModdleProperties(element, property, { value }))),
      el('td', {}, el('button', {
        type: 'button', class: 'secondary pp-remove', title: '删除此属性', onclick: () => removeProperty(element, property),
      }, '删除'))));
    const newName = el('input', { type: 'text', class: 'code', placeholder: '属性名', list: 'pp-known-properties', 'aria-label': '新属性名' });
    const newValue = el('input', { type: 'text', class: 'code', placeholder: '值', 'aria-label': '新属性值' });
    const add = () => {
      if (!newName.value.trim()) { newName.focus(); return; }
      addProperty(element, newName.value.trim(), newValue.value);
    };
    return section('扩展属性（spiffworkflow:properties）',
      el('table', { class: 'pp-properties' },
        el('thead', {}, el('tr', {}, el('th', {}, '属性名'), el('th', {}, '值'), el('th', {}, ''))),
        el('tbody', {}, rows,
          el('tr', { class: 'pp-new-property' }, el('td', {}, newName), el('td', {}, newValue),
            el('td', {}, el('button', { type: 'button', class: 'pp-add', onclick: add }, '添加'))))),
      el('datalist', { id: 'pp-known-properties' }, Object.entries(KNOWN_PROPERTIES).map(([name, note]) => el('option', { value: name }, note))));
  }

  function cell(key, value, commit, title) {
    const input = el('input', { type: 'text', class: 'code', id: `pp-${key}`, title, dataset: { field: key } });
    input.value = value || '';
    input.addEventListener('change', () => { if (input.value !== (value || '')) commit(input.value); });
    return input;
  }

  function userTaskSection(element) {
    const bo = element.businessObject;
    const text = (type) => { const found = extension(bo, `${SPIFF}:${type}`); return (found && found.value) || ''; };
    return section('用户任务',
      field('instructions', '办理说明', {
        value: text('InstructionsForEndUser'),
        multiline: true,
        hint: '显示给办理人的说明（spiffworkflow:instructionsForEndUser）。',
        commit: (value) => setTextExtension(element, `${SPIFF}:InstructionsForEndUser`, value),
      }),
      field('pre-script', '前置脚本（preScript）', {
        value: text('PreScript'),
        multiline: true,
        code: true,
        rows: text('PreScript') ? undefined : 2,
        hint: '任务生成前执行的 Python 脚本；留空即不设。',
        commit: (value) => setTextExtension(element, `${SPIFF}:PreScript`, value),
      }),
      field('post-script', '后置脚本（postScript）', {
        value: text('PostScript'),
        multiline: true,
        code: true,
        rows: text('PostScript') ? undefined : 2,
        hint: '任务完成后执行的 Python 脚本；留空即不设。',
        commit: (value) => setTextExtension(element, `${SPIFF}:PostScript`, value),
      }));
  }

  /** With nothing selected: a hint, and a shortcut to each 流程参数 task of the diagram. */
  function emptyView() {
    const settings = registry.filter((element) => element.type !== 'label' && isSettings(element.businessObject));
    return [
      el('p', { class: 'hint' }, '在流程图中选中一个元素，即可在此查看和修改它的属性：脚本任务的脚本（含“流程参数”）、'
        + '定时器的表达式、网关出口的分支条件、用户任务的表单等扩展属性。修改可撤销，部署时一并保存。'),
      settings.length ? el('p', {}, settings.map((element) => el('button', {
        type: 'button', class: 'secondary pp-goto', dataset: { element: element.id },
        onclick: () => { selection.select(element); canvas.scrollToElement(element); },
      }, `修改${element.businessObject.name || '流程参数'}`))) : '',
    ];
  }

  // ---- rendering ----

  function render() {
    if (!active) return;
    const focused = container.contains(document.activeElement) ? document.activeElement.id : null;
    const element = current && registry.get(current.id) ? registry.get(current.id) : null;
    const parts = [el('h2', {}, '属性')];
    if (!element && selected > 1) {
      parts.push(el('p', { class: 'hint pp-multiple' }, `已选中 ${selected} 个元素。只选中一个元素时，可在此查看和修改它的属性。`));
    } else if (!element) {
      parts.push(...emptyView());
    } else {
      const bo = element.businessObject;
      parts.push(generalSection(element));
      if (isA(bo, 'bpmn:ScriptTask')) parts.push(scriptSection(element));
      if (isA(bo, 'bpmn:Event') && timerOf(bo)) parts.push(timerSection(element));
      if (isA(bo, 'bpmn:SequenceFlow') && (isA(bo.sourceRef, CONDITIONAL_GATEWAYS) || bo.conditionExpression)) {
        parts.push(conditionSection(element));
      }
      if (isA(bo, 'bpmn:UserTask')) parts.push(userTaskSection(element));
      if (isA(bo, 'bpmn:UserTask') || extension(bo, `${SPIFF}:Properties`)) parts.push(propertiesSection(element));
    }
    container.replaceChildren(...parts);
    container.dataset.element = element ? element.id : '';
    for (const area of container.querySelectorAll('textarea')) autosize(area);
    const again = focused && document.getElementById(focused);
    if (again && container.contains(again)) again.focus();
  }

  function show(element) {
    current = element && element.type === 'label' ? element.labelTarget : element;
    if (current && current === canvas.getRootElement()) current = null;
    render();
  }

  modeler.on('selection.changed', ({ newSelection }) => {
    selected = newSelection.length;
    show(newSelection.length === 1 ? newSelection[0] : null);
  });
  modeler.on('elements.changed', ({ elements }) => {
    if (!current) { render(); return; }
    if (elements.some((element) => element.id === current.id || element.labelTarget === current
      || (element.businessObject && element.businessObject === current.businessObject.sourceRef))) render();
  });
  modeler.on('import.done', () => { timerDrafts.clear(); timerNotices.clear(); selected = 0; show(null); });
  function setActive(on) {
    active = on;
    render();
  }

  render();
  return { show, render, setActive };
}
