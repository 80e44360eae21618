"""Who takes part in the demonstration: participants from every constituency, and readers.

The model discussion invites governments, employers' and workers'
organisations, education and training providers, NGOs and individuals; the
cast has people of each, writing in English, Spanish or French from the mail
client they use every day. The three moderators come from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CastMember:
    """One participant or reader: who they are, how they write and how they subscribe.

    ``client`` names a style of :mod:`mailer.demo.clients`; ``mode`` is the
    delivery mode they sign up for (None: they never subscribe).
    """

    key: str
    name: str
    email: str
    language: str
    constituency: str
    organisation: str
    client: str
    mode: str | None = None


def _p(
    key: str,
    name: str,
    email: str,
    language: str,
    constituency: str,
    organisation: str,
    client: str,
    mode: str | None,
) -> CastMember:
    return CastMember(
        key, name, email, language, constituency, organisation, client, mode
    )


PARTICIPANTS: tuple[CastMember, ...] = (
    # English
    _p("grace", "Grace Mensah", "g.mensah@tvet.example.org", "en", "government",
       "Ghana TVET Service", "gmail", "digest"),
    _p("tom", "Tom Baker", "tom.baker@fsb.example.org", "en", "employers",
       "Federation of Small Businesses", "outlook", "each"),
    _p("priya", "Priya Nair", "priya@skillsbridge.example.net", "en",
       "training-provider", "SkillsBridge Training", "gmail", "each"),
    _p("kenji", "Kenji Sato", "kenji.sato@openskills.example.org", "en", "ngo",
       "Open Skills Network", "thunderbird", "digest"),
    _p("sarah", "Sarah O'Connor", "soconnor@ictu.example.org", "en", "workers",
       "Irish Congress of Trade Unions", "iphone", "each"),
    _p("david", "David Mwangi", "dmwangi@nita.example.org", "en", "government",
       "National Industrial Training Authority, Kenya", "outlook", "digest"),
    _p("emily", "Emily Clarke", "emily.clarke@mail.example.com", "en",
       "individual", "", "iphone", None),
    _p("rajesh", "Rajesh Kumar", "rajesh.kumar@cii.example.org", "en",
       "employers", "Confederation of Indian Industry", "gmail", "announcements"),
    _p("fatima", "Fatima Bello", "fbello@nlc.example.org", "en", "workers",
       "Nigeria Labour Congress", "android", "digest"),
    _p("james", "James Wilson", "james.wilson@tafe.example.edu", "en",
       "training-provider", "TAFE Queensland", "outlook", "announcements"),
    _p("anna", "Anna Kowalski", "anna.kowalski@mail.example.net", "en",
       "individual", "", "html", "digest"),
    _p("peter", "Peter Odhiambo", "peter@youthskills.example.org", "en", "ngo",
       "Youth Skills Kenya", "gmail", "digest"),
    _p("ahmed", "Ahmed Hassan", "a.hassan@manpower.example.gov", "en",
       "government", "Ministry of Manpower, Egypt", "plain", "announcements"),
    _p("linda", "Linda Nguyen", "linda.nguyen@vcci.example.org", "en",
       "employers", "Vietnam Chamber of Commerce and Industry", "iphone",
       "digest"),
    _p("michael", "Michael Osei", "m.osei@gea.example.org", "en", "employers",
       "Ghana Employers Association", "thunderbird", "announcements"),
    _p("ruth", "Ruth Banda", "ruth.banda@zctu.example.org", "en", "workers",
       "Zambia Congress of Trade Unions", "plain", "digest"),
    # Spanish
    _p("ana", "Ana Ruiz", "ana.ruiz@mintrabajo.example.org", "es", "government",
       "Ministerio de Trabajo", "gmail", "digest"),
    _p("carmen", "Carmen Vidal", "cvidal@empleojoven.example.es", "es", "ngo",
       "Fundación Empleo Joven", "outlook", "each"),
    _p("lucia", "Lucía Gómez", "lucia.gomez@correo.example.com", "es",
       "individual", "", "iphone", "digest"),
    _p("javier", "Javier Morales", "jmorales@sena.example.org", "es",
       "training-provider", "SENA", "outlook", "digest"),
    _p("maria", "María Fernández", "mfernandez@ccoo.example.es", "es", "workers",
       "CCOO", "gmail", "digest"),
    _p("diego", "Diego Herrera", "dherrera@cnc.example.cl", "es", "employers",
       "Cámara Nacional de Comercio", "android", "digest"),
    _p("sofia", "Sofía Castillo", "scastillo@infotep.example.org", "es",
       "training-provider", "INFOTEP", "thunderbird", "digest"),
    _p("carlos", "Carlos Mendoza", "cmendoza@coparmex.example.mx", "es",
       "employers", "COPARMEX", "outlook", "announcements"),
    _p("valentina", "Valentina Rojas", "vrojas@cut.example.cl", "es", "workers",
       "CUT Chile", "iphone", "digest"),
    _p("andres", "Andrés Silva", "andres.silva@correo.example.net", "es",
       "individual", "", "html", None),
    _p("paula", "Paula Torres", "ptorres@minedu.example.pe", "es", "government",
       "Ministerio de Educación del Perú", "gmail", "digest"),
    _p("miguel", "Miguel Ángel Ortega", "mortega@formacionrural.example.org",
       "es", "ngo", "Fundación Formación Rural", "android", "announcements"),
    _p("rosa", "Rosa Jiménez", "rjimenez@ina.example.cr", "es",
       "training-provider", "Instituto Nacional de Aprendizaje", "outlook",
       "announcements"),
    # French
    _p("amina", "Amina Diallo", "amina.diallo@sne.example.sn", "fr", "workers",
       "Syndicat national des enseignants", "gmail", "each"),
    _p("jean", "Jean Dupont", "jean.dupont@cfp-lyon.example.fr", "fr",
       "training-provider", "Centre de formation professionnelle de Lyon",
       "outlook", "each"),
    _p("pierre", "Pierre Martin", "pierre.martin@courriel.example.fr", "fr",
       "individual", "", "plain", None),
    _p("fatou", "Fatou Ndiaye", "fndiaye@formation.example.sn", "fr",
       "government", "Ministère de la Formation professionnelle", "iphone",
       "digest"),
    _p("claire", "Claire Moreau", "c.moreau@union-employeurs.example.fr", "fr",
       "employers", "Union des employeurs", "outlook", "digest"),
    _p("youssef", "Youssef Benali", "y.benali@ofp.example.ma", "fr",
       "training-provider", "Office de la formation professionnelle",
       "thunderbird", "digest"),
    _p("marie", "Marie Lefèvre", "marie.lefevre@cfdt.example.fr", "fr",
       "workers", "CFDT", "gmail", "announcements"),
    _p("emilie", "Émilie Garnier", "emilie@apprendre-ensemble.example.org",
       "fr", "ngo", "Association Apprendre Ensemble", "html", "digest"),
    _p("koffi", "Koffi Agbeko", "k.agbeko@emploi.example.tg", "fr", "government",
       "Ministère de l'Emploi du Togo", "android", "digest"),
    _p("sophie", "Sophie Tremblay", "sophie.tremblay@cpmt.example.ca", "fr",
       "government", "Commission des partenaires du marché du travail",
       "apple", "digest"),
    _p("ibrahim", "Ibrahim Traoré", "ibrahim.traore@courriel.example.ml", "fr",
       "individual", "", "iphone", "digest"),
    _p("nadia", "Nadia Haddad", "n.haddad@cci-tunis.example.tn", "fr",
       "employers", "Chambre de commerce et d'industrie de Tunis", "outlook",
       "announcements"),
    _p("aissatou", "Aïssatou Ba", "aissatou.ba@femmescompetences.example.org",
       "fr", "ngo", "Femmes et Compétences", "gmail", "announcements"),
)  # fmt: skip

READERS: tuple[CastMember, ...] = (
    # Read only. Laura later switches to the digest; Tomás leaves in week two;
    # Hélène never confirms; Samuel's address stops working after he confirms.
    _p("laura", "Laura Bianchi", "laura.bianchi@mail.example.org", "en",
       "training-provider", "Istituto Tecnico Superiore", "gmail", "each"),
    _p("tomas", "Tomás Pereira", "tomas.pereira@correo.example.org", "es", "ngo",
       "Red de Educación Popular", "gmail", "digest"),
    _p("helene", "Hélène Roux", "helene.roux@courriel.example.org", "fr",
       "individual", "", "gmail", "digest"),
    _p("samuel", "Samuel Green", "samuel.green@oldcorp.example.com", "en",
       "employers", "Green & Partners", "outlook", "each"),
)  # fmt: skip

STRANGERS: tuple[CastMember, ...] = (
    _p("spam", "Best Course Deals", "offers@promo-courses.example.com", "en", "",
       "", "plain", None),
    _p("mallory", "Mallory Black", "mallory@forged.example.net", "en", "", "",
       "plain", None),
)  # fmt: skip

EVERYONE: dict[str, CastMember] = {p.key: p for p in PARTICIPANTS + READERS + STRANGERS}


def person(key: str) -> CastMember:
    """The participant, reader or stranger called *key* in the script."""
    return EVERYONE[key]
