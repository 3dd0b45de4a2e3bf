"""French is the default language: every source string has a French translation, and the
compiled catalogue that ships in the repository matches its source."""

from pathlib import Path

import polib

PO = Path(__file__).resolve().parents[2] / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def test_every_string_is_translated_to_french():
    catalogue = polib.pofile(str(PO))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    assert catalogue.percent_translated() == 100


def test_the_compiled_catalogue_matches_its_source():
    # One entry per context: "Cancelled" is "Annulée" for a request and "Annulé" for a loan.
    def key(entry):
        return (entry.msgctxt or "", entry.msgid, entry.msgid_plural)

    source = {key(e): e for e in polib.pofile(str(PO)) if not e.obsolete}
    compiled = {key(e): e for e in polib.mofile(str(PO.with_suffix(".mo")))}
    assert set(compiled) == {k for k in source if k[1]}
    for key, entry in compiled.items():
        assert (entry.msgstr, entry.msgstr_plural) == (
            source[key].msgstr,
            source[key].msgstr_plural,
        ), key


def test_the_catalogue_holds_every_source_string(tmp_path):
    """makemessages, run on a copy of the project, finds no string the catalogue lacks."""
    import shutil
    import subprocess
    import sys

    root = PO.parents[3]
    copy = tmp_path / "project"
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "staticfiles", "media", "test-output", "*.sqlite3", "__pycache__"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--locale",
            "fr",
            "--no-obsolete",
            "--no-location",
            "--ignore",
            "tests/*",
            "--ignore",
            "staticfiles/*",
        ],
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "1"},
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(copy / PO.relative_to(root)))
    missing = [entry.msgid for entry in fresh if not entry.translated()]
    assert missing == [], "run `make messages` and translate these"
