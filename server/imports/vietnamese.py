"""Vietnamese names: the order a Vietnamese reader expects, and search by name.

Rules:
- Letters follow the Vietnamese alphabet: a ă â b c d đ e ê g h i k l m n o ô
  ơ p q r s t u ư v x y (f j w z, found in foreign names, sit where English puts
  them). So "Đ" comes after every "D", and "Ă", "Â" after every plain "A".
- Tone marks count only when the letters are equal, in the order used by
  dictionaries: no mark, huyền (à), hỏi (ả), ngã (ã), sắc (á), nặng (ạ).
- Lists of people sort by given name (the last word), then by family and middle
  names, as Vietnamese lists of delegates do.
- Search ignores case. A query typed without diacritics finds names with or
  without them ("nguyen" finds "Nguyễn"); a query with diacritics must match
  them ("Lê" does not find "Le"), wherever the tone mark is written ("Hoà"
  finds "Hòa").
"""

from __future__ import annotations

import unicodedata

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
# Combining marks that make a new letter (ă â ê ô ơ ư) rather than a tone.
_LETTER_MARKS = {"\u0306": "breve", "\u0302": "circumflex", "\u031b": "horn"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def split_letters(word: str) -> list[tuple[str, int]]:
    """Each letter of ``word`` (lower case, tone removed) with its tone number."""
    letters: list[tuple[str, int]] = []
    for char in unicodedata.normalize("NFD", word.lower()):
        if char in _TONES and letters:
            letters[-1] = (letters[-1][0], _TONES[char])
        elif char in _LETTER_MARKS and letters:
            base = letters[-1][0] + char
            letters[-1] = (unicodedata.normalize("NFC", base), letters[-1][1])
        elif not unicodedata.combining(char):
            letters.append((char, 0))
    return letters


def word_key(word: str) -> tuple[tuple, tuple[int, ...], str]:
    """Sort key of one word: letters first, then tones, then case."""
    letters = split_letters(word)
    # letters outside the alphabet (digits, other scripts) sort after it
    primary = tuple(
        (0, _RANK[letter]) if letter in _RANK else (1, letter)
        for letter, _tone in letters
    )
    # a syllable has one tone, wherever it is written ("hoà" and "hòa" are equal)
    tones = tuple(tone for _letter, tone in letters if tone)
    return primary, tones, word


def text_key(text: str) -> tuple:
    """Sort key of a text, word by word (for titles, delegations)."""
    words = text.split()
    return (
        tuple(word_key(w)[0] for w in words),
        tuple(word_key(w)[1] for w in words),
        text,
    )


def name_key(name: str) -> tuple:
    """Sort key of a person's name: given name first, then the rest."""
    words = name.split()
    if not words:
        return ((), (), ((), (), ""), name)
    given, rest = words[-1], " ".join(words[:-1])
    return (word_key(given)[0], word_key(given)[1], text_key(rest), name)


def sort_names(names: list[str]) -> list[str]:
    return sorted(names, key=name_key)


def fold(text: str) -> str:
    """Lower case without tone marks or letter marks: "Đặng Thị Ánh" -> "dang thi anh"."""
    decomposed = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()


def matches(name: str, query: str) -> bool:
    """Does ``name`` contain ``query``, with the diacritics rule above."""
    query = " ".join(query.split())
    if not query:
        return True
    if has_diacritics(query):
        return _spelled(query) in _spelled(name)
    return fold(query) in fold(" ".join(name.split()))


def _spelled(text: str) -> str:
    """Letters with their marks, each word's tone as a digit at its end."""
    words = []
    for word in text.split():
        letters = split_letters(word)
        tone = max((t for _l, t in letters), default=0)
        words.append(
            "".join(letter for letter, _t in letters) + (str(tone) if tone else "")
        )
    return " ".join(words)
