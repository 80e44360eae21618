"""The fixed strings of the web pages, one dict per language with the same keys.

``{name}`` placeholders are filled by :class:`mailer.web.i18n.Translator`;
``*_one``/``*_other`` pairs are plural forms. A test checks that every
language has every key and the same placeholders.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "search_title": "Search the contributions",
    "search_title_for": "Search: {query}",
    "search_description": "Search the published contributions of {title}.",
    "search_label": "Words to look for",
    "search_button": "Search",
    "search_too_long": "Your search is too long: please use {n} characters at most.",
    "search_no_words": "Your search holds no word to look for.",
    "search_results_one": "{n} contribution found",
    "search_results_other": "{n} contributions found",
    "search_more_than": "More than {n} contributions found",
    "search_capped": "The newest {n} are listed, best first. Add a word to narrow them down.",
    "search_none": "No contribution holds all these words.",
    "search_post_by": "Contribution by {name}",
    "pages": "Pages",
    "pages_below": "Pages, after the contributions",
    "page_of": "Page {n} of {total}",
    "previous_page": "Previous page",
    "next_page": "Next page",
    "site_name": "E-discussions",
    "language": "Language",
    "discussions": "Discussions",
    "discussion": "Discussion",
    "status_scheduled": "Opens on {date}.",
    "status_open": "Open until {date}.",
    "status_closed": "This discussion closed on {date}. Its archive stays online.",
    "moderators": "Moderators",
    "about": "About this discussion",
    "guidelines_fold": "Please read our community guidelines",
    "how_to_take_part": (
        "Take part by email, from any mail client: write to the address of a "
        "question. Your contribution appears here once the moderators have "
        "approved it."
    ),
    "questions_intro": (
        "To begin the discussion, we invite you to provide your inputs on the "
        "following:"
    ),
    "week_questions": "Week {n} questions",
    "week": "Week {n}",
    "site_description": (
        "A public e-discussion by email: its questions, the contributions "
        "sent to them and how to take part."
    ),
    "jump_to_questions": "Go to the questions",
    "closed_ran": (
        "The discussion ran from {start} to {end}: {contributions} from "
        "{participants} on {questions}."
    ),
    "participants_one": "{n} participant",
    "participants_other": "{n} participants",
    "questions_one": "{n} question",
    "questions_other": "{n} questions",
    "closed_questions_intro": "The questions and what was said about them:",
    "report_link": "Read the report of the discussion",
    "question_n": "Question {n}",
    "write_to": "Write to",
    "contributions_one": "{n} contribution",
    "contributions_other": "{n} contributions",
    "opens_on": "Opens on {date}",
    "back_to_discussion": "Back to the discussion",
    "no_contributions": "No contributions yet.",
    "contribute_by_email": "Send your contribution by email to",
    "contributions_closed": "Contributions are closed.",
    "in_reply_to": "In reply to",
    "reply_by_email": "Reply by email",
    "permalink_of": "Link to this post by {name}",
    "moderator_post": "Moderator",
    "post_title": "Post by {name}",
    "post_replies_one": "{n} reply",
    "post_replies_other": "{n} replies",
    "in_question": "Posted on question {n}:",
    "in_thread": "See it in the whole thread",
    "full_message": "Full message as received",
    "quoted_copy_post": "quoted: the copy of {name}'s post",
    "quoted_copy_a_post": "quoted: the copy of a post",
    "quoted_copy_digest": "quoted: the copy of a digest",
    "quoted_copy_message": "quoted: the copy of a message from the discussion",
    "attachments": "Attachments",
    "attachment_not_kept": "not kept (too large)",
    "anonymous": "A participant",
    "times_in": "Times are {zone}.",
    "signup_title": "Receive the discussion by email",
    "signup_intro": (
        "We will send a message to confirm your address; nothing else is sent "
        "until you confirm. Every message has a link to leave."
    ),
    "field_email": "Email address",
    "field_name": "Name",
    "field_organisation": "Organisation",
    "field_constituency": "You take part as",
    "field_language": "Language of the mail",
    "field_mode": "What you receive",
    "optional": "optional",
    "constituency_": "Prefer not to say",
    "constituency_government": "Government",
    "constituency_employers": "Employers' organization",
    "constituency_workers": "Workers' organization",
    "constituency_training-provider": "Education or training provider",
    "constituency_ngo": "NGO",
    "constituency_individual": "Individual",
    "constituency_other": "Other",
    "mode_each": "Every contribution as it is published",
    "mode_digest": "A daily digest",
    "mode_announcements": "Announcements only (new questions)",
    "signup_button": "Sign up",
    "signup_sent_title": "Check your mailbox",
    "signup_sent_body": (
        "If that address can receive mail, a message with a confirmation link "
        "is on its way to it. Your subscription starts when you open that link."
    ),
    "error_email": "Please enter a valid email address.",
    "error_form": (
        "The form had expired or your browser did not send its cookie. "
        "Please load the page again and resend the form."
    ),
    "error_rate": (
        "Too many sign-ups came from your network. Please try again in an hour."
    ),
    "error_rate_links": (
        "Too many links that lead nowhere came from your network. "
        "Please try again in an hour."
    ),
    "error_too_large": "The form was too large.",
    "error_title": "Something went wrong",
    "confirm_title": "Confirm your subscription",
    "confirm_body": "Press the button to confirm your subscription to “{title}”.",
    "confirm_button": "Confirm",
    "confirmed_title": "Subscription confirmed",
    "confirmed_body": (
        "Thank you. You will receive “{title}” by email. Every message has a "
        "link to leave."
    ),
    "confirm_invalid": (
        "This confirmation link is not valid any more: it was already used or it "
        "has expired. You can sign up again on the discussion page."
    ),
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_body": "Press the button to stop receiving mail from “{title}”.",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed_body": (
        "You will receive no more mail from “{title}”. You can sign up again at "
        "any time on the discussion page."
    ),
    "unsubscribe_invalid": "This unsubscribe link is not valid.",
    "unsubscribe_for": "This link is for the address {address}.",
    "unsubscribe_instead": "Or stay, and receive less:",
    "mode_changed_title": "Your delivery has changed",
    "mode_changed_body": "{address} now receives from “{title}”: {mode}.",
    "manage_title": "Your subscription",
    "manage_for": "This page is for the address {address}, subscribed to “{title}”.",
    "manage_private": (
        "The link that opened it is yours alone: please do not pass it on."
    ),
    "manage_settings": "Delivery and language",
    "manage_save": "Save",
    "manage_leave_title": "Leave the discussion",
    "manage_saved_title": "Your subscription is updated",
    "manage_now_mode": "From now on you receive: {mode}.",
    "manage_now_language": "Our mail now comes in {language}.",
    "manage_unchanged": "Nothing changed: these were already your settings.",
    "manage_again": "Change your subscription again",
    "manage_invalid": (
        "This link to manage a subscription is not valid. For a fresh one, "
        "write “manage” to the discussion's request address, at the foot of "
        "every message it sends."
    ),
    "manage_expired": (
        "This link to manage a subscription has expired, or the subscription "
        "it was made for has ended."
    ),
    "unsubscribe_expired": (
        "This unsubscribe link has expired, or the subscription it was made "
        "for has ended."
    ),
    "link_expired_title": "This link has expired",
    "link_fresh_by_mail": "For a fresh link, write “{word}” to",
    "manage_word": "manage",
    "not_found_title": "Page not found",
    "not_found_body": "There is nothing at this address.",
    "downloads": "Download the contributions",
    "feed": "Atom feed",
    "feed_title": "{name}: contributions",
}

ES: dict[str, str] = {
    "search_title": "Buscar en las aportaciones",
    "search_title_for": "Búsqueda: {query}",
    "search_description": "Buscar en las aportaciones publicadas de {title}.",
    "search_label": "Palabras que buscar",
    "search_button": "Buscar",
    "search_too_long": "Su búsqueda es demasiado larga: use como máximo {n} caracteres.",
    "search_no_words": "Su búsqueda no contiene ninguna palabra que buscar.",
    "search_results_one": "{n} aportación encontrada",
    "search_results_other": "{n} aportaciones encontradas",
    "search_more_than": "Más de {n} aportaciones encontradas",
    "search_capped": "Se listan las {n} más recientes, las mejores primero. Añada una palabra para acotarlas.",
    "search_none": "Ninguna aportación contiene todas estas palabras.",
    "search_post_by": "Aportación de {name}",
    "pages": "Páginas",
    "pages_below": "Páginas, tras las aportaciones",
    "page_of": "Página {n} de {total}",
    "previous_page": "Página anterior",
    "next_page": "Página siguiente",
    "site_name": "Debates electrónicos",
    "language": "Idioma",
    "discussions": "Debates",
    "discussion": "Debate",
    "status_scheduled": "Se abre el {date}.",
    "status_open": "Abierto hasta el {date}.",
    "status_closed": "Este debate se cerró el {date}. Su archivo sigue en línea.",
    "moderators": "Moderadores",
    "about": "Acerca de este debate",
    "guidelines_fold": "Lea nuestras normas de la comunidad",
    "how_to_take_part": (
        "Participe por correo electrónico, desde cualquier programa de correo: "
        "escriba a la dirección de una pregunta. Su aportación aparecerá aquí "
        "cuando los moderadores la hayan aprobado."
    ),
    "questions_intro": (
        "Para iniciar el debate, le invitamos a aportar sus contribuciones sobre "
        "las siguientes cuestiones:"
    ),
    "week_questions": "Preguntas de la semana {n}",
    "week": "Semana {n}",
    "site_description": (
        "Un debate electrónico público por correo: sus preguntas, las "
        "aportaciones recibidas y cómo participar."
    ),
    "jump_to_questions": "Ir a las preguntas",
    "closed_ran": (
        "El debate tuvo lugar del {start} al {end}: {contributions} de "
        "{participants} sobre {questions}."
    ),
    "participants_one": "{n} participante",
    "participants_other": "{n} participantes",
    "questions_one": "{n} pregunta",
    "questions_other": "{n} preguntas",
    "closed_questions_intro": "Las preguntas y lo que se dijo sobre ellas:",
    "report_link": "Leer el informe del debate",
    "question_n": "Pregunta {n}",
    "write_to": "Escriba a",
    "contributions_one": "{n} aportación",
    "contributions_other": "{n} aportaciones",
    "opens_on": "Se abre el {date}",
    "back_to_discussion": "Volver al debate",
    "no_contributions": "Todavía no hay aportaciones.",
    "contribute_by_email": "Envíe su aportación por correo electrónico a",
    "contributions_closed": "El plazo de aportaciones está cerrado.",
    "in_reply_to": "En respuesta a",
    "reply_by_email": "Responder por correo",
    "permalink_of": "Enlace a esta aportación de {name}",
    "moderator_post": "Moderación",
    "post_title": "Aportación de {name}",
    "post_replies_one": "{n} respuesta",
    "post_replies_other": "{n} respuestas",
    "in_question": "Publicada en la pregunta {n}:",
    "in_thread": "Verla en el hilo completo",
    "full_message": "Mensaje completo tal como se recibió",
    "quoted_copy_post": "citado: la copia de la aportación de {name}",
    "quoted_copy_a_post": "citado: la copia de una aportación",
    "quoted_copy_digest": "citado: la copia de un resumen",
    "quoted_copy_message": "citado: la copia de un mensaje de la discusión",
    "attachments": "Archivos adjuntos",
    "attachment_not_kept": "no se conservó (demasiado grande)",
    "anonymous": "Un participante",
    "times_in": "Las horas corresponden a: {zone}.",
    "signup_title": "Reciba el debate por correo electrónico",
    "signup_intro": (
        "Le enviaremos un mensaje para confirmar su dirección; no recibirá nada "
        "más hasta que la confirme. Cada mensaje incluye un enlace para darse "
        "de baja."
    ),
    "field_email": "Dirección de correo electrónico",
    "field_name": "Nombre",
    "field_organisation": "Organización",
    "field_constituency": "Participa como",
    "field_language": "Idioma de los correos",
    "field_mode": "Qué desea recibir",
    "optional": "opcional",
    "constituency_": "Prefiero no decirlo",
    "constituency_government": "Gobierno",
    "constituency_employers": "Organización de empleadores",
    "constituency_workers": "Organización de trabajadores",
    "constituency_training-provider": "Proveedor de educación o formación",
    "constituency_ngo": "ONG",
    "constituency_individual": "Particular",
    "constituency_other": "Otro",
    "mode_each": "Cada aportación en cuanto se publica",
    "mode_digest": "Un resumen diario",
    "mode_announcements": "Solo los anuncios (nuevas preguntas)",
    "signup_button": "Suscribirse",
    "signup_sent_title": "Revise su buzón",
    "signup_sent_body": (
        "Si esa dirección puede recibir correo, le llegará un mensaje con un "
        "enlace de confirmación. Su suscripción empieza cuando abra ese enlace."
    ),
    "error_email": "Introduzca una dirección de correo electrónico válida.",
    "error_form": (
        "El formulario había caducado o su navegador no envió su cookie. "
        "Vuelva a cargar la página y envíe de nuevo el formulario."
    ),
    "error_rate": (
        "Se han recibido demasiadas suscripciones desde su red. Inténtelo de "
        "nuevo dentro de una hora."
    ),
    "error_rate_links": (
        "Desde su red llegaron demasiados enlaces que no llevan a ninguna parte. "
        "Vuelva a intentarlo dentro de una hora."
    ),
    "error_too_large": "El formulario era demasiado grande.",
    "error_title": "Se ha producido un error",
    "confirm_title": "Confirme su suscripción",
    "confirm_body": "Pulse el botón para confirmar su suscripción a «{title}».",
    "confirm_button": "Confirmar",
    "confirmed_title": "Suscripción confirmada",
    "confirmed_body": (
        "Gracias. Recibirá «{title}» por correo electrónico. Cada mensaje "
        "incluye un enlace para darse de baja."
    ),
    "confirm_invalid": (
        "Este enlace de confirmación ya no es válido: ya se utilizó o ha "
        "caducado. Puede volver a suscribirse en la página del debate."
    ),
    "unsubscribe_title": "Darse de baja",
    "unsubscribe_body": "Pulse el botón para dejar de recibir correos de «{title}».",
    "unsubscribe_button": "Darme de baja",
    "unsubscribed_title": "Se ha dado de baja",
    "unsubscribed_body": (
        "No recibirá más correos de «{title}». Puede volver a suscribirse en "
        "cualquier momento en la página del debate."
    ),
    "unsubscribe_invalid": "Este enlace para darse de baja no es válido.",
    "unsubscribe_for": "Este enlace es para la dirección {address}.",
    "unsubscribe_instead": "O quédese y reciba menos:",
    "mode_changed_title": "Su modo de envío ha cambiado",
    "mode_changed_body": "{address} recibe ahora de «{title}»: {mode}.",
    "manage_title": "Su suscripción",
    "manage_for": "Esta página es para la dirección {address}, suscrita a «{title}».",
    "manage_private": (
        "El enlace que la abrió es solo suyo: por favor, no lo comparta."
    ),
    "manage_settings": "Envío e idioma",
    "manage_save": "Guardar",
    "manage_leave_title": "Darse de baja",
    "manage_saved_title": "Su suscripción está al día",
    "manage_now_mode": "A partir de ahora recibe: {mode}.",
    "manage_now_language": "Nuestros mensajes le llegan ahora en {language}.",
    "manage_unchanged": "Nada ha cambiado: ya eran sus ajustes.",
    "manage_again": "Cambiar de nuevo su suscripción",
    "manage_invalid": (
        "Este enlace para gestionar una suscripción no es válido. Para recibir "
        "uno nuevo, escriba «gestionar» a la dirección de solicitudes del "
        "debate, al pie de cada mensaje que envía."
    ),
    "manage_expired": (
        "Este enlace para gestionar una suscripción ha caducado, o la "
        "suscripción para la que se hizo ha terminado."
    ),
    "unsubscribe_expired": (
        "Este enlace para darse de baja ha caducado, o la suscripción para la "
        "que se hizo ha terminado."
    ),
    "link_expired_title": "Este enlace ha caducado",
    "link_fresh_by_mail": "Para recibir un enlace nuevo, escriba «{word}» a",
    "manage_word": "gestionar",
    "not_found_title": "Página no encontrada",
    "not_found_body": "No hay nada en esta dirección.",
    "downloads": "Descargar las aportaciones",
    "feed": "Canal Atom",
    "feed_title": "{name}: aportaciones",
}

FR: dict[str, str] = {
    "search_title": "Rechercher dans les contributions",
    "search_title_for": "Recherche : {query}",
    "search_description": "Rechercher dans les contributions publiées de {title}.",
    "search_label": "Mots à chercher",
    "search_button": "Rechercher",
    "search_too_long": "Votre recherche est trop longue : {n} caractères au plus, s'il vous plaît.",
    "search_no_words": "Votre recherche ne contient aucun mot à chercher.",
    "search_results_one": "{n} contribution trouvée",
    "search_results_other": "{n} contributions trouvées",
    "search_more_than": "Plus de {n} contributions trouvées",
    "search_capped": "Les {n} plus récentes sont listées, les meilleures d'abord. Ajoutez un mot pour les restreindre.",
    "search_none": "Aucune contribution ne contient tous ces mots.",
    "search_post_by": "Contribution de {name}",
    "pages": "Pages",
    "pages_below": "Pages, après les contributions",
    "page_of": "Page {n} sur {total}",
    "previous_page": "Page précédente",
    "next_page": "Page suivante",
    "site_name": "E-discussions",
    "language": "Langue",
    "discussions": "Discussions",
    "discussion": "Discussion",
    "status_scheduled": "Ouverture le {date}.",
    "status_open": "Ouverte jusqu'au {date}.",
    "status_closed": (
        "Cette discussion s'est terminée le {date}. Ses archives restent en ligne."
    ),
    "moderators": "Modérateurs",
    "about": "À propos de cette discussion",
    "guidelines_fold": "Veuillez lire nos règles de la communauté",
    "how_to_take_part": (
        "Participez par courriel, depuis n'importe quelle messagerie : écrivez à "
        "l'adresse d'une question. Votre contribution apparaîtra ici une fois "
        "approuvée par les modérateurs."
    ),
    "questions_intro": (
        "Pour lancer la discussion, nous vous invitons à apporter vos "
        "contributions sur les questions suivantes :"
    ),
    "week_questions": "Questions de la semaine {n}",
    "week": "Semaine {n}",
    "site_description": (
        "Une discussion électronique publique par courriel : ses questions, "
        "les contributions reçues et comment y participer."
    ),
    "jump_to_questions": "Aller aux questions",
    "closed_ran": (
        "La discussion s'est tenue du {start} au {end} : {contributions} de "
        "{participants} sur {questions}."
    ),
    "participants_one": "{n} participant",
    "participants_other": "{n} participants",
    "questions_one": "{n} question",
    "questions_other": "{n} questions",
    "closed_questions_intro": "Les questions et ce qui en a été dit :",
    "report_link": "Lire le rapport de la discussion",
    "question_n": "Question {n}",
    "write_to": "Écrire à",
    "contributions_one": "{n} contribution",
    "contributions_other": "{n} contributions",
    "opens_on": "Ouverture le {date}",
    "back_to_discussion": "Retour à la discussion",
    "no_contributions": "Aucune contribution pour l'instant.",
    "contribute_by_email": "Envoyez votre contribution par courriel à",
    "contributions_closed": "Les contributions sont closes.",
    "in_reply_to": "En réponse à",
    "reply_by_email": "Répondre par courriel",
    "permalink_of": "Lien vers cette contribution de {name}",
    "moderator_post": "Modération",
    "post_title": "Contribution de {name}",
    "post_replies_one": "{n} réponse",
    "post_replies_other": "{n} réponses",
    "in_question": "Publiée sur la question {n} :",
    "in_thread": "La voir dans tout le fil",
    "full_message": "Message complet tel que reçu",
    "quoted_copy_post": "cité : la copie de la contribution de {name}",
    "quoted_copy_a_post": "cité : la copie d'une contribution",
    "quoted_copy_digest": "cité : la copie d'un résumé",
    "quoted_copy_message": "cité : la copie d'un message de la discussion",
    "attachments": "Pièces jointes",
    "attachment_not_kept": "non conservée (trop volumineuse)",
    "anonymous": "Un participant",
    "times_in": "Heures indiquées : {zone}.",
    "signup_title": "Recevez la discussion par courriel",
    "signup_intro": (
        "Nous vous enverrons un message pour confirmer votre adresse ; rien "
        "d'autre ne vous sera envoyé avant votre confirmation. Chaque message "
        "contient un lien de désinscription."
    ),
    "field_email": "Adresse électronique",
    "field_name": "Nom",
    "field_organisation": "Organisation",
    "field_constituency": "Vous participez en tant que",
    "field_language": "Langue des courriels",
    "field_mode": "Ce que vous recevez",
    "optional": "facultatif",
    "constituency_": "Je préfère ne pas le dire",
    "constituency_government": "Gouvernement",
    "constituency_employers": "Organisation d'employeurs",
    "constituency_workers": "Organisation de travailleurs",
    "constituency_training-provider": "Prestataire d'éducation ou de formation",
    "constituency_ngo": "ONG",
    "constituency_individual": "Particulier",
    "constituency_other": "Autre",
    "mode_each": "Chaque contribution dès sa publication",
    "mode_digest": "Un résumé quotidien",
    "mode_announcements": "Uniquement les annonces (nouvelles questions)",
    "signup_button": "S'inscrire",
    "signup_sent_title": "Consultez votre boîte de réception",
    "signup_sent_body": (
        "Si cette adresse peut recevoir du courrier, un message contenant un "
        "lien de confirmation est en route. Votre inscription commence lorsque "
        "vous ouvrez ce lien."
    ),
    "error_email": "Veuillez saisir une adresse électronique valide.",
    "error_form": (
        "Le formulaire avait expiré ou votre navigateur n'a pas envoyé son "
        "cookie. Veuillez recharger la page et renvoyer le formulaire."
    ),
    "error_rate": (
        "Trop d'inscriptions sont venues de votre réseau. Veuillez réessayer "
        "dans une heure."
    ),
    "error_rate_links": (
        "Trop de liens qui ne mènent nulle part sont venus de votre réseau. "
        "Veuillez réessayer dans une heure."
    ),
    "error_too_large": "Le formulaire était trop volumineux.",
    "error_title": "Une erreur s'est produite",
    "confirm_title": "Confirmez votre inscription",
    "confirm_body": "Appuyez sur le bouton pour confirmer votre inscription à « {title} ».",
    "confirm_button": "Confirmer",
    "confirmed_title": "Inscription confirmée",
    "confirmed_body": (
        "Merci. Vous recevrez « {title} » par courriel. Chaque message contient "
        "un lien de désinscription."
    ),
    "confirm_invalid": (
        "Ce lien de confirmation n'est plus valable : il a déjà été utilisé ou "
        "il a expiré. Vous pouvez vous réinscrire sur la page de la discussion."
    ),
    "unsubscribe_title": "Se désinscrire",
    "unsubscribe_body": (
        "Appuyez sur le bouton pour ne plus recevoir de courriels de « {title} »."
    ),
    "unsubscribe_button": "Me désinscrire",
    "unsubscribed_title": "Votre désinscription est faite",
    "unsubscribed_body": (
        "Vous ne recevrez plus de courriels de « {title} ». Vous pouvez vous "
        "réinscrire à tout moment sur la page de la discussion."
    ),
    "unsubscribe_invalid": "Ce lien de désinscription n'est pas valable.",
    "unsubscribe_for": "Ce lien est celui de l'adresse {address}.",
    "unsubscribe_instead": "Ou restez, et recevez moins :",
    "mode_changed_title": "Votre mode de réception a changé",
    "mode_changed_body": "{address} reçoit désormais de « {title} » : {mode}.",
    "manage_title": "Votre abonnement",
    "manage_for": "Cette page concerne l'adresse {address}, abonnée à « {title} ».",
    "manage_private": (
        "Le lien qui l'a ouverte n'est qu'à vous : merci de ne pas le transmettre."
    ),
    "manage_settings": "Envoi et langue",
    "manage_save": "Enregistrer",
    "manage_leave_title": "Se désabonner",
    "manage_saved_title": "Votre abonnement est à jour",
    "manage_now_mode": "Désormais, vous recevez : {mode}.",
    "manage_now_language": "Nos messages vous parviennent désormais en {language}.",
    "manage_unchanged": "Rien n'a changé : c'étaient déjà vos réglages.",
    "manage_again": "Modifier à nouveau votre abonnement",
    "manage_invalid": (
        "Ce lien de gestion d'abonnement n'est pas valable. Pour en recevoir "
        "un nouveau, écrivez « gérer » à l'adresse des demandes de la "
        "discussion, au pied de chacun de ses messages."
    ),
    "manage_expired": (
        "Ce lien de gestion d'abonnement a expiré, ou l'abonnement pour lequel "
        "il a été fait a pris fin."
    ),
    "unsubscribe_expired": (
        "Ce lien de désinscription a expiré, ou l'abonnement pour lequel il a "
        "été fait a pris fin."
    ),
    "link_expired_title": "Ce lien a expiré",
    "link_fresh_by_mail": "Pour recevoir un nouveau lien, écrivez « {word} » à",
    "manage_word": "gérer",
    "not_found_title": "Page introuvable",
    "not_found_body": "Il n'y a rien à cette adresse.",
    "downloads": "Télécharger les contributions",
    "feed": "Flux Atom",
    "feed_title": "{name} : contributions",
}

MESSAGES: dict[str, dict[str, str]] = {"en": EN, "es": ES, "fr": FR}
