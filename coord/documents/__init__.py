"""Official documents (PDF) in the Chinese official format, with an English reading copy on request.
See `coord.documents.pdf`."""
from coord.documents.pdf import (
    DocumentError,
    cache_key,
    document_language,
    document_locale,
    html_to_pdf,
    render_html,
    render_pdf,
)

__all__ = ["DocumentError", "cache_key", "document_language", "document_locale", "html_to_pdf", "render_html",
           "render_pdf"]
