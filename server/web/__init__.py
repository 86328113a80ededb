"""The only package that knows about HTTP and WebSockets."""

from starlette.convertors import IntegerConvertor, register_url_convertor


class _RecordId(IntegerConvertor):
    """Ids in addresses fit the database: at most 18 digits, else the page is not found."""

    regex = "[0-9]{1,18}"


# Replaces the built-in "int" before any route of this package is compiled.
register_url_convertor("int", _RecordId())
