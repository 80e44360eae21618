"""How mail clients mark quoted history and footers, language by language.

One table, :data:`FORMS`, holds what Gmail, Outlook (desktop, web and mobile),
Apple Mail, Thunderbird, K-9, Yahoo, Zoho, GMX/WEB.DE, Seznam, Mail.ru,
Yandex, Naver, Daum, QQ/163/Foxmail and the phone makers write in each
interface language: the words an attribution line starts with (``Am``, ``Op``,
``W dniu``...), the verb it ends with before its colon (``schrieb``,
``napisał(a)``, ``kirjoitti``, ``写道``...), Outlook's header labels
(``Von/Gesendet/An/Betreff``...), the ``Original Message`` and forwarded
message separators, and the "Sent from my phone" footers and sign-offs.
:mod:`mailer.core.trim` and :mod:`mailer.core.signature` compile them.

The values are regular expression fragments without groups or unbounded
repetition, so that every compiled pattern stays linear.
"""

from __future__ import annotations

from dataclasses import dataclass

# Phones, tablets and mail apps named in footers ("Inviato da iPhone").
DEVICE = (
    r"(?:i(?:Phon|Pad|Pod)|Android|Galaxy|Samsung|HUAWEI|Honor|Xiaomi|Redmi|POCO"
    r"|OnePlus|OPPO|Pixel|Nokia|Motorola|Xperia|BlackBerry|Outlook|Yahoo|AOL"
    r"|iOS|Windows|GMX|WEB\.DE|Mail\.ru|Zoho|Proton ?Mail|Spark|Blue ?Mail|Aqua ?Mail"
    r"|K-9|Fair ?Email|Edison|Gmail|Seznam|Naver|Yandex|Яндекс|Почт[аыи]|Poczt[ay]"
    r"|Posta|Pošt[ay]|Mail(?: app)?|smartphone|mobile|m[óo]vil|celular|telefon\w*"
    r"|телефона|смартфона|устройства|手机|手機|携帯|スマートフォン|휴대폰|모바일)"
)
_ANY = r".{0,80}"
# A footer that does not say "my": it must name a device or an app.
_DEV = rf"{_ANY}{DEVICE}{_ANY}"


@dataclass(frozen=True)
class Forms:
    """One interface language's forms; each entry is a regex fragment."""

    leads: tuple[str, ...] = ()  # an attribution's first words: "Am", "W dniu"
    wrote: tuple[str, ...] = ()  # its verb before the colon, as written: "napisał(a)"
    wrote_then: tuple[str, ...] = ()  # a verb the name or date follows: "skrev"
    from_labels: tuple[str, ...] = ()  # Outlook's "From:"
    labels: tuple[str, ...] = ()  # Outlook's "Sent:", "To:", "Cc:", "Subject:", "Date:"
    separators: tuple[str, ...] = ()  # "-----Original Message-----", forwarded
    forward_intros: tuple[str, ...] = ()  # Apple Mail's "Begin forwarded message:"
    footers: tuple[str, ...] = ()  # a whole footer line: "Sent from my iPhone"
    footer_ends: tuple[str, ...] = ()  # how one ends that names a device: "から送信"
    closings: tuple[str, ...] = ()  # sign-offs: "Best regards", "Pozdrawiam"


FORMS: dict[str, Forms] = {
    "en": Forms(
        leads=("On",),
        wrote=("wrote", "writes"),
        wrote_then=("wrote on",),
        from_labels=("From",),
        labels=("Sent", "Date", "To", "Subject", "Cc", "Reply-To"),
        separators=(
            "Original Message",
            "Forwarded message",
            "Forwarded Message",
            "Reply message",
            "Forwarded e-?mail",
        ),
        forward_intros=("Begin forwarded message",),
        footers=(
            rf"Sent (?:from|with|via|using) {_ANY}",
            rf"Get Outlook for {_ANY}",
        ),
    ),
    "es": Forms(
        leads=("El",),
        wrote=("escribió", "escribio"),
        wrote_then=("escribi[óo] el",),
        from_labels=("De",),
        labels=("Enviado(?: el)?", "Fecha", "Para", "Asunto", "CC"),
        separators=("Mensaje original", "Mensaje reenviado", "Mensaje de respuesta"),
        forward_intros=("Inicio del mensaje reenviado",),
        footers=(
            rf"Enviado desde {_ANY}",
            rf"Obtener Outlook para {_ANY}",
            rf"Este mensaje (?:fue|ha sido) enviado desde {_ANY}",
        ),
    ),
    "fr": Forms(
        leads=("Le",),
        wrote=("a écrit", "a ecrit"),
        wrote_then=("a [ée]crit le",),
        from_labels=("De",),
        labels=("Envoy[ée](?: le)?", "Date", "[ÀA]", "Objet", "Cc"),
        separators=("Message d'origine", "Message transf[ée]r[ée]", "Message original"),
        forward_intros=("D[ée]but du message r[ée]exp[ée]di[ée]",),
        footers=(
            rf"Envoy[ée] (?:de|depuis) mon {_ANY}",
            rf"Envoy[ée] (?:de|depuis|[àa] partir de) (?:ma|mon|Yahoo|Outlook|Courrier|Mail)\b{_ANY}",
            rf"T[ée]l[ée]charger Outlook pour {_ANY}",
            rf"Ce message a [ée]t[ée] envoy[ée] (?:de|depuis) {_ANY}",
        ),
    ),
    "pt": Forms(
        leads=("Em", "No dia", "Às"),
        wrote=("escreveu",),
        wrote_then=("escreveu em",),
        from_labels=("De",),
        labels=("Enviad[oa](?: em)?", "Data", "Para", "Assunto", "Cc"),
        separators=("Mensagem original", "Mensagem encaminhada"),
        forward_intros=("In[íi]cio da mensagem (?:reencaminhada|encaminhada)",),
        footers=(
            rf"Enviado (?:do|de|a partir do) (?:meu|minha|Yahoo|Outlook|E-?mail|Correo)\b{_ANY}",
            rf"Obter o Outlook para {_ANY}",
        ),
    ),
    "de": Forms(
        leads=("Am",),
        wrote=("geschrieben", "schrieb"),
        wrote_then=("schrieb",),
        from_labels=("Von",),
        labels=("Gesendet", "Datum", "An", "Betreff", "Cc", "Kopie"),
        separators=(
            "Urspr[üu]ngliche Nachricht",
            "Originalnachricht",
            "Weitergeleitete Nachricht",
            "Original-Nachricht",
        ),
        forward_intros=("Anfang der weitergeleiteten Nachricht",),
        footers=(
            rf"Von meinem {_ANY} gesendet",
            rf"Von {_DEV} gesendet",
            rf"Gesendet von {_ANY}",
            rf"Gesendet (?:mit|aus|vom) {_DEV}",
            rf"Outlook f[üu]r {_ANY} (?:beziehen|herunterladen)",
            rf"Diese Nachricht wurde von {_ANY} gesendet",
        ),
    ),
    "nl": Forms(
        leads=("Op",),
        wrote=("schreef", "geschreven"),
        wrote_then=("schreef",),
        from_labels=("Van",),
        labels=("Verzonden", "Datum", "Aan", "Onderwerp", "CC"),
        separators=(
            "Oorspronkelijk bericht",
            "Origineel bericht",
            "Doorgestuurd bericht",
        ),
        forward_intros=("Begin doorgestuurd bericht",),
        footers=(
            rf"(?:Verstuurd|Verzonden) (?:vanaf|vanuit|met|via|van) (?:mijn {_ANY}|{_DEV})",
            rf"Outlook voor {_ANY} downloaden",
        ),
        closings=(
            "(?:met )?vriendelijke groet(?:en)?",
            "(?:hartelijke )?groet(?:en|jes)?",
            "mvg",
            "bedankt",
            "dank je wel",
        ),
    ),
    "it": Forms(
        leads=("Il", "Il giorno"),
        wrote=("ha scritto", "scrive"),
        from_labels=("Da",),
        labels=("Inviato", "Data", "A", "Oggetto", "Cc"),
        separators=("Messaggio originale", "Messaggio inoltrato"),
        forward_intros=("Inizio messaggio inoltrato",),
        footers=(rf"Inviato (?:da|dal|dal mio|con|tramite) {_DEV}",),
        closings=(
            "(?:cordiali|distinti|cari) saluti",
            "saluti",
            "un (?:caro )?saluto",
            "grazie(?: mille)?",
            "a presto",
        ),
    ),
    "pl": Forms(
        leads=("W dniu", "Dnia"),
        wrote=(
            "napisał(a)",
            "napisał(-a)",
            "napisal(a)",
            "napisał",
            "napisała",
            "napisal",
            "pisze",
        ),
        wrote_then=("napisana przez",),
        from_labels=("Od",),
        labels=("Wys[łl]ano", "Data", "Do", "DW", "Temat"),
        separators=(
            "Oryginalna wiadomo[śs][ćc]",
            "Tre[śs][ćc] oryginalnej wiadomo[śs]ci",
            "Wiadomo[śs][ćc] oryginalna",
            "Przekazana wiadomo[śs][ćc]",
            "Wiadomo[śs][ćc] przekazana dalej",
        ),
        forward_intros=("Pocz[ąa]tek przekazywanej wiadomo[śs]ci",),
        footers=(
            rf"Wys[łl]an[eo] (?:z|ze|przy u[żz]yciu) (?:moj\w{{1,3}} {_ANY}|{_DEV})",
            rf"Wiadomo[śs][ćc] wys[łl]ana (?:z|ze) {_DEV}",
        ),
        closings=(
            "pozdrawiam(?: serdecznie)?",
            "z powa[żz]aniem",
            "pozdrowienia",
            "dzi[ęe]kuj[ęe]",
            "serdecznie pozdrawiam",
            "serdeczne pozdrowienia",
            "dzi[ęe]kuj[ęe] i pozdrawiam",
            "dzi[ęe]ki",
        ),
    ),
    "cs": Forms(
        leads=("Dne",),
        wrote=("napsal(a)", "napsal", "napsala"),
        wrote_then=("odes[íi]latel",),
        from_labels=("Od",),
        labels=("Odesl[áa]no", "Datum", "Komu", "Kopie", "P[řr]edm[ěe]t"),
        separators=("P[ůu]vodn[íi] (?:zpr[áa]va|e-mail)", "P[řr]eposlan[áa] zpr[áa]va"),
        footers=(rf"Odesl[áa]no (?:z|ze) {_DEV}",),
        closings=("s pozdravem", "d[ěe]kuji", "d[íi]ky", "zdrav[íi]m"),
    ),
    "sk": Forms(
        leads=("D[ňn]a",),
        wrote=("napísal(a)", "napísal", "napísala", "napisal(a)"),
        from_labels=("Od",),
        labels=("Odoslan[ée]", "D[áa]tum", "Komu", "K[óo]pia", "Predmet"),
        separators=("P[ôo]vodn[áa] spr[áa]va", "Preposlan[áa] spr[áa]va"),
        footers=(rf"Odoslan[ée] (?:z|zo) {_DEV}",),
        closings=("s pozdravom", "[ďd]akujem"),
    ),
    "sv": Forms(
        leads=("Den",),
        wrote=("skrev",),
        wrote_then=("skrev",),
        from_labels=("Fr[åa]n",),
        labels=("Skickat", "Datum", "Till", "Kopia", "[ÄA]mne"),
        separators=(
            "Ursprungligt meddelande",
            "Originalmeddelande",
            "Vidarebefordrat meddelande",
        ),
        forward_intros=("Vidarebefordrat brev",),
        footers=(rf"(?:Skickat|Skickades) fr[åa]n (?:min {_ANY}|{_DEV})",),
        closings=("(?:med )?v[äa]nliga h[äa]lsningar", "h[äa]lsningar", "mvh", "tack"),
    ),
    "da": Forms(
        leads=("Den",),
        wrote=("skrev",),
        wrote_then=("skrev",),
        from_labels=("Fra",),
        labels=("Sendt", "Dato", "Til", "Cc", "Emne"),
        separators=(
            "Oprindelig meddelelse",
            "Originalmeddelelse",
            "Oprindelig besked",
            "Original meddelelse",
            "Videresendt (?:besked|meddelelse)",
        ),
        forward_intros=("(?:Start p[åa] )?videresendt besked",),
        footers=(rf"Sendt fra (?:min {_ANY}|{_DEV})",),
        closings=(
            "(?:med )?venlig hilsen",
            "(?:de )?bedste hilsner",
            "hilsen",
            "mvh",
            "tak",
        ),
    ),
    "nb": Forms(
        leads=("Den",),
        wrote=("skrev",),
        wrote_then=("skrev",),
        from_labels=("Fra",),
        labels=("Sendt", "Dato", "Til", "Kopi", "Emne"),
        separators=("Opprinnelig melding", "Originalmelding", "Videresendt melding"),
        forward_intros=("Videresendt melding",),
        footers=(rf"Sendt fra (?:min {_ANY}|{_DEV})",),
        closings=("(?:med )?vennlig hilsen", "hilsen", "mvh", "takk"),
    ),
    "fi": Forms(
        wrote=("kirjoitti",),
        wrote_then=("kirjoitti",),
        from_labels=("L[äa]hett[äa]j[äa]",),
        labels=(
            "L[äa]hetetty",
            "P[äa]iv[äa]m[äa][äa]r[äa]",
            "Vastaanottaja",
            "Kopio",
            "Aihe",
        ),
        separators=("Alkuper[äa]inen viesti", "V[äa]litetty viesti"),
        forward_intros=("V[äa]litetty viesti alkaa",),
        footers=(rf"L[äa]hetetty {_DEV}",),
        closings=("yst[äa]v[äa]llisin terveisin", "terveisin", "kiitos"),
    ),
    "is": Forms(
        wrote=("skrifaði", "skrifadi"),
        wrote_then=("skrifa[ðd]i",),
        from_labels=("Fr[áa]",),
        labels=("Sent", "Dagsetning", "Til", "Efni"),
        separators=("Upprunaleg skilabo[ðd]", "[ÁA]framsend skilabo[ðd]"),
        footers=(rf"Sent [úu]r {_DEV}",),
        closings=("(?:bestu )?kve[ðd]jur?",),
    ),
    "et": Forms(
        wrote=("kirjutas",),
        from_labels=("Saatja",),
        labels=("Saatmisaeg", "Saadetud", "Adressaat", "Koopia", "Teema"),
        separators=("Algne s[õo]num", "Edastatud (?:s[õo]num|kiri)"),
        footers=(rf"Saadetud {_DEV}",),
        closings=("lugupidamisega", "parimate soovidega", "tervitades", "ait[äa]h"),
    ),
    "lv": Forms(
        wrote=("rakstīja", "rakstija"),
        wrote_then=("lietot[āa]js",),
        from_labels=("No",),
        labels=("Nos[ūu]t[īi]ts", "Datums", "Kam", "Kopija", "T[ēe]ma"),
        separators=(
            "Ori[ģg]in[āa]l[āa] zi[ņn]a",
            "P[āa]rs[ūu]t[īi]t[āa] zi[ņn]a",
            "S[āa]kotn[ēe]j(?:[āa] zi[ņn]a|ais zi[ņn]ojums)",
        ),
        footers=(rf"Nos[ūu]t[īi]ts (?:no|ar) {_DEV}",),
        closings=("ar cie[ņn]u", "paldies"),
    ),
    "lt": Forms(
        wrote=("rašė", "rase"),
        from_labels=("Nuo",),
        labels=("I[šs]si[ųu]sta", "Data", "Kam", "Kopija", "Tema"),
        separators=(
            "Pradinis lai[šs]kas",
            "Originalus lai[šs]kas",
            "Persi[ųu]stas lai[šs]kas",
        ),
        footers=(rf"I[šs]si[ųu]sta i[šs] {_DEV}",),
        closings=("pagarbiai", "a[čc]i[ūu]", "linkiu s[ėe]km[ėe]s"),
    ),
    "ru": Forms(
        wrote=("написал(а)", "написал(-а)", "написал", "написала", "пишет"),
        from_labels=("От",),
        labels=("Отправлено", "Дата", "Кому", "Копия", "Тема"),
        separators=(
            "Исходное сообщение",
            "Оригинальное сообщение",
            "Пересылаемое сообщение",
            "Перенаправленное сообщение",
        ),
        forward_intros=("Начало переадресованного сообщения",),
        footers=(rf"Отправлено (?:с|со|из) {_DEV}",),
        closings=(
            "с уважением",
            "с наилучшими пожеланиями",
            "спасибо",
            "всего доброго",
        ),
    ),
    "uk": Forms(
        wrote=("написав(-ла)", "написав(ла)", "написав", "написала", "пише"),
        from_labels=("Від",),
        labels=("Надіслано", "Дата", "Кому", "Копія", "Тема"),
        separators=(
            "Оригінальне повідомлення",
            "Початкове повідомлення",
            "Пересланий лист",
        ),
        footers=(rf"Надіслано (?:з|із|зі) {_DEV}",),
        closings=("з повагою", "дякую", "щиро"),
    ),
    "bg": Forms(
        leads=("На",),
        wrote=("написа",),
        from_labels=("От",),
        labels=("Изпратено", "Дата", "До", "Относно", "Копие"),
        separators=("Оригинално съобщение", "Препратено съобщение"),
        footers=(rf"Изпратено от {_DEV}",),
        closings=("с уважение", "поздрави", "благодаря"),
    ),
    "sr": Forms(
        wrote=(
            "написао/ла",
            "написао",
            "написала",
            "napisao/la",
            "napisao",
            "napisala",
        ),
        from_labels=("Шаље", "Šalje", "Од"),
        labels=("Послато", "Poslato", "Датум", "Прима", "Prima", "Тема", "Tema", "Za"),
        separators=(
            "Оригинална порука",
            "Originalna poruka",
            "Прослеђена порука",
            "Prosleđena poruka",
        ),
        footers=(rf"(?:Послато са|Poslato sa) {_DEV}",),
        closings=("поздрав", "хвала", "srda[čc]no"),
    ),
    "hr": Forms(
        leads=("Dana",),
        wrote=("napisao je", "napisala je", "napisao/la", "napisao", "napisala"),
        from_labels=("[ŠS]alje", "Od"),
        labels=("Poslano", "Datum", "Prima", "Predmet", "Kopija", "Za"),
        separators=("Izvorna poruka", "Proslije[đd]ena poruka"),
        footers=(rf"Poslano (?:s|sa|iz) {_DEV}",),
        closings=("(?:lijep|srda[čc]an) pozdrav", "pozdrav", "hvala"),
    ),
    "sl": Forms(
        leads=("V",),
        wrote=("napisal(a)", "napisal", "napisala"),
        wrote_then=("je oseba",),
        from_labels=("Od",),
        labels=("Poslano", "Datum", "Za", "Zadeva", "Kp"),
        separators=("Izvirno sporo[čc]ilo", "Posredovano sporo[čc]ilo"),
        footers=(rf"Poslano (?:iz|z) {_DEV}",),
        closings=("lep pozdrav", "lp", "hvala"),
    ),
    "hu": Forms(
        wrote=("írta", "irta"),
        wrote_then=(r"ezt [íi]rta \(id[őo]pont", "[íi]rta"),
        from_labels=("Felad[óo]",),
        labels=(
            "Elk[üu]ldve",
            "D[áa]tum",
            "C[íi]mzett",
            "M[áa]solatot kap",
            "T[áa]rgy",
        ),
        separators=("Eredeti [üu]zenet", "Tov[áa]bb[íi]tott (?:lev[ée]l|[üu]zenet)"),
        footers=(rf"K[üu]ld(?:ve|[ée]s) {_DEV}",),
        footer_ends=("k[üu]ldve", "k[üu]ldtem"),
        closings=("[üu]dv[öo]zlettel", "tisztelettel", "k[öo]sz[öo]n[öo]m", "[üu]dv"),
    ),
    "ro": Forms(
        leads=("În", "La", "Pe"),
        wrote=("a scris",),
        wrote_then=("a scris la data de",),
        from_labels=("De la",),
        labels=("Trimis", "Dat[ăa]", "C[ăa]tre", "Cc", "Subiect"),
        separators=("Mesaj(?:ul)? original", "Mesaj redirec[țţt]ionat"),
        footers=(rf"Trimis (?:de pe|din|cu|de la) {_DEV}",),
        closings=("cu (?:stim[ăa]|drag|respect)", "toate cele bune", "mul[țţt]umesc"),
    ),
    "ca": Forms(
        leads=("El",),
        wrote=("va escriure", "ha escrit"),
        from_labels=("De",),
        labels=("Enviat(?: el)?", "Data", "Per a", "A", "Tema", "Assumpte", "A/c"),
        separators=("Missatge original", "Missatge reenviat"),
        forward_intros=("Inici del missatge reenviat",),
        footers=(rf"Enviat (?:des del|des de|amb) {_DEV}",),
        closings=("salutacions", "cordialment", "gr[àa]cies", "una abra[çc]ada"),
    ),
    "gl": Forms(
        leads=("O",),
        wrote=("escribiu",),
        labels=("Enviado", "Data", "Para", "Asunto"),
        separators=("Mensaxe orixinal", "Mensaxe reenviada"),
        footers=(rf"Enviado dende {_DEV}",),
        closings=("saúdos", "grazas"),
    ),
    "eu": Forms(
        wrote=("idatzi zuen",),
        wrote_then=(r"erabiltzaileak hau idatzi zuen \(",),
        from_labels=("Nork",),
        labels=("Noiz", "Nori", "Gaia"),
        separators=("Jatorrizko mezua",),
        closings=("agur bero bat", "eskerrik asko"),
    ),
    "el": Forms(
        leads=("Στις",),
        wrote=("έγραψε",),
        from_labels=("Από",),
        labels=("Στάλθηκε", "Ημερομηνία", "Προς", "Κοιν", "Θέμα"),
        separators=("Αρχικό μήνυμα", "Προωθημένο μήνυμα"),
        forward_intros=("Αρχή προωθημένου μηνύματος",),
        footers=(rf"Στάλθηκε από {_DEV}",),
        closings=("με εκτίμηση", "ευχαριστώ", "φιλικά", "χαιρετισμούς"),
    ),
    "tr": Forms(
        wrote=("yazdı", "yazdi"),
        wrote_then=(r"yazd[ıi] \(",),
        from_labels=("Kimden",),
        labels=("G[öo]nderildi", "Tarih", "Kime", "Bilgi", "Konu"),
        separators=(
            "[ÖO]zg[üu]n [İI]leti",
            "Orijinal mesaj",
            "Y[öo]nlendirilen ileti",
            "Y[öo]nlendirilmi[şs] (?:ileti|mesaj)",
        ),
        footer_ends=("g[öo]nderildi", "g[öo]nderilmi[şs]tir"),
        closings=("sayg[ıi]lar[ıi]mla", "iyi [çc]al[ıi][şs]malar", "te[şs]ekk[üu]rler"),
    ),
    "ar": Forms(
        leads=("في",),
        wrote=("كتب",),
        wrote_then=("بواسطة", "كتب"),
        from_labels=("من",),
        labels=("تم الإرسال", "التاريخ", "إلى", "نسخة", "الموضوع"),
        separators=(
            "الرسالة الأصلية",
            "رسالة تمت إعادة توجيهها",
            "الرسالة المعاد توجيهها",
            "الرسالة المُعاد توجيهها",
        ),
        footers=(rf"(?:مرسل|أرسلت|تم الإرسال) من {_DEV}",),
        closings=("مع (?:خالص )?(?:التحية|التحيات)", "شكرا", "شكراً"),
    ),
    "he": Forms(
        leads=("בתאריך", "ב-", "ב־"),
        wrote=("כתב", "כתב/ה", "כתבה"),
        wrote_then=("מאת",),
        from_labels=("מאת",),
        labels=("נשלח", "תאריך", "אל", "עותק", "נושא"),
        separators=("הודעה מקורית", "הודעה שהועברה"),
        footers=(rf"נשלח (?:מ|מה|מ-){_DEV}",),
        closings=("בברכה", "תודה"),
    ),
    "fa": Forms(
        leads=("در",),
        wrote=("نوشت",),
        from_labels=("از",),
        labels=("ارسال شده", "تاریخ", "به", "موضوع"),
        separators=("پیام اصلی", "پیام بازارسال[\u200c ]?شده"),
        footers=(rf"ارسال شده از {_DEV}",),
        closings=("با احترام", "ممنون", "سپاس"),
    ),
    "hi": Forms(
        wrote=("लिखा",),
        from_labels=("प्रेषक",),
        labels=("भेजा गया", "दिनांक", "प्रति", "विषय"),
        separators=("मूल संदेश", "अग्रेषित संदेश"),
        footer_ends=("से भेजा गया",),
        closings=("धन्यवाद", "सादर"),
    ),
    "ja": Forms(
        wrote=("のメッセージ", "のメール", "は書きました", "wrote"),
        from_labels=("差出人", "送信者"),
        labels=("送信日時", "日時", "宛先", "件名", "CC"),
        separators=(
            "元のメッセージ",
            "オリジナルメッセージ",
            "転送メッセージ",
            "転送されたメッセージ",
        ),
        forward_intros=("転送されたメッセージ",),
        footer_ends=("から送信",),
        closings=(
            "よろしくお願い(?:いた)?します",
            "以上、?よろしくお願いします",
            "ありがとうございます",
        ),
    ),
    "zh": Forms(
        leads=("在",),
        wrote=("写道", "寫道"),
        from_labels=("发件人", "寄件者", "發件人"),
        labels=(
            "发送时间",
            "寄件日期",
            "日期",
            "收件人",
            "收件者",
            "主题",
            "主旨",
            "抄送",
            "副本",
        ),
        separators=(
            "原始邮件",
            "原始信息",
            "原始訊息",
            "原始郵件",
            "原始消息",
            "转发的邮件",
            "轉寄的郵件",
            "转发邮件",
        ),
        forward_intros=("以下是转发的邮件", "開始轉寄的郵件"),
        footers=(
            rf"(?:发自|來自|来自|從|从){_DEV}",
            r"(?:发自|来自)网易邮箱大师",
        ),
        closings=("谢谢", "謝謝", "此致敬礼", "祝好"),
    ),
    "ko": Forms(
        wrote=("작성", "쓴 글", "님이 씀"),
        from_labels=("보낸 ?사람",),
        labels=("보낸 ?날짜", "날짜", "받는 ?사람", "참조", "제목"),
        separators=(
            "원본 메시지",
            "원본 메일",
            "원래 메시지",
            "전달된 메일",
            "전달된 메시지",
        ),
        forward_intros=("전달된 메일",),
        footer_ends=("에서 보냄", "에서 보낸 메일"),
        closings=("감사합니다", "고맙습니다"),
    ),
    "vi": Forms(
        leads=("Vào",),
        wrote=("viết",),
        from_labels=("Từ",),
        labels=("Đã gửi", "Ngày", "Đến", "Chủ đề", "Cc"),
        separators=("Thư gốc", "Thư đã chuyển tiếp"),
        footers=(rf"Được gửi từ {_DEV}",),
        closings=("trân trọng", "cảm ơn"),
    ),
    "id": Forms(
        leads=("Pada", "Pada tanggal"),
        wrote=("menulis",),
        from_labels=("Dari",),
        labels=("Dikirim", "Tanggal", "Kepada", "Subjek", "Perihal", "Cc"),
        separators=("Pesan Asli", "Pesan yang diteruskan", "Pesan terusan"),
        footers=(rf"Dikirim dari {_DEV}",),
        closings=("salam", "terima kasih", "hormat saya"),
    ),
    "ms": Forms(
        leads=("Pada",),
        wrote=("menulis",),
        from_labels=("Daripada",),
        labels=("Dihantar", "Tarikh", "Kepada", "Subjek"),
        separators=("Mesej Asal", "Mesej dimajukan"),
        footers=(rf"Dihantar (?:dari|daripada) {_DEV}",),
    ),
    "th": Forms(
        leads=("เมื่อ",),
        wrote=("เขียนว่า", "เขียน"),
        from_labels=("จาก",),
        labels=("ส่ง", "วันที่", "ถึง", "เรื่อง"),
        separators=("ข้อความต้นฉบับ", "ข้อความที่ส่งต่อ"),
        footers=(rf"ส่งจาก {_DEV}",),
        closings=("ขอบคุณ(?:ครับ|ค่ะ)?",),
    ),
    "sw": Forms(
        leads=("Mnamo",),
        wrote=("aliandika",),
        from_labels=("Kutoka",),
        separators=("Ujumbe uliosambazwa", "Ujumbe asili"),
        labels=("Imetumwa", "Tarehe", "Kwa", "Kichwa"),
        footers=(rf"Imetumwa kutoka {_DEV}",),
        closings=("asante",),
    ),
    "tl": Forms(
        leads=("Noong",),
        wrote=("sumulat",),
        wrote_then=("sumulat si",),
        from_labels=("Mula kay",),
        separators=("Ipinasang mensahe", "Orihinal na mensahe"),
        labels=("Ipinadala", "Petsa", "Para kay", "Paksa"),
        footers=(rf"Ipinadala mula sa {_DEV}",),
        closings=("salamat",),
    ),
}


def fragments(kind: str) -> list[str]:
    """Every language's fragments of one *kind* (a :class:`Forms` field), longest first.

    Longest first, so that an alternation tries ``Enviado el`` before ``Enviado``.
    """
    found = {f for forms in FORMS.values() for f in getattr(forms, kind)}
    return sorted(found, key=lambda f: (-len(f), f))


def alternation(kind: str, *, bounded: bool = True) -> str:
    """The fragments of *kind* as one non-capturing regex alternation.

    *bounded*: each must start a word (``\\bwrote``), except in the scripts
    written without spaces (``上午10:02写道``, ``<a@b.c>님이 작성``).
    """
    parts = [rf"\b{f}" if bounded and f[0] < "\u3000" else f for f in fragments(kind)]
    return "(?:" + "|".join(parts) + ")"
