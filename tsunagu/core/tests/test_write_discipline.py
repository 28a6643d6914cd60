"""Every state change goes through an app's writing modules: `<app>/actions.py` or `<app>/actions/<topic>.py`.

A static check over the source: outside those modules, no call of a model's or queryset's writing methods
(`save`, `create`, `update`, `delete`, `get_or_create`, `update_or_create`, `bulk_*`) and no raw SQL that
writes. The few exceptions are listed in ALLOWED with the reason each needs; an entry no longer needed fails
the test too, so the list stays short and true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tsunagu

ROOT = Path(tsunagu.__file__).parent

# (module path relative to tsunagu/, the call as it reads in the source) -> why it may write there.
ALLOWED: dict[tuple[str, str], str] = {
    ("lib/bulk.py", "cursor.execute"): "the generic multi-row INSERT, called only by actions (the CSV import)",
    ("lib/bulk.py", "cursor.executemany"): "the generic executemany UPDATE, called only by actions",
    ("privacy/api.py", "candidates_router.delete"): "django-ninja's DELETE route decorator, not a query",
}

ALWAYS_WRITES = {"save", "delete", "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}
# `update` is also dict.update and set.update: counted only on something that is a queryset.
QUERYSET_METHODS = {"objects", "filter", "exclude", "all", "select_for_update", "select_related", "order_by",
                    "only", "defer", "using", "prefetch_related", "annotate", "_default_manager", "none"}
RAW_SQL = {"execute", "executemany"}
READ_ONLY_SQL = ("SELECT", "ANALYZE", "PRAGMA", "EXPLAIN", "SHOW", "WITH")


def is_writing_module(relative: Path) -> bool:
    return "actions" in relative.parts[:-1] or relative.name == "actions.py"


def source_modules() -> list[Path]:
    skipped = {"tests", "migrations"}
    return sorted(path for path in ROOT.rglob("*.py")
                  if not skipped & set(path.relative_to(ROOT).parts)
                  and path.name not in {"conftest.py", "testing.py"})


def _chain(node: ast.AST) -> list[str]:
    """The names along an expression such as `Message.objects.filter(pk=1)` -> [Message, objects, filter]."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return names[::-1]


def _looks_like_queryset(node: ast.AST, querysets: set[str]) -> bool:
    chain = _chain(node)
    return bool(QUERYSET_METHODS & set(chain)) or bool(chain and chain[0] in querysets and len(chain) == 1)


def _sql_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    return None


class WriteFinder(ast.NodeVisitor):
    """Collects (line, call) of every write in one module. Names bound to a queryset expression within a
    function are remembered, so `due = X.objects.filter(...)` then `due.update(...)` counts."""

    def __init__(self):
        self.found: list[tuple[int, str]] = []
        self.querysets: set[str] = set()

    def visit_FunctionDef(self, node):  # noqa: N802 - ast's hook name
        outer, self.querysets = self.querysets, set()
        self.generic_visit(node)
        self.querysets = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):  # noqa: N802
        if _looks_like_queryset(node.value, self.querysets):
            self.querysets.update(target.id for target in node.targets if isinstance(target, ast.Name))
        self.generic_visit(node)

    def visit_Call(self, node):  # noqa: N802
        func = node.func
        if isinstance(func, ast.Attribute):
            name = ".".join(_chain(func)[-2:])
            if func.attr in ALWAYS_WRITES:
                self.found.append((node.lineno, name))
            elif func.attr == "update" and _looks_like_queryset(func.value, self.querysets):
                self.found.append((node.lineno, name))
            elif func.attr in RAW_SQL:
                sql = _sql_text(node.args[0]) if node.args else None
                if sql is None or not sql.lstrip().upper().startswith(READ_ONLY_SQL):
                    self.found.append((node.lineno, name))
        self.generic_visit(node)


def writes_in(path: Path) -> list[tuple[int, str]]:
    finder = WriteFinder()
    finder.visit(ast.parse(path.read_text(), filename=str(path)))
    return finder.found


def test_the_finder_sees_each_kind_of_write():
    """The check itself: each kind of write is found, and reads and dict updates are not."""
    source = '''
def f(self, form, cursor):
    Message.objects.filter(pk=1).update(status="x")
    due = Message.objects.filter(status="s")
    due.update(status="y")
    message.save(update_fields=["status"])
    Suppression.objects.get_or_create(email="a")
    Message.objects.bulk_create([])
    form.save()
    cursor.execute("UPDATE t SET a = 1")
    cursor.execute(sql)
    context = {}
    context.update(a=1)
    cursor.execute("SELECT 1")
    Message.objects.filter(pk=1).count()
'''
    finder = WriteFinder()
    finder.visit(ast.parse(source))
    assert [call for _line, call in finder.found] == [
        "filter.update", "due.update", "message.save", "objects.get_or_create", "objects.bulk_create",
        "form.save", "cursor.execute", "cursor.execute",
    ]


def test_state_changes_only_in_writing_modules():
    found = {}
    for path in source_modules():
        relative = path.relative_to(ROOT)
        if is_writing_module(relative):
            continue
        for line, call in writes_in(path):
            found.setdefault((relative.as_posix(), call), []).append(line)
    unexpected = {key: lines for key, lines in found.items() if key not in ALLOWED}
    assert not unexpected, "writes outside the writing modules (move them into the app's actions): " + "; ".join(
        f"{module}:{','.join(map(str, lines))} {call}" for (module, call), lines in sorted(unexpected.items()))
    stale = set(ALLOWED) - set(found)
    assert not stale, f"allowed writes that no longer exist (remove them from ALLOWED): {sorted(stale)}"
