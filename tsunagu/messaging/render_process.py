"""Templates render in separate processes, under a hard limit that no single operation can get around.

The budget (template_budget.py) stops almost everything expensive before it runs, with a precise reason. What
it could still miss is one C-level operation running long between two checks; in the web server or a
worker that would hold the GIL and stall every other request or task. So every render (the console's preview
and save check, delivery, the outbox's view of a message) runs in a small pool of long-lived render processes
(tsunagu.lib.process_pool): killed after HARD_SECONDS_PER_TEMPLATE per template, limited to MEMORY_BYTES,
answering in plain data. The caller's process only waits on a pipe, so it stays responsive.

A render process needs no database and no settings of the deployment: it configures Django only for
translations (the reasons it gives are in the console's language) and imports only the sandbox.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tsunagu.lib import process_pool
from tsunagu.messaging.template_budget import MAX_SECONDS

# The budget's own deadline comes first (with its precise reason); the kill is for what it cannot interrupt.
HARD_SECONDS_PER_TEMPLATE = MAX_SECONDS + 1.0
MEMORY_BYTES = 256 * 2**20  # beyond what a render process holds once started
PROCESSES = 2  # per web server or worker process; a worker renders one mail at a time and uses one
WAIT_SECONDS = 15.0  # how long a render waits for a free render process


class RenderFailed(Exception):
    """The render process could not finish the render (the message says why, in the console's language)."""


class RenderUnavailable(RenderFailed):
    """No render process was free or could be started: not the template's fault, try again later."""


@cache
def _spec() -> process_pool.PoolSpec:
    locale_paths = [str(path) for path in settings.LOCALE_PATHS]
    locale_paths += [str(Path(app.path) / "locale") for app in apps.get_app_configs()
                     if (Path(app.path) / "locale").is_dir()]
    return process_pool.PoolSpec(
        handler="tsunagu.messaging.render_process:render_in_child",
        setup="tsunagu.messaging.render_process:set_up_child",
        setup_args=(tuple(locale_paths), settings.LANGUAGE_CODE),
        size=PROCESSES,
        memory_bytes=MEMORY_BYTES,
    )


def render_sources(sources: list[str], context: dict) -> list[list]:
    """Render each source with the context in a render process. Each result is ["ok", text],
    ["syntax", line, message] or ["error", line or None, reason]; RenderFailed if the process gave none."""
    pool = process_pool.shared_pool(_spec())
    try:
        return pool.call(list(sources), _plain(context), get_language() or settings.LANGUAGE_CODE,
                         timeout=HARD_SECONDS_PER_TEMPLATE * max(len(sources), 1), wait=WAIT_SECONDS)
    except process_pool.JobTimeout as exc:
        raise RenderFailed(_("表示に時間がかかりすぎます(%(seconds)s秒まで)。") % {"seconds": f"{MAX_SECONDS:g}"}) from exc
    except process_pool.JobMemory as exc:
        raise RenderFailed(_("表示に使うメモリが多すぎます。")) from exc
    except process_pool.JobCrashed as exc:
        raise RenderFailed(_("表示の途中で処理が止まりました。")) from exc
    except process_pool.PoolError as exc:
        raise RenderUnavailable(_("ただいま混み合っているため表示できません。しばらくしてからお試しください。")) from exc


def _plain(context: dict) -> dict:
    """The context as values a render process can receive: text, numbers, lists (OpenPositions stays itself)."""
    plain = {}
    for name, value in context.items():
        if isinstance(value, Promise) or (isinstance(value, str) and type(value) is not str):
            value = str(value)  # lazy translations and SafeStrings as plain text
        elif not isinstance(value, str | int | float | list | tuple | dict) and value is not None:
            value = str(value)
        plain[name] = value
    return plain


def shutdown() -> None:
    """Stop this process's render processes (they also stop by themselves when it exits)."""
    process_pool.shutdown_pools()


# --- inside a render process ------------------------------------------------------------------------

def set_up_child(locale_paths: tuple[str, ...], language_code: str) -> None:
    import django

    if not settings.configured:
        settings.configure(USE_I18N=True, LANGUAGE_CODE=language_code, LOCALE_PATHS=list(locale_paths),
                           INSTALLED_APPS=[], USE_TZ=True)
    django.setup()
    from tsunagu.messaging import sandbox  # imported (and its environment built) before the memory limit

    sandbox.compile_template("{{ 1 }}")
    _use_language(language_code)
    _("繰り返しや呼び出しが多すぎます(1通あたり%(limit)s回まで)。")  # load the catalogue now


_active_language = ""


def _use_language(code: str) -> None:
    # Switched only when it changes: a worker renders mail after mail in the same language.
    global _active_language
    if code != _active_language:
        from django.utils import translation

        translation.activate(code)
        _active_language = code


def render_in_child(sources: list[str], context: dict, language: str) -> list[list]:
    from jinja2 import TemplateSyntaxError

    from tsunagu.messaging import sandbox

    _use_language(language)
    results = []
    for source in sources:
        try:
            results.append(["ok", sandbox.run(sandbox.compile_template(source), context)])
        except TemplateSyntaxError as exc:
            results.append(["syntax", exc.lineno, exc.message or ""])
        except RecursionError:  # compiling a template nested too deeply
            results.append(["error", None, _("呼び出しの入れ子が深すぎます。")])
        except sandbox.RENDER_ERRORS as exc:
            results.append(["error", sandbox.error_line(exc), sandbox.error_reason(exc)])
    return results
