"""The demonstration's script, part one: sign-ups on the eve, and week one.

Days count from the opening day (day 0, Saturday 27 March 2027, when the
scheduler releases questions 1-6 at 09:00). Moderators are ``mod0`` (Ashwani
Aggarwal: signs his mail with DKIM, answers held-post notices), ``mod1`` (Paul
Comyn: signs with DKIM, sends commands) and ``mod2`` (Pedro Moreno da Fonseca:
no DKIM, so each command is confirmed by replying to the service). A signed
post by a moderator proves its From and is published at once.
"""

from __future__ import annotations

from mailer.demo.script import (
    Approve,
    Bounce,
    ChangeMode,
    Confirm,
    Contribute,
    Forged,
    Fresh,
    Join,
    OutOfOffice,
    Reject,
    ReplyToAnnouncement,
    ReplyToCopy,
    ReplyToDigest,
    Step,
    Stranger,
    Via,
    step,
)

ANN = ReplyToAnnouncement()


def c(
    key: str, who: str, question: int | None, body: str, via: Via | None = None,
    subject: str = "", posts: bool = True,
) -> Contribute:  # fmt: skip
    """A contribution (shorter to write than the dataclass)."""
    return Contribute(key, who, question, body, via or Fresh(), subject, posts)


EN = (
    "grace",
    "tom",
    "priya",
    "kenji",
    "sarah",
    "david",
    "rajesh",
    "fatima",
    "james",
    "anna",
    "peter",
    "ahmed",
    "linda",
    "michael",
    "ruth",
    "laura",
    "samuel",
)
ES = (
    "ana",
    "carmen",
    "lucia",
    "javier",
    "maria",
    "diego",
    "sofia",
    "carlos",
    "valentina",
    "paula",
    "miguel",
    "rosa",
    "tomas",
)
FR = (
    "amina",
    "jean",
    "fatou",
    "claire",
    "youssef",
    "marie",
    "emilie",
    "koffi",
    "sophie",
    "ibrahim",
    "nadia",
    "aissatou",
    "helene",
)
LATE = ("linda", "miguel", "koffi")  # confirm on the opening morning
NEVER = ("helene",)  # never confirms: reminded, then expired


def _signups(people: tuple[str, ...]) -> tuple[Join, ...]:
    return tuple(Join(p) for p in people)


def _confirms(people: tuple[str, ...]) -> tuple[Confirm, ...]:
    return tuple(Confirm(p) for p in people if p not in LATE + NEVER)


EVE: tuple[Step, ...] = (
    step(-1, "10:00", *_signups(EN), note="English speakers sign up by mail"),
    step(-1, "10:20", *_confirms(EN)),
    step(-1, "11:00", *_signups(ES), note="Spanish speakers sign up"),
    step(-1, "11:20", *_confirms(ES)),
    step(-1, "14:00", *_signups(FR), note="French speakers sign up"),
    step(-1, "14:20", *_confirms(FR)),
    step(-1, "16:00", c("pierre-early", "pierre", 1, "Est-ce que la discussion a commencé ? Chez nous, les centres d'apprentissage sont fermés depuis deux semaines.", posts=False),
         note="a contribution before the opening gets a notice"),
    step(0, "08:30", *(Confirm(p) for p in LATE)),
)  # fmt: skip

DAY0: tuple[Step, ...] = (
    step(0, "09:20", c("paul-welcome", "mod1", 1, "Welcome, and thank you for joining. Please tell us what has happened to training where you are: apprenticeships, full-time programmes and short courses. Concrete examples help most."),
         note="Paul's mail is DKIM-signed: his post is published at once (a From header alone would be held)"),
    step(0, "10:15", c("ana-q1", "ana", 1, "En nuestra región se suspendió casi toda la formación en el lugar de trabajo a mediados de marzo. Pasamos la parte teórica de los programas de aprendizaje a clases en línea en una semana, pero los módulos prácticos quedaron en espera.\n\nLos aprendices de la construcción y de la hostelería son los más afectados, porque sus empresas cerraron.", ANN)),
    step(0, "10:40", c("tom-q1", "tom", 1, "Same picture here. Small firms cannot keep paying apprentices who cannot come to work; a wage subsidy tied to continued training would keep many contracts alive.", subject="Apprentices in small firms")),
    step(0, "11:05", c("priya-q2", "priya", 2, "We moved 40 short courses to a learning platform that works on low-end phones, with lessons small enough to download on a slow connection. Completion dropped, but less than we feared.", ANN)),
    step(0, "11:30", c("amina-q3", "amina", 3, "Beaucoup de formateurs n'ont jamais enseigné en ligne. Sans formation ni matériel, ils improvisent avec les messageries de leur téléphone.", ANN)),
    step(0, "11:50", c("pierre-q1", "pierre", 1, "Dans ma ville, les apprentis en boulangerie continuent de travailler, mais leurs cours au centre de formation sont suspendus. Personne ne sait comment les examens auront lieu.")),
    step(0, "12:30", Approve(1, ("tom-q1", "priya-q2")), Approve(2, ("ana-q1", "amina-q3", "pierre-q1")),
         note="the moderators approve the first posts"),
    step(0, "14:10", c("carmen-q4", "carmen", 4, "Los jóvenes con los que trabajamos no tienen ordenador ni conexión estable. Muchos siguen las clases con el móvil de un familiar y solo por la noche.", ANN)),
    step(0, "14:35", c("grace-q6", "grace", 6, "The government extended the training year and allowed assessment to be postponed. That helped providers, but the guidance came late and many centres had already sent learners home.", ANN)),
    step(0, "15:05", c("jean-q2", "jean", 2, "Nous utilisons une plateforme libre installée sur nos serveurs, complétée par des vidéos tournées dans nos ateliers. Les formateurs ont préparé trois semaines de contenus en dix jours.", ANN)),
    step(0, "15:20", c("kenji-q2", "kenji", 2, "We keep a list of free resources that work on low bandwidth: radio lessons, SMS quizzes and offline video packs. Most of them were built by public TVET agencies and can be reused.", subject="Free low-bandwidth resources")),
    step(0, "15:40", c("tom-re-ana", "tom", None, "Ana, the same is true for hospitality here. Did your ministry find a way to keep the apprenticeship contracts alive while the firms are closed?", ReplyToCopy("ana-q1"))),
    step(0, "16:10", c("sarah-q1", "sarah", 1, "Unions here negotiated that apprentices keep their pay while training moves online. The hard part is the practical hours: nobody knows yet how they will be made up.", ANN)),
    step(0, "17:00", Approve(0, ("carmen-q4", "grace-q6", "jean-q2", "kenji-q2", "sarah-q1"), by="notice")),
)  # fmt: skip

DAY1_3: tuple[Step, ...] = (
    step(1, "08:00", Bounce("samuel"), note="a reader's address no longer works"),
    step(1, "09:30", c("priya-re-jean", "priya", None, "Jean, how did you get trainers to record videos so quickly? We struggle to get our workshop instructors in front of a camera.", ReplyToCopy("jean-q2"))),
    step(1, "10:05", c("lucia-re-tom", "lucia", None, "Como aprendiz de electricidad, lo que más echo de menos es la práctica con mi tutor. Los vídeos ayudan, pero no sustituyen al taller.", ReplyToDigest("tom-q1"))),
    step(1, "11:20", c("sofia-q3", "sofia", 3, "El principal obstáculo técnico es la conectividad en las zonas rurales. También faltan licencias: muchas plataformas son gratuitas solo durante unas semanas.", ANN)),
    step(1, "12:10", c("fatima-q4", "fatima", 4, "Women learners are hit hardest. They have the least access to phones and data, and now they also look after children who are out of school.", ANN)),
    step(1, "13:00", Approve(2, ("lucia-re-tom", "sofia-q3")), Approve(1, ("fatima-q4",))),
    step(1, "15:30", c("amina-re-sofia", "amina", None, "Sofía, chez nous c'est pareil : les plateformes gratuites deviennent payantes au bout d'un mois. Les syndicats demandent que le ministère achète des licences pour tous les établissements.", ReplyToCopy("sofia-q3"))),
    step(1, "16:45", c("david-q6", "david", 6, "Our training levy fund has been redirected to support online delivery by accredited providers. The challenge is that accreditation rules were written for classrooms, so we are revising them quickly.", ANN)),
    step(1, "17:30", Approve(0, ("david-q6",), by="notice")),
    step(2, "08:20", c("jean-q4", "jean", 4, "Nos apprenants n'ont souvent qu'un téléphone partagé en famille et un forfait de données limité. Nous envoyons les cours par messagerie, en petits fichiers.")),
    step(2, "09:10", c("javier-q2", "javier", 2, "En el SENA abrimos todos los cursos virtuales cortos sin costo y reforzamos la mesa de ayuda. En dos semanas se inscribieron más de cien mil personas.", ANN)),
    step(2, "09:40", c("james-q3", "james", 3, "Our biggest technical hurdle was assessment: proctoring software does not work on the devices our learners have. We moved to recorded practical demonstrations marked by two assessors.", ANN)),
    step(2, "10:30", c("emily-q4", "emily", 4, "I am a second-year apprentice. The online theory is fine, but I share one laptop with two brothers who also study, and our data runs out before the end of the month.", subject="An apprentice's view")),
    step(2, "11:00", Approve(1, ("james-q3", "emily-q4")), Approve(2, ("javier-q2",))),
    step(2, "12:15", c("ana-re-carmen", "ana", None, "Carmen, el ministerio está negociando con los operadores móviles el acceso gratuito a las plataformas educativas públicas. Esperamos tener un acuerdo la próxima semana.", ReplyToDigest("carmen-q4"))),
    step(2, "14:00", c("maria-q1", "maria", 1, "En los sectores esenciales la formación en el puesto de trabajo sigue, pero sin tutores: los trabajadores con experiencia están desbordados. Pedimos que las horas de tutoría se reconozcan como tiempo de trabajo.", ANN)),
    step(2, "14:30", c("diego-q5", "diego", 5, "Las empresas necesitan flexibilidad en los plazos de los contratos de aprendizaje. Si se congelan los contratos en lugar de terminarlos, los aprendices podrán volver cuando reabramos.", ANN)),
    step(2, "15:00", c("anna-q4", "anna", 4, "As a freelance trainer I see learners drop out when sessions are too long. Forty minutes with a break works; two hours on video does not.", ANN)),
    step(2, "16:00", Approve(2, ("maria-q1", "diego-q5")), Approve(0, ("anna-q4",), by="notice")),
    step(2, "16:45", c("carmen-re-emily", "carmen", None, "Emily, tu caso es muy común. Algunas fundaciones prestan portátiles y tarjetas de datos a los aprendices; pregunta en tu centro de formación.", ReplyToCopy("emily-q4"))),
    step(2, "17:59", c("tom-re-priya", "tom", None, "Priya, which platform do you use, and what does it cost per learner?", ReplyToCopy("priya-re-jean"))),
    step(3, "09:00", c("youssef-q2", "youssef", 2, "Nous avons créé une chaîne de télévision éducative avec la télévision publique : deux heures par jour de cours pour les filières industrielles.", ANN)),
    step(3, "09:30", c("claire-q5", "claire", 5, "Les entreprises peuvent garder le lien avec leurs apprentis par un point hebdomadaire, même court. Le tuteur reste le repère, même à distance.", ANN)),
    step(3, "10:00", c("peter-q4", "peter", 4, "In informal settlements, learners study in crowded rooms with no quiet space. Community halls with solar charging points have helped a few hundred of them.", ANN)),
    step(3, "10:20", c("ruth-q1", "ruth", 1, "Mining and construction apprenticeships have stopped completely in our country. Workers fear that the apprentices will not come back when sites reopen.", ANN)),
    step(3, "10:45", OutOfOffice("sarah", "reply-to", "6 April"),
         note="an out-of-office answers a copy's Reply-To"),
    step(3, "11:30", Approve(2, ("youssef-q2", "claire-q5")), Approve(1, ("peter-q4", "ruth-q1"))),
    step(3, "13:00", c("grace-re-diego", "grace", None, "Diego, freezing contracts is exactly what our apprenticeship council recommended. The difficulty is who pays the insurance while the contract is frozen.", ReplyToDigest("diego-q5"))),
    step(3, "14:10", c("fatou-q6", "fatou", 6, "Le ministère a publié un plan de continuité pédagogique, mais les centres privés n'ont reçu aucun soutien. Beaucoup ont fermé leurs portes.", ANN)),
    step(3, "15:00", c("valentina-re-maria", "valentina", None, "María, en Chile pasa lo mismo: los tutores están sobrecargados. El sindicato propuso reducir su jornada productiva mientras forman.", ReplyToDigest("maria-q1"))),
    step(3, "16:20", Approve(0, ("fatou-q6", "valentina-re-maria"), by="notice")),
    step(3, "16:40", c("spam-q2", "spam", 2, "Buy our course bundle today: 50% off for your whole team! 300 online courses, certificates included. Order now at https://promo-courses.example.com/deal", subject="Special offer for training providers")),
    step(3, "17:10", Stranger("mallory", "approve {spam-q2}"), note="a stranger tries to approve the advertisement"),
    step(3, "17:30", Reject(0, "spam-q2", "Advertising is not allowed (community guidelines)")),
)  # fmt: skip

DAY4_6: tuple[Step, ...] = (
    step(4, "09:15", c("koffi-re-fatou", "koffi", None, "Au Togo aussi, les centres privés ont été oubliés. Nous proposons qu'ils puissent accéder aux mêmes contenus numériques que les centres publics.", ReplyToDigest("fatou-q6"))),
    step(4, "09:45", c("sophie-q2", "sophie", 2, "Au Québec, nous avons financé des formations courtes en ligne pour les travailleurs mis à pied, avec une allocation pendant la formation.", ANN)),
    step(4, "10:30", c("emilie-q4", "emilie", 4, "Les apprenants les plus fragiles ont besoin d'un contact humain. Nous avons mis en place des appels de suivi hebdomadaires par des bénévoles.", ANN)),
    step(4, "11:00", Approve(2, ("koffi-re-fatou", "sophie-q2", "emilie-q4"))),
    step(4, "12:00", c("michael-q5", "michael", 5, "Employers should be able to count online modules towards the apprenticeship, so that time at home is not lost. We asked the national training authority to accept them.", ANN)),
    step(4, "12:30", c("linda-q4", "linda", 4, "Many of our member companies' trainees live in dormitories with one shared Wi-Fi. Companies now pay for mobile data packages for the duration of the course.", ANN)),
    step(4, "13:30", Approve(1, ("michael-q5", "linda-q4"))),
    step(4, "14:30", c("priya-re-james", "priya", None, "James, we had the same problem with proctoring. Short oral checks over video worked better for us than locked-down exam software.", ReplyToCopy("james-q3"))),
    step(4, "15:15", c("paula-q6", "paula", 6, "El Ministerio de Educación autorizó que los institutos tecnológicos dicten hasta el 100 % de las clases teóricas a distancia durante la emergencia, algo que antes estaba prohibido.", ANN)),
    step(4, "16:00", c("rosa-q2", "rosa", 2, "En el INA grabamos las clases prácticas con dos cámaras y las publicamos con subtítulos. Los docentes responden dudas en foros por especialidad.", ANN)),
    step(4, "17:00", Approve(2, ("paula-q6", "rosa-q2"))),
    step(4, "20:00", ChangeMode("laura", "digest"), note="a reader switches to the daily digest"),
    step(5, "08:30", Forged("mallory", 1, "close"), note="a forged command to close the discussion"),
    step(5, "09:10", c("ibrahim-q4", "ibrahim", 4, "Je suis formateur indépendant au Mali. Mes apprenants n'ont pas d'électricité le soir : les cours doivent pouvoir se suivre sur un téléphone chargé une fois par jour.", ANN)),
    step(5, "09:40", c("aissatou-q5", "aissatou", 5, "Il faut penser aux apprenantes : leur permettre de suivre les cours à des heures compatibles avec les tâches familiales, et garder des groupes de discussion entre femmes.", ANN)),
    step(5, "10:15", c("miguel-q3", "miguel", 3, "En las zonas rurales el problema no es solo la conexión: muchos docentes no saben usar las plataformas. Organizamos talleres cortos por teléfono para formarlos.", ANN)),
    step(5, "11:00", Approve(0, ("ibrahim-q4", "aissatou-q5"), by="notice"), Approve(2, ("miguel-q3",))),
    step(5, "12:30", c("andres-q1", "andres", 1, "Soy instructor de soldadura en Bogotá. Nuestro taller cerró y estamos enviando a los aprendices vídeos cortos con ejercicios que pueden hacer en casa con materiales sencillos.", subject="Formación práctica a distancia")),
    step(5, "13:00", Approve(2, ("andres-q1",))),
    step(5, "14:00", c("david-re-james", "david", None, "James, we are considering the same approach for the national trade tests. Did the two assessors work from the same recording?", ReplyToDigest("james-q3"))),
    step(5, "15:00", c("kenji-re-paula", "kenji", None, "Paula, allowing fully remote theory is a big change. Will it stay after the emergency, or is it only temporary?", ReplyToDigest("paula-q6"))),
    step(5, "16:30", c("jean-re-ruth", "jean", None, "Ruth, nous craignons la même chose. Nous appelons chaque apprenti toutes les deux semaines pour garder le lien avec l'entreprise.", ReplyToCopy("ruth-q1"))),
    step(6, "09:00", c("sofia-re-claire", "sofia", None, "Claire, el punto semanal con el tutor es una gran idea. En INFOTEP lo vamos a proponer a las empresas que reciben aprendices.", ReplyToDigest("claire-q5"))),
    step(6, "10:30", c("fatima-re-david", "fatima", None, "David, revising accreditation rules is welcome, but unions should be consulted so that online delivery does not lower the quality of training.", ReplyToDigest("david-q6"))),
    step(6, "11:30", c("emily-q2", "emily", 2, "Our college started a group chat for each class where the teacher posts a short task every morning. It keeps us in a routine.")),
    step(6, "12:00", Approve(1, ("emily-q2",))),
    step(6, "14:00", c("paul-week1", "mod1", 1, "Thank you all for a rich first week. Three themes stand out: the loss of practical training, learners without devices or data, and the role of government in keeping contracts alive. Week two starts this afternoon.")),
)  # fmt: skip

WEEK_ONE: tuple[Step, ...] = EVE + DAY0 + DAY1_3 + DAY4_6
