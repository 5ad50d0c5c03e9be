// Moddle descriptor of the SpiffWorkflow extension elements our diagrams use (namespace
// http://spiffworkflow.org/bpmn/schema/1.0/core, prefix spiffworkflow). Given to bpmn-js as
// `moddleExtensions.spiffworkflow`, so these elements are typed objects that survive import and
// export unchanged and can be edited in the properties panel (properties_panel.js).
// Every spiffworkflow:* element found in processes/*.bpmn and processes/shared/*.bpmn is listed
// (tests/browser/test_modeler_properties.py checks none is left over as an untyped element).
// With tagAlias lowerCase the type `PreScript` is written as <spiffworkflow:preScript>.
const text = (name) => ({ name, superClass: ['Element'], properties: [{ name: 'value', type: 'String', isBody: true }] });

export default {
  name: 'SpiffWorkflow',
  uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
  prefix: 'spiffworkflow',
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    // user tasks and start events: <properties><property name="formJsonSchemaFilename" value="…"/></properties>
    { name: 'Properties', superClass: ['Element'], properties: [{ name: 'properties', type: 'Property', isMany: true }] },
    {
      name: 'Property',
      superClass: ['Element'],
      properties: [{ name: 'name', type: 'String', isAttr: true }, { name: 'value', type: 'String', isAttr: true }],
    },
    text('InstructionsForEndUser'),  // Markdown shown to whoever does the task
    text('PreScript'),  // Python run before a task starts
    text('PostScript'),  // Python run after a task completes
    // service tasks: the handler called and its Python-expression arguments
    {
      name: 'ServiceTaskOperator',
      superClass: ['Element'],
      properties: [
        { name: 'id', type: 'String', isAttr: true },  // not a BPMN id: "size_class.classify"
        { name: 'resultVariable', type: 'String', isAttr: true },
        { name: 'parameters', type: 'Parameters' },
      ],
    },
    { name: 'Parameters', superClass: ['Element'], properties: [{ name: 'parameters', type: 'Parameter', isMany: true }] },
    {
      name: 'Parameter',
      superClass: ['Element'],
      properties: [
        { name: 'id', type: 'String', isAttr: true },
        { name: 'type', type: 'String', isAttr: true },
        { name: 'value', type: 'String', isAttr: true },
      ],
    },
    text('MessagePayload'),  // throwing message events: a Python expression
    text('MessageVariable'),  // catching message events: the variable the payload lands in
    // signals, errors and escalations (on bpmn:signal / bpmn:error / bpmn:escalation): the payload a
    // throw evaluates and the variable a catch puts it in
    text('PayloadExpression'),
    text('VariableName'),
  ],
};
