"""Every template renders with a sample context; a missing value is an error, not a blank."""
from __future__ import annotations

import jinja2
import jinja2.meta
import pytest

from daemon.rendering import Renderer, TemplateProblem
from daemon.config import DeskConfig


class Anything:
    """Stands for any value a template may ask for: renders as its own name."""

    def __init__(self, name="value"):
        self._name = name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything(f"{self._name}.{name}")

    def __getitem__(self, key):
        return Anything(f"{self._name}[{key}]")

    def __iter__(self):
        return iter([Anything(f"{self._name}[0]")])

    def __str__(self):
        return self._name

    def __bool__(self):
        return True


class SampleContext(dict):
    def __missing__(self, key):
        return Anything(key)


def sample_context(renderer: Renderer, name: str, desk: DeskConfig) -> dict:
    """A value for every name the template (text and HTML) asks for."""
    env, wanted = renderer._env, set()
    for suffix in ("txt", "html"):
        try:
            source = env.loader.get_source(env, f"{name}.{suffix}")[0]
        except jinja2.TemplateNotFound:
            continue
        wanted |= jinja2.meta.find_undeclared_variables(env.parse(source))
    return {**{var: Anything(var) for var in wanted}, "desk": desk}


def test_every_template_renders_with_a_subject(tmp_path):
    renderer = Renderer()
    names = renderer.names()
    assert "acknowledgment" in names
    for name in names:
        rendered = renderer.render(name, sample_context(renderer, name, DeskConfig()))
        assert rendered.subject, name
        assert rendered.text.strip(), name


def test_missing_value_is_an_error():
    with pytest.raises(jinja2.UndefinedError):
        Renderer().render("acknowledgment", {"desk": DeskConfig()})


def test_override_folder_wins(tmp_path):
    (tmp_path / "acknowledgment.txt").write_text("Subject: Got it {{ name }}\n\nShort and sweet.\n")
    rendered = Renderer(tmp_path).render("acknowledgment", {"name": "Jane"})
    # the built-in HTML is not sent beside reworded text
    assert (rendered.subject, rendered.text, rendered.html) == ("Got it Jane", "Short and sweet.\n", None)


def test_template_without_subject_is_refused(tmp_path):
    (tmp_path / "broken.txt").write_text("Hello\n")
    with pytest.raises(TemplateProblem, match="broken.txt"):
        Renderer(tmp_path).render("broken", {})
