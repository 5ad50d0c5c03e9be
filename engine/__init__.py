"""tidu engine: deploys BPMN definitions and runs instances on SpiffWorkflow; knows BPMN, not SMEs."""
