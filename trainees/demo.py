"""Demo territories and training bodies, for `manage.py seed_demo`.

The seven partners are those named in the article that describes the programme; their
towns are plausible, their contact addresses fictional (`.example`), their phone numbers
in the range reserved for fiction, so that a demo never writes to a real organisation.
"""

import unicodedata
from datetime import date, time, timedelta

from defis.periods import add_months
from trainees.models import Attendance, Course, Territory, Trainee, TrainingBody, Workshop

LORIENT = "Pays de Lorient"
VANNES = "Pays de Vannes"
AURAY = "Pays d'Auray"

TRAINING_BODIES = [
    # short name, full name, town, postal code, territory, phone
    ("Sauvegarde 56", "Sauvegarde 56", "Vannes", "56000", VANNES, "02 61 91 10 56"),
    ("Agora", "Agora Services", "Lanester", "56600", LORIENT, "02 61 91 20 11"),
    ("AMISEP", "AMISEP", "Auray", "56400", AURAY, "02 61 91 30 22"),
    ("CLPS", "CLPS", "Vannes", "56000", VANNES, "02 61 91 40 33"),
    ("ASKORIA", "ASKORIA", "Lorient", "56100", LORIENT, "02 61 91 50 44"),
    ("AFPA", "AFPA", "Auray", "56400", AURAY, "02 61 91 60 55"),
    ("IBEP", "IBEP", "Lorient", "56100", LORIENT, "02 61 91 70 66"),
]


def _email_for(short_name: str) -> str:
    slug = short_name.lower().replace(" ", "")
    return f"formation@{slug}.example"


def seed_training_bodies() -> dict[str, TrainingBody]:
    """Create or refresh the territories and the seven partners; return them by short name."""
    territories = {
        name: Territory.objects.get_or_create(name=name)[0] for name in (LORIENT, VANNES, AURAY)
    }
    bodies = {}
    for short_name, name, town, postal_code, territory, phone in TRAINING_BODIES:
        bodies[short_name], _created = TrainingBody.objects.update_or_create(
            short_name=short_name,
            defaults={
                "name": name,
                "town": town,
                "postal_code": postal_code,
                "territory": territories[territory],
                "contact_email": _email_for(short_name),
                "contact_phone": phone,
                "active": True,
            },
        )
    return bodies


# --- Courses, trainees and workshops --------------------------------------------------------

PREPA = "PRÉPA Avenir Jeunes"

# key, training body, title, programme, town, start (days from today), length (months), ages
COURSES = [
    ("agora", "Agora", "PRÉPA Avenir Jeunes Lanester", PREPA, "Lanester", -45, 5, (16, 25)),
    (
        "agora-spring",
        "Agora",
        "PRÉPA Avenir Jeunes Lanester, printemps",
        PREPA,
        "Lanester",
        40,
        5,
        (16, 25),
    ),
    (
        "askoria",
        "ASKORIA",
        "Assistant de vie aux familles",
        "Titre professionnel",
        "Lorient",
        -20,
        7,
        None,
    ),
    (
        "sauvegarde",
        "Sauvegarde 56",
        "PRÉPA Avenir Jeunes Vannes",
        PREPA,
        "Vannes",
        -10,
        5,
        (16, 25),
    ),
    (
        "afpa",
        "AFPA",
        "Agent de propreté et d’hygiène",
        "Titre professionnel",
        "Auray",
        -60,
        6,
        None,
    ),
    ("amisep", "AMISEP", "Remobilisation vers l’emploi", "PRÉPA Projet", "Auray", -260, 4, None),
]

# course key, first name, last name, age on the first day, town, digital level, guardian
TRAINEES = [
    # The eight trainees of the first distribution at Agora Services; two are minors.
    ("agora", "Léa", "Le Gall", 17, "Lanester", "basic", ("Anne Le Gall", "Mère")),
    ("agora", "Kylian", "Le Floch", 16, "Lanester", "beginner", ("Marc Le Floch", "Père")),
    ("agora", "Inès", "Morvan", 19, "Lorient", "basic", None),
    ("agora", "Noah", "Guillou", 21, "Hennebont", "beginner", None),
    ("agora", "Manon", "Le Bris", 24, "Lanester", "independent", None),
    ("agora", "Enzo", "Tanguy", 18, "Caudan", "basic", None),
    ("agora", "Jade", "Kerbrat", 22, "Lorient", "beginner", None),
    ("agora", "Lucas", "Le Moal", 25, "Lanester", "basic", None),
    ("agora-spring", "Maëlys", "Riou", 18, "Lanester", "beginner", None),
    ("agora-spring", "Théo", "Allain", 20, "Quéven", "basic", None),
    ("agora-spring", "Chloé", "Cadiou", 17, "Lanester", "basic", ("Sophie Cadiou", "Mère")),
    ("askoria", "Fatima", "Benali", 34, "Lorient", "basic", None),
    ("askoria", "Sandrine", "Le Goff", 46, "Lanester", "beginner", None),
    ("askoria", "Kevin", "Jégo", 28, "Ploemeur", "independent", None),
    ("askoria", "Nadia", "Hamon", 39, "Lorient", "beginner", None),
    ("askoria", "Julien", "Le Corre", 31, "Larmor-Plage", "basic", None),
    ("askoria", "Aurélie", "Perrot", 42, "Lorient", "basic", None),
    ("sauvegarde", "Yanis", "Le Texier", 19, "Vannes", "beginner", None),
    ("sauvegarde", "Emma", "Jouan", 17, "Séné", "basic", ("Gaëlle Jouan", "Mère")),
    ("sauvegarde", "Mathis", "Le Roux", 20, "Vannes", "basic", None),
    ("sauvegarde", "Louna", "Daniel", 23, "Theix-Noyalo", "beginner", None),
    ("afpa", "Patrick", "Le Dantec", 52, "Auray", "beginner", None),
    ("afpa", "Sylvie", "Éven", 47, "Crac’h", "basic", None),
    ("afpa", "Mehdi", "Saïdi", 29, "Auray", "basic", None),
    ("amisep", "Gaël", "Nicolas", 33, "Auray", "beginner", None),
    ("amisep", "Céline", "Ropert", 41, "Pluvigner", "basic", None),
]

STREETS = [
    "3 rue des Lilas",
    "12 rue Jean Jaurès",
    "5 impasse des Mouettes",
    "27 avenue de la Mer",
    "8 rue du Stade",
    "14 rue Victor Hugo",
    "2 place de l’Église",
]
POSTAL_CODES = {
    "Lanester": "56600",
    "Lorient": "56100",
    "Hennebont": "56700",
    "Caudan": "56850",
    "Quéven": "56530",
    "Ploemeur": "56270",
    "Larmor-Plage": "56260",
    "Vannes": "56000",
    "Séné": "56860",
    "Theix-Noyalo": "56450",
    "Auray": "56400",
    "Crac’h": "56950",
    "Pluvigner": "56330",
}

# days from today, start time, minutes, topic, place, facilitator, course key, absent trainees
WORKSHOPS = [
    (
        -40,
        time(9, 30),
        120,
        "Prise en main de l’ordinateur",
        "Défis, Lanester",
        "Erwan Le Guen",
        "agora",
        {"Kerbrat"},
    ),
    (
        -26,
        time(14, 0),
        90,
        "Messagerie et sécurité en ligne",
        "Agora Services, Lanester",
        "Erwan Le Guen",
        "agora",
        set(),
    ),
    (
        -12,
        time(9, 30),
        120,
        "Démarches en ligne : CAF, France Travail",
        "Agora Services, Lanester",
        "Erwan Le Guen",
        "agora",
        {"Guillou", "Le Moal"},
    ),
    (
        -8,
        time(10, 0),
        90,
        "Prise en main de l’ordinateur",
        "ASKORIA, Lorient",
        "Erwan Le Guen",
        "askoria",
        {"Perrot"},
    ),
]


def _birth_date(start: date, age: int, index: int) -> date:
    """A birthday that makes the trainee `age` on the first day of the course."""
    return start.replace(year=start.year - age) - timedelta(days=20 + 37 * index)


def seed_courses(*, bodies: dict, today: date) -> dict[str, list]:
    """Create the demo courses, trainees and workshops once; return the trainees by course
    key (empty when the courses already exist)."""
    if Course.objects.filter(title=COURSES[0][2]).exists():
        return {}
    courses = {}
    for key, body, title, programme, town, start, length, ages in COURSES:
        first_day = today + timedelta(days=start)
        courses[key] = Course.objects.create(
            training_body=bodies[body],
            title=title,
            programme=programme,
            town=town,
            start_date=first_day,
            end_date=add_months(first_day, length) - timedelta(days=1),
            min_age=ages[0] if ages else None,
            max_age=ages[1] if ages else None,
        )
    trainees: dict[str, list] = {key: [] for key in courses}
    for index, (key, first, last, age, town, level, guardian) in enumerate(TRAINEES):
        course = courses[key]
        street = STREETS[index % len(STREETS)]
        trainee = Trainee(
            course=course,
            first_name=first,
            last_name=last,
            birth_date=_birth_date(course.start_date, age, index % 5),
            email=f"{_slug(first)}.{_slug(last)}@stagiaire.example",
            phone=f"02 61 91 8{index // 10} {index % 100:02d}",
            street=street,
            postal_code=POSTAL_CODES[town],
            town=town,
            digital_level=level,
            support_needs="Première prise en main, création d’une adresse e-mail."
            if level == "beginner"
            else "",
        )
        if guardian:
            name, relationship = guardian
            trainee.guardian_name = name
            trainee.guardian_relationship = relationship
            trainee.guardian_phone = f"02 61 91 99 {index:02d}"
            trainee.guardian_email = f"{_slug(name)}@famille.example"
            trainee.guardian_street = street
            trainee.guardian_postal_code = POSTAL_CODES[town]
            trainee.guardian_town = town
        trainee.full_clean()
        trainee.save()
        trainees[key].append(trainee)
    for days, start, minutes, topic, place, facilitator, key, absent in WORKSHOPS:
        workshop = Workshop.objects.create(
            course=courses[key],
            date=today + timedelta(days=days),
            start_time=start,
            duration_minutes=minutes,
            topic=topic,
            place=place,
            facilitator=facilitator,
        )
        Attendance.objects.bulk_create(
            Attendance(workshop=workshop, trainee=trainee, present=trainee.last_name not in absent)
            for trainee in trainees[key]
        )
    return trainees


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-").replace(" ", "-")
