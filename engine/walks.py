"""The two tree walks SpiffWorkflow repeats on every engine step, done without its iterator.

`BpmnWorkflow.do_engine_steps` lists the READY tasks of the whole tree on every pass, and every
task that completes makes the workflow walk the tree again for WAITING tasks to update. Both
go through `TaskIterator`, a generic iterator (filters, depth bookkeeping, a list it pops from
the front) whose overhead is most of the walk. `TiduWorkflow` answers these two walks with a
plain depth-first generator over the same tree: the same tasks in the same order, found as
lazily (a task's children are read when the task is reached, so updates made while walking
are seen as SpiffWorkflow sees them). Any other query goes to SpiffWorkflow's iterator.

SpiffWorkflow stops descending at depth 1000 (`max_depth`) by a counter it keeps while
walking; the generator uses each task's depth in the tree, which is what that counter holds.
`tests/engine/test_walks.py` checks both walks against SpiffWorkflow's on real cases, and the
process tests cross-check every walk they make (tests/fixtures/codec_check.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

MAX_DEPTH = 1000  # SpiffWorkflow's TaskIterator default


def min_state(mask: int) -> int:
    """The lowest state whose children `TaskIterator` visits when filtering for `mask`."""
    if mask & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if mask & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def walk(root: Any, mask: int) -> Iterator[Any]:
    """`TaskIterator(root, state=mask)`: tasks of one workflow's tree, depth first."""
    return _walk(root, mask, {})


def walk_bpmn(root: Any, mask: int) -> Iterator[Any]:
    """`BpmnTaskIterator(root, state=mask)`: as `walk`, entering each task's subprocess (its
    tree is visited before the task's children)."""
    return _walk(root, mask, root.workflow.top_workflow.subprocesses)


def _walk(root: Any, mask: int, subprocesses: dict[Any, Any]) -> Iterator[Any]:
    lowest = min_state(mask)
    stack = [(root, 0)]
    pop = stack.pop
    while stack:
        task, depth = pop()
        children = task._children
        subprocess = subprocesses.get(task.id)
        if (
            (children or subprocess is not None)
            and (task._state >= lowest or subprocess is not None)
            and depth < MAX_DEPTH
        ):
            get = task.workflow.tasks.get
            below = depth + 1
            stack.extend([(get(child), below) for child in reversed(children)])
            if subprocess is not None:
                # SpiffWorkflow's test for skipping a finished subprocess (state >= the finished
                # mask) holds for no single state: it always enters
                stack.append((subprocess.task_tree, below))
        if task._state & mask:
            yield task


class TiduWorkflow(BpmnWorkflow):
    """A `BpmnWorkflow` whose per-step walks use `walk`/`walk_bpmn` (saved as BpmnWorkflow)."""

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        if kwargs.keys() <= {"state"}:
            return walk_bpmn(first_task or self.task_tree, kwargs.get("state", TaskState.ANY_MASK))
        return super().get_tasks_iterator(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        for task in walk(self.task_tree, TaskState.WAITING):
            task.task_spec._update(task)
