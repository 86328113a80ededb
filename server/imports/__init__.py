"""Imports from what organizers already have: spreadsheets and OpenSlides exports.

- ``tables``: CSV (any of the encodings people save with) and XLSX files as rows.
- ``participants``: participant lists, previewed with problems per cell, then
  committed all at once.
- ``openslides``: OpenSlides 4 meeting exports (JSON) and its CSV agenda and
  motion files.
- ``vietnamese``: the order and search of Vietnamese names.
"""
