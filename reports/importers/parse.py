"""Read and validate report files (CSV, JSONL) into plain rows, without Django.

The reader streams: it holds one line (or one CSV record) at a time, so a file of any size is
checked in constant memory, apart from the accessions kept to find duplicates. Every problem is a
`RowError` naming the physical line of the file and the field; messages never repeat the value
itself, because a value may be an accession number or a patient key (PHI).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

FORMATS = ("csv", "jsonl")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

REQUIRED = ("accession", "text")
OPTIONAL = (
    "patient", "modality", "body_part", "study_date", "study_instance_uid", "signed_at",
    # Acquisition equipment, read by monitoring (scanner / software changes on the timeline).
    "manufacturer", "model", "software_version", "station",
)
COLUMNS = REQUIRED + OPTIONAL
# Columns whose ReportRow (and Study) attribute has another name: `model` would shadow Django's.
COLUMN_ATTRS = {"model": "scanner_model"}

# Field lengths match reports.models (Study, Patient); the text cap keeps one row from
# dominating memory and stays under the csv module's own field limit (131,072 characters).
MAX_LENGTHS = {
    "accession": 64, "patient": 64, "modality": 16, "body_part": 64, "study_instance_uid": 64,
    "manufacturer": 64, "model": 64, "software_version": 64, "station": 64,
}
MAX_TEXT_CHARS = 100_000
# One physical line; a JSONL line carries a whole report, escapes included.
MAX_LINE_BYTES = 1024 * 1024
# Duplicate detection keeps every accession of the file in memory; bigger files must be split.
MAX_ROWS = 1_000_000
MAX_ERRORS = 50
# Dates outside this range are typing errors, and would overflow some time zone conversions.
MIN_YEAR, MAX_YEAR = 1900, 2100

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: `line` is the file's physical line (1-based), None for the file as a whole."""

    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ReportRow:
    """A validated report. `present` names the optional fields the row actually carried."""

    line: int
    accession: str
    text: str
    patient: str = ""
    modality: str = ""
    body_part: str = ""
    study_date: dt.date | None = None
    study_instance_uid: str = ""
    signed_at: dt.datetime | None = None
    manufacturer: str = ""
    scanner_model: str = ""
    software_version: str = ""
    station: str = ""
    present: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class CheckResult:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class FormatError(ValueError):
    """The format is neither given nor recognisable from the file name."""


def detect_format(filename: str | None, explicit: str | None = None) -> str:
    """Return "csv" or "jsonl": the explicit choice, else the file name's extension."""
    if explicit:
        fmt = explicit.strip().lower()
        if fmt == "ndjson":
            return "jsonl"
        if fmt not in FORMATS:
            raise FormatError(f"Unknown format; use one of: {', '.join(FORMATS)}.")
        return fmt
    suffix = ""
    if filename and "." in filename:
        suffix = "." + filename.rsplit(".", 1)[1].lower()
    if suffix not in EXTENSIONS:
        raise FormatError("Cannot tell the format from the file name; name it .csv or .jsonl, or give the format.")
    return EXTENSIONS[suffix]


class _Stop(Exception):
    """A problem after which the rest of the file cannot be read reliably."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


class ReportReader:
    """Iterate over a binary stream, yielding a `ReportRow` or a `RowError` per record.

    A problem that makes the rest unreadable (bad encoding, broken CSV quoting, a header
    without the required columns) yields its error and ends the iteration.
    """

    def __init__(self, stream: IO[bytes], fmt: str, *, tz: dt.tzinfo = dt.UTC) -> None:
        if fmt not in FORMATS:
            raise FormatError(f"Unknown format; use one of: {', '.join(FORMATS)}.")
        self.stream = stream
        self.fmt = fmt
        self.tz = tz
        self.bytes_read = 0
        self.line = 0
        self.warnings: list[str] = []

    def __iter__(self) -> Iterator[ReportRow | RowError]:
        records = self._csv() if self.fmt == "csv" else self._jsonl()
        try:
            yield from records
        except _Stop as stop:
            yield stop.error

    # -- physical lines ------------------------------------------------------------------------

    def _lines(self) -> Iterator[str]:
        """Decode line by line, so a decoding error is reported on its own line."""
        first = True
        while True:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.line += 1
            self.bytes_read += len(raw)
            if len(raw) > MAX_LINE_BYTES:
                raise _Stop(RowError(self.line, "", f"The line is longer than {MAX_LINE_BYTES:,} bytes."))
            if first and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Stop(
                    RowError(self.line, "", f"Not UTF-8 text (byte {exc.start + 1} of the line); save the file as UTF-8.")
                ) from None

    # -- CSV -------------------------------------------------------------------------------------

    def _csv(self) -> Iterator[ReportRow | RowError]:
        reader = csv.reader(self._lines(), strict=True)
        header: list[str] | None = None
        record_start = 1
        while True:
            record_start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise _Stop(RowError(record_start, "", _csv_message(str(exc)))) from None
            if not record:
                continue  # a blank line
            if header is None:
                header = self._csv_header(record, record_start)
                continue
            if len(record) != len(header):
                yield RowError(
                    record_start, "", f"Expected {len(header)} columns as in the header, found {len(record)}."
                )
                continue
            values = {name: value for name, value in zip(header, record, strict=True) if name in COLUMNS}
            yield _validate(values, record_start, frozenset(values) & set(OPTIONAL), self.tz, from_csv=True)
        if header is None:
            raise _Stop(RowError(None, "", "The file is empty." if self.line == 0 else "The file has no header row."))

    def _csv_header(self, record: list[str], line: int) -> list[str]:
        header = [name.strip().lower() for name in record]
        seen: set[str] = set()
        for name in header:
            if name in seen and name in COLUMNS:
                raise _Stop(RowError(line, name, "The column appears twice in the header."))
            seen.add(name)
        missing = [name for name in REQUIRED if name not in seen]
        if missing:
            raise _Stop(
                RowError(line, ", ".join(missing), f"Missing required column(s); the header needs: {', '.join(REQUIRED)}.")
            )
        unknown = [name for name in header if name not in COLUMNS]
        if unknown:
            self.warnings.append(f"{len(unknown)} unknown column(s) ignored: {', '.join(_safe_names(unknown))}.")
        return header

    # -- JSONL -----------------------------------------------------------------------------------

    def _jsonl(self) -> Iterator[ReportRow | RowError]:
        for text in self._lines():
            if not text.strip():
                continue
            line = self.line
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RowError(line, "", f"Not valid JSON ({exc.msg} at column {exc.colno}).")
                continue
            except (ValueError, RecursionError):
                yield RowError(line, "", "Not valid JSON (too deeply nested or too large a number).")
                continue
            if not isinstance(obj, dict):
                yield RowError(line, "", "Each line must be a JSON object.")
                continue
            values: dict[str, Any] = {key: obj[key] for key in COLUMNS if key in obj}
            yield _validate(values, line, frozenset(values) & set(OPTIONAL), self.tz, from_csv=False)
        if self.line == 0:
            raise _Stop(RowError(None, "", "The file is empty."))


def _csv_message(message: str) -> str:
    if "unexpected end of data" in message or "EOF" in message:
        return "Broken CSV: a quoted field starts on this line and is never closed."
    if "field larger than field limit" in message:
        return f"Broken CSV: a field is longer than {MAX_TEXT_CHARS:,} characters, or a quote is not closed."
    return f"Broken CSV: {message}."


def _safe_names(names: list[str]) -> list[str]:
    """Column names for a warning, trimmed so a header line cannot smuggle report text in."""
    return [name[:40] for name in names[:10]]


def _validate(
    values: dict[str, Any], line: int, present: frozenset[str], tz: dt.tzinfo, *, from_csv: bool
) -> ReportRow | RowError:
    """Check one record's fields; return the row, or the first problem found."""
    clean: dict[str, Any] = {}
    for name in COLUMNS:
        raw = values.get(name)
        if raw is None:
            raw = ""
        if name in ("accession", "patient") and isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)  # JSON writers often emit numeric ids as numbers
        if not isinstance(raw, str):
            return RowError(line, name, "Must be a string.")
        if not _is_encodable(raw):
            return RowError(line, name, "Holds an invalid character (a lone surrogate escape).")
        if name == "text":
            if "\x00" in raw:
                return RowError(line, name, "Holds a NUL character.")
            if not raw.strip():
                return RowError(line, name, "The report text is missing.")
            if len(raw) > MAX_TEXT_CHARS:
                return RowError(line, name, f"Longer than {MAX_TEXT_CHARS:,} characters.")
            clean[name] = raw
            continue
        value = raw.strip()
        if _CONTROL.search(value):
            return RowError(line, name, "Holds a control character.")
        if name == "accession" and not value:
            return RowError(line, name, "The accession is missing.")
        limit = MAX_LENGTHS.get(name)
        if limit is not None and len(value) > limit:
            return RowError(line, name, f"Longer than {limit} characters.")
        if name == "study_date":
            parsed_date = _parse_date(value)
            if isinstance(parsed_date, str):
                return RowError(line, name, parsed_date)
            clean[name] = parsed_date
        elif name == "signed_at":
            parsed_at = _parse_datetime(value, tz)
            if isinstance(parsed_at, str):
                return RowError(line, name, parsed_at)
            clean[name] = parsed_at
        elif name == "study_instance_uid" and value and not _UID.fullmatch(value):
            return RowError(line, name, "Not a DICOM UID (digits separated by dots).")
        else:
            clean[COLUMN_ATTRS.get(name, name)] = value
    return ReportRow(line=line, present=frozenset(COLUMN_ATTRS.get(name, name) for name in present), **clean)


def _is_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_date(value: str) -> dt.date | None | str:
    if not value:
        return None
    if not _DATE.fullmatch(value):
        return "Not a date in the form YYYY-MM-DD."
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return "Not a valid calendar date (YYYY-MM-DD)."
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return f"The year must be between {MIN_YEAR} and {MAX_YEAR}."
    return day


def _parse_datetime(value: str, tz: dt.tzinfo) -> dt.datetime | None | str:
    if not value:
        return None
    if not _DATETIME.fullmatch(value):
        return "Not an ISO 8601 date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])."
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return "Not a valid ISO 8601 date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])."
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return f"The year must be between {MIN_YEAR} and {MAX_YEAR}."
    # A time without an offset is read in the site's time zone, as a person reading it would.
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def check_file(
    stream: IO[bytes],
    fmt: str,
    *,
    tz: dt.tzinfo = dt.UTC,
    max_errors: int = MAX_ERRORS,
    on_progress: Callable[[int, int], None] | None = None,
    progress_every: int = 5000,
) -> CheckResult:
    """Validate a whole file: every row, plus duplicate accessions across rows.

    Stops after `max_errors` problems, so a wholly broken file is answered quickly.
    `on_progress(rows, bytes_read)` is called every `progress_every` records.
    """
    reader = ReportReader(stream, fmt, tz=tz)
    result = CheckResult(warnings=reader.warnings)
    first_line: dict[str, int] = {}
    for records, item in enumerate(reader, start=1):
        if isinstance(item, RowError):
            result.errors.append(item)
        else:
            earlier = first_line.setdefault(item.accession, item.line)
            if earlier != item.line:
                result.errors.append(
                    RowError(item.line, "accession", f"The same accession is already on line {earlier}.")
                )
            else:
                result.rows += 1
                if result.rows > MAX_ROWS:
                    result.errors.append(
                        RowError(item.line, "", f"More than {MAX_ROWS:,} reports; split the file.")
                    )
                    break
        if len(result.errors) >= max_errors:
            result.errors.append(RowError(None, "", f"Stopped after {max_errors} problems."))
            break
        if on_progress is not None and records % progress_every == 0:
            on_progress(result.rows, reader.bytes_read)
    if not result.errors and result.rows == 0:
        result.errors.append(RowError(None, "", "The file holds no reports."))
    return result


def iter_valid_rows(stream: IO[bytes], fmt: str, *, tz: dt.tzinfo = dt.UTC) -> Iterator[ReportRow]:
    """Yield the rows of a file that `check_file` passed; raise ValueError if it no longer does.

    The writer reads the file a second time rather than holding 100,000 reports in memory.
    """
    for item in ReportReader(stream, fmt, tz=tz):
        if isinstance(item, RowError):
            raise ValueError(f"The file changed while it was imported ({item}).")
        yield item
