"""Demo territories and training bodies, for `manage.py seed_demo`.

The seven partners are those named in the article that describes the programme; their
towns are plausible, their contact addresses fictional (`.example`), their phone numbers
in the range reserved for fiction, so that a demo never writes to a real organisation.
"""

from trainees.models import Territory, TrainingBody

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
