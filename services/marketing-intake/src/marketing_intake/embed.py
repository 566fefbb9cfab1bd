"""The embed snippet: the `<form>` a web developer pastes, and the page that shows it.

Pure: no I/O, no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from marketing_intake.webforms import PAGE, REFERRER, RENDERED_AT, SUBMITTED_AT

_DEFAULT_FIELDS = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
}
_INPUT_TYPES = {"email": "email", "phone": "tel", "website": "url"}
_LABELS = {"consent_marketing": "I agree to receive marketing e-mail"}

# Sets the render time, the page and its referrer when the form appears, the submit time on
# submit; no script, no timing (the honeypot still applies).
_SCRIPT = (
    "<script>(function(f){{if(!f)return;var s=function(n,v){{f.elements[n].value=v}};"
    's("{ts}",Date.now());s("{page}",location.href);s("{ref}",document.referrer);'
    'f.addEventListener("submit",function(){{s("{sub}",Date.now())}})}})'
    '(document.getElementById("{id}"));</script>'
)


@dataclass(frozen=True)
class EmbedForm:
    form_id: str
    name: str
    field_map: dict[str, str]
    required: list[str]
    honeypot_field: str | None
    require_consent: bool
    consent_text: str | None


def snippet(form: EmbedForm, action: str) -> str:
    """The `<form>` markup posting to `action` (the form's submissions URL)."""
    dom_id = f"lf-form-{form.form_id}"
    fields = form.field_map or _DEFAULT_FIELDS
    required = {"email", *form.required, *(["consent_marketing"] if form.require_consent else [])}
    lines = [f'<form id="{dom_id}" action="{escape(action)}" method="post" accept-charset="utf-8">']
    for name, target in fields.items():
        need = " required" if target in required else ""
        if target == "consent_marketing":
            text = escape(form.consent_text or _LABELS[target])
            lines.append(
                f'  <label><input type="checkbox" name="{escape(name)}" value="yes"{need}> '
                f"{text}</label>"
            )
            continue
        label = escape(name.replace("_", " ").capitalize())
        kind = _INPUT_TYPES.get(target, "text")
        lines.append(f'  <label>{label} <input type="{kind}" name="{escape(name)}"{need}></label>')
    if form.honeypot_field:
        lines.append(
            '  <div aria-hidden="true" style="position:absolute;left:-10000px">'
            f'<input type="text" name="{escape(form.honeypot_field)}" tabindex="-1" '
            'autocomplete="off" value=""></div>'
        )
    for own in (RENDERED_AT, SUBMITTED_AT, PAGE, REFERRER):
        lines.append(f'  <input type="hidden" name="{own}" value="">')
    lines.append('  <button type="submit">Send</button>')
    lines.append("</form>")
    lines.append(
        _SCRIPT.format(ts=RENDERED_AT, sub=SUBMITTED_AT, page=PAGE, ref=REFERRER, id=dom_id)
    )
    return "\n".join(lines)


def embed_page(form: EmbedForm, markup: str) -> str:
    """An HTML page with the snippet to copy (escaped) and a live copy of it."""
    title = escape(form.name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Embed: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto}}
pre{{background:#f4f4f4;padding:1rem;overflow:auto}}label{{display:block;margin:.5rem 0}}</style>
</head><body>
<h1>Embed “{title}”</h1>
<p>Paste this into your page. Posts are accepted only from the form's allowed origins.</p>
<pre><code>{escape(markup)}</code></pre>
<h2>Live copy</h2>
<p>Submitting here works only if this page's origin is one of the form's allowed origins.</p>
{markup}
</body></html>
"""
