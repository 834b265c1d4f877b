"""The fixed words of the digest in the site's language, kept out of the templates.

Themes get them as ``labels.<name>`` so a custom theme stays bilingual without copying strings;
an unknown language falls back to English rather than failing a send.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "read_more": "Weiterlesen",
        "unsubscribe": "Abmelden",
        "web_version": "Im Browser ansehen",
        "why": (
            "Sie erhalten diese E-Mail, weil Sie die Liste „{list_name}“ von {site_title} "
            "abonniert haben."
        ),
        "address": "Ihre Adresse: {email}",
        "unsubscribe_sentence": "Keine Tipps mehr erhalten? Hier können Sie sich abmelden:",
        "web_sentence": "Diese Ausgabe im Web:",
        "intro": "Unsere Tipps für {period}:",
        "tips": "Tipps",
        "empty": "In diesem Zeitraum gibt es keine neuen Beiträge.",
        "links": "Links",
    },
    "en": {
        "read_more": "Read more",
        "unsubscribe": "Unsubscribe",
        "web_version": "View in your browser",
        "why": (
            "You receive this email because you subscribed to “{list_name}” from {site_title}."
        ),
        "address": "Your address: {email}",
        "unsubscribe_sentence": "No longer want these tips? Unsubscribe here:",
        "web_sentence": "This issue on the web:",
        "intro": "The tips for {period}:",
        "tips": "Tips",
        "empty": "There are no new posts in this period.",
        "links": "Links",
    },
}

DEFAULT_LANGUAGE = "en"


def base_language(language: str) -> str:
    """``de-AT`` and ``de_CH`` use the German labels; matching is case-insensitive."""
    return language.replace("_", "-").split("-", 1)[0].lower()


def labels_for(language: str) -> Mapping[str, str]:
    """The labels of ``language``; English for languages without a translation."""
    table = _LABELS.get(base_language(language), _LABELS[DEFAULT_LANGUAGE])
    return MappingProxyType(table)
