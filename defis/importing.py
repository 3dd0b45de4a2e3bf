"""Spreadsheets in (CSV, XLSX): what every import of the application shares.

- A file is read into a table whose data row n is line n + 1 of the file, as a spreadsheet
  numbers it (the header is line 1, blank lines count), so that every error names the line
  the user sees.
- A CSV may come from any spreadsheet: cells separated by "," or ";" (French Excel), in UTF-8
  with or without a byte order mark, or in Windows-1252, what French Excel writes when a
  list is saved as plain "CSV (séparateur : point-virgule)". UTF-8 is always tried first
  (a UTF-8 file read as Windows-1252 would turn "é" into "Ã©"), and Windows-1252 is only
  kept when every character it gives is one a French list holds: any other encoding (UTF-16,
  Mac Roman, a binary file) is refused with a message that says how to save the file.
- Columns are headed in the user's language ("Numéro de série") and recognised in any of the
  site's languages or by the field's name.
- An import is all or nothing: the errors of a django-import-export result become one French
  sentence each, "Ligne 3 : Code postal : …", in the order of the file.

A helper module: it imports no app.
"""

import csv
import io
import os
import re
from datetime import timedelta

import tablib
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from import_export import resources
from import_export.formats import base_formats
from import_export.results import RowResult
from import_export.tmp_storages import MediaStorage

# The header is line 1 of the file: data row n (counted from 1) is line n + 1.
HEADER_LINES = 1

# What a web upload may weigh: a course's list of trainees is a few kilobytes.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# How many lines a file may run to, blank ones included: a few bytes can declare a million
# empty rows, which would take minutes and gigabytes to go through.
MAX_LINES = 20_000


class UnreadableFile(ValueError):
    """The file cannot be read as a table; the message says why, in the user's language."""


def cell_text(value) -> str:
    """A cell as text, trimmed: "" for an empty cell, "56100" for the number 56100."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9][0-9 .,]*")


def spreadsheet_text(value):
    """A value as a spreadsheet may show it without running it: text that starts like a
    formula ("=", "+", "-", "@") gets a leading quote, unless it is a plain number or a
    phone number ("-12,5", "+33 6 12 34 56 78"). Other values are left as they are."""
    if not isinstance(value, str) or value[:1] not in FORMULA_STARTS:
        return value
    if NUMBER.fullmatch(value):
        return value
    return f"'{value}"


def _escaped(dataset):
    """A copy of `dataset` whose cells cannot run as formulas in a spreadsheet."""
    safe = tablib.Dataset(headers=dataset.headers, title=dataset.title)
    for row in dataset:
        safe.append([spreadsheet_text(value) for value in row])
    return safe


def header_key(header) -> str:
    """A header as compared: case, spaces and apostrophes do not matter."""
    return " ".join(cell_text(header).replace("’", "'").split()).casefold()


def _too_long() -> UnreadableFile:
    return UnreadableFile(
        _(
            "This file runs to more than %(max)s lines: remove the empty lines at its end, or "
            "split it."
        )
        % {"max": MAX_LINES}
    )


def _check_text(value) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise UnreadableFile(
            _("This file holds invisible control characters: save it again from your spreadsheet.")
        )


# Windows-1252 is accepted when it gives nothing but ASCII text, the letters of Latin-1
# (accents of French and of names from elsewhere: é, ç, ñ, ß) and the signs below. Mac Roman
# read as Windows-1252 gives "Ž" for "é" and "ˆ" for "à"; UTF-16 gives NUL characters; a
# binary file gives control characters: all of them are refused.
LEGACY_ENCODING = "cp1252"
FRENCH_SIGNS = frozenset("œŒŸ’‘“”«»–—…€°ºª²·\u00a0")


def _holds_french_text(characters) -> bool:
    return all(
        (char.isascii() and (char.isprintable() or char in "\t\r\n"))
        or char in FRENCH_SIGNS
        or ("\u00c0" <= char <= "\u00ff" and char.isalpha())
        for char in characters
    )


def decode_text(content: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without a byte order mark), or Windows-1252
    that reads as French text. Raises the UTF-8 UnicodeDecodeError otherwise."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        try:
            text = content.decode(LEGACY_ENCODING)
        except UnicodeDecodeError:
            raise error from None
        if not _holds_french_text(set(text)):
            raise error from None
        return text


class _Rows:
    """Data rows as they are read: blank rows held back until a filled one follows, so that
    the blank rows at the end of a file cost nothing, and the line count capped."""

    def __init__(self, dataset, width, empty):
        self.dataset, self.width, self.empty = dataset, width, empty
        self.pending_blank = 0

    def add(self, line, cells):
        if line > MAX_LINES:
            raise _too_long()
        if any(cell_text(cell) for cell in cells[self.width :]):
            raise UnreadableFile(
                _("Line %(line)s has more cells than the first line has column names.")
                % {"line": line}
            )
        cells = list(cells[: self.width])
        if not any(cell_text(cell) for cell in cells):
            self.pending_blank += 1
            return
        for cell in cells:
            _check_text(cell)
        for _blank in range(self.pending_blank):
            self.dataset.append([self.empty] * self.width)
        self.pending_blank = 0
        self.dataset.append(cells + [self.empty] * (self.width - len(cells)))


class CSV(base_formats.CSV):
    """CSV as spreadsheets write it.

    Cells are separated by "," or by ";" (what French Excel writes), found from the header
    line. Every record is kept, blank ones included, so that data row n is line n + 1 of
    the file (tablib drops blank lines, which would shift the line numbers of the errors).
    Exported with ";" so that a double-click opens it in columns in French Excel.
    """

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            in_stream = decode_text(in_stream)
        _check_text(in_stream)
        header_line = in_stream.split("\n", 1)[0]
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        records = csv.reader(io.StringIO(in_stream), delimiter=delimiter)
        dataset = tablib.Dataset()
        headers = next(records, None)
        if headers is None:
            return dataset
        dataset.headers = headers
        rows = _Rows(dataset, len(headers), "")
        for line, cells in enumerate(records, start=HEADER_LINES + 1):
            rows.add(line, cells)
        return dataset

    def export_data(self, dataset, **kwargs):
        kwargs.setdefault("delimiter", ";")
        return super().export_data(_escaped(dataset), **kwargs)


class XLSX(base_formats.XLSX):
    """The first sheet of an Excel workbook, its cells as Excel typed them (a date cell is a
    date). Rows are cut or padded to the header's width, blank rows kept for the line
    numbers; empty columns at the right of the header (a formatted but unused column) are
    dropped."""

    def export_data(self, dataset, **kwargs):
        # openpyxl writes a text starting with "=" as a formula.
        return super().export_data(_escaped(dataset), **kwargs)

    def create_dataset(self, in_stream):
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        dataset = tablib.Dataset()
        try:
            sheet = workbook.active
            # The header first, then the rows no wider than it: a sheet may declare a
            # million columns or rows that hold nothing.
            first = next(sheet.iter_rows(max_row=1, values_only=True), None)
            if first is None:
                return dataset
            headers = list(first)
            while headers and not cell_text(headers[-1]):
                headers.pop()
            dataset.headers = [cell_text(header) for header in headers]
            width = max(len(headers), 1)
            rows = _Rows(dataset, len(headers), None)
            # One column more than the header, to notice cells beyond it.
            cells = sheet.iter_rows(min_row=2, max_col=width + 1, values_only=True)
            for line, row in enumerate(cells, start=HEADER_LINES + 1):
                rows.add(line, row)
        finally:
            workbook.close()
        return dataset


# The formats a web page accepts, by the file's extension.
FORMATS_BY_EXTENSION = {".csv": CSV, ".xlsx": XLSX}


def read_error_message(error: Exception) -> str:
    """What to tell the user when a file cannot be read at all."""
    if isinstance(error, UnicodeDecodeError):
        return _(
            "This file is not a CSV file in UTF-8. Save it from your spreadsheet as "
            "“CSV UTF-8”, or choose the XLSX format for an Excel file."
        )
    if isinstance(error, UnreadableFile):
        return str(error)
    return _(
        "This file cannot be read. Check that the format chosen (CSV or XLSX) is the file’s format."
    )


def read_upload(upload, *, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int | None = None):
    """An uploaded file as a table, its format found from its extension (.csv or .xlsx).

    Raises `UnreadableFile` with a message for the user when the file is too big, empty, of
    another kind, unreadable, or has no row under its header line.
    """
    extension = os.path.splitext(upload.name or "")[1].lower()
    file_format = FORMATS_BY_EXTENSION.get(extension)
    if file_format is None:
        raise UnreadableFile(
            _(
                "Choose a CSV or XLSX file: save your spreadsheet as “CSV UTF-8” or as an "
                "Excel workbook (.xlsx)."
            )
        )
    if upload.size > max_bytes:
        raise UnreadableFile(
            _("This file is too big (%(size)s): %(max)s at most.")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(max_bytes)}
        )
    if upload.size == 0:
        raise UnreadableFile(_("This file is empty."))
    content = b"".join(upload.chunks())
    try:
        dataset = file_format(encoding="utf-8-sig").create_dataset(content)
    except UnreadableFile:
        raise
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            _(
                "This file is not in UTF-8: save it from your spreadsheet as “CSV UTF-8”, or "
                "as an Excel workbook (.xlsx)."
            )
        ) from error
    except Exception as error:
        # Whatever the reader stumbles on (a binary file, a damaged workbook), the user can
        # only save the file again: say so, never answer with a 500.
        raise UnreadableFile(
            _(
                "This file cannot be read as a %(format)s file: save it again from your "
                "spreadsheet as “CSV UTF-8” or as an Excel workbook (.xlsx)."
            )
            % {"format": extension[1:].upper()}
        ) from error
    if not any(cell_text(header) for header in dataset.headers or []):
        raise UnreadableFile(
            _("This file is empty: its first line must name the columns.")
            if not dataset.headers
            else _("The first line of this file is empty: it must name the columns.")
        )
    rows = sum(1 for row in dataset if any(cell_text(cell) for cell in row))
    if rows == 0:
        raise UnreadableFile(_("This file has no row under its first line: nothing to import."))
    if max_rows is not None and rows > max_rows:
        raise UnreadableFile(
            _("This file has %(rows)s rows: import at most %(max)s rows at a time.")
            % {"rows": rows, "max": max_rows}
        )
    return dataset


class SpreadsheetResource(resources.ModelResource):
    """A resource read from spreadsheets people fill in by hand.

    Headers in the user's language, recognised in any language or as the field's name; a
    file with no known column refused in one sentence; blank lines skipped but counted;
    `self.line`, the line of the file being imported, for the messages; errors described
    line by line.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Headers in the language of this request, as plain strings (they key the rows).
        for field in self.fields.values():
            field.column_name = str(field.column_name)
        self.line = None

    def before_import(self, dataset, **kwargs):
        aliases = self.header_aliases()
        headers = [aliases.get(header_key(header), header) for header in dataset.headers or []]
        repeated = sorted({h for h in headers if h in aliases.values() and headers.count(h) > 1})
        if repeated:
            dataset.wipe()
            raise UnreadableFile(
                _("These columns appear twice in the first line: %(columns)s. Keep one of each.")
                % {"columns": ", ".join(repeated)}
            )
        if not set(headers) & set(aliases.values()):
            dataset.wipe()  # nothing to read row by row: one message says it all
            raise UnreadableFile(
                _(
                    "No column of this file is known. The first line must name the columns, "
                    "for example: %(columns)s."
                )
                % {"columns": ", ".join(f.column_name for f in self.get_import_fields()[:4])}
            )
        dataset.headers = headers

    def header_aliases(self) -> dict[str, str]:
        """Every way a column may be headed, normalised → its header in this request."""
        aliases = {}
        for name, field in type(self).fields.items():
            header = self.fields[name].column_name
            aliases[header_key(name)] = header
            for code, _language in settings.LANGUAGES:
                with translation.override(code):
                    aliases[header_key(field.column_name)] = header
        return aliases

    def import_row(self, row, instance_loader, **kwargs):
        self.line = kwargs["row_number"] + HEADER_LINES
        if not any(cell_text(value) for value in row.values()):
            # A blank line between rows, or at the end of a spreadsheet.
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        return super().import_row(row, instance_loader, **kwargs)

    def describe_errors(self, result) -> list[str]:
        """Every problem of an import, one sentence each, in the order of the file and, on
        a line, of its columns: "Ligne 3 : Numéro de série : …"."""
        columns = [field for field in self.fields.values() if field.attribute]
        position = {field.attribute: index for index, field in enumerate(columns)}
        header = {field.attribute: field.column_name for field in columns}
        # (line, position on the line, message); 0 for the file as a whole.
        problems = [(0, 0, str(error.error)) for error in result.base_errors]
        for row in result.invalid_rows:
            for name, found in row.error_dict.items():
                for message in found:
                    if name in header:
                        message = _("%(column)s: %(message)s") % {
                            "column": header[name],
                            "message": message,
                        }
                    line = row.number + HEADER_LINES
                    problems.append((line, position.get(name, len(position)), message))
        for row in result.error_rows:
            line = row.number + HEADER_LINES
            problems.extend((line, len(position), str(error.error)) for error in row.errors)
        problems.sort(key=lambda problem: problem[:2])
        return [
            _("Line %(line)s: %(message)s") % {"line": line, "message": message}
            if line
            else message
            for line, _position, message in problems
        ]


class UploadBytesStorage(MediaStorage):
    """The admin's copy of an upload between the preview and the confirmation, read back
    as bytes whatever the format: the CSV reader finds the encoding itself (decode_text).

    It is kept under MEDIA_ROOT (in `django-import-export/`, under a random name), not in
    the server's temporary folder: with several servers on shared storage, the confirmation
    may reach another server than the preview. MEDIA_ROOT is never served as such, and
    Django's storage refuses a name that leads out of it. The library removes the copy once
    the file is imported; the copies of previews never confirmed (names, birth dates) are
    removed at the next import a day later."""

    KEPT_FOR = timedelta(days=1)

    def save(self, data):
        self._remove_abandoned()
        super().save(data)

    def _remove_abandoned(self) -> None:
        try:
            _folders, names = self._storage.listdir(self.MEDIA_FOLDER)
        except FileNotFoundError:
            return
        limit = timezone.now() - self.KEPT_FOR
        for name in names:
            path = os.path.join(self.MEDIA_FOLDER, name)
            try:
                if self._storage.get_modified_time(path) < limit:
                    self._storage.delete(path)
            except OSError:  # removed meanwhile, by another import or another server
                continue


def _not_too_big(upload) -> None:
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("This file is too big (%(size)s): %(max)s at most.")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(MAX_UPLOAD_BYTES)},
            code="too_big",
        )


INDEX = re.compile(r"[0-9]{1,3}")


def _is_index(value, length: int) -> bool:
    return INDEX.fullmatch(value or "") is not None and int(value) < length


class AllOrNothingImportMixin:
    """For an `ImportExportModelAdmin` whose resource is a `SpreadsheetResource`: one wrong
    row and nothing is imported, at the preview as at the confirmation, and every problem
    is listed in French by its line ("import_problems" in the template's context). A file
    weighs MAX_UPLOAD_BYTES at most, as on the pages of the site."""

    def get_tmp_storage_class(self):
        return UploadBytesStorage

    def create_import_form(self, request):
        form = super().create_import_form(request)
        form.fields["import_file"].validators.append(_not_too_big)
        return form

    def process_import(self, request, **kwargs):
        """The confirmation. Its hidden fields come back from the browser: a format or a
        resource off the list, or a file no longer there (a confirmation sent twice, a
        page left open for days), sends back to the import page with a message."""
        form = self.create_confirm_form(request)
        if form.is_valid() and not self._confirmable(form, request):
            messages.error(
                request, _("The file to import is no longer available: choose it again.")
            )
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        return super().process_import(request, **kwargs)

    def _confirmable(self, form, request) -> bool:
        formats = self.get_import_formats()
        resources = self.get_import_resource_classes(request)
        format_index = form.cleaned_data["format"]
        if not (
            _is_index(format_index, len(formats))
            and _is_index(form.cleaned_data.get("resource") or "0", len(resources))
        ):
            return False
        storage = self.get_tmp_storage_class()(
            name=form.cleaned_data["import_file_name"], **self.get_tmp_storage_class_kwargs()
        )
        try:
            formats[int(format_index)]().create_dataset(storage.read())
        except Exception:
            # Missing, a folder, or not the file of the preview: whatever the reader
            # stumbles on, the user can only choose the file again.
            return False
        return True

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # All or nothing: one wrong row rolls the whole file back, at the confirm step too
        # (the library would otherwise import the good rows and skip the others).
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def add_data_read_fail_error_to_form(self, form, e):
        form.add_error("import_file", read_error_message(e))

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        result = context.get("result")
        if result is not None and (result.has_errors() or result.has_validation_errors()):
            context["import_problems"] = self._describing_resource(request).describe_errors(result)
        return response

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # Something changed between the preview and the confirmation. The import ran
            # in one transaction and was rolled back: nothing was saved.
            return self._import_refused(request, result)
        return super().process_result(result, request)

    def _describing_resource(self, request):
        return self.get_import_resource_classes(request)[0]()

    def _import_refused(self, request, result):
        form = self.get_import_form_class(request)(
            self.get_import_formats(), self.get_import_resource_classes(request)
        )
        resource = self._describing_resource(request)
        context = {
            **self.get_import_context_data(),
            **self.admin_site.each_context(request),
            "title": _("Import"),
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
            "fields_list": [
                (
                    resource.get_display_name(),
                    [f.column_name for f in resource.get_user_visible_fields()],
                )
            ],
            "result": result,
            "import_problems": resource.describe_errors(result),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)
