"""Which names are assigned on every path to an element ("definitely assigned" analysis).

A name a step reads must be provided on *every* path from the start to it: a form field of a
user task on one branch does not help a gateway on another (deleting a user task in the modeller
otherwise deploys and stops the case with a NameError). The analysis runs over the sequence
flows of a process and its embedded sub-processes to a fixed point (loops converge because the
sets only shrink): a node's names on entry are those every predecessor leaves (all branches of a
parallel join together), on exit those plus what it assigns — form fields, scripts and pre/post
scripts, a service task's ``resultVariable``, a message's variable, a rule table's outputs, what
a called diagram assigns. A boundary event starts with what its host started with. After an
embedded sub-process come the names any of its completing end events has (a gateway after it
tests which way it ended: the lifecycle's ``period_result``); the ends of paths started by a
non-interrupting boundary event do not complete it. A user task
without a form in a diagram that uses no forms at all (test and benchmark diagrams) may submit
any field: after it every name counts as assigned (:data:`EVERY`).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.bpmnlint import BPMN_NS
from engine.lint_messages import label

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
BPMN = "{" + BPMN_NS + "}"
EVERY = None  # the set of all names (after a formless user task)
Names = frozenset[str] | None
_SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}


def _is_node(el: Any) -> bool:
    if not isinstance(el.tag, str) or not el.tag.startswith(BPMN) or el.get("id") is None:
        return False
    local = etree.QName(el).localname
    return local in {*_SCOPES, "callActivity", "task"} or local.endswith(
        ("Task", "Event", "Gateway")
    )


def _meet(sets: list[Names]) -> Names:
    known = [s for s in sets if s is not EVERY]
    if not known:
        return EVERY
    return frozenset.intersection(*known)


def _join(a: Names, b: Names) -> Names:
    return EVERY if a is EVERY or b is EVERY else a | b


@dataclass
class Flow:
    """The analysed graph of one diagram: per node its predecessors, gen set, IN and OUT."""

    nodes: dict[str, Any] = field(default_factory=dict)
    preds: dict[str, list[str]] = field(default_factory=dict)
    succs: dict[str, list[str]] = field(default_factory=dict)
    gen: dict[str, Names] = field(default_factory=dict)
    pre: dict[str, frozenset[str]] = field(default_factory=dict)  # preScript assignments
    scope: dict[str, str | None] = field(default_factory=dict)  # node -> enclosing sub-process
    entry: set[str] = field(default_factory=set)  # start events, event sub-processes
    host: dict[str, str] = field(default_factory=dict)  # boundary event -> its host
    side: set[str] = field(default_factory=set)  # only after a non-interrupting boundary event
    IN: dict[str, Names] = field(default_factory=dict)
    OUT: dict[str, Names] = field(default_factory=dict)

    def before(self, node_id: str) -> Names:
        """Names assigned on every path up to the start of a node."""
        return self.IN.get(node_id, EVERY)

    def after(self, node_id: str) -> Names:
        return self.OUT.get(node_id, EVERY)


def analyse(root: Any, assigns: Callable[[Any], Names], called_names: frozenset[str]) -> Flow:
    """Build and solve the flow graph of a diagram. `assigns(node)` gives what a task itself
    assigns; call activities assign `called_names`."""
    flow = Flow()
    for process in root.iter(f"{BPMN}process"):
        _collect(flow, process, None, assigns, called_names)
    for seq in root.iter(f"{BPMN}sequenceFlow"):
        source, target = seq.get("sourceRef"), seq.get("targetRef")
        if source in flow.nodes and target in flow.nodes:
            flow.preds[target].append(source)
            flow.succs[source].append(target)
    for boundary, host in flow.host.items():
        if host in flow.nodes:
            flow.succs[host].append(boundary)
    _mark_side_paths(flow)
    _solve(flow)
    return flow


def _mark_side_paths(flow: Flow) -> None:
    """Nodes reached only from a non-interrupting boundary event: their ends do not complete
    the sub-process, so what reaches them says nothing of its result."""
    changed = True
    while changed:
        changed = False
        for node_id, preds in flow.preds.items():
            if node_id not in flow.side and preds and all(p in flow.side for p in preds):
                flow.side.add(node_id)
                changed = True


def _collect(
    flow: Flow, scope: Any, scope_id: str | None, assigns: Callable[[Any], Names],
    called_names: frozenset[str],
) -> None:  # fmt: skip
    for el in scope:
        if not _is_node(el):
            continue
        node_id = el.get("id")
        local = etree.QName(el).localname
        flow.nodes[node_id] = el
        flow.preds[node_id], flow.succs[node_id] = [], []
        flow.scope[node_id] = scope_id
        flow.pre[node_id] = frozenset(_bound_in(el, "preScript"))
        gen = assigns(el)
        if local == "callActivity" and gen is not EVERY:
            gen = gen | called_names
        flow.gen[node_id] = gen
        if local == "startEvent" or (local in _SCOPES and el.get("triggeredByEvent") == "true"):
            flow.entry.add(node_id)
        if local == "boundaryEvent":
            flow.host[node_id] = el.get("attachedToRef")
            if el.get("cancelActivity") == "false":
                flow.side.add(node_id)
        if local in _SCOPES:
            _collect(flow, el, node_id, assigns, called_names)


def _bound_in(el: Any, tag: str) -> set[str]:
    found: set[str] = set()
    for code in el.iterfind(f"{BPMN}extensionElements/{SPIFF}{tag}"):
        found |= bound(code.text or "")
    return found


def bound(code: str, mode: str = "exec") -> set[str]:
    """Names a snippet assigns (nothing when it does not parse)."""
    try:
        tree = ast.parse(code.strip(), mode=mode)
    except SyntaxError:
        return set()
    return {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }


def _entry_names(flow: Flow, node_id: str) -> Names:
    outer = flow.scope[node_id]
    if outer is None:
        return frozenset()
    parent = flow.IN.get(outer, EVERY)
    return parent if parent is EVERY else parent | flow.pre[outer]


def _in_of(flow: Flow, node_id: str) -> Names:
    if node_id in flow.host:
        host = flow.host[node_id]
        start = flow.IN.get(host, EVERY)
        return start if start is EVERY else start | flow.pre.get(host, frozenset())
    if node_id in flow.entry:
        return _entry_names(flow, node_id)
    sources = [flow.OUT[p] for p in flow.preds[node_id]]
    if not sources:
        return EVERY  # unreachable (the structure check names it) or a link catch event
    el = flow.nodes[node_id]
    if etree.QName(el).localname == "parallelGateway" and len(sources) > 1:
        joined: Names = frozenset()
        for names in sources:
            joined = _join(joined, names)
        return joined
    return _meet(sources)


def _out_of(flow: Flow, node_id: str, start: Names) -> Names:
    el = flow.nodes[node_id]
    if etree.QName(el).localname in _SCOPES:
        ends = [
            flow.OUT[n] for n, s in flow.scope.items()
            if s == node_id and n not in flow.side
            and etree.QName(flow.nodes[n]).localname == "endEvent"
        ]  # fmt: skip
        inside: Names = frozenset()
        for names in ends:  # a gateway after it tests which way it ended (see the docs)
            inside = _join(inside, names)
        start = _join(start, inside)
    gen = flow.gen[node_id]
    if start is EVERY or gen is EVERY:
        return EVERY
    return start | gen


def _solve(flow: Flow) -> None:
    for node_id in flow.nodes:
        flow.IN[node_id] = EVERY
        flow.OUT[node_id] = EVERY
    changed, rounds = True, 0
    while changed and rounds < 10 * (len(flow.nodes) + 2):
        changed, rounds = False, rounds + 1
        for node_id in flow.nodes:
            start = _in_of(flow, node_id)
            out = _out_of(flow, node_id, start)
            if start != flow.IN[node_id] or out != flow.OUT[node_id]:
                flow.IN[node_id], flow.OUT[node_id] = start, out
                changed = True


def _provides(flow: Flow, node_id: str, name: str) -> bool:
    """Whether every path through a node has `name` after it."""
    out = flow.OUT[node_id]
    return out is EVERY or name in out


def path_without(flow: Flow, target: str, name: str) -> list[str]:
    """Node ids of a path from a start to `target` on which nothing assigns `name` ([] if none)."""
    outer = flow.scope.get(target)
    starts = [n for n in flow.entry if flow.scope[n] == outer and not _provides(flow, n, name)]
    parent: dict[str, str | None] = {n: None for n in starts}
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        if node == target:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])  # type: ignore[arg-type]
            path.reverse()
            prefix = path_without(flow, outer, name) if outer is not None else []
            return prefix + path
        if _provides(flow, node, name):
            continue
        for nxt in flow.succs[node]:
            if nxt not in parent and flow.scope.get(nxt) == outer:
                parent[nxt] = node
                queue.append(nxt)
    return []


def shown_path(flow: Flow, ids: list[str]) -> str:
    """`a（名） → b（名） → …`, the middle left out of a long path."""
    labels = [label(flow.nodes[i]) for i in ids]
    if len(labels) > 9:
        labels = [*labels[:3], "……", *labels[-5:]]
    return " → ".join(labels)


_AFTER = {"postScript", "completionCondition"}  # read once the task has done its work
_BEFORE = {"preScript"}  # read before the task's own pre-script ran


def placed(flow: Flow, owner: Any) -> bool:
    """Whether an element (a node or a sequence flow) is part of the analysed graph."""
    if owner is None:
        return False
    if etree.QName(owner).localname == "sequenceFlow":
        return owner.get("sourceRef") in flow.nodes
    return owner.get("id") in flow.nodes


def available_at(flow: Flow, owner: Any, holder: Any) -> Names:
    """Names assigned on every path to where a snippet (`holder`, of element `owner`, one that
    is :func:`placed`) runs."""
    owner_id = owner.get("id")
    local = etree.QName(holder).localname
    if etree.QName(owner).localname == "sequenceFlow":
        source = owner.get("sourceRef")
        return flow.after(source) if source in flow.nodes else EVERY
    if owner_id not in flow.nodes:
        return EVERY
    if local in _AFTER:
        return flow.after(owner_id)
    start = flow.before(owner_id)
    if local in _BEFORE or start is EVERY:
        return start
    return start | flow.pre[owner_id]


def providers(flow: Flow, name: str) -> list[str]:
    """Ids of the nodes that assign `name` themselves."""
    return [n for n, gen in flow.gen.items() if gen is not EVERY and name in gen]
