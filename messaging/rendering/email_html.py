"""The HTML half of a multipart e-mail, made from its text half (so both say exactly the same)."""
from __future__ import annotations

import re
from html import escape

_URL = re.compile(r"https?://[^\s<>\"]+")


def _paragraph(text: str) -> str:
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts.append(escape(text[last:match.start()]))
        url = match.group(0).rstrip(".,;:!?)")
        tail = match.group(0)[len(url):]
        parts.append(f'<a href="{escape(url, quote=True)}">{escape(url)}</a>{escape(tail)}')
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts).replace("\n", "<br>\n")


def html_from_text(text: str, title: str | None = None, language: str = "en") -> str:
    """Escaped paragraphs with clickable links; no images, scripts or remote resources."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(f"<p>{_paragraph(p)}</p>" for p in paragraphs)
    head = f"<title>{escape(title)}</title>" if title else ""
    return (f'<!DOCTYPE html>\n<html lang="{escape(language, quote=True)}"><head><meta charset="utf-8">{head}</head>\n'
            f'<body style="font-family: sans-serif; line-height: 1.5">\n{body}\n</body></html>\n')
