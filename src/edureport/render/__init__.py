"""Output formats: the self-contained HTML document and the PDF."""
