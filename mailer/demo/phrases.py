"""What people write in each language: command words, confirmations, sign-offs, client lines.

The demonstration's participants write in English, Spanish and French; the
words their mail clients add (``Sent from my iPhone``, Outlook's quote
headers) are each client's own, in the user's language.
"""

from __future__ import annotations

MODE_WORDS = {
    "each": {"en": "each", "es": "cada mensaje", "fr": "chaque message"},
    "digest": {"en": "digest", "es": "resumen diario", "fr": "résumé quotidien"},
    "announcements": {"en": "announcements", "es": "anuncios", "fr": "annonces"},
}
LANGUAGE_WORDS = {"en": "english", "es": "español", "fr": "français"}
CONSTITUENCY_WORDS = {
    "en": {"training-provider": "training provider"},
    "es": {"government": "gobierno", "employers": "empleadores",
           "workers": "trabajadores", "training-provider": "formación",
           "ngo": "ong", "individual": "particular"},
    "fr": {"government": "gouvernement", "employers": "employeurs",
           "workers": "travailleurs", "training-provider": "formation",
           "ngo": "ong", "individual": "particulier"},
}  # fmt: skip
WORDS = {  # subscribe, name, organisation, constituency, unsubscribe, mode
    "en": ("subscribe", "name", "organisation", "constituency", "unsubscribe", "mode"),
    "es": ("suscribir", "nombre", "organización", "sector", "baja", "modo"),
    "fr": ("s'abonner", "nom", "organisme", "secteur", "désabonner", "mode"),
}
YES = {"en": "Yes, please.", "es": "Sí, confirmo.", "fr": "Oui, je confirme."}
ON_QUESTION = {
    "en": "On question {n}",
    "es": "Sobre la pregunta {n}",
    "fr": "À propos de la question {n}",
}


SIGNOFF = {
    "en": "Best regards,",
    "es": "Saludos cordiales,",
    "fr": "Bien cordialement,",
}

OUTLOOK_LABELS = {
    "en": ("From", "Sent", "To", "Subject", "RE: "),
    "es": ("De", "Enviado el", "Para", "Asunto", "RE: "),
    "fr": ("De\u00a0", "Envoyé\u00a0", "À\u00a0", "Objet\u00a0", "RE\u00a0: "),
}

MOBILE = {
    "iphone": {
        "en": "Sent from my iPhone",
        "es": "Enviado desde mi iPhone",
        "fr": "Envoyé de mon iPhone",
    },
    "android": {
        "en": "Sent from my Samsung Galaxy smartphone.",
        "es": "Enviado desde mi smartphone Samsung Galaxy.",
        "fr": "Envoyé depuis mon smartphone Samsung Galaxy.",
    },
}
