"""The request form's versions: which one is current, and how an older one's names map to
today's fields.

The blank form carries its version (forms/generate.py). A form that declares the current
version is read by today's keys and labels; another version (older, or newer than the blank
the bot sends) through its mapping (one `config/forms/<version>.toml` each, naming today's fields);
a version with no mapping cannot be read safely; a .docx or .xlsx that declares none (made by
hand, another organisation's template, or a form from before forms carried their version) is
read by its labels (today's, or an older version's when they read more of it) and flagged for
staff; so is a form whose declared version's labels leave it largely unread while another
version's read it (forms/version_choice.py chooses).

A declared version comes from the sender's file: only numbers and dots are one
(`valid_version`), only ever looked up among the versions loaded, never used to find a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from intake_bot.domain.fields import FIELDS_BY_KEY, Field, field_for_label, normalise_label
from intake_bot.domain.rawform import RawForm, Versioning

CURRENT_VERSION = "2026.1"  # the version `intake-bot form` writes; bump it when FIELDS change
# The name of the version's carriers: a Word document property and an Excel defined name.
DOCX_PROPERTY = "DSfC form version"
XLSX_DEFINED_NAME = "DSfC_form_version"
DOCX_CONTROL_TAG = "dsfc_form_version"  # the hidden content control that repeats it in Word
MAX_VERSION_CHARS = 20
# A declared version is the sender's text and may be quoted back to them (or, behind a spoofed
# From, to a third party): only numbers and dots are a version, so no link, name or phone
# number is ever repeated. A mapping's file name is the operator's, and may be looser.
_VERSION = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})*")
_FILE_VERSION = re.compile(rf"[0-9A-Za-z][0-9A-Za-z._-]{{0,{MAX_VERSION_CHARS - 1}}}")
_TEN_DIGITS = re.compile(r"\d(?:[ -]?\d){9}")
MAX_VERSION_DIGITS = 9  # ten digits, even split by dots, may be an NHS number: never a version


# "Version 2016.1", "Version: 2016.1", "v2016.1", "ver. 2016.1": the number is the version.
_PREFIX = re.compile(r"^(?:version|ver|v)\.?\s*:?\s*(?=[0-9])", re.IGNORECASE)


def valid_version(text: str | None) -> str | None:
    """The version `text` spells ("2016.1", also written "v2016.1" or "Version: 2016.1"),
    without its prefix; None when it is not one (letters, a link, a phone number)."""
    if text is None:
        return None
    version = _PREFIX.sub("", text.strip())
    if _TEN_DIGITS.search(text) or sum(map(str.isdigit, version)) > MAX_VERSION_DIGITS:
        return None  # no version has ten digits; an NHS number does: never repeated
    if len(version) > MAX_VERSION_CHARS or not _VERSION.fullmatch(version):
        return None
    return version


def valid_file_version(text: str) -> bool:
    """Whether a mapping's version (its file's name, the operator's) is well formed: letters
    too ("2015b", "v2"), though a form can declare only a numbered one."""
    return _FILE_VERSION.fullmatch(text) is not None and not _TEN_DIGITS.search(text)


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that puts versions in the order they were made: 2026.9 before 2026.10,
    2015b before 2016 (runs of digits compare as numbers, of letters as text)."""
    return tuple(
        (0, int(run)) if run.isdigit() else (1, run.casefold())
        for run in re.findall(r"\d+|[^\W\d_]+", version)
    )


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """What makes two spellings one version: "v2026.1", "Version 2026.1", "2026.01" and
    "2026.1.0" are 2026.1 (`version_order` without a leading "v" or "version", nor trailing
    zero parts)."""
    return _without_trailing_zeros(version_order(_PREFIX.sub("", version.strip())))


def _without_trailing_zeros(
    order: tuple[tuple[int, int | str], ...],
) -> tuple[tuple[int, int | str], ...]:
    # 2026.1.0 is 2026.1, as 2026.01 is; the first part stays ("0" is not "").
    end = len(order)
    while end > 1 and order[end - 1] == (0, 0):
        end -= 1
    return order[:end]


def is_newer(version: str, than: str) -> bool:
    """Whether `version` was made after `than` (2026.1.0 is not after 2026.1); False when they
    cannot be compared (one starts with letters, as "v2" or "draft")."""
    mine = _without_trailing_zeros(version_order(version))
    theirs = _without_trailing_zeros(version_order(than))
    if not mine or not theirs or mine[0][0] or theirs[0][0]:
        return False
    return mine > theirs


def shown_version(declared: str) -> str:
    """A declared version as a person is told it: itself when well formed, else a description
    (it came from the sender's file and may be anything)."""
    return valid_version(declared) or "a version we do not recognise"


class MappingError(ValueError):
    """A version's mapping names something that is not one of today's fields."""


@dataclass(frozen=True)
class FieldNames:
    """The names one version of the form gives today's fields, over today's own names.

    `labels` are folded (normalise_label) and `keys` exact, each to today's key; a name the
    version did not rename is read as today's form reads it. `own_only`: not today's own label
    or key of a field this version renamed (what tells which version's labels a form uses).
    """

    version: str
    labels: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    own_only: bool = False

    def renamed(self, name: str) -> Field | None:
        """The field `name` means in this version when it is one of its own labels or keys."""
        if not self.labels and not self.keys:
            return None
        key = self.keys.get(name.strip()) or self.labels.get(normalise_label(name))
        return FIELDS_BY_KEY[key] if key else None

    def by_label(self, text: str) -> Field | None:
        """The field a label (or key, or today's alias) names in this version."""
        if not self.labels and not self.keys:
            return field_for_label(text)
        found = self.renamed(text) or field_for_label(text)
        return found if found is None or self.keeps_todays(text, found) else None

    def names_strongly(self, text: str, named: Field) -> bool:
        """Whether `text` is `named`'s own label or key (today's or this version's), rather
        than a loose alias such as "Email" or "Region" that other boxes on a page also use."""
        folded = normalise_label(text)
        own = (normalise_label(named.label), normalise_label(named.key))
        return folded in own or self.renamed(text) is named

    def by_key(self, text: str) -> Field | None:
        """The field a key (a control's tag, a hidden key column) names in this version."""
        text = text.strip()
        key = self.keys.get(text)
        found = FIELDS_BY_KEY[key] if key else FIELDS_BY_KEY.get(text)
        return found if found is None or self.keeps_todays(text, found) else None

    def keeps_todays(self, name: str, named: Field) -> bool:
        """False only for `own_only` names when `name` is today's label or key of a field that
        this version called otherwise: a form using it is not on this version."""
        if not self.own_only or self.renamed(name) is named:
            return True
        folded = normalise_label(name)
        if folded == normalise_label(named.label):
            return named.key not in self.labels.values()
        if name.strip() == named.key or folded == normalise_label(named.key):
            return named.key not in self.keys.values()
        return True

    def strictly(self) -> FieldNames:
        """These names, `own_only`."""
        return replace(self, own_only=True)


CURRENT_NAMES = FieldNames(CURRENT_VERSION)


def field_names(
    version: str, labels: Mapping[str, str], keys: Mapping[str, str], where: str
) -> FieldNames:
    """A version's names from its mapping (old label or key → today's key), checked: every
    target must be one of today's keys. `where` names the mapping in the error."""
    if not valid_file_version(version):
        raise MappingError(f"{where}: {version!r} is not a version like 2016.1")
    wrong = sorted({k for k in (*labels.values(), *keys.values()) if k not in FIELDS_BY_KEY})
    if wrong:
        raise MappingError(f"{where}: not fields of today's form: {', '.join(wrong)}")
    folded = _one_field_each(labels, normalise_label, "labels", where)
    if "" in folded:
        raise MappingError(f"{where}: a label with no letters or digits")
    return FieldNames(version, folded, _one_field_each(keys, str.strip, "keys", where))


def meanings_changed(labels: Mapping[str, str], keys: Mapping[str, str]) -> list[str]:
    """The names a version's mapping gives another field than today's form does, each as
    "'NAME' (today X, here Y)". Allowed (an old form may have used a name differently), but a
    form that declares no version and uses such a name is read by whichever version's reading
    finds more fields (forms/version_choice.py), so the operator is told."""
    changed = []
    for name, key in labels.items():
        today = field_for_label(name)
        if today is not None and today.key != key:
            changed.append(f"{name!r} (today {today.key}, here {key})")
    for name, key in keys.items():
        today = FIELDS_BY_KEY.get(name.strip())
        if today is not None and today.key != key:
            changed.append(f"key {name!r} (today {today.key}, here {key})")
    return changed


def _one_field_each(
    names: Mapping[str, str], fold: Callable[[str], str], kind: str, where: str
) -> dict[str, str]:
    """`names` as looked up (folded), refusing two that fold alike but name different fields:
    which one won would depend on the order of the file's lines."""
    folded: dict[str, str] = {}
    spelt: dict[str, str] = {}
    for name, key in names.items():
        seen = folded.setdefault(fold(name), key)
        if seen != key:
            first = spelt[fold(name)]
            raise MappingError(
                f"{where}: [{kind}] {first!r} and {name!r} read as the same but name "
                f"different fields ({seen}, {key})"
            )
        spelt.setdefault(fold(name), name)
    return folded


@dataclass(frozen=True)
class Resolution:
    """How a file that declared `declared` is read: with `names`, or not at all."""

    versioning: Versioning
    version: str | None  # as declared, when well formed
    names: FieldNames | None  # None: a version no mapping covers

    @property
    def readable(self) -> bool:
        return self.names is not None


@dataclass(frozen=True)
class FormVersions:
    """The versions the bot can read: the current one always, older ones by their mappings."""

    mappings: Mapping[str, FieldNames] = field(default_factory=dict)
    current: str = CURRENT_VERSION

    def resolve(self, declared: str | None) -> Resolution:
        """How to read a file that declared `declared` (None: it declared nothing)."""
        if declared is None:
            return Resolution(Versioning.MISSING, None, self.names_of(self.current))
        version = valid_version(declared)
        if version is None:  # readers pass only versions; anything else is not looked up
            return Resolution(Versioning.UNMAPPED, None, None)
        # As people write it: "v2026.1" and "2026.01" are 2026.1 (runs of digits as numbers).
        order = version_key(version)
        if order == version_key(self.current):
            return Resolution(Versioning.CURRENT, self.current, self.names_of(self.current))
        same = [v for v in self.mappings if version_key(v) == order]
        if not same:
            return Resolution(Versioning.UNMAPPED, version, None)
        return Resolution(Versioning.OLDER, same[0], self.mappings[same[0]])

    def names_of(self, version: str) -> FieldNames:
        return self.mappings.get(version) or FieldNames(version)

    @property
    def older(self) -> tuple[str, ...]:
        """The older versions that can be read, newest first (and those that cannot be
        compared with the current one, as "v2")."""
        older = (v for v in self.mappings if v != self.current and not is_newer(v, self.current))
        return tuple(sorted(older, key=version_order)[::-1])

    @property
    def newer(self) -> tuple[str, ...]:
        """Versions newer than the blank the bot sends that a file maps, newest first: read
        through their mappings when a form declares one; never tried on a form that declares
        none (their labels are no reason to tell its sender of another form)."""
        newer = (v for v in self.mappings if is_newer(v, self.current))
        return tuple(sorted(newer, key=version_order)[::-1])

    @property
    def known(self) -> tuple[str, ...]:
        """Every version that can be read, the current one first."""
        return (self.current, *self.newer, *self.older)


CURRENT_ONLY = FormVersions()


def declares_newer(form: RawForm) -> bool:
    """Whether a form declares a version newer than the blank the bot sends (read through
    that version's file as an older one is, but its sender is sent no form)."""
    newer = is_newer(form.version or "", CURRENT_VERSION)
    return form.versioning is Versioning.OLDER and newer and not form.labels_version


def version_note(form: RawForm) -> str | None:
    """For staff: what the form's version says about how it was read (None: nothing to say)."""
    if form.labels_version:
        return _other_labels_note(form)
    if declares_newer(form):
        return (
            f"the form is version {form.version}: read through config/forms/{form.version}.toml, "
            f"newer than the blank the bot sends, {CURRENT_VERSION}; check that every value "
            "landed in the right field (the sender was sent no form)"
        )
    if form.versioning is Versioning.OLDER:
        return (
            f"the form is version {form.version}, not the current {CURRENT_VERSION}: read "
            f"through the mapping for {form.version} (config/forms/); the sender was sent the "
            "current form"
        )
    older = (
        f"; its labels are version {form.older_labels}'s, read through that version's "
        "mapping (config/forms/): the sender was sent the current form"
        if form.older_labels
        else ""
    )
    if form.versioning is Versioning.MISSING and form.version_unread:
        return (
            f"the form's version could not be read ({'; '.join(form.version_unread)}): read by "
            f"its labels; check that every value landed in the right field{older}"
        )
    if form.versioning is Versioning.MISSING:
        return (
            "the form carries no version (made by hand, or another organisation's template): "
            f"read by its labels; check that every value landed in the right field{older}"
        )
    if older:
        return f"the form was read by its labels{older}"
    return None


def _other_labels_note(form: RawForm) -> str:
    labels = form.labels_version
    if form.versioning is Versioning.OLDER:
        said = f"version {labels}'s: read through the mapping for {labels} (config/forms/)"
        sent = "; the sender was sent the current form"
    else:
        said, sent = f"today's (version {labels}): read by today's labels", ""
    return (
        f"the form says it is version {form.version}, but its labels are {said}; check that "
        f"every value landed in the right field{sent}"
    )


_HOW_READ = {
    Versioning.CURRENT: "the current form (version {version}): read by its keys and labels",
    Versioning.OLDER: "an older version of the form ({version}): read through its mapping",
    Versioning.MISSING: "no form version (made by hand, or another template): read by labels",
    Versioning.NOT_CARRIED: "no form version row (an email body or a .csv): read by labels",
}


def how_read(form: RawForm) -> str:
    """One line for `intake-bot parse`: the version a form declared and how it was read."""
    if declares_newer(form):
        return (
            f"a version of the form newer than the blank the bot sends ({form.version}; the "
            f"blank is {CURRENT_VERSION}): read through its mapping"
        )
    if form.labels_version:
        return (
            f"a form that declares version {form.version} but whose labels are version "
            f"{form.labels_version}'s: read by them"
        )
    text = _HOW_READ.get(form.versioning, "").format(version=form.version or "")
    if form.older_labels:
        text += f", as version {form.older_labels}'s (they read more of it than today's)"
    return text


def older_version(form: RawForm) -> str | None:
    """The version of a form on an older version of the form, or read by an older version's
    labels (its sender is sent the current one), else None. Not a form newer than the blank
    the bot sends: its sender has a newer form than ours."""
    if declares_newer(form):
        return None
    if form.labels_version:  # read by another version's labels than it declares: theirs
        return form.labels_version if form.versioning is Versioning.OLDER else None
    return form.version if form.versioning is Versioning.OLDER else form.older_labels


@dataclass(frozen=True)
class OlderForm:
    """The older version a form was read by, for its sender's reply: declared by the form, or
    (`declared` False) only the version whose labels a form that declared none used."""

    version: str
    declared: bool


def older_form(form: RawForm) -> OlderForm | None:
    version = older_version(form)
    # Declared: its sender is told "you sent version X"; else only that its labels are X's.
    declared = form.versioning is Versioning.OLDER and not form.labels_version
    return None if version is None else OlderForm(version, declared)
