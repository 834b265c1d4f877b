"""The preview page: the email in a frame with device and dark-mode toggles, and around it the
plain text, the headers, the size, why each post is in or out, and the checks.

Plain HTML with a little script: no build step, nothing fetched from the internet. The page
asks ``/version`` a few times a second and reloads itself when a save made a new rendering;
the toggles are kept in ``localStorage`` so a reload keeps what the editor chose.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from digestmail.web.preview.build import GMAIL_CLIP, Preview
from digestmail.web.preview.spam import SpamReport

WIDTHS = {"phone": 375, "tablet": 600, "desktop": 1000}

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#f3f3f1}
header{background:#234;color:#fff;padding:.6em 1em}
header h1{font-size:1.15em;margin:0}
main{display:flex;flex-wrap:wrap;gap:1em;padding:1em}
section{background:#fff;border-radius:6px;padding:.8em 1em;box-shadow:0 1px 2px #0002}
#frame-box{flex:1 1 640px;min-width:0}
#side{flex:1 1 380px;min-width:0;display:flex;flex-direction:column;gap:1em}
iframe{border:1px solid #bbb;background:#fff;display:block;margin:auto;height:80vh}
.toggles button{margin-right:.3em}.toggles button[aria-pressed=true]{background:#234;color:#fff}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;max-height:40em;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #ddd;padding:.2em .4em;text-align:left;vertical-align:top}
.bad{color:#a10}.warn{color:#850}.good{color:#171}.dim{color:#777}
.error{background:#fee;border:2px solid #a10}
code{overflow-wrap:anywhere}
"""

_SCRIPT = """
const box = document.getElementById('frame');
function pick(kind, value) {
  localStorage.setItem('preview-' + kind, value);
  apply();
}
function apply() {
  const device = localStorage.getItem('preview-device') || 'desktop';
  const dark = localStorage.getItem('preview-dark') === 'on';
  document.querySelectorAll('[data-device]').forEach(
    b => b.setAttribute('aria-pressed', String(b.dataset.device === device)));
  document.querySelectorAll('[data-dark]').forEach(
    b => b.setAttribute('aria-pressed', String(dark)));
  if (box) {
    box.style.width = WIDTHS[device] + 'px';
    const want = '/email.html' + (dark ? '?dark=1' : '');
    if (box.getAttribute('src') !== want) box.setAttribute('src', want);
  }
}
apply();
async function poll() {
  try {
    const r = await fetch('/version', {cache: 'no-store'});
    const v = (await r.text()).trim();
    if (v !== VERSION) { location.replace('/'); return; }
  } catch (e) {}
  setTimeout(poll, 250);
}
setTimeout(poll, 250);
"""


def _list(items: Iterable[str], css: str) -> str:
    lines = [f'<li class="{css}">{escape(item)}</li>' for item in items]
    return f"<ul>{''.join(lines)}</ul>" if lines else '<p class="good">none</p>'


def _rows(rows: Iterable[dict[str, Any]]) -> str:
    out = [
        "<table><tr><th>in?</th><th>date</th><th>title</th><th>categories</th>"
        "<th>source file</th></tr>"
    ]
    for row in rows:
        inside = row.get("selected")
        verdict = '<b class="good">yes</b>' if inside else escape(str(row.get("reason") or ""))
        out.append(
            f"<tr><td>{verdict}</td><td>{escape((row.get('date') or '—')[:10])}</td>"
            f"<td>{escape(row.get('title') or '(no title)')}</td>"
            f"<td>{escape(', '.join(row.get('categories') or ()))}</td>"
            f"<td><code>{escape(str(row.get('path', '')))}</code></td></tr>"
        )
    return "".join(out) + "</table>"


def _size(preview: Preview) -> str:
    share = preview.html_bytes / GMAIL_CLIP
    css = "bad" if share >= 1 else "warn" if share > 0.8 else "good"
    return (
        f'<p id="size" class="{css}">HTML {preview.html_bytes / 1024:,.1f} KB of Gmail\'s '
        f"102 KB clip ({share:.0%}); whole message {preview.message_bytes / 1024:,.1f} KB</p>"
    )


def _test_form(preview: Preview, notice: str) -> str:
    allowed = ", ".join(preview.test_addresses) or "none: set [preview] test_addresses"
    note = f'<p id="notice">{escape(notice)}</p>' if notice else ""
    return (
        "<section><h2>Send me a test copy</h2>"
        f'<form method="post" action="/test-copy">{note}'
        '<input name="address" type="email" required placeholder="you@example.org" size="30"> '
        '<button type="submit">Send test copy</button></form>'
        f'<p class="dim">Allowed: {escape(allowed)}. Test copies never count as the list\'s'
        " deliveries.</p></section>"
    )


def _email_sections(preview: Preview) -> str:
    buttons = "".join(
        f'<button type="button" data-device="{name}" onclick="pick(\'device\',\'{name}\')">'
        f"{name} ({width} px)</button>"
        for name, width in WIDTHS.items()
    )
    dark = (
        '<button type="button" data-dark onclick="pick(\'dark\','
        " localStorage.getItem('preview-dark')==='on'?'off':'on')\">dark mode</button>"
    )
    headers = "".join(
        f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
        for k, v in preview.headers
    )
    tips = "".join(f"<li>{escape(t)}</li>" for t in preview.tips)
    return (
        f'<section id="frame-box"><div class="toggles">{buttons} {dark}</div>'
        '<iframe id="frame" title="the email" src="/email.html"></iframe></section>'
        '<div id="side">'
        f'<section><h2 id="subject">{escape(preview.subject)}</h2>'
        f"<p>Issue <b>{escape(preview.issue_id)}</b>, cut-off {escape(preview.cutoff)}; "
        f'<span id="tip-count">{len(preview.tips)} tip(s)</span>; rendered in '
        f"{preview.seconds * 1000:,.0f} ms</p>{_size(preview)}"
        f'<ol id="tips">{tips}</ol></section>'
        f'<section><h2>Headers</h2><table id="headers">{headers}</table></section>'
        f"<section><h2>Checks</h2><h3>digestmail check</h3>{_list(preview.problems, 'warn')}"
        f"<h3>Rendering</h3>{_list(preview.warnings, 'warn')}"
        f'<h3>Mail clients</h3><div id="findings">{_list(preview.findings, "warn")}</div>'
        '<h3>SpamAssassin</h3><div id="spam"><p class="dim">scoring...</p></div>'
        "</section></div>"
        f'<section style="flex-basis:100%"><h2>Plain text</h2><pre id="text">'
        f"{escape(preview.text)}</pre></section>"
    )


def render_page(preview: Preview, *, notice: str = "", title: str = "digestmail preview") -> str:
    if preview.ok:
        body = _email_sections(preview)
    else:
        items = "".join(f"<li><code>{escape(e)}</code></li>" for e in preview.errors)
        body = (
            '<section id="errors" class="error" style="flex-basis:100%">'
            "<h2>The issue cannot be rendered</h2>"
            f"<ul>{items}</ul><p>Fix the file and save it: this page reloads by itself.</p>"
            "</section>"
        )
    rows = (
        f'<section style="flex-basis:100%"><h2>Why each post is in or out</h2>'
        f'<div id="rows">{_rows(preview.rows)}</div></section>'
        if preview.rows
        else ""
    )
    form = _test_form(preview, notice) if preview.ok else ""
    widths = "{" + ",".join(f"{k}:{v}" for k, v in WIDTHS.items()) + "}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1></header>"
        f"<main>{body}{form}{rows}</main>"
        f"<script>const VERSION={str(preview.version)!r};const WIDTHS={widths};{_SCRIPT}"
        f"{_SPAM_SCRIPT if preview.ok else ''}</script></body></html>"
    )


_SPAM_SCRIPT = (
    "fetch('/spam?v='+VERSION).then(r=>r.text()).then(t=>{"
    "const box=document.getElementById('spam');if(box)box.innerHTML=t;});"
)
"""SpamAssassin takes a second or more: the page asks for it once it is shown."""


def spam_html(report: SpamReport | None, *, problem: str = "") -> str:
    """The SpamAssassin section's content: score and rules, or why there is none."""
    if report is None:
        text = problem or "spamassassin is not installed: not scored"
        return f'<p class="dim">{escape(text)}</p>'
    rows = "".join(
        f"<tr><td>{points:+.1f}</td><td><code>{escape(name)}</code></td>"
        f"<td>{escape(text)}</td></tr>"
        for points, name, text in report.rules
    )
    css = "bad" if report.score >= report.required else "warn" if report.score >= 1 else "good"
    return (
        f'<p class="{css}" id="spam-score">score {report.score:.1f} '
        f"({report.required:.1f} is spam; local rules, no network tests)</p>"
        f'<table id="spam-rules">{rows}</table>'
    )


def dark_html(html: str) -> str:
    """The email as a client in dark mode shows it: the theme's dark rules always on."""
    return html.replace("prefers-color-scheme: dark", "all").replace(
        "prefers-color-scheme:dark", "all"
    )
