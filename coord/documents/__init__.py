"""Official documents (PDF) in the Chinese official format. See `coord.documents.pdf`."""
from coord.documents.pdf import DocumentError, cache_key, html_to_pdf, render_html, render_pdf

__all__ = ["DocumentError", "cache_key", "html_to_pdf", "render_html", "render_pdf"]
