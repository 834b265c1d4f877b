"""The words of ``digestmail serve``'s pages and its confirmation mail, in German or English.

Apart from :mod:`.labels` because themes receive those as ``labels.<name>``; these are only for
the reader-facing pages of serve and the double opt-in mail, which no theme renders. The same
fallback applies: an unknown language gets English rather than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from digestmail.render.labels import DEFAULT_LANGUAGE, base_language

_WEB_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "unsubscribe_title": "Abmelden",
        "unsubscribe_question": "Möchten Sie keine E-Mails der Liste „{list_name}“ mehr erhalten?",
        "unsubscribe_button": "Abmelden",
        "unsubscribed_title": "Abgemeldet",
        "unsubscribed_text": "Sie erhalten keine E-Mails der Liste „{list_name}“ mehr.",
        "resubscribe_text": "Versehentlich abgemeldet? Sie können sich wieder anmelden:",
        "resubscribe_button": "Wieder anmelden",
        "invalid_title": "Ungültiger Link",
        "invalid_text": (
            "Dieser Link ist ungültig oder abgelaufen. Bitte verwenden Sie den vollständigen "
            "Link aus der E-Mail."
        ),
        "pending_title": "Bitte bestätigen",
        "pending_text": (
            "Fast geschafft: Wir haben Ihnen eine E-Mail geschickt. Bitte klicken Sie auf den "
            "Link darin, um die Anmeldung zu bestätigen."
        ),
        "confirm_title": "Anmeldung bestätigen",
        "confirm_question": "Möchten Sie die folgenden Listen erhalten: {list_names}?",
        "confirm_button": "Anmeldung bestätigen",
        "confirmed_title": "Angemeldet",
        "confirmed_text": "Danke! Sie erhalten ab jetzt: {list_names}.",
        "bad_request_title": "Das hat nicht geklappt",
        "busy_title": "Bitte später noch einmal",
        "busy_text": "Der Dienst ist gerade überlastet. Bitte versuchen Sie es später noch einmal.",
        "bad_email": "Bitte geben Sie eine gültige E-Mail-Adresse an.",
        "bad_list": "Bitte wählen Sie eine Liste.",
        "mail_subject": "Bitte bestätigen Sie Ihre Anmeldung bei {site_title}",
        "mail_body": (
            "Hallo,\n\njemand – hoffentlich Sie – hat diese Adresse für folgende Listen von "
            "{site_title} angemeldet: {list_names}.\n\nBitte bestätigen Sie die Anmeldung "
            "innerhalb von {days} Tagen über diesen Link:\n\n{url}\n\nWenn Sie das nicht waren, "
            "ignorieren Sie diese E-Mail einfach; Sie erhalten dann nichts weiter.\n"
        ),
    },
    "en": {
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Stop receiving emails from “{list_name}”?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "Unsubscribed",
        "unsubscribed_text": "You will receive no more emails from “{list_name}”.",
        "resubscribe_text": "Unsubscribed by mistake? You can subscribe again:",
        "resubscribe_button": "Subscribe again",
        "invalid_title": "Invalid link",
        "invalid_text": (
            "This link is not valid or has expired. Please use the complete link from the email."
        ),
        "pending_title": "Please confirm",
        "pending_text": (
            "Almost done: we have sent you an email. Please click the link in it to confirm "
            "your subscription."
        ),
        "confirm_title": "Confirm your subscription",
        "confirm_question": "Would you like to receive: {list_names}?",
        "confirm_button": "Confirm subscription",
        "confirmed_title": "Subscribed",
        "confirmed_text": "Thank you! From now on you will receive: {list_names}.",
        "bad_request_title": "That did not work",
        "busy_title": "Please try again later",
        "busy_text": "The service is busy right now. Please try again later.",
        "bad_email": "Please give a valid email address.",
        "bad_list": "Please choose a list.",
        "mail_subject": "Please confirm your subscription to {site_title}",
        "mail_body": (
            "Hello,\n\nsomeone – hopefully you – subscribed this address to these lists of "
            "{site_title}: {list_names}.\n\nPlease confirm within {days} days by opening this "
            "link:\n\n{url}\n\nIf this was not you, just ignore this email; you will get "
            "nothing more.\n"
        ),
    },
}


def web_labels_for(language: str) -> Mapping[str, str]:
    """serve's words in ``language``; English for languages without a translation."""
    table = _WEB_LABELS.get(base_language(language), _WEB_LABELS[DEFAULT_LANGUAGE])
    return MappingProxyType(table)
