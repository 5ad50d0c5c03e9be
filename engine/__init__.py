"""tidu engine: deploys BPMN definitions and runs them on SpiffWorkflow; knows BPMN, not SMEs."""
