"""Every template renders with a sample context; a missing value is an error, not a blank."""
from __future__ import annotations

import jinja2
import jinja2.meta
import pytest

from types import SimpleNamespace

from daemon.mail.rendering import CUSTOMER_TEMPLATES, Renderer, TemplateProblem
from parsers.language import DEFAULT, LANGUAGES
from daemon.config import DeskConfig, WinbackConfig
from daemon.schema import ConfigError


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


def test_warming_up_compiles_every_template_before_the_first_mail(tmp_path):
    (tmp_path / "acknowledgment.txt").write_text("Subject: Got it\n\nShort.\n")
    renderer = Renderer(tmp_path)
    renderer.warm_up()
    compiled = [key[1] for key in renderer._env.cache.keys()]  # (loader's weakref, name)
    assert set(compiled) == set(renderer._env.list_templates(extensions=["txt"]))
    assert len(compiled) > 100  # every language's text of every mail
    assert any(env.cache for env in renderer._html_envs.values())  # the HTML beside the built-in text


def test_a_template_that_does_not_compile_is_named_at_warm_up_and_keeps_nothing_down(tmp_path, caplog):
    (tmp_path / "thank_you.txt").write_text("Subject: Thanks\n\n{% if %}\n")
    renderer = Renderer(tmp_path)
    renderer.warm_up()
    assert "thank_you.txt does not compile" in caplog.text
    assert renderer.render("acknowledgment", sample_context(renderer, "acknowledgment", DeskConfig())).subject
    with pytest.raises(jinja2.TemplateSyntaxError):
        renderer.render("thank_you", {})


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT])
def test_every_customer_template_has_each_language_and_renders_in_it(language):
    renderer = Renderer()
    assert renderer.missing_translations() == []
    for name in CUSTOMER_TEMPLATES:
        source = renderer._env.loader.get_source(renderer._env, f"{language}/{name}.txt")[0]
        assert "Subject:" in source, (language, name)
        context = {**{var: Anything(var) for var in renderer.variables(name)}, "desk": DeskConfig()}
        context["case"] = SimpleNamespace(kind="cancel", reference="CX-1", requester="x@y.example",
                                          requested_final_day=None)
        rendered = renderer.render(name, context, language)
        assert rendered.subject and rendered.text.strip(), (language, name)


def test_a_reworded_mail_without_its_translations_goes_out_in_the_agencys_english(tmp_path):
    (tmp_path / "thank_you.txt").write_text("Subject: Thanks {{ customer_name }}\n\nOur own words.\n")
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "thank_you.txt").write_text("Subject: Merci {{ customer_name }}\n\nNos propres mots.\n")
    renderer = Renderer(tmp_path)
    # Not the built-in German of the old wording: the agency's new English.
    assert renderer.render("thank_you", {"customer_name": "Jo"}, "de").text == "Our own words.\n"
    assert renderer.render("thank_you", {"customer_name": "Jo"}, "fr").text == "Nos propres mots.\n"
    assert renderer.missing_translations() == [f"{lang}/thank_you.txt in {tmp_path}" for lang in ("de", "es", "nl", "pt")]


def test_check_names_each_missing_translation_as_a_warning(tmp_path):
    from daemon.views.check import check_templates
    from daemon.config import from_text

    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "feedback_request.txt").write_text("Subject: x\n\nTell us.\n")
    config = from_text('[desk]\naddress = "cancel@agency.example"\n[templates]\noverride_dir = "tpl"\n', tmp_path)
    lines = check_templates(config)
    assert [line.status for line in lines] == ["warning"] * 5
    assert "de/feedback_request.txt" in lines[0].text and "English" in lines[0].text


def test_check_names_a_customer_language_whose_winback_offers_fall_back_to_english(tmp_path):
    from daemon.views.check import check_templates
    from daemon.config import from_text

    # Reworded English offers and only a German table: the other languages read the English,
    # and German customers whose reason is not in their table get the German default.
    config = from_text('[winback]\noffers = ["price: 10% off", "results: a new team"]\n'
                       'default_offer = "a month free"\n'
                       '[winback.by_language.de]\noffers = ["price: 10 % Rabatt"]\n'
                       'default_offer = "ein Monat gratis"\n', tmp_path)
    texts = [line.text for line in check_templates(config) if line.status == "warning"]
    assert any(t.startswith("winback.by_language.de: no offer for results") for t in texts), texts
    assert any(t.startswith("winback.by_language.fr: no offers in fr") for t in texts), texts
    assert config.winback.offer_for("price", "de") == "10 % Rabatt"
    assert config.winback.offer_for("results", "de") == "ein Monat gratis"
    assert config.winback.offer_for("price", "fr") == "10% off"
    # The built-in translations are of the built-in English: reworded English goes out as it is.
    reworded = from_text('[winback]\ndefault_offer = "two months free"\n', tmp_path)
    assert reworded.winback.offer_for("budget", "es") == WinbackConfig().offer_for("budget", "en")


def test_the_desks_language_that_staff_mail_lacks_is_named_by_check(tmp_path):
    from daemon.views.check import check_templates
    from daemon.config import from_text

    config = from_text('[desk]\nlanguage = "de"\n', tmp_path)
    (line,) = [line for line in check_templates(config) if "desk.language" in line.text]
    assert line.status == "warning" and "staff read them in English" in line.text
    with pytest.raises(ConfigError, match="desk.language"):
        from_text('[desk]\nlanguage = "it"\n', tmp_path)


def test_staff_mail_is_in_the_desks_language_zone_and_currency_where_translated(tmp_path):
    from datetime import UTC, datetime

    from daemon.mail.style import Style

    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "vendor_notice.txt").write_text(
        "Subject: Kündigung zum {{ final_day | day }}\n\nAb {{ final_day | day }}, gemeldet {{ at | moment }}, "
        "bisher {{ was | money }}.\n")
    renderer = Renderer(tmp_path, Style("de", "Europe/Berlin", "EUR"))
    values = {"final_day": "2027-03-31", "at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "was": "800.00",
              "zone": "America/New_York", "currency": "USD"}   # a customer's zone and currency do not apply
    rendered = renderer.render("vendor_notice", values, "en")
    assert rendered.subject == "Kündigung zum 31. März 2027"
    assert " ".join(rendered.text.split()) == (
        "Ab 31. März 2027, gemeldet Montag, 23. November 2026, 10:00 MEZ (UTC+01:00), bisher 800,00 €.")
    # A staff mail with no translation reads wholly in English: its dates too, in the desk's zone.
    english = renderer.render("effective_date_reminder", {**values, "service": "SEO", "account_name": "Acme",
                                                           "case": SimpleNamespace(reference="CX-1"),
                                                           "days_before": 7, "desk": DeskConfig()}, "de")
    assert english.subject == "SEO for Acme ends on 31 March 2027 [CX-1]"
    assert renderer.missing_staff_translations() and "de/vendor_notice.txt" not in renderer.missing_staff_translations()
