"""The Swedish catalog is complete and the committed django.mo is the compiled django.po.

The portal reads only django.mo (compiled by `make messages`), so a fresh machine needs no
gettext; these tests make sure nobody forgot to compile or to translate. The first two need
nothing but Python; the last two need GNU gettext (msgfmt, xgettext), required in CI."""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.conftest import require

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "sv" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# What `make messages` runs (Makefile).
MAKEMESSAGES = ["--locale", "sv", "--no-wrap", "--add-location", "file", "--no-obsolete"]


def read_po(path: Path) -> tuple[dict, set]:
    """The catalog of a .po file as gettext keys it ("context\\x04msgid", (msgid, n) for plural
    forms), and the keys of entries flagged fuzzy."""
    catalog, fuzzy = {}, set()
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        fields, flags, field = {}, "", None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += line
            elif line.startswith("#"):
                continue
            elif match := re.match(
                r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$", line
            ):
                field = match.group(1)
                fields[field] = ast.literal_eval(match.group(2))
            else:
                fields[field] += ast.literal_eval(line)
        msgid = fields["msgid"]
        if "msgctxt" in fields:
            msgid = f"{fields['msgctxt']}\x04{msgid}"
        if "msgid_plural" in fields:
            entries = {
                (msgid, int(name[7:-1])): text
                for name, text in fields.items()
                if name.startswith("msgstr[")
            }
        else:
            entries = {msgid: fields["msgstr"]}
        catalog.update(entries)
        if "fuzzy" in flags:
            fuzzy.update(entries)
    return catalog, fuzzy


def test_every_message_has_a_swedish_translation():
    catalog, fuzzy = read_po(PO)
    header = catalog.pop("")
    assert "Language: sv" in header
    assert len(catalog) > 50
    assert [key for key, text in catalog.items() if not text] == []
    assert fuzzy == set()


def test_the_committed_mo_is_the_compiled_po():
    catalog, _ = read_po(PO)
    with MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    # The header differs by design (msgfmt leaves out POT-Creation-Date): compare messages.
    compiled.pop(""), catalog.pop("")
    assert compiled == catalog, "Run `make messages` and commit locale/sv/LC_MESSAGES/django.mo"


def test_msgfmt_finds_no_mistake_in_the_translations(tmp_path):
    """Placeholders (%(amount)s) kept, plural forms and header as gettext wants them."""
    msgfmt = shutil.which("msgfmt")
    require(msgfmt, "GNU gettext's msgfmt (apt-get install gettext)")
    result = subprocess.run(
        [msgfmt, "--check", "--output-file", str(tmp_path / "django.mo"), str(PO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_po_holds_every_string_the_code_marks(tmp_path):
    """`make messages` on a copy of the code changes nothing: no new string waits for a
    translation, and none is left over."""
    require(shutil.which("xgettext"), "GNU gettext's xgettext (apt-get install gettext)")
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "portal"
    shutil.copytree(
        base,
        copy,
        ignore=shutil.ignore_patterns(
            ".*", "__pycache__", "media", "staticfiles", "test-artifacts", "db.sqlite3*"
        ),
    )
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", *MAKEMESSAGES],
        cwd=copy,
        env={**os.environ, "DEBUG": "true"},
        check=True,
        capture_output=True,
    )
    regenerated, fuzzy = read_po(copy / PO.relative_to(base))
    committed, _ = read_po(PO)
    regenerated.pop(""), committed.pop("")
    assert sorted(set(regenerated) - set(committed), key=str) == []  # new, untranslated
    assert sorted(set(committed) - set(regenerated), key=str) == []  # no longer used
    assert fuzzy == set()
