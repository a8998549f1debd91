"""Every built-in output format, registered: importing this module imports ``html_format``, ``pdf_format``
and ``docx_format``, whose last lines register their formats (see ``render/formats.py``). Whatever needs the
full registry (the batch layer, the command line) imports it from here. A new built-in format adds its
module to the import below; a plug-in (or a test) calls ``register`` itself.
"""

from __future__ import annotations

from edureport.render import docx_format, html_format, pdf_format  # noqa: F401  (they register on import)
from edureport.render.formats import (
    DEFAULT_FORMATS,
    FORMATS,
    OutputFormat,
    get_format,
    output_files,
    output_formats,
    register,
)

__all__ = ["DEFAULT_FORMATS", "FORMATS", "OutputFormat", "get_format", "output_files", "output_formats", "register"]
