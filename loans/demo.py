"""Demo laptop requests for `seed_demo`, in every state, through the real services.

`seed_waitlist` runs before the inventory exists, when no laptop is ready, as the service
requires for a waitlist; `seed_requests` runs once laptops are ready. Both are dated
relative to today.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from . import services

JUSTIFICATION = {
    "agora": "Pas d’ordinateur à la maison ; formation en partie à distance.",
    "agora-spring": "Aucun équipement informatique ; démarches en ligne pendant la formation.",
    "askoria": "Cours théoriques en ligne entre les stages ; n’a qu’un téléphone.",
    "sauvegarde": "Pas d’ordinateur au foyer, recherche de stage en ligne.",
    "afpa": "Doit suivre des modules en e-learning ; pas d’équipement personnel.",
}


def _at(today, days_ago: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(hour)))


def _submit(trainee, key, *, by, now):
    return services.request_submit(
        trainee=trainee,
        needed_by=max(trainee.course.start_date, timezone.localdate(now)),
        justification=JUSTIFICATION[key],
        by=by,
        now=now,
    )


def seed_waitlist(*, trainees: dict, coordinators: dict, staff, today) -> None:
    """Three requests waiting for a laptop, first come first served."""
    for offset, (key, index) in enumerate([("askoria", 0), ("askoria", 1), ("sauvegarde", 0)]):
        requester = coordinators.get(key, staff)
        request = _submit(trainees[key][index], key, by=requester, now=_at(today, 9 - offset))
        services.request_waitlist(request=request, by=staff, now=_at(today, 8 - offset, 15))


def seed_requests(*, trainees: dict, coordinators: dict, staff, today) -> None:
    """Approved (laptops reserved), submitted, rejected and cancelled requests."""
    agora = coordinators["agora"]
    # The first distribution: the eight trainees of PRÉPA Avenir Jeunes at Agora Services.
    for index, trainee in enumerate(trainees["agora"]):
        request = _submit(trainee, "agora", by=agora, now=_at(today, 52, 9 + index % 3))
        services.request_approve(request=request, by=staff, now=_at(today, 50, 14))

    def submit(key, index, days_ago):
        return _submit(
            trainees[key][index],
            key,
            by=coordinators.get(key, staff),
            now=_at(today, days_ago),
        )

    for key, index in [("askoria", 2), ("sauvegarde", 2), ("afpa", 0)]:
        services.request_approve(request=submit(key, index, 6), by=staff, now=_at(today, 5))
    services.request_reject(
        request=submit("askoria", 3, 7),
        reason="Dispose déjà d’un ordinateur portable personnel en état de marche.",
        by=staff,
        now=_at(today, 6),
    )
    services.request_cancel(
        request=submit("askoria", 4, 7),
        reason="La stagiaire a reçu un ordinateur de sa famille.",
        by=coordinators["askoria"],
        now=_at(today, 3),
    )
    for key, index, days_ago in [
        ("askoria", 5, 2),
        ("agora-spring", 0, 1),
        ("agora-spring", 1, 1),
        ("sauvegarde", 1, 2),
        ("afpa", 1, 1),
    ]:
        submit(key, index, days_ago)
