# ruff: noqa: E501 -- each message stays on one line, to be found and translated.
"""Every sentence the agenda file reader can say, with named placeholders.

Kept in one place so that they can be translated later. Each one speaks to the
person preparing the meeting: what is wrong, and what to do about it.
"""

from __future__ import annotations

# The file as a whole.
NO_FILE = 'The agenda file "{name}" was not found; check its name and folder.'
NOT_UTF8 = 'The agenda file "{name}" is not UTF-8 text; save it with UTF-8 encoding and load it again.'
SYNTAX = 'Line {line}, column {column} of "{name}" is not valid TOML ({reason}); correct it and load the file again.'
SYNTAX_NO_PLACE = 'The agenda file "{name}" is not valid TOML ({reason}); correct it and load the file again.'
NO_FORMAT = "The agenda file does not say which format it uses; add the line format = 1 at the top."
WRONG_FORMAT = "The agenda file uses format {value}, but this version of Plenary reads format 1 only; export it again in format 1 or update Plenary."
NO_MEETING = "The agenda file has no [meeting] table; add one with at least a key, a title and a start."

# Fields of any table.
UNKNOWN_FIELD_HINT = 'The {noun} has no field "{field}"; did you mean "{hint}"?'
UNKNOWN_FIELD = 'The {noun} has no field "{field}"; use only these fields: {allowed}.'
MISSING = 'The {noun} needs a "{field}", but it is missing or empty; add it.'
WRONG_TYPE = 'The field "{field}" must be {expected}, but it is {got}.'
NOT_A_TABLE = (
    'Each entry of "{field}" must be a table of fields, but entry {index} is {got}.'
)
TOO_LONG = 'The field "{field}" is {length:,} characters long, but at most {limit:,} are allowed; shorten it.'
BAD_KEY = 'The key "{value}" may contain only Latin letters without accents, digits, "-" and "_", at most 64 characters; use for example "{example}".'
BAD_KEY_NO_EXAMPLE = 'The key "{value}" may contain only Latin letters without accents, digits, "-" and "_", at most 64 characters; choose another key.'

# The meeting.
BAD_TIMEZONE = 'The time zone "{value}" is not known; use an IANA name such as "Asia/Ho_Chi_Minh" or "Europe/Berlin".'
END_BEFORE_START = "The meeting ends at {end}, which is not after its start at {start}; correct the end or the start."
BAD_LANGUAGE = 'The language "{value}" is not offered; use "vi" for Vietnamese or "en" for English.'

# Participants.
UNKNOWN_ROLE = 'The role "{value}" is not known; use one of: {allowed}.'
NO_CHAIR = 'The meeting has no chair; give at least one participant the role "chair".'
DUPLICATE_PARTICIPANT = 'The participant key "{key}" is already used at {first}; give each participant a key of their own.'
NO_KEY_FROM_NAME = (
    'No key can be made from the name "{name}"; add a key for this participant.'
)
BAD_EMAIL = 'The e-mail address "{value}" is not valid; write it like name@example.org or leave it empty.'

# The participant list in CSV.
CSV_NOT_UTF8 = 'The participant list "{path}" is not UTF-8 text; save it as "CSV UTF-8" and load it again.'
CSV_EMPTY = 'The participant list "{path}" is empty; add a header row and one row per participant.'
CSV_NO_COLUMN = 'The participant list "{path}" has no "{column}" column; its first row must name the columns, for example key,name,role,group,number,title,email.'
CSV_UNKNOWN_COLUMN_HINT = 'The participant list has a column "{column}" that Plenary does not know; did you mean "{hint}"?'
CSV_UNKNOWN_COLUMN = 'The participant list has a column "{column}" that Plenary does not know; use only these columns: {allowed}.'
CSV_DOUBLE_COLUMN = (
    'The column "{column}" appears twice in the header row; keep only one of them.'
)
CSV_EXTRA_CELLS = "This row has {count} cells, but the header row names only {columns} columns; remove the extra cells or put quotes around values that contain the separator."

# Agenda items and their documents.
DUPLICATE_ITEM = 'The agenda item key "{key}" is already used at {first}; give each agenda item a key of its own.'
BAD_DURATION = (
    "The duration must be a whole number of minutes above zero, but it is {value}."
)
TOO_DEEP = (
    "Agenda items may be nested at most {limit} levels deep; move this item up a level."
)
OUTSIDE = 'The file "{path}" lies outside the folder of the agenda file; copy it into that folder and refer to the copy.'
NOT_FOUND = 'The file "{path}" was not found; check its name and folder, relative to the agenda file.'
NOT_PDF = 'The document "{path}" is not a PDF file; convert it to PDF and attach the PDF instead.'
TOML_TOO_DEEP = "The file {name} nests arrays or tables too deeply to be an agenda; check it for a runaway [[ or [ and fix the structure."
IS_FOLDER = "{name} is a folder, not an agenda file; give the path of the meeting.toml inside it."
