"""The asset-label sheet: /inventory/laptops/labels.pdf?laptop=…&skip=…"""

import io

import pytest
import segno
from django.contrib.messages import ERROR, get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from defis.models import Association
from inventory.labels import MAX_LABELS, qr_code_data_uri
from tests.factories import make_laptop

URL = reverse("inventory:labels")
LAPTOPS_URL = reverse("inventory:laptops")


def get_labels(client, laptops, *, skip=None, **extra):
    query = [("laptop", laptop.pk) for laptop in laptops]
    if skip is not None:
        query.append(("skip", skip))
    return client.get(URL, query, **extra)


def pages_of(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]


@pytest.fixture
def laptops(alice):
    """Three laptops: DEF-0001, DEF-0002, DEF-0003."""
    return [
        make_laptop(by=alice, brand="Lenovo", model="ThinkPad T480", serial_number="PF1ABCDE"),
        make_laptop(by=alice, brand="Dell", model="Latitude 5490"),
        make_laptop(by=alice, brand="HP", model="EliteBook 840 G5"),
    ]


def test_it_prints_one_label_per_chosen_laptop_and_only_those(client, alice, laptops):
    thinkpad, latitude, elitebook = laptops
    client.force_login(alice)

    response = get_labels(client, [elitebook, thinkpad])

    (text,) = pages_of(response)
    assert thinkpad.asset_tag in text
    assert "Lenovo ThinkPad T480" in text
    assert "PF1ABCDE" in text
    assert elitebook.asset_tag in text
    assert "HP EliteBook 840 G5" in text
    assert latitude.asset_tag not in text
    assert "Latitude" not in text
    assert "Page" not in text  # labels are printed edge to edge, with no page number
    # In asset-tag order, whatever the order of the query.
    assert text.index(thinkpad.asset_tag) < text.index(elitebook.asset_tag)
    assert response["Content-Disposition"] == (
        f'inline; filename="etiquettes-{thinkpad.asset_tag}-{elitebook.asset_tag}.pdf"'
    )


def test_it_names_the_file_after_the_one_laptop(client, alice, laptops):
    client.force_login(alice)

    response = get_labels(client, laptops[:1])

    assert response["Content-Disposition"] == (
        f'inline; filename="etiquettes-{laptops[0].asset_tag}.pdf"'
    )


def test_it_prints_a_laptop_chosen_twice_once(client, alice, laptops):
    client.force_login(alice)

    (text,) = pages_of(get_labels(client, [laptops[0], laptops[0]]))

    assert text.count(laptops[0].asset_tag) == 1


def test_it_signs_the_labels_with_the_association_name(client, alice, laptops):
    client.force_login(alice)
    (text,) = pages_of(get_labels(client, laptops[:1]))
    assert "Défis" in text

    Association.objects.create(
        name="Défis Bretagne", street="2 rue de la Paix", postal_code="56100", town="Lorient"
    )
    (text,) = pages_of(get_labels(client, laptops[:1]))
    assert "Défis Bretagne" in text


@pytest.mark.parametrize(
    ("count", "skip", "pages"),
    [(24, None, 1), (25, None, 2), (2, 23, 2), (2, 22, 1), (1, 23, 1)],
)
def test_it_puts_24_labels_on_a_sheet(client, alice, count, skip, pages):
    chosen = [make_laptop(by=alice) for _ in range(count)]
    client.force_login(alice)

    texts = pages_of(get_labels(client, chosen, skip=skip))

    assert len(texts) == pages
    assert sum(text.count("DEF-") for text in texts) == count


def test_it_puts_the_laptop_address_in_the_qr_code(client, alice, laptops):
    thinkpad = laptops[0]
    client.force_login(alice)

    response = get_labels(client, [thinkpad])

    ((label,),) = response.context["sheets"]
    address = f"http://testserver/inventory/laptops/{thinkpad.pk}/"
    assert address == "http://testserver" + thinkpad.get_absolute_url()
    assert label.qr_code == qr_code_data_uri(address)


def test_it_makes_the_qr_code_with_segno():
    address = "https://prets.defis.example/inventory/laptops/42/"

    data_uri = qr_code_data_uri(address)

    assert data_uri.startswith("data:image/svg+xml")
    assert data_uri == segno.make(address, error="m").svg_data_uri(border=2, omitsize=True)
    assert data_uri != qr_code_data_uri(address.replace("42", "43"))


def test_it_reads_the_laptops_in_one_query(client, alice):
    chosen = [make_laptop(by=alice) for _ in range(5)]
    client.force_login(alice)

    for count in (1, 5):
        with CaptureQueriesContext(connection) as queries:
            get_labels(client, chosen[:count])
        laptop_queries = [q for q in queries if 'FROM "inventory_laptop"' in q["sql"]]
        assert len(laptop_queries) == 1, [q["sql"] for q in queries]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "laptop=",
        "laptop=abc",
        "laptop={pk}&laptop=abc",
        "laptop={unknown}",
        "laptop={pk}&laptop={unknown}",
        "laptop=-1",
        "laptop=99999999999999999999999",
        "laptop={pk}&skip=30",
        "laptop={pk}&skip=24",
        "laptop={pk}&skip=-1",
        "laptop={pk}&skip=two",
    ],
)
def test_it_sends_bad_requests_back_to_the_laptop_list(client, alice, laptops, query):
    client.force_login(alice)
    query = query.format(pk=laptops[0].pk, unknown=laptops[-1].pk + 100)

    response = client.get(f"{URL}?{query}")

    assert response.status_code == 302
    assert response.url == LAPTOPS_URL
    assert response["Content-Type"] != "application/pdf"
    (message,) = get_messages(response.wsgi_request)
    assert message.level == ERROR
    assert str(message)


def test_it_goes_back_to_the_page_it_came_from(client, alice):
    client.force_login(alice)
    donation_page = "http://testserver" + reverse("inventory:donations")

    response = client.get(URL, headers={"referer": donation_page})

    assert response.status_code == 302
    assert response.url == donation_page


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/inventory/laptops/",
        "http://testserver" + URL + "?laptop=abc",
    ],
)
def test_it_goes_back_to_the_laptop_list_from_elsewhere(client, alice, referer):
    client.force_login(alice)

    response = client.get(URL + "?laptop=abc", headers={"referer": referer})

    assert response.status_code == 302
    assert response.url == LAPTOPS_URL


def test_it_refuses_coordinators(client, bob, laptops):
    client.force_login(bob)

    response = get_labels(client, laptops)

    assert response.status_code == 403


def test_it_sends_anonymous_visitors_to_the_login_page(client, laptops):
    response = get_labels(client, laptops)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_more_labels_than_one_print_run_are_refused_with_the_limit(client, alice):
    client.force_login(alice)
    ids = "&".join(f"laptop={n}" for n in range(1, MAX_LABELS + 2))
    response = client.get(f"{reverse('inventory:labels')}?{ids}", follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        "481 ordinateurs choisis : imprimez au plus 480 étiquettes à la fois (20 planches)."
    ]
