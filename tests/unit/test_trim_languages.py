"""trim_reply on the attribution lines, header blocks and footers of many languages."""

from __future__ import annotations

import time

import pytest

from mailer.core.reply_forms import FORMS
from mailer.core.trim import trim_reply

Q = "> Pytanie 1: jak zmieniło się szkolenie?\n> Proszę podać przykład.\n"
ANSWER = "Nasza odpowiedź."


def test_the_table_covers_forty_languages() -> None:
    assert len(FORMS) >= 40
    for language, forms in FORMS.items():
        assert forms.wrote or forms.labels, language


@pytest.mark.parametrize(
    "attribution",
    [
        "pon., 4 maj 2020 o 10:02 Jan Kowalski <jan@x.pl> napisał(a):",
        "W dniu 4.05.2020 o 10:02, Jan Kowalski pisze:",
        "Wiadomość napisana przez Jan <jan@x.pl> w dniu 04.05.2020, o godz. 10:02:",
        "Den 4. maj 2020 kl. 10.02 skrev Ole <o@x.dk>:",
        "man. 4. mai 2020 kl. 10:02 skrev Ola Nordmann <ola@x.no>:",
        "Den mån 4 maj 2020 kl 10:02 skrev Erik <e@x.se>:",
        "ma 4. toukok. 2020 klo 10.02 Matti <m@x.fi> kirjoitti:",
        "Matti <m@x.fi> kirjoitti 4.5.2020 kello 10.02:",
        "mán. 4. maí 2020 kl. 10:02 skrifaði Jón <j@x.is>:",
        "E, 4. mai 2020 kell 10:02 Mari <m@x.ee> kirjutas:",
        "pirmd., 2020. g. 4. maijs, plkst. 10:02 — lietotājs Jānis (<j@x.lv>) rakstīja:",
        "2020-05-04, pr, 10:02 Jonas <j@x.lt> rašė:",
        "пн, 4 мая 2020 г. в 10:02, Иван <i@x.ru>:",
        "04.05.2020 10:02, Иван Петров пишет:",
        "4 мая 2020 г., в 10:02, Иван <i@x.ru> написал(а):",
        "Понедельник, 4 мая 2020, 10:02 +03:00 от Иван Петров <ivan@mail.ru>:",
        "пн, 4 трав. 2020 о 10:02 Олена <o@x.ua> пише:",
        "Il giorno lun 4 mag 2020 alle ore 10:02 Marco <m@x.it> ha scritto:",
        "El dl., 4 de maig 2020 a les 10:02, Jordi (<j@x.cat>) va escriure:",
        "Jan <j@x.hu> ezt írta (időpont: 2020. máj. 4., H, 10:02):",
        "În lun., 4 mai 2020 la 10:02, Ion <i@x.ro> a scris:",
        "Ahmet <a@x.tr>, 4 May 2020 Pzt, 10:02 tarihinde şunu yazdı:",
        "Στις Δευ 4 Μαΐ 2020 στις 10:02, ο/η Νίκος <n@x.gr> έγραψε:",
        "po 4. 5. 2020 v 10:02 odesílatel Jan Novák <j@x.cz> napsal:",
        "Dne 04. 05. 20 v 10:02 Jan Novák napsal(a):",
        "V pon., 4. maj 2020 ob 10:02 je oseba Ana <a@x.si> napisala:",
        "pon, 4. svi 2020. u 10:02 Ivo <i@x.hr> napisao je:",
        "Op 4 mei 2020 om 10:02 heeft Piet <p@x.nl> het volgende geschreven:",
        '在 2020-05-04 10:02:11，"王伟" <w@163.com> 写道：',
        "王伟 <w@x.cn> 于2020年5月4日周一 上午10:02写道：",
        "2020년 5월 4일 (월) 오전 10:02, 김민준 <k@x.kr>님이 작성:",
        "2020-05-04 오전 10:02에 김민준 이(가) 쓴 글:",
        "2020/05/04 10:02、山田太郎 <y@x.jp>のメール:",
        (
            "\u202bفي الاثنين، 4 مايو 2020 في 10:02 ص تمت كتابة ما يلي بواسطة \u202aأحمد\u202c"
            " <\u202aa@x.eg\u202c>:\u202c"
        ),
        "\u202bבתאריך יום ב׳, 4 במאי 2020 ב-10:02 מאת \u202aדנה\u202c <\u202ad@x.il\u202c>:",
        "Vào Th 2, 4 thg 5, 2020 vào lúc 10:02 Minh <m@x.vn> đã viết:",
        "Pada tanggal Sen, 4 Mei 2020 pukul 10.02 Budi <b@x.id> menulis:",
        "เมื่อ จ. 4 พ.ค. 2020 เวลา 10:02 สมชาย <s@x.th> เขียนว่า:",
        "सोम, 4 मई 2020 को 10:02 am को राज <r@x.in> ने लिखा:",
        # Gmail's Android app, Yahoo, Thunderbird in Japanese
        "Mod <m@x.org> şunu yazdı (4 May 2020 Pzt 10:02):",
        "понедельник, 4 мая 2020 г., 10:02:11 GMT+3, Mod <m@x.org> написал(-а):",
        "W poniedziałek, 4 maja 2020 10:02:11 CEST, Mod <m@x.org> napisał(-a):",
        "Am Mo., 4. Mai 2020, 10:02 hat Mod <m@x.org> geschrieben:",
        "Den mandag den 4. maj 2020 10.02.11 CEST skrev Mod <m@x.org>:",
        "(2020/05/04 10:02), Mod wrote:",
        "4. Mai 2020, 10:02 von mod@x.org:",  # Tutanota
        # ISO dates, GMT offsets, Outlook's mailto copies, wrapped over three lines
        "On 2020-05-04 10:02 GMT+01:00, Ana <a@x.org<mailto:a@x.org>> wrote:",
        (
            "On Mon, 4 May 2020 at 10:02, Skills and COVID-19 e-discussion of the\n"
            "International Training Centre <skills-covid19+q1@discuss.example.org>\nwrote:"
        ),
        "pon., 4 maj 2020 o 10:02 E-dyskusja Umiejętności <\nm@x.org> napisał(a):",
    ],
)
def test_attributions_in_many_languages(attribution: str) -> None:
    assert trim_reply(f"{ANSWER}\n\n{attribution}\n{Q}") == ANSWER


@pytest.mark.parametrize(
    "block",
    [
        "Od: Jan <j@x.pl>\nWysłano: poniedziałek, 4 maja 2020 10:02\nDo: Ana\nTemat: P1",
        "Fra: Ole <o@x.dk>\nSendt: 4. maj 2020 10:02\nTil: Ana\nEmne: Q1",
        "От: Иван <i@x.ru>\nОтправлено: 4 мая 2020 г. 10:02\nКому: Ana\nТема: Q1",
        "Від: Mod\nНадіслано: 4 травня 2020 р. 10:02\nКому: Ana\nТема: П1",
        "发件人: 王伟 <w@x.cn>\n发送时间: 2020年5月4日 10:02\n收件人: Ana\n主题: Q1",
        "보낸 사람: Mod\n보낸 날짜: 2020년 5월 4일 월요일 오전 10:02\n받는 사람: Ana\n제목: Q1",
        "Lähettäjä: Mod\nLähetetty: maanantai 4. toukokuuta 2020 10.02\nVastaanottaja: Ana\nAihe: Q",
        "Feladó: Mod\nElküldve: 2020. május 4. 10:02\nCímzett: Ana\nTárgy: Q1",
        "Kimden: Mod\nGönderildi: 4 Mayıs 2020 Pazartesi 10:02\nKime: Ana\nKonu: Q1",
        "Van: Mod\nVerzonden: maandag 4 mei 2020 10:02\nAan: Ana\nOnderwerp: V1",
        "Da: Mod\nInviato: lunedì 4 maggio 2020 10:02\nA: Ana\nOggetto: D1",
        "Från: Mod\nSkickat: den 4 maj 2020 10:02\nTill: Ana\nÄmne: F1",
        "De la: Mod\nTrimis: luni, 4 mai 2020 10:02\nCătre: Ana\nSubiect: Î1",
        "Από: Mod\nΣτάλθηκε: Δευτέρα, 4 Μαΐου 2020 10:02 π.μ.\nΠρος: Ana\nΘέμα: Ε1",
        "*From:* Mod <m@x.org>\n*Sent:* Monday\n*To:* Ana\n*Subject:* Q1",
        "*-------- Original Message --------*",
        "_-----Original Message-----_",
        "-----Oorspronkelijk bericht-----\nVan: Mod",
        "-------- Пересылаемое сообщение --------",
        "---------- Původní e-mail ----------\nOd: Mod <m@x.cz>\nKomu: Ana\nPředmět: Q",
        "--------- 원본 메일 ---------\n보낸사람: Mod\n받는사람: Ana\n날짜: 2020-05-04\n제목: Q",
        "---- On Mon, 04 May 2020 10:02:11 +0200 Mod <m@x.org> wrote ----",
        "---- Am Mo, 04 Mai 2020 10:02:11 +0200 schrieb Mod <m@x.org> ----",
        "Początek przekazywanej wiadomości:\n\nOd: Mod <m@x.org>",
        "---------- Yönlendirilmiş ileti ----------\nKimden: Mod <m@x.org>",
        "---------- Pesan terusan ---------\nDari: Mod <m@x.org>",
        "-------- Originalmeddelelse --------\nFra: Mod <m@x.org>",
        "-----Originalus laiškas-----\nNuo: Mod <m@x.org>",
        "-------- 原始信息 --------\n发件人: Mod <m@x.org>",
        "-- Treść oryginalnej wiadomości --\nOd: Mod <m@x.org>",
    ],
)
def test_header_blocks_and_separators_in_many_languages(block: str) -> None:
    text = f"{ANSWER}\n\n{block}\n\nDrodzy uczestnicy, oryginał.\n"
    assert trim_reply(text) == ANSWER


@pytest.mark.parametrize(
    "footer",
    [
        "Sendt fra min iPad",
        "Enviado do meu iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        "Inviato da iPhone",
        "Skickat från min iPhone",
        "Lähetetty iPhonesta",
        "Odesláno z iPhonu",
        "iPhoneから送信",
        "iPhone에서 보냄",
        "发自我的iPhone",
        "发自网易邮箱大师",
        "Von Yahoo Mail auf Android gesendet",
        "Gesendet mit der WEB.DE Mail App",
        "Trimis de pe iPhone-ul meu",
        "iPhone'umdan gönderildi",
        "Στάλθηκε από το iPhone μου",
        "Enviat des del meu iPhone",
        "Poslano s mog iPhonea",
        "Verzonden vanaf mijn Samsung Galaxy-smartphone.",
        "Wysłane z mojego Galaxy",
        "Wysłane z mojego telefonu",
        "Wysłano z aplikacji Onet Poczta na Androida",
        "Надіслано з iPhone",
        "Dikirim dari iPhone saya",
        "iPhone-ról küldve",
        "Skickades från E-post för Windows 10",
        "Küldés a Windows 10 Posta alkalmazásából",
        "从 Windows 10 版邮件发送",
        "Odesláno z Pošty pro Windows 10",
    ],
)
def test_mobile_footers_in_many_languages(footer: str) -> None:
    assert trim_reply(f"{ANSWER}\n\n{footer}\n\n> cytat\n") == ANSWER
    assert trim_reply(f"{ANSWER}\n{footer}") == ANSWER


@pytest.mark.parametrize(
    "line",
    [
        "Sendt fra kontoret i går kom rapporten.",
        "Wysłane z opóźnieniem, ale dotarło.",
        "Inviato da Roma il documento finale.",
        "Отправлено с задержкой письмо министра.",
        "Ich habe geschrieben:",
        "Write to ana@x.org on 5 May:\n> the rule\n\nThat is all.",
        "As the minister\nwrote:\n> Something\n\nI agree.",
        "In his report he wrote on page 4:\n> Something\n\nI agree.",
    ],
)
def test_text_that_looks_like_a_form_stays(line: str) -> None:
    text = f"First.\n\n{line}\n\nLast."
    assert trim_reply(text) == text


def test_a_dated_attribution_right_under_a_signature_goes() -> None:
    text = f"{ANSWER}\n\nPozdrawiam\nJan Kowalski\nW dniu 4.05.2020 o 10:02, Mod pisze:\n{Q}"
    assert trim_reply(text, sender_name="Jan Kowalski") == ANSWER


def test_yahoo_quotes_without_marks_below_an_address_and_a_time() -> None:
    text = (
        f"{ANSWER}\n\n    понедельник, 4 мая 2020 г., 10:02:11 GMT+3, Mod <m@x.org>"
        " написал(-а):  \n \n \n Dear participants,\n Question 1.\n"
    )
    assert trim_reply(text) == ANSWER
    without_time = (
        "Para.\n\nOur office <office@x.org> wrote yesterday:\nthe deadline moved."
    )
    assert trim_reply(without_time) == without_time


def test_wrote_in_the_middle_of_a_paragraph_stays() -> None:
    text = "Para.\nI think, as Ana Ruiz <a@x.org> wrote on 4 May:\n> text\n\nYes."
    assert trim_reply(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "--\nAna Ruiz\n",
        "-- \nAna Ruiz\nDirector, Centro FP\n",
        "-- \nAna Ruiz\n\nOn Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\n> Q\n",
        "\u1427\n\nOn Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\n> Q\n",
        "Wysłane z iPhone'a\n\nW dniu 4.05.2020 o 10:02, Mod <m@x.org> pisze:\n\n> Q\n",
    ],
)
def test_signature_or_footer_only_has_no_new_text(text: str) -> None:
    assert trim_reply(text, sender_name="Ana Ruiz") == ""


def test_a_sign_off_above_a_signature_goes_too() -> None:
    text = f"{ANSWER}\n\nС уважением,\nИван Петров\n\n--\nОтправлено из мобильной Почты Mail.ru"
    assert trim_reply(text, sender_name="Иван Петров") == ANSWER


@pytest.mark.parametrize(
    "sign_off",
    [
        "Mit freundlichen Grüßen / Kind regards\nJürgen Weber",
        "Schönen Gruß\nJürgen",
        "Mvg,\nSanne",
        "Serdeczne pozdrowienia\nJan",
        "С уважением,\nИван Петров",
        "Vennlig hilsen\nOla Haugen\nRådgiver",
        "Üdvözlettel:\nNagy Péter",
        "よろしくお願いいたします。\n山田",
        "مع خالص التحيات،\nأحمد",
        "Спасибо Иван",
        "Dzięki Łukasz",
    ],
)
def test_sign_offs_in_many_languages(sign_off: str) -> None:
    assert trim_reply(f"{ANSWER}\n\n{sign_off}", sender_name="Jürgen Weber") == ANSWER


def test_the_tracking_glyph_goes() -> None:
    assert trim_reply("Tak, zgadzam się.\n\u1427\n") == "Tak, zgadzam się."


@pytest.mark.parametrize(
    "line",
    [
        "Am " + "1 " * 3000 + ":",
        "-" * 5000 + " wrote " + "-" * 5000,
        "x napisał(a) " * 2000 + ":",
        "On 1 " + "<a@b> " * 2000 + "wrote:",
    ],
)
def test_hostile_lines_are_linear(line: str) -> None:
    text = ("answer\n\n" + line + "\n> q\n") * 20
    started = time.perf_counter()
    trim_reply(text)
    assert time.perf_counter() - started < 1
