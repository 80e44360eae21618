"""The demonstration's script, part two: week two (released early by a moderator), week three, the close.

Paul releases week two by mail on Friday afternoon (day 6), before its
scheduled time; the discussion closes on schedule on day 21 at 18:00.
"""

from __future__ import annotations

from mailer.demo.script import (
    Approve,
    CommandMail,
    Leave,
    OutOfOffice,
    ReplyToCopy,
    ReplyToDigest,
    ReplyToListAddress,
    Step,
    step,
)
from mailer.demo.story import ANN, WEEK_ONE, c

RELEASE_WEEK_TWO = step(
    6,
    "16:00",
    CommandMail(1, "release week 2"),
    note="Paul releases week two by mail, ahead of schedule",
)

WEEK_TWO: tuple[Step, ...] = (
    RELEASE_WEEK_TWO,
    step(6, "17:00", c("michael-q7", "michael", 7, "Several of our members now run 'virtual apprenticeship days': the apprentice follows a supervisor's work by video call and completes a short task afterwards.", ANN)),
    step(7, "10:00", c("ana-q7", "ana", 7, "En Colombia surgieron redes de instructores que comparten guías y vídeos entre instituciones. Antes cada centro trabajaba solo.", ANN)),
    step(7, "11:00", Leave("tomas"), note="a reader unsubscribes by mail"),
    step(7, "12:00", c("rajesh-list", "rajesh", None, "Partnerships between industry clusters and polytechnics have grown: companies lend equipment and engineers for live demonstrations.", ReplyToListAddress(), posts=False),
         note="a reply to an announcement's own address gets a notice"),
    step(7, "12:30", c("rajesh-q11", "rajesh", 11, "Partnerships between industry clusters and polytechnics have grown: companies lend equipment and engineers for live demonstrations.", ANN)),
    step(7, "13:00", Approve(0, ("rajesh-q11",), by="notice")),
    step(7, "15:00", c("amina-q8", "amina", 8, "Les jeunes s'adaptent vite, mais les adultes en reconversion décrochent plus souvent. Ils ont besoin d'un accompagnement pour s'organiser.", ANN)),
    step(8, "10:00", c("carlos-q11", "carlos", 11, "COPARMEX firmó un convenio con universidades tecnológicas para que los aprendices hagan proyectos reales para las empresas desde casa.", ANN)),
    step(8, "11:00", Approve(2, ("carlos-q11",))),
    step(8, "16:00", c("lucia-q8", "lucia", 8, "Yo me adapté, pero echo de menos a mis compañeros. Estudiar solo en casa cuesta mucho más.", ANN)),
    step(9, "09:00", c("javier-re-michael", "javier", None, "Michael, en el SENA probamos algo parecido: el aprendiz acompaña al instructor por videollamada y luego repite el ejercicio. Funciona bien en electricidad y mecánica.", ReplyToDigest("michael-q7"))),
    step(9, "09:30", c("nadia-q11", "nadia", 11, "La chambre de commerce a réuni des entreprises et des centres de formation pour créer une plateforme commune de stages à distance.", ANN)),
    step(9, "10:00", c("marie-q10", "marie", 10, "Oui : la crise montre que la formation tout au long de la vie doit être un droit, avec du temps et des moyens, pas seulement une plateforme.", ANN)),
    step(9, "10:15", c("ahmed-q9", "ahmed", 9, "The ministry publishes a weekly list of free courses on national television and on social media, with a hotline for questions.", ANN)),
    step(9, "11:00", Approve(2, ("nadia-q11", "marie-q10")), Approve(1, ("ahmed-q9",))),
    step(9, "14:00", c("sarah-q10", "sarah", 10, "Workers who lost their jobs are now taking short courses for the first time in years. We must keep that momentum with paid training leave.", ANN)),
    step(9, "15:00", OutOfOffice("fatou", "return-path", "12 avril"),
         note="an out-of-office answers the return path"),
    step(9, "16:00", c("valentina-re-amina", "valentina", None, "Amina, los adultos también tienen menos tiempo: trabajan y cuidan a la familia. Las clases grabadas les dan flexibilidad.", ReplyToDigest("amina-q8"))),
    step(10, "09:30", c("priya-re-ana", "priya", None, "Ana, networks of instructors are the lasting change for us too. Sharing material between colleges saved weeks of work.", ReplyToCopy("ana-q7"))),
    step(10, "10:30", c("james-q9", "james", 9, "We text every enrolled learner a weekly 'what is on' message with links that work on basic phones. Open rates are far higher than for email.", ANN)),
    step(10, "11:30", c("grace-re-ahmed", "grace", None, "Ahmed, a hotline is a good idea. In Ghana we used radio call-in programmes so learners could ask questions live.", ReplyToDigest("ahmed-q9"))),
    step(10, "14:00", OutOfOffice("david", "from", "9 April"),
         note="an out-of-office answers a digest's From address"),
    step(10, "15:00", c("youssef-re-marie", "youssef", None, "Marie, je suis d'accord : sans temps dédié, la formation continue reste un privilège. Au Maroc, nous étudions un congé de formation financé.", ReplyToDigest("marie-q10"))),
)  # fmt: skip

WEEK_THREE: tuple[Step, ...] = (
    step(11, "09:00", c("sophie-re-grace", "sophie", None, "Grace, les émissions de radio avec appels en direct ont aussi bien marché au Québec pour les régions éloignées.", ReplyToDigest("grace-re-ahmed"))),
    step(11, "10:00", c("peter-q7", "peter", 7, "Young people in our programme started teaching each other: those who finished a module coach the next group by phone.", ANN)),
    step(11, "11:00", c("maria-re-nadia", "maria", None, "Nadia, ¿los sindicatos participan en esa plataforma? Sería importante que los aprendices tengan los mismos derechos en las prácticas a distancia.", ReplyToDigest("nadia-q11"))),
    step(11, "15:00", c("carmen-re-james", "carmen", None, "James, los mensajes de texto semanales son una idea sencilla y barata. La vamos a probar con nuestros grupos.", ReplyToCopy("james-q9"))),
    step(11, "16:00", c("claire-re-carlos", "claire", None, "Carlos, les projets réels à distance sont une excellente idée. Comment les entreprises évaluent-elles le travail des apprentis ?", ReplyToDigest("carlos-q11"))),
    step(12, "10:00", c("tom-re-claire", "tom", None, "Claire, in our experience the supervisor reviews the project with the apprentice by video at the end of each week. It is informal but it works.", ReplyToCopy("claire-re-carlos"))),
    step(12, "11:00", c("diego-re-claire", "diego", None, "Claire, en Chile las empresas usan una rúbrica sencilla acordada con el centro de formación.", ReplyToDigest("claire-re-carlos"))),
    step(12, "14:00", c("emilie-re-valentina", "emilie", None, "Valentina, les cours enregistrés aident, mais nous voyons aussi que sans rendez-vous fixe, beaucoup d'adultes abandonnent.", ReplyToDigest("valentina-re-amina"))),
    step(13, "09:30", c("koffi-q9", "koffi", 9, "Nous avons formé des relais communautaires qui font connaître les offres de formation dans les villages et aident à s'inscrire.", ANN)),
    step(13, "10:30", c("ruth-q10", "ruth", 10, "Lifelong learning must include the informal economy. Most workers here have no employer to pay for their training.", ANN)),
    step(13, "12:00", c("fatima-re-sarah", "fatima", None, "Sarah, paid training leave is exactly what we are asking for in Nigeria, and it should reach women in the informal sector.", ReplyToDigest("sarah-q10"))),
    step(13, "15:00", c("rosa-q7", "rosa", 7, "Creamos laboratorios virtuales de electricidad y refrigeración. No reemplazan la práctica, pero preparan mejor a los estudiantes para el taller.", ANN)),
    step(14, "11:00", c("ibrahim-q10", "ibrahim", 10, "Pour moi, la crise a montré qu'on peut apprendre à tout âge, à condition d'avoir un téléphone et un peu de temps.", ANN)),
    step(16, "09:00", c("paula-re-koffi", "paula", None, "Koffi, en el Perú los promotores comunitarios también fueron clave para llegar a las familias sin internet.", ReplyToDigest("koffi-q9"))),
    step(16, "10:00", c("kenji-q11", "kenji", 11, "Telecom operators, NGOs and ministries agreed to zero-rate educational websites. It took three weeks to negotiate and should become permanent.", ANN)),
    step(16, "11:00", c("aissatou-q8", "aissatou", 8, "Les femmes apprennent vite quand les horaires sont adaptés. Nos groupes du soir ont un taux d'assiduité de 80 %.", ANN)),
    step(16, "14:00", c("jean-re-tom", "jean", None, "Tom, nous faisons pareil : un bilan vidéo chaque vendredi entre le tuteur et l'apprenti.", ReplyToCopy("tom-re-claire"))),
    step(17, "10:00", c("linda-re-jean", "linda", None, "Jean, a weekly video review sounds simple enough for small companies. We will suggest it to our members.", ReplyToDigest("jean-re-tom"))),
    step(17, "11:30", c("lucia-re-ibrahim", "lucia", None, "Ibrahim, estoy de acuerdo. Mi madre empezó un curso en línea a los cincuenta años, con mi teléfono.", ReplyToDigest("ibrahim-q10"))),
    step(17, "15:00", c("anna-q8", "anna", 8, "Learners adapt when the format is predictable: the same day, the same time, the same structure every week.", ANN)),
    step(18, "09:30", c("miguel-q9", "miguel", 9, "Usamos la radio comunitaria para anunciar los cursos y los horarios de las tutorías telefónicas.", ANN)),
    step(18, "10:00", c("sofia-q11", "sofia", 11, "INFOTEP y las asociaciones empresariales crearon un fondo común para pagar la conectividad de los aprendices.", ANN)),
    step(18, "11:00", CommandMail(1, "stats"), note="Paul asks for the numbers"),
    step(19, "10:00", c("andres-q7", "andres", 7, "Empezamos a usar simuladores de soldadura en el celular. No es lo mismo, pero los aprendices llegan al taller con la técnica básica aprendida.")),
    step(19, "11:00", Approve(2, ("andres-q7",))),
    step(19, "15:00", c("amina-re-miguel", "amina", None, "Miguel, la radio communautaire est aussi très efficace au Sénégal, surtout en langues nationales.", ReplyToCopy("miguel-q9"))),
    step(20, "10:00", c("paul-closing", "mod1", 10, "The discussion closes tomorrow evening. Thank you for sharing so many practices; the moderators will publish a synthesis of your contributions.")),
    step(20, "11:00", c("emilie-q10", "emilie", 10, "La formation tout au long de la vie doit aussi passer par les associations de quartier, plus proches des personnes éloignées de l'emploi.", ANN)),
    step(20, "14:00", c("valentina-q11", "valentina", 11, "Los sindicatos y las empresas crearon comités mixtos de formación para decidir juntos los cursos prioritarios.", ANN)),
    step(21, "10:00", c("grace-q10", "grace", 10, "Lifelong learning will now be part of our national skills strategy, with recognition of prior learning for workers who trained online.", ANN)),
    step(21, "12:00", c("peter-re-linda", "peter", None, "Linda, weekly reviews also help mentors in our programme. Thank you all for this discussion.", ReplyToDigest("linda-re-jean"))),
    step(21, "19:00", c("ibrahim-late", "ibrahim", 10, "Une dernière remarque : merci aux modérateurs pour ce débat.", posts=False),
         note="a contribution after the close gets a notice"),
)  # fmt: skip

STORY: tuple[Step, ...] = WEEK_ONE + WEEK_TWO + WEEK_THREE
