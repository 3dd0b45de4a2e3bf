"""Version 1 of the loan agreement's text, which staff then edit in the administration.

The text is French: it is the agreement Défis prints and has signed, not an interface
string. What the agreement states from the loan itself (identities, laptop, dates, the
participation aux frais and the rule "tout mois commencé est dû", signatures) is laid out by
templates/pdf/loans/agreement.html and is not editable here.
"""

from django.db import migrations
from django.utils import timezone

PREAMBLE = """\
L’association Défis reconditionne des ordinateurs portables donnés par des entreprises, des \
collectivités et des particuliers, et les prête aux stagiaires des organismes de formation \
partenaires pendant la durée de leur formation, avec le soutien de la Région Bretagne.

La présente convention fixe les conditions dans lesquelles l’ordinateur décrit ci-dessous est \
mis à la disposition du ou de la stagiaire. L’ordinateur reste la propriété de Défis pendant \
toute la durée du prêt."""

OBLIGATIONS = """\
Prendre soin de l’ordinateur et de ses accessoires, le transporter dans de bonnes conditions et \
ne pas le démonter.
Ne pas vendre, louer, prêter ni donner l’ordinateur ou ses accessoires à un tiers.
Signaler toute perte à Défis dans les 48 heures.
En cas de vol, porter plainte auprès de la police ou de la gendarmerie et remettre à Défis une \
copie du récépissé de dépôt de plainte dans les 48 heures.
Signaler sans attendre toute panne ou tout dommage, sans tenter de réparation soi-même.
Restituer l’ordinateur et ses accessoires à Défis à la fin de la formation, ou dès l’arrêt de \
la formation si elle est quittée avant son terme.
Ne pas installer de logiciel illégal ni utiliser l’ordinateur à des fins contraires à la loi."""

DATA_PROTECTION = """\
Les données personnelles recueillies dans cette convention (identité, coordonnées, formation \
suivie et, pour un ou une mineure, celles de son représentant légal) sont traitées par Défis \
pour gérer le prêt, la participation aux frais et le suivi demandé par le financeur, sur la base \
de l’exécution de la présente convention.

Elles ne sont communiquées qu’à l’organisme de formation concerné et, de façon agrégée, à la \
Région Bretagne. Elles sont conservées pendant la durée du prêt puis 24 mois après sa clôture, \
avant d’être anonymisées.

Conformément au règlement général sur la protection des données, vous pouvez accéder à ces \
données, les faire rectifier ou effacer, et vous opposer à leur traitement en écrivant à Défis. \
Vous pouvez aussi adresser une réclamation à la CNIL (www.cnil.fr)."""

CLOSING = """\
Fait en deux exemplaires, dont un est remis au ou à la stagiaire."""


def create_first_version(apps, schema_editor):
    AgreementTemplate = apps.get_model("loans", "AgreementTemplate")
    if AgreementTemplate.objects.exists():
        return
    AgreementTemplate.objects.create(
        version=1,
        title="Convention de prêt d’ordinateur portable",
        preamble=PREAMBLE,
        obligations=OBLIGATIONS,
        data_protection=DATA_PROTECTION,
        closing=CLOSING,
        created_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_loans_agreements_reminders")]

    operations = [migrations.RunPython(create_first_version, migrations.RunPython.noop)]
