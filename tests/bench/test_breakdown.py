"""bench.breakdown: exclusive timers per layer, put back afterwards, over the real workload."""

from __future__ import annotations

import itertools
import types

from bench import breakdown


def test_a_timer_counts_only_its_own_time():
    ticks = itertools.count()  # each reading of the clock advances it by one
    timers = breakdown.Timers(clock=lambda: float(next(ticks)))
    inner = timers.wrap(lambda: None, "inner")
    outer = timers.wrap(lambda: [inner(), inner()][0], "outer")
    outer()
    # inner: 2 calls x 1 tick; outer: 5 ticks less the 2 calls' 2 ticks and their 2 readings
    assert timers.spent == {"inner": 2.0, "outer": 1.0 + 2.0}


def test_a_failing_call_is_timed_and_the_stack_stays_balanced():
    timers = breakdown.Timers()

    def fails():
        raise ValueError("x")

    wrapped = timers.wrap(fails, "f")
    for _ in range(2):
        try:
            wrapped()
        except ValueError:
            pass
    assert set(timers.spent) == {"f"}
    assert timers._inner == []


class Thing:
    def method(self):
        return "class"


def test_installed_puts_back_module_class_and_instance_attributes():
    module = types.SimpleNamespace(fn=lambda: "module")
    thing = Thing()
    original_fn, original_method = module.fn, Thing.__dict__["method"]
    timers = breakdown.Timers()
    with timers.installed([(module, "fn", "a"), (Thing, "method", "b"), (thing, "method", "c")]):
        assert module.fn() == "module"
        assert thing.method() == "class"
        assert module.fn is not original_fn
    assert module.fn is original_fn
    assert Thing.__dict__["method"] is original_method
    assert "method" not in vars(thing)  # the instance's own attribute is gone again
    assert set(timers.spent) == {"a", "b", "c"}  # the instance's wrapper wraps the class's


def test_the_workload_reaches_every_layer():
    found = breakdown.measure(2)
    layers = found["layers"]
    named = {layer for _, _, layer in breakdown._layers()}
    assert named <= set(layers)
    assert all(layers[layer] > 0 for layer in named), layers
    assert min(found["raw_s"], found["floor_s"], found["instance_s"]) > 0
    lines = breakdown.report(found, 2)
    assert lines[0].startswith("sme_eval in-process sqlite, 2 instances")
    assert any(line.strip().startswith(breakdown.ENGINE) for line in lines)


def test_every_entry_point_exists():
    for owner, name, _ in breakdown._layers():
        assert callable(getattr(owner, name)), (owner, name)
