"""Identifiers inside free text are kept whole on screen, and the text stays text."""

from django.template import Context, Template


def render(text: str) -> str:
    return Template("{{ text|keep_identifiers_whole }}").render(Context({"text": text}))


def test_numbers_and_addresses_in_free_text_are_kept_whole():
    assert render("Issued as INV-2026-0024 for C-10001, mailed to a-p@acme.example.") == (
        'Issued as <span class="ident">INV-2026-0024</span> for <span class="ident">C-10001</span>,'
        ' mailed to <span class="ident">a-p@acme.example</span>.'
    )


def test_hostile_text_around_and_inside_an_identifier_stays_escaped():
    html = render('<script>alert(1)</script> INV-2026-0001 "x"@<b>evil</b>.example')
    assert "<script>" not in html and "<b>" not in html
    assert html.startswith(
        '&lt;script&gt;alert(1)&lt;/script&gt; <span class="ident">INV-2026-0001</span>'
    )
