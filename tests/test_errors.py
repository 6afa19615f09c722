"""The exception tree drawn in monitor/errors.py's docstring is the tree of its classes."""

from __future__ import annotations

import importlib
import inspect
import re

from monitor import errors

_NODE = re.compile(r"^(?P<indent>[\s│├└─]*?)(?P<name>[A-Z]\w+)\s+(?:\((?P<module>[\w/]+)\.py\))?")


def _drawn() -> list[tuple[int, type[BaseException]]]:
    """(depth, class) for each node of the drawing, top to bottom."""
    nodes = []
    lines = (errors.__doc__ or "").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("MonitorError"))
    for line in lines[start:]:
        if not line.strip():
            break
        match = _NODE.match(line.strip("\n")[4:])     # the drawing is indented by 4
        if not match:
            continue                                  # a continuation line ("│   │  (429)...")
        module = errors
        if match["module"]:
            module = importlib.import_module(match["module"].replace("/", "."))
        nodes.append((len(match["indent"]) // 4, getattr(module, match["name"])))
    return nodes


def test_the_drawing_is_the_class_tree() -> None:
    nodes = _drawn()
    assert nodes[0] == (0, errors.MonitorError)
    parents: list[type[BaseException]] = []
    for depth, cls in nodes:
        del parents[depth:]
        if parents:
            assert cls.__bases__ == (parents[-1],), cls.__name__
        parents.append(cls)


def test_every_error_class_of_the_module_is_drawn() -> None:
    drawn = {cls for _, cls in _drawn()}
    defined = {obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if issubclass(obj, BaseException) and obj.__module__ == errors.__name__}
    assert defined - drawn == set()
    assert all(issubclass(cls, errors.MonitorError) for cls in defined)


def test_kinds_are_distinct_stable_tags() -> None:
    classes = [cls for _, cls in _drawn()]
    kinds = [cls.kind for cls in classes if "kind" in vars(cls)]
    assert len(kinds) == len(set(kinds))
    # WorkerOutOfMemory is stored as a crash, as before it moved here.
    assert errors.WorkerOutOfMemory.kind == errors.ExtractionCrashed.kind == "extraction_crashed"
